// SendmailParser: the body of one sendmail / sm-mta / sm-msp-queue line ->
// a `SendmailLine` (spans; the hot path) or, through it, a ParseOutcome.
//
// Contract: reads only the bytes it is given (the part after `tag[pid]: `)
// and the line's context; every line ends as an event, `.ignored` or
// `.unparsed(reason:)`. Recognised records (docs/log-formats/sendmail.md):
//   `QID: from=...`, `QID: to=...` (incl. `[more]` lists), `OLD: NEW: DSN|
//   return to sender|sender notify|postmaster notify: ...`, `OLD: NEW: clone:
//   owner=`, `QID: split: ...ids=A; B`, `[QID|NOQUEUE]: ruleset=..., reject=|
//   discard|quarantine=`, milter rejects, `QID: <addr>... TEXT` address
//   refusals, pre-greeting refusals, `STARTTLS=server|client, ...`,
//   `AUTH=server, ...`; lines that carry nothing stored (daemon status,
//   session noise, milter header edits, TLS/AUTH errors) are `.ignored`.
// `from=`, `to=`, `STARTTLS=`, `AUTH=` and `ruleset=` lines are filled into
// the `SendmailLine` as spans (no String made); the rarer kinds are built as
// their `SendmailEvent` and carried in the line. `from=`, `to=`, `STARTTLS=` and
// `AUTH=` lines in their usual field order are read by fast paths that check each
// expected `, key=` where the field loop would find it (same fields; any other
// form, reordered or repeated keys included, goes through the loop). `parse(body:context:)`
// returns the line's event as a `ParseOutcome` (tests, fuzzer): one grammar.
// The one exception to "one line, one fact": sm_syslog cuts records longer
// than its buffer into `QID[1]: part ...`, ..., `QID[n]: last part`; the
// parser keeps the parts per (pid, QID) and parses the whole record at the
// last part (earlier parts are `.ignored(category: "sendmail-part")`); the
// whole record is copied into the line buffer's scratch bytes, which the
// line's spans then point into.
// Known limits: parts pending when a run ends are lost (not checkpointed);
// at most 64 records (64 KiB each) are pending at once, older ones dropped.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailTrailModel

/// Parses Sendmail line bodies.
public struct SendmailParser: Sendable {
    /// Parts of split records not yet complete, by (pid, queue ID).
    private var pending: [PartKey: [UInt8]] = [:]
    private var pendingOrder: [PartKey] = []

    private struct PartKey: Hashable, Sendable {
        var pid: Int32
        var queueID: String
    }

    public init() {}

