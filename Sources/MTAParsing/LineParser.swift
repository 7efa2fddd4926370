// LineParser: one raw log line -> ParseOutcome (frame, then dispatch by program).
//
// Contract:
// * Frames the line with SyslogFramer; an unreadable envelope is
//   `.unparsed(reason:)` with the framer's reason.
// * Postfix-family lines go to PostfixParser. A tag is Postfix-family when
//   it has at least two components and its first component starts with
//   `postfix` (`postfix-out/smtp`, `postfix/submission/smtpd`) or its last
//   component is a Postfix daemon name (custom `syslog_name`s like
//   `mail-in/smtpd`).
// * Sendmail programs (`sendmail`, `sm-mta`, `sm-msp-queue`, ...) go to
//   SendmailParser; Exim programs (`exim`, `exim4`, `exim-in`, `exim-out`,
//   and mainlog lines, which the framer names `exim`) to EximParser; a
//   one-component `smtpd` tag (Sophos UTM's proxy) to UTMParser.
// * A tag with bytes outside printable ASCII is `.unparsed` (line damage).
// * With `.auto` every family is parsed and programs of no family are
//   `.ignored(category: "program:<name>")`; with a named format, every line
//   not of that family is `.ignored(category: "foreign:<name>")`.
// * `lastContext` is the context of the last framed line, for dating lines
//   that are unparsed.
// * Two entry points with the same decisions: `next(_:offset:truncated:)`
//   (hot path: a Postfix line's event stays in `postfixLine`, a Sendmail
//   line's in `sendmailLine`, an Exim line's in `eximLine`, spans into the
//   caller's buffer, valid until the next call) and `parse(_:offset:)`, which
//   returns the event as a `ParseOutcome` of Strings.
// Known limits: one input stream per LineParser (year inference state).

import MailTrailModel
import SyslogFraming

/// Which MTA grammar the input is expected to hold.
public enum InputFormat: String, Sendable, CaseIterable {
    /// Detect per line from the syslog tag (a file may mix MTAs).
    case auto
    /// Postfix logs; other MTAs' lines are ignored as foreign.
    case postfix
    /// Sendmail logs (sendmail, sm-mta, sm-msp-queue).
    case sendmail
    /// Exim logs: mainlog or through syslog.
    case exim
    /// Sophos UTM smtp.log: exim-in, smtpd, exim-out.
    case utm
}

/// How the last line was dispatched (for per-kind counters).
public enum LineKind: Sendable, Equatable {
    /// The envelope could not be read.
    case unframed
    /// A Postfix-family program's line.
    case postfix
    /// A Sendmail program's line.
    case sendmail
    /// An Exim line (any instance, mainlog or syslog).
    case exim
    /// A Sophos UTM smtpd line.
    case utm
    /// Another program's line.
    case otherProgram
}

/// The result of a body parser: an event was filled in, or the line is ignored / unparsed.
public enum ParseStatus: Sendable, Equatable {
    case event
    case ignored(category: String)
    case unparsed(reason: String)
}

/// What `LineParser.next` found in one line (events stay in the parser: no payload to copy).
public enum LineResult {
    /// A Postfix event, in `postfixLine`.
    case postfix
    /// A Sendmail event, in `sendmailLine`.
    case sendmail
    /// An Exim event, in `eximLine`.
    case exim
    /// A Sophos UTM event (see `withUTMEvent`).
    case utm
    /// A known line that carries nothing stored.
    case ignored
    /// A line not understood.
    case unparsed(reason: String)
}

