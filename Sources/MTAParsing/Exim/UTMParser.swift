// UTMParser: the body of one Sophos UTM `smtpd[pid]:` line (QMGR, SCANNER,
// MASTER, SecureMail key="value") -> ParseOutcome.
//
// Contract: reads only the bytes it is given and the line's context; every
// line ends as `.utm`, `.ignored` or `.unparsed(reason:)`. A `smtpd` line
// that is not UTM's (OpenSMTPD uses the same name; its bodies never start
// with `QMGR[`, `SCANNER[` or `MASTER[`) is `.ignored("program:smtpd")`.
// SCANNER lines in Exim's grammar (`NEW <= sender R=OLD P=INPUT S=n`,
// `OLD => work R=SCANNER T=SCANNER`, `OLD Completed`) are parsed by
// EximParser and wrapped as `.scanner`. SecureMail lines are read left to
// right by key; `subject="..."` ends at the last `" queueid="` so a subject
// holding `" ` survives. See docs/log-formats/sophos-utm.md.
// Known limits: SecureMail event ids other than 1000 are kept generically
// (name as logged); MASTER lines are ignored.
import MailTrailModel

/// Parses Sophos UTM smtpd line bodies.
public struct UTMParser: Sendable {
    /// Strings of values that repeat (see `EximParser`).
    private var strings = StringCache()
    /// The line SCANNER's Exim-grammar text is parsed into before it becomes an `EximEvent`.
    private var scratch = EximLineBuffer()

    public init() {}

    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext) -> ParseOutcome {
        let s = ByteScanner(body)
        if s.has("QMGR[", at: 0) {
            guard let t = UTMParser.afterSubTag(s, 5) else { return .unparsed(reason: "utm: bad QMGR tag") }
            let n = EximFields.messageIDLength(s, at: t)
            if n > 0, s.has(" moved to work queue", at: t + n) {
                return .utm(ctx, .movedToWorkQueue(queueID: s.string(t..<(t + n))))
            }
            return .ignored(category: "utm:qmgr")
        }
        if s.has("SCANNER[", at: 0) {
            guard let t = UTMParser.afterSubTag(s, 8) else { return .unparsed(reason: "utm: bad SCANNER tag") }
            if s.has("id=\"", at: t) { return UTMParser.secureMail(s, t, ctx) }
            if EximFields.messageIDLength(s, at: t) > 0 {
                if !isKnownUniquelyReferenced(&scratch) { scratch = EximLineBuffer() }
                let e = scratch.line
                e.reset(bytes: LineBytes(body))
                switch EximParser.parseText(s, from: t, &strings, into: e) {
                case .event: return .utm(ctx, .scanner(EximParser.event(e, &strings)))
                case .unparsed(let r): return .unparsed(reason: "utm scanner: " + r)
                case .ignored(let c): return .ignored(category: c)
                }
            }
            return .ignored(category: "utm:scanner")
        }
        if s.has("MASTER[", at: 0) { return .ignored(category: "utm:master") }
        return .ignored(category: "program:" + ctx.program)
    }

    /// Index after `NAME[pid]: ` whose `[` is at `open - 1`.
    static func afterSubTag(_ s: ByteScanner, _ open: Int) -> Int? {
        let d = s.digitsEnd(from: open)
        guard d > open, s.has("]: ", at: d) else { return nil }
        return d + 3
    }

    static func secureMail(_ s: ByteScanner, _ t: Int, _ ctx: LineContext) -> ParseOutcome {
        var m = UTMSecureMail(name: "")
        var i = t
        let lastQueueID = s.findLast("\" queueid=\"", from: t)
        while i < s.end {
            while i < s.end && s[i] == Byte.space { i += 1 }
            guard let eq = s.find(Byte.equals, from: i), eq + 1 < s.end, s[eq + 1] == Byte.quote else { break }
            let key = i..<eq
            let v = eq + 2
            var close: Int
            if s.equals(key, "subject"), let q = lastQueueID, q >= v {
                close = q
            } else {
                guard let q = s.find(Byte.quote, from: v) else { break }
                close = q
            }
            let val = v..<close
            if s.equals(key, "id") { m.eventID = s.int(val) }
            else if s.equals(key, "severity") { m.severity = s.string(val) }
            else if s.equals(key, "name") { m.name = s.string(val) }
            else if s.equals(key, "srcip") { m.sourceIP = s.isIPAddress(val) ? s.string(val) : nil }
            else if s.equals(key, "from") { m.sender = s.string(val) }
            else if s.equals(key, "to") { m.recipient = s.string(val) }
            else if s.equals(key, "subject") { m.subject = s.string(val) }
            else if s.equals(key, "queueid") { m.queueID = val.isEmpty ? nil : s.string(val) }
            else if s.equals(key, "size") { m.size = s.int(val).map(Int64.init) }
            i = close + 1
        }
        guard !m.name.isEmpty else { return .unparsed(reason: "utm: SecureMail line without name=") }
        return .utm(ctx, .secureMail(m))
    }
}