    /// Parses one body (the text after `tag[pid]: `) into `buffer.line` (reset first; its spans
    /// point into `body`, or into the buffer's scratch bytes for a reassembled record).
    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext,
                               into buffer: SendmailLineBuffer) -> ParseStatus {
        let line = buffer.line
        line.reset(bytes: LineBytes(body))
        let s = ByteScanner(body)
        // `STARTTLS=` and `AUTH=` lines (a third of a log) straight to their readers: neither word is
        // a queue ID (`=` follows its letters), so `parseRecord` would send them there by `noQueue`.
        if s.smHas(0, SMWord.starttls, 8), s.smHas(8, 0x3D, 1) { return SendmailParser.tls(s, at: 0, line) }
        if s.smHas(0, SMWord.auth, 5) { return SendmailParser.auth(s, at: 0, line) }
        // `QID[n]: part` — a record split by sm_syslog.
        let idEnd = s.smIDEnd(from: 0)
        if idEnd < s.end, s[idEnd] == Byte.lbracket, s.smIsQueueID(alnum: 0..<idEnd) {
            return part(s, idEnd: idEnd, ctx, buffer)
        }
        return SendmailParser.parseRecord(s, idEnd: idEnd, ctx, line)
    }

    /// Parses one body into a `ParseOutcome` of Strings (tests, fuzzer): the same grammar as
    /// `parse(body:context:into:)`, whose line is turned into its `SendmailEvent`.
    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext) -> ParseOutcome {
        let buffer = SendmailLineBuffer()
        defer { withExtendedLifetime(buffer) {} }
        switch parse(body: body, context: ctx, into: buffer) {
        case .event: return .sendmail(ctx, buffer.line.event)
        case .ignored(let category): return .ignored(category: category)
        case .unparsed(let reason): return .unparsed(reason: reason)
        }
    }

    private mutating func part(_ s: ByteScanner, idEnd: Int, _ ctx: LineContext,
                               _ buffer: SendmailLineBuffer) -> ParseStatus {
        guard let rb = s.find(Byte.rbracket, from: idEnd + 1), let n = s.int((idEnd + 1)..<rb),
              s.has(": ", at: rb + 1) else {
            return .unparsed(reason: "queue ID followed by '[' but not '[n]: '")
        }
        let key = PartKey(pid: ctx.pid, queueID: s.string(0..<idEnd))
        let text = (rb + 3)..<s.end
        let isLast = !(text.count >= 4 && s.has(" ...", at: s.end - 4))
        if s.has("log terminated, too many parts", at: text.lowerBound) {
            drop(key)
            return .ignored(category: "sendmail-part")
        }
        if n == 1 {
            drop(key)
            var buf = Array(s.buffer(0..<idEnd))
            buf.append(contentsOf: ": ".utf8)
            buf.append(contentsOf: s.buffer(text.lowerBound..<(isLast ? text.upperBound : text.upperBound - 4)))
            if isLast { return SendmailParser.parseHeld(buf, ctx, buffer) }
            store(key, buf)
            return .ignored(category: "sendmail-part")
        }
        guard var buf = pending[key] else {
            return .unparsed(reason: "part [\(n)] of a split record whose first part is not in the log")
        }
        buf.append(contentsOf: s.buffer(text.lowerBound..<(isLast ? text.upperBound : text.upperBound - 4)))
        if !isLast {
            if buf.count > 65_536 { drop(key); return .unparsed(reason: "split record longer than 64 KiB") }
            pending[key] = buf
            return .ignored(category: "sendmail-part")
        }
        drop(key)
        return SendmailParser.parseHeld(buf, ctx, buffer)
    }

    /// Parses a reassembled record from the buffer's scratch bytes (they outlive this call).
    private static func parseHeld(_ record: [UInt8], _ ctx: LineContext, _ buffer: SendmailLineBuffer) -> ParseStatus {
        let held = record.withUnsafeBufferPointer { buffer.hold($0) }
        buffer.line.reset(bytes: LineBytes(held))
        let s = ByteScanner(held)
        return parseRecord(s, idEnd: s.smIDEnd(from: 0), ctx, buffer.line)
    }

    private mutating func store(_ key: PartKey, _ buf: [UInt8]) {
        if pendingOrder.count >= 64 { pending[pendingOrder.removeFirst()] = nil }
        pending[key] = buf
        pendingOrder.append(key)
    }

    private mutating func drop(_ key: PartKey) {
        guard pending.removeValue(forKey: key) != nil else { return }
        pendingOrder.removeAll { $0 == key }
    }

    // MARK: Records

    /// A String event of the rarer kinds, put into the line.
    @inline(__always)
    static func other(_ o: ParseOutcome, _ line: SendmailLine) -> ParseStatus {
        switch o {
        case .sendmail(_, let e): line.setOther(e); return .event
        case .ignored(let category): return .ignored(category: category)
        case .unparsed(let reason): return .unparsed(reason: reason)
        case .postfix, .exim, .utm: return .unparsed(reason: "not a Sendmail event")
        }
    }

    /// Parses one whole record `[QID: |NOQUEUE: ]TEXT`; `idEnd` is `s.smIDEnd(from: 0)` (the
    /// caller has it already).
    @inline(__always)
    static func parseRecord(_ s: ByteScanner, idEnd: Int, _ ctx: LineContext, _ line: SendmailLine) -> ParseStatus {
        guard s.end > 0 else { return .unparsed(reason: "empty Sendmail line") }
        if s.smHas(0, SMWord.noqueue, 8), s.smHas(8, 0x20, 1) { return noQueue(s, from: 9, ctx, line) }
        if s.smHas(idEnd, SMWord.colonSp, 2), s.smIsQueueID(alnum: 0..<idEnd) {
            return withQueueID(s, qid: 0..<idEnd, at: idEnd + 2, ctx, line)
        }
        return noQueue(s, from: 0, ctx, line)
    }

    /// Lines without a queue ID (connection- and daemon-level).
    static func noQueue(_ s: ByteScanner, from i: Int, _ ctx: LineContext, _ line: SendmailLine) -> ParseStatus {
        if s.smHas(i, SMWord.starttls, 8), s.smHas(i + 8, 0x3D, 1) { return tls(s, at: i, line) }
        if s.smHas(i, SMWord.auth, 5) { return auth(s, at: i, line) }
        if s.smHas(i, SMWord.ruleset, 8) { return ruleset(s, at: i, qid: nil, line) }
        if let o = sessionNoise(s, at: i, qid: nil, ctx) { return other(o, line) }
        for p in daemonPrefixes where s.has(p, at: i) { return .ignored(category: "sendmail-daemon") }
        return .unparsed(reason: "unknown Sendmail line without queue ID")
    }

    /// Process-level status lines (no queue ID) that carry nothing stored.
    static let daemonPrefixes: [StaticString] = [
        "starting daemon", "rejecting connections on daemon", "accepting connections again", "grew WorkList",
        "File descriptors missing", "runqueue", "alias database", "SYSERR", "restarting", "Authentication-Warning",
        "/etc/mail/", "gethostbyaddr", "unable to qualify my own domain name", "my unqualified host name",
        "daemon ", "stopping daemon", "Milter", "milter", "setsender", "tls_srv_features", "tls_clt_features",
        "AUTH failure", "STARTTLS",
    ]

    @inline(__always)
    static func withQueueID(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext,
                            _ line: SendmailLine) -> ParseStatus {
        if s.smHas(i, SMWord.from_, 5) { return from(s, qid: qid, at: i, line) }
        if s.smHas(i, SMWord.to_, 3) { return to(s, qid: qid, at: i, line) }
        if s.smHas(i, SMWord.ruleset, 8) { return ruleset(s, at: i, qid: qid, line) }
        // `OLD: NEW: KIND: text`
        let id2End = s.smIDEnd(from: i)
        if s.has(": ", at: id2End), s.smIsQueueID(alnum: i..<id2End) {
            return other(link(s, qid: qid, newQID: i..<id2End, at: id2End + 2, ctx), line)
        }
        if s.has("split: ", at: i) { return other(split(s, qid: qid, at: i + 7, ctx), line) }
        if s.has("Milter", at: i) || s.has("milter=", at: i) { return other(milter(s, qid: qid, at: i, ctx), line) }
        if s.has("STARTTLS=", at: i) { return tls(s, at: i, line) }
        if s.has("AUTH=", at: i) { return auth(s, at: i, line) }
        if s.has("done", at: i) { return .ignored(category: "sendmail-done") }
        if s.has("<", at: i), let o = addressRefusal(s, qid: qid, at: i, ctx) { return other(o, line) }
        if let o = sessionNoise(s, at: i, qid: qid, ctx) { return other(o, line) }
        for p in queueNoise where s.has(p, at: i) { return .ignored(category: "sendmail-message-note") }
        return .unparsed(reason: "unknown Sendmail line with queue ID")
    }

    /// Per-message notes with a queue ID that carry nothing stored.
    static let queueNoise: [StaticString] = [
        "SMTP outgoing connect", "collect: ", "message size (", "Fixed MIME", "SYSERR", "Authentication-Warning",
        "headers too large", "discarded", "Syntax error in mailbox address", "DSN: ", "AUTH failure",
        "makeconnection", "sender notify", "return to sender", "postmaster notify", "queueup", "timeout writing",
        "reply: ", "Warning:", "alias ", "forward ", "forward:", "cannot ", "Losing ", "lost input channel",
        "timeout waiting", "premature", "putbody", "Too many hops",
    ]

    /// Connection-level lines that carry no stored fact, or the pre-greeting refusal.
    static func sessionNoise(_ s: ByteScanner, at i: Int, qid: Range<Int>?, _ ctx: LineContext) -> ParseOutcome? {
        if s.has("rejecting commands from ", at: i), let due = s.find(" due to ", from: i + 24) {
            let peer = s.smRelay((i + 24)..<due).peer
            let r = SendmailReject(action: "reject", stage: "CONNECT", client: peer, reason: s.string((due + 8)..<s.end))
            return .sendmail(ctx, .reject(queueID: qid.map(s.string), r))
        }
        if s.has("lost input channel", at: i) || s.has("timeout waiting for input", at: i)
            || s.find(" did not issue MAIL/EXPN/VRFY/ETRN", from: i) != nil
            || s.find(": possible SMTP attack", from: i) != nil || s.find("Possible SMTP RCPT flood", from: i) != nil
            || s.find(" [rejected]", from: i) != nil || s.find(": ETRN ", from: i) != nil
            || s.find("SMTP DATA-2 protocol error", from: i) != nil || s.find(": SMTP ", from: i) != nil {
            return .ignored(category: "sendmail-session")
        }
        return nil
    }

    // MARK: from= / to=

    static func from(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ line: SendmailLine) -> ParseStatus {
        line.beginFrom(queueID: Span(qid))
        if fromFast(s, at: i, line) { return .event }
        return fromGeneral(s, qid: qid, at: i, line)
    }

    /// The usual `from=<S>, size=N, class=N, nrcpts=N[, msgid=<M>][, bodytype=B][, proto=P][, daemon=D],
    /// relay=R` read with each key checked where the field loop would find it (`smIsNextKey`):
    /// true when the line has exactly that form, and then `line` holds what `fromGeneral` gives it;
    /// false decides nothing (the caller starts over with `fromGeneral`).
    @inline(__always)
    static func fromFast(_ s: ByteScanner, at i: Int, _ line: SendmailLine) -> Bool {
        let v0 = i + 5
        guard v0 < s.end, s[v0] == Byte.lt, let a = s.smAngle(at: v0), a.next <= s.end,
              s.smIsNextKey(a.next, SMKey.size, 4) else { return false }
        line.f.sender = Span(a.content)
        var v = a.next + 7
        // Each number's end and value in one pass (`smDigits`: `digitsEnd` and `int`).
        let size = s.smDigits(from: v)
        var e = size.end
        guard s.smIsNextKey(e, SMKey.class_, 5) else { return false }
        line.f.size = size.value.map(Int64.init)
        v = e + 8
        let cls = s.smDigits(from: v)
        e = cls.end
        guard s.smIsNextKey(e, SMKey.nrcpts, 6) else { return false }
        line.f.msgClass = cls.value      // digits only: `intSigned` could not read it either
        v = e + 9
        let nrcpts = s.smDigits(from: v)
        e = nrcpts.end
        line.f.nrcpts = nrcpts.value
        if s.smIsNextKey(e, SMKey.msgid, 5) {
            v = e + 8
            guard v < s.end, s[v] == Byte.lt, let m = s.smAngle(at: v), m.next <= s.end else { return false }
            if !m.content.isEmpty { line.f.messageID = Span(m.content) }
            e = m.next
        }
        if s.smIsNextKey(e, SMKey.bodytype, 8) {
            v = e + 11
            guard let c = s.smCommaSpaceNear(from: v) else { return false }
            line.f.bodyType = Span(v..<c); e = c
        }
        if s.smIsNextKey(e, SMKey.proto, 5) {
            v = e + 8
            guard let c = s.smCommaSpaceNear(from: v) else { return false }
            line.f.proto = Span(v..<c); e = c
        }
        if s.smIsNextKey(e, SMKey.daemon, 6) {
            v = e + 9
            guard let c = s.smCommaSpaceNear(from: v) else { return false }
            line.f.daemon = Span(v..<c); e = c
        }
        guard s.smIsNextKey(e, SMKey.relay, 5) else { return false }
        v = e + 8
        // The last field: no comma after it, so no later `, key=` can end it.
        guard s.smNoComma(from: v) else { return false }
        s.smRelay(v..<s.end, into: line)
        return true
    }

    /// `from=` by the field loop (any order, repeated keys: the last wins).
    static func fromGeneral(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ line: SendmailLine) -> ParseStatus {
        line.beginFrom(queueID: Span(qid))
        var sawFrom = false
        s.smFields(from: i, to: s.end) { (kw: UInt64, _: Range<Int>, v: Range<Int>, content: Range<Int>?) in
            switch kw {
            case SMKey.from_: line.f.sender = Span(content ?? s.smAddress(v)); sawFrom = true
            case SMKey.size: line.f.size = s.int(v).map(Int64.init)
            case SMKey.class_: line.f.msgClass = s.int(v) ?? intSigned(s, v)
            case SMKey.nrcpts: line.f.nrcpts = s.int(v)
            case SMKey.msgid:
                let c = content ?? s.smAddress(v)
                if !c.isEmpty { line.f.messageID = Span(c) }
            case SMKey.bodytype: line.f.bodyType = Span(v)
            case SMKey.proto: line.f.proto = Span(v)
            case SMKey.daemon: line.f.daemon = Span(v)
            case SMKey.auth: line.f.auth = Span(v)
            case SMKey.relay: s.smRelay(v, into: line)
            default: break
            }
        }
        guard sawFrom else { return .unparsed(reason: "from= line without a sender") }
        return .event
    }

    private static func intSigned(_ s: ByteScanner, _ v: Range<Int>) -> Int? {
        guard v.count > 1, s[v.lowerBound] == Byte.minus, let n = s.int((v.lowerBound + 1)..<v.upperBound) else { return nil }
        return -n
    }

    static func to(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ line: SendmailLine) -> ParseStatus {
        line.beginTo(queueID: Span(qid))
        if let st = toFast(s, at: i, line) { return toEnd(s, statRange: st, replyRange: nil, line) }
        return toGeneral(s, qid: qid, at: i, line)
    }

    /// A `to=` value: the recipients (and `[more]`).
    @inline(__always)
    static func toList(_ s: ByteScanner, _ v: Range<Int>, _ line: SendmailLine) {
        var list = v
        if v.count >= 7, s.has(" [more]", at: v.upperBound - 7) {
            line.f.more = true
            list = v.lowerBound..<(v.upperBound - 7)
        }
        // Emptied by `beginTo` already, unless a second `to=` comes in one record.
        line.f.recipients.removeAll()
        s.smRecipients(list, into: &line.f.recipients)
    }

    /// Whether a `to=` value is one bare recipient (`eric`): not empty, no `,` `"` `<` or space, so
    /// `toList` (no ` [more]`, `smRecipients`) gives exactly the value as its one recipient.
    @inline(__always)
    static func isBareRecipient(_ s: ByteScanner, _ v: Range<Int>) -> Bool {
        guard !v.isEmpty else { return false }
        var j = v.lowerBound
        while j < v.upperBound {
            let c = s.base[j]
            if c == Byte.comma || c == Byte.quote || c == Byte.lt || c == Byte.space { return false }
            j &+= 1
        }
        return true
    }

    /// A `ctladdr=` value: the address before ` (uid/gid)`.
    @inline(__always)
    static func ctladdr(_ s: ByteScanner, _ v: Range<Int>, _ line: SendmailLine) {
        line.f.ctladdr = Span(ctladdrRange(s, v))
    }

    /// The address of a `ctladdr=` value. The usual `<addr> (uid/gid)`: the ` (` right after the
    /// address is the last one when no space follows it (what `smLastSpaceParen` finds), and the
    /// address's content is what `smAddress` gives before it; any other form by the general reader.
    @inline(__always)
    static func ctladdrRange(_ s: ByteScanner, _ v: Range<Int>) -> Range<Int> {
        let lo = v.lowerBound, hi = v.upperBound
        if lo < hi, s[lo] == Byte.lt, let a = s.smAngle(at: lo), a.next + 2 <= hi,
           s[a.next] == Byte.space, s[a.next + 1] == Byte.lparen,
           memchr(s.base + a.next + 2, Int32(Byte.space), hi - a.next - 2) == nil {
            return a.content
        }
        return ctladdrGeneral(s, v)
    }

    /// `ctladdrRange` by its definition: the address before the last ` (`.
    static func ctladdrGeneral(_ s: ByteScanner, _ v: Range<Int>) -> Range<Int> {
        var e = v.upperBound
        if let p = s.smLastSpaceParen(v) { e = p }
        return s.smAddress(v.lowerBound..<e)
    }

    /// The usual `to=R[, ctladdr=C], delay=D, xdelay=X, mailer=M, pri=N[, relay=H], dsn=S, stat=T`
    /// read with each key checked where the field loop would find it (`smIsNextKey`): the `stat=`
    /// value when the line has exactly that form (`line` then holds what `toGeneral`'s loop gives
    /// it), nil otherwise, which decides nothing (the caller starts over with `toGeneral`).
    @inline(__always)
    static func toFast(_ s: ByteScanner, at i: Int, _ line: SendmailLine) -> Range<Int>? {
        var v = i + 3
        var e: Int
        var single: Range<Int>?
        // The usual `<addr>, `: one search from after the `<` for `>`, `"` or `,` (`firstOf`). A `>`
        // found first with `, ` right after it ends the value there (no comma before it: what
        // `smCommaSpace` finds) and is where `smAngle` ends the address (no `"` before it), so the
        // value is that one address; any other form by those two.
        if v < s.end, s[v] == Byte.lt, case let j = s.firstOf(Byte.gt, Byte.quote, Byte.comma, from: v + 1, to: s.end),
           j + 2 < s.end, s[j] == Byte.gt, s[j + 1] == Byte.comma, s[j + 2] == Byte.space {
            e = j + 1
            single = (v + 1)..<j
        } else {
            guard let c = s.smCommaSpace(from: v) else { return nil }
            e = c
        }
        let hasCtl = s.smIsNextKey(e, SMKey.ctladdr, 7)
        guard hasCtl || s.smIsNextKey(e, SMKey.delay, 5) else { return nil }
        if let single {
            // The usual single `<addr>` (found above): what `toList` appends for it.
            line.f.recipients.removeAll()
            line.f.recipients.append(Span(single))
        } else if s[v] == Byte.lt, let a = s.smAngle(at: v), a.next == e {
            // The usual single `<addr>` (no ` [more]` after it): what `toList` appends for it.
            line.f.recipients.removeAll()
            line.f.recipients.append(Span(a.content))
        } else if isBareRecipient(s, v..<e) {
            // A local user (`to=eric`): the one recipient `toList` finds in it.
            line.f.recipients.removeAll()
            line.f.recipients.append(Span(v..<e))
        } else {
            toList(s, v..<e, line)
        }
        if hasCtl {
            v = e + 10
            guard let c = s.smCommaSpace(from: v), s.smIsNextKey(c, SMKey.delay, 5) else { return nil }
            ctladdr(s, v..<c, line); e = c
        }
        v = e + 8
        // The usual `HH:MM:SS` holds no comma, so the value ends right after it when `, xdelay=`
        // (`, mailer=`) is there: what `smCommaSpaceNear` finds, without the search; its value is
        // read with the check (`smHMS`: what `smDelay` gives for it).
        let c1: Int
        if let d = s.smHMS(v), s.smIsNextKey(v + 8, SMKey.xdelay, 6) { c1 = v + 8; line.f.delay = d }
        else {
            guard let c = s.smCommaSpaceNear(from: v), s.smIsNextKey(c, SMKey.xdelay, 6) else { return nil }
            c1 = c
            line.f.delay = s.smDelay(v..<c1)
        }
        v = c1 + 9
        let c2: Int
        if let d = s.smHMS(v), s.smIsNextKey(v + 8, SMKey.mailer, 6) { c2 = v + 8; line.f.xdelay = d }
        else {
            guard let c = s.smCommaSpaceNear(from: v), s.smIsNextKey(c, SMKey.mailer, 6) else { return nil }
            c2 = c
            line.f.xdelay = s.smDelay(v..<c2)
        }
        v = c2 + 9
        guard let c3 = s.smCommaSpaceNear(from: v), s.smIsNextKey(c3, SMKey.pri, 3) else { return nil }
        line.f.mailer = Span(v..<c3)
        v = c3 + 6
        let pri = s.smDigits(from: v)
        e = pri.end
        if s.smIsNextKey(e, SMKey.relay, 5) {
            v = e + 8
            guard let c = s.smCommaSpace(from: v), s.smIsNextKey(c, SMKey.dsn, 3) else { return nil }
            s.smRelay(v..<c, into: line); e = c
        } else {
            guard s.smIsNextKey(e, SMKey.dsn, 3) else { return nil }
        }
        line.f.priority = pri.value.map(Int64.init)
        v = e + 6
        guard let c4 = s.smCommaSpaceNear(from: v), s.smIsNextKey(c4, SMKey.stat, 4) else { return nil }
        line.f.dsn = Span(v..<c4)
        // `stat=` runs to the end of the record.
        let st = (c4 + 7)..<s.end
        line.f.stat = Span(st)
        return st
    }

    /// `to=` by the field loop (any order, repeated keys: the last wins).
    static func toGeneral(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ line: SendmailLine) -> ParseStatus {
        line.beginTo(queueID: Span(qid))
        var statRange: Range<Int>?
        var replyRange: Range<Int>?
        s.smFields(from: i, to: s.end) { (kw: UInt64, _: Range<Int>, v: Range<Int>) in
            switch kw {
            case SMKey.to_: toList(s, v, line)
            case SMKey.ctladdr: ctladdr(s, v, line)
            case SMKey.delay: line.f.delay = s.smDelay(v)
            case SMKey.xdelay: line.f.xdelay = s.smDelay(v)
            case SMKey.mailer: line.f.mailer = Span(v)
            case SMKey.pri: line.f.priority = s.int(v).map(Int64.init)
            case SMKey.relay: s.smRelay(v, into: line)
            case SMKey.dsn: line.f.dsn = Span(v)
            case SMKey.reply: replyRange = v; line.f.reply = Span(v)
            case SMKey.stat: statRange = v; line.f.stat = Span(v)
            case SMKey.ntries: line.f.ntries = s.int(v)
            default: break
            }
        }
        return toEnd(s, statRange: statRange, replyRange: replyRange, line)
    }

    /// What follows a `to=` line's fields: the status from `stat=` (or `dsn=`), the response.
    @inline(__always)
    static func toEnd(_ s: ByteScanner, statRange: Range<Int>?, replyRange: Range<Int>?, _ line: SendmailLine) -> ParseStatus {
        guard !line.f.recipients.isEmpty else { return .unparsed(reason: "to= line without recipients") }
        let dsn = line.f.dsn
        if let st = statRange {
            classify(s, st, line)
        } else if dsn.isPresent, !dsn.isEmpty {
            // Older/abbreviated lines without stat=: the DSN class decides.
            let c = s[Int(dsn.lo)]
            line.f.status = c == UInt8(ascii: "2") ? .sent : c == UInt8(ascii: "4") ? .deferred : .bounced
        } else {
            return .unparsed(reason: "to= line without stat= or dsn=")
        }
        if line.f.status != .sent, let r = replyRange { line.f.response = Span(r) }
        return .event
    }

    /// stat= → status, response, next hop's queue ID. `Sent*` → sent; `Deferred*`, `queued`,
    /// `quarantined` and 4.x.x texts → deferred; anything else → bounced.
    static func classify(_ s: ByteScanner, _ st: Range<Int>, _ line: SendmailLine) {
        if s.smHas(st.lowerBound, SMWord.sent, 4) {
            line.f.status = .sent
            var lo = st.lowerBound + 4
            while lo < st.upperBound, s[lo] == Byte.space { lo += 1 }
            if lo < st.upperBound, s[lo] == Byte.lparen {
                var hi = st.upperBound
                if s[hi - 1] == Byte.rparen { hi -= 1 }
                lo += 1
                if hi > lo {
                    line.f.response = Span(lo..<hi)
                    if let q = s.smAcceptedID(lo..<hi) ?? RemoteQueueID.extractRange(s, lo..<hi) {
                        line.f.nextQueueID = Span(q)
                    }
                }
            }
            return
        }
        if s.has("Deferred", at: st.lowerBound) {
            line.f.status = .deferred
            var lo = st.lowerBound + 8
            if s.has(": ", at: lo) { lo += 2 }
            if lo < st.upperBound { line.f.response = Span(lo..<st.upperBound) }
            return
        }
        line.f.response = Span(st)
        let dsn = line.f.dsn
        if s.equals(st, "queued") || s.has("quarantined", at: st.lowerBound)
            || (dsn.isPresent && !dsn.isEmpty && s[Int(dsn.lo)] == UInt8(ascii: "4")) {
            line.f.status = .deferred
        } else {
            line.f.status = .bounced
        }
    }

    // MARK: links

    static func link(_ s: ByteScanner, qid: Range<Int>, newQID: Range<Int>, at i: Int, _ ctx: LineContext) -> ParseOutcome {
        let old = s.string(qid), new = s.string(newQID)
        if s.has("clone: ", at: i) || s.has("clone:", at: i) {
            var owner: String?
            if let o = s.find("owner=", from: i) { owner = s.string(s.smAddress((o + 6)..<s.end)) }
            return .sendmail(ctx, .clone(queueID: old, newQueueID: new, owner: owner))
        }
        for kind: StaticString in ["DSN", "return to sender", "sender notify", "postmaster notify"] where s.has(kind, at: i) {
            let k = i + kind.utf8CodeUnitCount
            guard s.has(":", at: k) else { continue }
            let textStart = s.has(": ", at: k) ? k + 2 : k + 1
            return .sendmail(ctx, .notification(queueID: old, newQueueID: new, kind: s.string(i..<k),
                                                text: s.string(textStart..<s.end)))
        }
        return .unparsed(reason: "OLDQID: NEWQID: line of unknown kind")
    }

    static func split(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext) -> ParseOutcome {
        var ids: [String] = []
        s.smFields(from: i, to: s.end) { k, v in
            guard s.equals(k, "ids") || s.equals(k, "id") else { return }
            var j = v.lowerBound
            while j < v.upperBound {
                while j < v.upperBound, s[j] == Byte.semicolon || s[j] == Byte.space { j += 1 }
                let e = s.smIDEnd(from: j)
                if e > j, e <= v.upperBound { ids.append(s.string(j..<e)) } else { break }
                j = e
            }
        }
        guard !ids.isEmpty else { return .ignored(category: "sendmail-split") }
        return .sendmail(ctx, .split(queueID: s.string(qid), newQueueIDs: ids))
    }

    // MARK: refusals

    /// Maps a ruleset (or milter stage) to the SMTP stage it guards; the name itself when none.
    static func stage(_ s: ByteScanner, _ r: Range<Int>) -> String {
        stageKind(s, r).text ?? s.string(r)
    }

    /// The SMTP stage a ruleset (or milter stage) guards; `.ruleset` when none is known.
    static func stageKind(_ s: ByteScanner, _ r: Range<Int>) -> SendmailStage {
        if s.equals(r, "check_relay") || s.equals(r, "connect") { return .connect }
        if s.equals(r, "check_mail") || s.equals(r, "mail") || s.equals(r, "envfrom") { return .mail }
        if s.equals(r, "check_rcpt") || s.equals(r, "check_compat") || s.equals(r, "tls_rcpt")
            || s.equals(r, "rcpt") || s.equals(r, "envrcpt") { return .rcpt }
        if s.equals(r, "check_eoh") || s.equals(r, "check_eom") || s.equals(r, "data") || s.equals(r, "eom")
            || s.equals(r, "eoh") || s.equals(r, "body") { return .endOfMessage }
        if s.equals(r, "check_data") { return .data }
        if s.equals(r, "tls_server") || s.equals(r, "tls_client") { return .starttls }
        if s.equals(r, "helo") || s.equals(r, "check_helo") { return .helo }
        if s.equals(r, "check_etrn") { return .etrn }
        if s.equals(r, "check_expn") { return .expn }
        if s.equals(r, "check_vrfy") { return .vrfy }
        return .ruleset
    }

    /// `ruleset=R, arg1=A[, arg2=B], relay=H, reject=NNN X.Y.Z TEXT` (or a trailing `discard`, or
    /// `quarantine=TEXT`), into `line` as a `ruleset` line (spans; the last of a repeated key wins).
    static func ruleset(_ s: ByteScanner, at i: Int, qid: Range<Int>?, _ line: SendmailLine) -> ParseStatus {
        line.beginRuleset(queueID: qid.map { Span($0) } ?? .absent)
        var rejectText: Range<Int>?
        var quarantine = false
        let stop = s.smFields(from: i, to: s.end) { (kw: UInt64, k: Range<Int>, v: Range<Int>) in
            switch kw {
            case SMKey.ruleset: line.f.ruleset = Span(v)
            case SMKey.arg1: line.f.arg1 = Span(v)
            case SMKey.arg2: line.f.arg2 = Span(v)
            case SMKey.relay: s.smRelay(v, into: line)
            case SMKey.reject: rejectText = v
            case 0: if s.equals(k, "quarantine") { quarantine = true; line.f.reason = Span(v) }
            default: break
            }
        }
        let rs = line.f.ruleset
        guard rs.isPresent else { return .unparsed(reason: "ruleset= line without a ruleset") }
        if quarantine { line.f.rulesetAction = .quarantine }
        if let t = rejectText {
            let p = s.smReplyRanges(t)
            if let c = p.code { line.f.code = Span(c) }
            if let d = p.dsn { line.f.dsn = Span(d) }
            line.f.reason = Span(p.text)
        } else if s.has("discard", at: stop) {
            line.f.rulesetAction = .discard
        } else if !quarantine {
            return .unparsed(reason: "ruleset= line without reject=, discard or quarantine=")
        }
        let r = Int(rs.lo)..<Int(rs.hi)
        line.f.stage = stageKind(s, r)
        let a1 = line.f.arg1
        if a1.isPresent {
            let a = Int(a1.lo)..<Int(a1.hi)
            if s.equals(r, "check_mail") { line.f.sender = Span(s.smAddress(a)) }
            else if s.equals(r, "check_rcpt") || s.equals(r, "tls_rcpt") { line.f.recipient = Span(s.smAddress(a)) }
        }
        return .event
    }

    /// `Milter: from=<X>, reject=T`, `Milter: to=<X>, reject=`, `Milter: data, reject=`,
    /// `Milter: connect: host=H, addr=A, reject=`, `milter=NAME, action=STAGE, reject=T`.
    static func milter(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext) -> ParseOutcome {
        guard let rj = s.find(", reject=", from: i) else { return .ignored(category: "sendmail-milter") }
        var r = SendmailReject(action: "milter-reject", ruleset: "milter")
        let p = s.smReply((rj + 9)..<s.end)
        r.code = p.code; r.dsn = p.dsn; r.reason = s.string(p.text)
        if s.has("Milter: from=", at: i) {
            r.stage = "MAIL"; r.sender = s.string(s.smAddress((i + 13)..<rj))
        } else if s.has("Milter: to=", at: i) {
            r.stage = "RCPT"; r.recipient = s.string(s.smAddress((i + 11)..<rj))
        } else if s.has("Milter: data", at: i) {
            r.stage = "END-OF-MESSAGE"
        } else if s.has("Milter: connect", at: i) || s.has("Milter: connect:", at: i) {
            r.stage = "CONNECT"
            var host: String?, addr: String?
            s.smFields(from: (s.find("host=", from: i) ?? rj), to: rj) { k, v in
                if s.equals(k, "host") { host = s.string(v) } else if s.equals(k, "addr") { addr = s.smIP(v) }
            }
            r.client = Peer(name: host, ip: addr)
        } else if s.has("milter=", at: i) {
            s.smFields(from: i, to: rj) { k, v in
                if s.equals(k, "milter") { r.ruleset = "milter=" + s.string(v) }
                else if s.equals(k, "action") { r.stage = stage(s, v) }
            }
        } else {
            return .ignored(category: "sendmail-milter")
        }
        return .sendmail(ctx, .reject(queueID: s.string(qid), r))
    }

    /// `QID: <addr>... TEXT`: the reply sendmail gave for an address (e.g. `User unknown` at RCPT).
    static func addressRefusal(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext) -> ParseOutcome? {
        guard let dots = s.find(">... ", from: i) else { return nil }
        let addr = (i + 1)..<dots
        let text = (dots + 5)..<s.end
        let p = s.smReply(text)
        let r = SendmailReject(action: "reject", recipient: s.string(addr), code: p.code, dsn: p.dsn,
                               reason: s.string(p.text))
        return .sendmail(ctx, .reject(queueID: s.string(qid), r))
    }

    // MARK: TLS / AUTH

    static func tls(_ s: ByteScanner, at i: Int, _ line: SendmailLine) -> ParseStatus {
        let dir: TLSDirection
        // `STARTTLS=server, relay=` / `STARTTLS=client, relay=` (the caller saw `STARTTLS=`).
        guard s.smHas(i, SMWord.starttls, 8), s.smHas(i + 16, SMWord.spRelay, 7) else {
            return .ignored(category: "sendmail-tls-error")
        }
        if s.smHas(i + 8, SMWord.eqServer, 8) { dir = .inbound }
        else if s.smHas(i + 8, SMWord.eqClient, 8) { dir = .outbound }
        else { return .ignored(category: "sendmail-tls-error") }
        line.beginTLS(direction: dir)
        var bitsAt = -1
        if tlsFast(s, at: i, line, bitsAt: &bitsAt) { return tlsEnd(s, line, bitsAt: bitsAt) }
        return tlsGeneral(s, at: i, direction: dir, line)
    }

    /// A `STARTTLS=server|client, relay=` line by the field loop (any order, repeated keys: the last wins).
    static func tlsGeneral(_ s: ByteScanner, at i: Int, direction dir: TLSDirection, _ line: SendmailLine) -> ParseStatus {
        line.beginTLS(direction: dir)
        var bitsAt = -1
        tlsFields(s, at: i, line, bitsAt: &bitsAt)
        return tlsEnd(s, line, bitsAt: bitsAt)
    }

    /// A `bits=` value (`N/M`: N).
    @inline(__always)
    static func tlsBits(_ s: ByteScanner, _ v: Range<Int>, _ line: SendmailLine) {
        let slash = s.find(Byte.slash, from: v.lowerBound, to: v.upperBound) ?? v.upperBound
        line.f.bits = s.int(v.lowerBound..<slash)
    }

    /// The usual `STARTTLS=server|client, relay=R, version=V, verify=X, cipher=C, bits=N/M` read with
    /// each key checked where the field loop would find it (`smIsNextKey`): true when the line has
    /// exactly that form (`line` and `bitsAt` then hold what `tlsFields` gives), false otherwise,
    /// which decides nothing (the caller starts over with `tlsFields`).
    @inline(__always)
    static func tlsFast(_ s: ByteScanner, at i: Int, _ line: SendmailLine, bitsAt: inout Int) -> Bool {
        // `relay=` follows `STARTTLS=server, ` (the caller checked).
        var v = i + 23
        guard let c1 = s.smCommaSpace(from: v), s.smIsNextKey(c1, SMKey.version, 7) else { return false }
        s.smRelay(v..<c1, into: line)
        v = c1 + 10
        // The tail (`version=`'s value to the end) decides the rest: a tail seen lately is taken
        // from the buffer's memo (what the code below gave for the same bytes).
        let n = s.end - v
        let memo = line.f.tlsTailMemo
        if n >= 1, n <= SendmailTLSTailMemo.maxKey, memo.isAllocated {
            let p = s.base + v
            let h = SendmailTLSTailMemo.hash(p, n)
            if let t = memo.lookup(p, n, hash: h) {
                line.f.tlsProto = t.proto.shifted(by: v); line.f.verify = t.verify.shifted(by: v)
                line.f.cipher = t.cipher.shifted(by: v)
                line.f.bits = t.bits >= 0 ? Int(t.bits) : nil
                bitsAt = v + Int(t.bitsAt)
                line.f.tlsTailID = t.id
                return true
            }
            guard tlsTail(s, at: v, line, bitsAt: &bitsAt) else { return false }
            line.f.tlsTailID = memo.store(p, n, hash: h, SendmailTLSTail(
                proto: line.f.tlsProto.shifted(by: -v), verify: line.f.verify.shifted(by: -v),
                cipher: line.f.cipher.shifted(by: -v), bits: line.f.bits, bitsAt: bitsAt - v))
            return true
        }
        return tlsTail(s, at: v, line, bitsAt: &bitsAt)
    }

    /// `tlsFast`'s tail: `V, verify=X, cipher=C, bits=N/M` from `version=`'s value at `v` to the end
    /// (true and the fields set when the tail has exactly that form; a function of its bytes alone).
    @inline(__always)
    static func tlsTail(_ s: ByteScanner, at v0: Int, _ line: SendmailLine, bitsAt: inout Int) -> Bool {
        var v = v0
        guard let c2 = s.smCommaSpaceNear(from: v), s.smIsNextKey(c2, SMKey.verify, 6) else { return false }
        line.f.tlsProto = Span(v..<c2)
        v = c2 + 9
        guard let c3 = s.smCommaSpaceNear(from: v), s.smIsNextKey(c3, SMKey.cipher, 6) else { return false }
        line.f.verify = Span(v..<c3)
        v = c3 + 9
        guard let c4 = s.smCommaSpace(from: v), s.smIsNextKey(c4, SMKey.bits, 4) else { return false }
        line.f.cipher = Span(v..<c4)
        v = c4 + 7
        // The last field: no comma after it, so no later `, key=` can end it.
        guard s.smNoComma(from: v) else { return false }
        bitsAt = v
        tlsBits(s, v..<s.end, line)
        return true
    }

    /// A `STARTTLS=` line's fields by the field loop (any order, repeated keys: the last wins).
    static func tlsFields(_ s: ByteScanner, at i: Int, _ line: SendmailLine, bitsAt: inout Int) {
        s.smFields(from: i + 17, to: s.end) { (kw: UInt64, _: Range<Int>, v: Range<Int>) in
            switch kw {
            case SMKey.relay: s.smRelay(v, into: line)
            case SMKey.version: line.f.tlsProto = Span(v)
            case SMKey.verify: line.f.verify = Span(v)
            case SMKey.cipher: line.f.cipher = Span(v)
            case SMKey.bits:
                bitsAt = v.lowerBound
                tlsBits(s, v, line)
            default: break
            }
        }
    }

    /// What follows a `STARTTLS=` line's fields: the check that it says something, the `tlsKey`.
    @inline(__always)
    static func tlsEnd(_ s: ByteScanner, _ line: SendmailLine, bitsAt: Int) -> ParseStatus {
        let p = line.f.tlsProto
        guard p.isPresent || line.f.cipher.isPresent else { return .ignored(category: "sendmail-tls-error") }
        // The fields after `version=` are read from its value on without a look back, so when the
        // last `version=` comes before the last `verify=`, `cipher=` and `bits=`, its value up to
        // the end decides all four (the correlator reuses a `TLSInfo` for equal bytes).
        if p.isPresent, line.f.cipher.isAbsent || line.f.cipher.lo >= p.lo,
           line.f.verify.isAbsent || line.f.verify.lo >= p.lo, bitsAt < 0 || bitsAt >= Int(p.lo) {
            line.f.tlsKey = Span(Int(p.lo)..<s.end)
        }
        return .event
    }

    static func auth(_ s: ByteScanner, at i: Int, _ line: SendmailLine) -> ParseStatus {
        guard s.smHas(i, SMWord.authSer, 8), s.smHas(i + 8, SMWord.verCommaSp, 5) else { return .ignored(category: "sendmail-auth") }
        line.beginAuth()
        if authFast(s, at: i, line) { return .event }
        return authGeneral(s, at: i, line)
    }

    /// The usual `AUTH=server, relay=R, authid=A, mech=M, bits=N` read with each key checked where
    /// the field loop would find it (`smIsNextKey`): true when the line has exactly that form (`line`
    /// then holds what `authGeneral` gives it), false otherwise, which decides nothing.
    @inline(__always)
    static func authFast(_ s: ByteScanner, at i: Int, _ line: SendmailLine) -> Bool {
        guard s.smHas(i + 13, SMWord.relay, 6) else { return false }
        var v = i + 19
        guard let c1 = s.smCommaSpace(from: v), s.smIsNextKey(c1, SMKey.authid, 6) else { return false }
        s.smRelay(v..<c1, into: line)
        v = c1 + 9
        guard let c2 = s.smCommaSpace(from: v), s.smIsNextKey(c2, SMKey.mech, 4) else { return false }
        line.f.authid = Span(v..<c2)
        v = c2 + 7
        guard let c3 = s.smCommaSpaceNear(from: v), s.smIsNextKey(c3, SMKey.bits, 4) else { return false }
        line.f.mechanism = Span(v..<c3)
        // `bits=` (not stored) is the last field: no comma after it, so no later `, key=`.
        return s.smNoComma(from: c3 + 7)
    }

    /// An `AUTH=server, ` line by the field loop (any order, repeated keys: the last wins).
    static func authGeneral(_ s: ByteScanner, at i: Int, _ line: SendmailLine) -> ParseStatus {
        line.beginAuth()
        s.smFields(from: i + 13, to: s.end) { (kw: UInt64, _: Range<Int>, v: Range<Int>) in
            switch kw {
            case SMKey.relay: s.smRelay(v, into: line)
            case SMKey.authid: line.f.authid = Span(v)
            case SMKey.mech: line.f.mechanism = Span(v)
            default: break
            }
        }
        guard line.f.authid.isPresent, line.f.mechanism.isPresent else {
            return .unparsed(reason: "AUTH=server line without authid= or mech=")
        }
        return .event
    }
}