/// Frames and parses lines of one input stream.
public struct LineParser: Sendable {
    /// The input format this parser was created with.
    public let format: InputFormat
    /// The framer (its `current` is the context of the last framed line).
    public private(set) var framer: SyslogFramer
    private var sendmail = SendmailParser()
    private var exim = EximParser()
    private var utm = UTMParser()
    /// Dispatch decisions per framer tag index (nil = not decided yet).
    private var dispatchByTag: [Dispatch?] = []
    /// The common decisions per framer tag index as plain bytes (`FastDispatch`), read first: a
    /// `Dispatch` carries Strings, so each copy of one out of `dispatchByTag` is a retain and a release.
    private var fastDispatchByTag: [FastDispatch] = []
    /// Storage of the Postfix event (one per parser; a copy of the parser gets its own on first use).
    @usableFromInline var postfixBuffer = PostfixLineBuffer()
    /// The last Postfix event `next` found (its spans point into the line given to `next`).
    @inlinable public var postfixLine: PostfixLine { postfixBuffer.line }
    /// Storage of the Sendmail event (one per parser; a copy of the parser gets its own on first use).
    @usableFromInline var sendmailBuffer = SendmailLineBuffer()
    /// The last Sendmail event `next` found (its spans point into the line given to `next`).
    @inlinable public var sendmailLine: SendmailLine { sendmailBuffer.line }
    /// The last Exim event `next` found (its spans point into the line given to `next`).
    public var eximLine: EximLine { exim.line }
    /// The last UTM event `next` found (its context is a placeholder: see `withUTMEvent`;
    /// Sendmail and Exim events stay in `sendmailLine` / `eximLine`).
    private var otherEvent: ParseOutcome = .ignored(category: "")

    /// Calls `body` with the context and the Sophos UTM event of the line `next` just read,
    /// both borrowed (no copy of their strings); does nothing when that line had none.
    public func withUTMEvent(_ body: (borrowing LineContext, borrowing UTMEvent) -> Void) {
        if case .utm(_, let e) = otherEvent { body(framer.current, e) }
    }

    /// The decisions `next` takes without a `Dispatch`; `.undecided` sends it the long way.
    private enum FastDispatch: UInt8 {
        case undecided, postfixGeneric, sendmail, exim
    }

    private enum Dispatch {
        case postfix(PostfixParser.DaemonKind)
        case sendmail
        case exim
        case utm
        case other(String)
        /// A tag with bytes no syslog tag has (controls, non-ASCII): a damaged line.
        case invalidTag
    }

    /// Creates a parser for one input stream.
    public init(format: InputFormat, framing: FramingConfig) {
        self.format = format
        self.framer = SyslogFramer(config: framing)
    }

    /// The context (time, host, tag) of the last line whose envelope was read.
    public var lastContext: LineContext? { framer.lastContext }
    /// The context of the line `next` just read (valid when it framed the line).
    @inlinable public var context: LineContext { framer.current }
    /// The framer's small number for the last framed line's host (see `SyslogFramer.lastHostIndex`).
    @inlinable public var hostIndex: Int { framer.lastHostIndex }

    /// Frames and parses one line (without `\n`) at byte `offset`; a Postfix event is left in
    /// `postfixLine` (valid while `line` is), the other families' events are returned.
    public mutating func next(_ line: UnsafeBufferPointer<UInt8>, offset: Int64, truncated: Bool) -> LineResult {
        if truncated {
            if case .unparsed(let reason) = parse(line, offset: offset, truncated: true) { return .unparsed(reason: reason) }
            return .unparsed(reason: "line longer than the line-length cap (truncated)")
        }
        var failure: StaticString = ""
        guard let body = framer.frameInPlace(line, offset: offset, failure: &failure) else {
            lastLineKind = .unframed
            return .unparsed(reason: failure.description)
        }
        let bodyBytes = UnsafeBufferPointer(rebasing: line[body])
        let i = framer.lastTagIndex
        switch i >= 0 && i < fastDispatchByTag.count ? fastDispatchByTag[i] : .undecided {
        case .postfixGeneric:
            return nextPostfix(bodyBytes, kind: .generic)
        case .sendmail:
            return nextSendmail(bodyBytes)
        case .exim:
            return nextExim(bodyBytes)
        case .undecided:
            break
        }
        switch dispatch() {
        case .postfix(let kind):
            return nextPostfix(bodyBytes, kind: kind)
        case .sendmail:
            return nextSendmail(bodyBytes)
        case .exim:
            return nextExim(bodyBytes)
        case .utm:
            lastLineKind = .utm
            otherEvent = utm.parse(body: bodyBytes, context: framer.current)
            return LineParser.result(otherEvent)
        case .other:
            lastLineKind = .otherProgram
            return .ignored
        case .invalidTag:
            lastLineKind = .otherProgram
            return .unparsed(reason: "syslog tag with control or non-ASCII bytes")
        }
    }

