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
// * Other programs are `.ignored(category: "program:<name>")` with `.auto`
//   (no other MTA parser exists yet) and `.ignored(category: "foreign:<name>")`
//   with `.postfix` (known foreign programs in a Postfix log).
// * `lastContext` is the context of the last framed line, for dating lines
//   that are unparsed.
// Known limits: one input stream per LineParser (year inference state).

import MailTrailModel
import SyslogFraming

/// Which MTA grammar the input is expected to hold.
public enum InputFormat: String, Sendable, CaseIterable {
    /// Postfix logs; other programs' lines are ignored as foreign.
    case postfix
    /// Detect per line from the syslog tag.
    case auto
}

/// How the last line was dispatched (for per-kind counters).
public enum LineKind: Sendable, Equatable {
    /// The envelope could not be read.
    case unframed
    /// A Postfix-family program's line.
    case postfix
    /// Another program's line.
    case otherProgram
}

/// Frames and parses lines of one input stream.
public struct LineParser: Sendable {
    /// The input format this parser was created with.
    public let format: InputFormat
    private var framer: SyslogFramer
    private var postfix = PostfixParser()
    /// Dispatch decisions per framer tag index (nil = not decided yet).
    private var dispatchByTag: [Dispatch?] = []

    private enum Dispatch {
        case postfix(PostfixParser.DaemonKind)
        case other(String)
    }

    /// Creates a parser for one input stream.
    public init(format: InputFormat, framing: FramingConfig) {
        self.format = format
        self.framer = SyslogFramer(config: framing)
    }

    /// The context (time, host, tag) of the last line whose envelope was read.
    public var lastContext: LineContext? { framer.lastContext }
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
            return postfix.parse(body: UnsafeBufferPointer(rebasing: line[body]), context: framer.current, kind: kind)
        case .other(let category):
            lastLineKind = .otherProgram
            return .ignored(category: category)
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
        if case .postfix = dispatch() { lastLineKind = .postfix } else { lastLineKind = .otherProgram }
        return .unparsed(reason: "line longer than the line-length cap (truncated)")
    }

    /// The dispatch for the line just framed, cached per tag.
    @inline(__always)
    private mutating func dispatch() -> Dispatch {
        let i = framer.lastTagIndex
        if i >= 0, i < dispatchByTag.count, let d = dispatchByTag[i] { return d }
        let d = decide(framer.current)
        if i >= 0 {
            if i >= dispatchByTag.count { dispatchByTag.append(contentsOf: repeatElement(nil, count: i + 1 - dispatchByTag.count)) }
            dispatchByTag[i] = d
        }
        return d
    }

    private func decide(_ ctx: LineContext) -> Dispatch {
        let isPostfix = !ctx.instance.isEmpty
            && (ctx.instance.utf8.starts(with: "postfix".utf8) || LineParser.postfixDaemons.contains(ctx.program))
        if isPostfix { return .postfix(PostfixParser.DaemonKind(program: ctx.program)) }
        return .other((format == .postfix ? "foreign:" : "program:") + ctx.program)
    }

    /// Daemon names of Postfix 3.x (the last component of a Postfix syslog tag).
    static let postfixDaemons: Set<String> = [
        "smtpd", "smtp", "lmtp", "local", "virtual", "pipe", "error", "discard", "retry", "bounce", "defer",
        "trace", "cleanup", "qmgr", "oqmgr", "pickup", "postscreen", "dnsblog", "tlsproxy", "anvil", "scache",
        "master", "tlsmgr", "verify", "trivial-rewrite", "proxymap", "flush", "showq", "postsuper", "postdrop",
        "postqueue", "postlog", "postmap", "postalias", "postfix-script", "spawn",
    ]
}