    @inline(__always)
    private mutating func nextPostfix(_ bodyBytes: UnsafeBufferPointer<UInt8>, kind: PostfixParser.DaemonKind) -> LineResult {
        lastLineKind = .postfix
        if !isKnownUniquelyReferenced(&postfixBuffer) { postfixBuffer = PostfixLineBuffer() }
        switch PostfixParser.parse(body: bodyBytes, context: framer.current, kind: kind, into: postfixBuffer.line) {
        case .event: return .postfix
        case .ignored: return .ignored
        case .unparsed(let reason): return .unparsed(reason: reason)
        }
    }

    @inline(__always)
    private mutating func nextSendmail(_ bodyBytes: UnsafeBufferPointer<UInt8>) -> LineResult {
        lastLineKind = .sendmail
        if !isKnownUniquelyReferenced(&sendmailBuffer) { sendmailBuffer = SendmailLineBuffer() }
        switch sendmail.parse(body: bodyBytes, context: framer.current, into: sendmailBuffer) {
        case .event: return .sendmail
        case .ignored: return .ignored
        case .unparsed(let reason): return .unparsed(reason: reason)
        }
    }

    @inline(__always)
    private mutating func nextExim(_ bodyBytes: UnsafeBufferPointer<UInt8>) -> LineResult {
        lastLineKind = .exim
        switch exim.parseLine(body: bodyBytes, context: framer.current) {
        case .event: return .exim
        case .ignored: return .ignored
        case .unparsed(let reason): return .unparsed(reason: reason)
        }
    }

    private static func result(_ o: ParseOutcome) -> LineResult {
        switch o {
        case .postfix: return .ignored          // not produced by the other families' parsers
        case .sendmail: return .sendmail
        case .exim: return .exim
        case .utm: return .utm
        case .ignored: return .ignored
        case .unparsed(let reason): return .unparsed(reason: reason)
        }
    }
    /// How the last line passed to `parse` was dispatched.
    public private(set) var lastLineKind: LineKind = .unframed

    /// Parses one line (without `\n`) found at byte `offset` of the stream.
    public mutating func parse(_ line: UnsafeBufferPointer<UInt8>, offset: Int64) -> ParseOutcome {
        var failure: StaticString = ""
        guard let body = framer.frameInPlace(line, offset: offset, failure: &failure) else {
            lastLineKind = .unframed
            return .unparsed(reason: failure.description)
        }
        switch dispatch() {
        case .postfix(let kind):
            lastLineKind = .postfix
            return PostfixParser.outcome(body: UnsafeBufferPointer(rebasing: line[body]), context: framer.current, kind: kind)
        case .sendmail:
            lastLineKind = .sendmail
            return sendmail.parse(body: UnsafeBufferPointer(rebasing: line[body]), context: framer.current)
        case .exim:
            lastLineKind = .exim
            return exim.parse(body: UnsafeBufferPointer(rebasing: line[body]), context: framer.current)
        case .utm:
            lastLineKind = .utm
            return utm.parse(body: UnsafeBufferPointer(rebasing: line[body]), context: framer.current)
        case .other(let category):
            lastLineKind = .otherProgram
            return .ignored(category: category)
        case .invalidTag:
            lastLineKind = .otherProgram
            return .unparsed(reason: "syslog tag with control or non-ASCII bytes")
        }
    }

    /// Like `parse(_:offset:)`; a `truncated` line (cut by the splitter) is framed for its context, then unparsed.
    public mutating func parse(_ line: UnsafeBufferPointer<UInt8>, offset: Int64, truncated: Bool) -> ParseOutcome {
        guard truncated else { return parse(line, offset: offset) }
        var failure: StaticString = ""
        guard framer.frameInPlace(line, offset: offset, failure: &failure) != nil else {
            lastLineKind = .unframed
            return .unparsed(reason: failure.description)
        }
        switch dispatch() {
        case .postfix: lastLineKind = .postfix
        case .sendmail: lastLineKind = .sendmail
        case .exim: lastLineKind = .exim
        case .utm: lastLineKind = .utm
        case .other, .invalidTag: lastLineKind = .otherProgram
        }
        return .unparsed(reason: "line longer than the line-length cap (truncated)")
    }

    /// The dispatch for the line just framed, cached per tag.
    @inline(__always)
    private mutating func dispatch() -> Dispatch {
        let i = framer.lastTagIndex
        if i >= 0, i < dispatchByTag.count, let d = dispatchByTag[i] { return d }
        let d = decide(framer.current)
        if i >= 0 {
            if i >= dispatchByTag.count {
                dispatchByTag.append(contentsOf: repeatElement(nil, count: i + 1 - dispatchByTag.count))
                fastDispatchByTag.append(contentsOf: repeatElement(.undecided, count: i + 1 - fastDispatchByTag.count))
            }
            dispatchByTag[i] = d
            switch d {
            case .postfix(.generic): fastDispatchByTag[i] = .postfixGeneric
            case .sendmail: fastDispatchByTag[i] = .sendmail
            case .exim: fastDispatchByTag[i] = .exim
            default: break
            }
        }
        return d
    }

    private func decide(_ ctx: LineContext) -> Dispatch {
        // Tags are printable ASCII (RFC 3164 TAG, RFC 5424 APP-NAME); anything else is line damage,
        // and trusting it would file the line under a made-up instance.
        for part in [ctx.instance, ctx.service, ctx.program] where part.utf8.contains(where: { $0 < 0x21 || $0 > 0x7E }) {
            return .invalidTag
        }
        let isPostfix = !ctx.instance.isEmpty
            && (ctx.instance.utf8.starts(with: "postfix".utf8) || LineParser.postfixDaemons.contains(ctx.program))
        let family: (Dispatch, InputFormat)?
        if isPostfix {
            family = (.postfix(PostfixParser.DaemonKind(program: ctx.program)), .postfix)
        } else if ctx.instance.isEmpty, LineParser.sendmailPrograms.contains(ctx.program) {
            family = (.sendmail, .sendmail)
        } else if ctx.instance.isEmpty, ctx.program.utf8.starts(with: "exim".utf8) {
            family = (.exim, ctx.program == "exim-in" || ctx.program == "exim-out" ? .utm : .exim)
        } else if ctx.instance.isEmpty, ctx.program == "smtpd" {
            family = (.utm, .utm)
        } else {
            family = nil
        }
        guard let (dispatch, kind) = family else { return .other((format == .auto ? "program:" : "foreign:") + ctx.program) }
        switch (format, kind) {
        case (.auto, _), (.utm, .utm), (.utm, .exim), (.exim, .exim), (.exim, .utm), (.postfix, .postfix),
             (.sendmail, .sendmail):
            return dispatch
        default:
            return .other("foreign:" + ctx.program)
        }
    }

    /// Program names Sendmail logs under (Debian: sm-mta, sm-msp-queue; others: sendmail).
    static let sendmailPrograms: Set<String> = [
        "sendmail", "sm-mta", "sm-msp-queue", "sm-msp", "sm-mta-rx", "sm-mta-tx", "sendmail-mta", "sendmail-msp",
        "sm-acceptingconnections",
    ]

    /// Daemon names of Postfix 3.x (the last component of a Postfix syslog tag).
    static let postfixDaemons: Set<String> = [
        "smtpd", "smtp", "lmtp", "local", "virtual", "pipe", "error", "discard", "retry", "bounce", "defer",
        "trace", "cleanup", "qmgr", "oqmgr", "pickup", "postscreen", "dnsblog", "tlsproxy", "anvil", "scache",
        "master", "tlsmgr", "verify", "trivial-rewrite", "proxymap", "flush", "showq", "postsuper", "postdrop",
        "postqueue", "postlog", "postmap", "postalias", "postfix-script", "spawn",
    ]
}
