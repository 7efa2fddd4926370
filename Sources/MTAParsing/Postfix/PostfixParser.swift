// PostfixParser: one Postfix log body (after `tag[pid]: `) -> one PostfixLine
// (hot path) or one ParseOutcome (the same facts as Strings).
//
// Contract:
// * MUST produce an event (`.event` with the `PostfixLine` filled, or
//   `.postfix(context, event)`) for every line kind listed in
//   docs/log-formats/postfix.md (smtpd sessions, TLS, client=, pickup,
//   cleanup message-id, qmgr, delivery agents, bounce notifications, refusals
//   of smtpd/postscreen/cleanup, postsuper), `.ignored(category:)` for lines
//   known to carry nothing we store, `.unparsed(reason:)` for the rest.
// * MUST NOT look at other lines; the only state is a one-entry cache of the
//   last program's daemon kind.
// * Dispatch is by content after an optional queue-ID prefix, so custom
//   master.cf service names (`postfix/amavis/smtp`) need no configuration;
//   only a few daemons with their own grammar (postscreen, tlsproxy) and the
//   statistics/administrative daemons are dispatched by program name.
// * The hot path builds no String: fields are spans of the body; categories
//   are static. `parse(body:context:)` builds the `PostfixEvent` from them.
// Known limits: `warning:`/`error:`/`fatal:`/`panic:` lines are ignored as a
// class (SASL failures included); body-only lines without a queue ID where
// one is required (`uid=... from=...` alone) are unparsed.

import MailTrailModel

/// Parses the body of one Postfix log line.
public struct PostfixParser: Sendable {
    private var lastProgram: String = "\u{0}"
    private var lastKind: DaemonKind = .generic

    /// Creates a parser (no configuration).
    public init() {}

    /// Parses `body` (the message text after the syslog tag) of a line with `context`.
    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context: LineContext) -> ParseOutcome {
        if context.program != lastProgram {
            lastKind = DaemonKind(program: context.program)
            lastProgram = context.program
        }
        return PostfixParser.outcome(body: body, context: context, kind: lastKind)
    }

    /// The `ParseOutcome` of a body whose daemon kind is known.
    static func outcome(body: UnsafeBufferPointer<UInt8>, context: LineContext, kind: DaemonKind) -> ParseOutcome {
        let buffer = PostfixLineBuffer(sharedStrings: false)
        let line = buffer.line
        defer { withExtendedLifetime(buffer) {} }
        switch parse(body: body, context: context, kind: kind, into: line) {
        case .event:
            // The disconnect peer is read here, its only reader: the line holds where it starts,
            // it ends at the next space.
            var peer = Peer()
            if line.kind == .disconnect {
                let s = ByteScanner(body), lo = Int(line.rawPeer.lo)
                peer = s.parsePeer(lo..<s.scan(from: lo, until: Byte.space, Byte.space))
            }
            return .postfix(context, line.event(disconnectPeer: peer))
        case .ignored(let category): return .ignored(category: category)
        case .unparsed(let reason): return .unparsed(reason: reason)
        }
    }

    /// Parses `body` into `e` (reset first; its spans point into `body`) when the caller knows the daemon kind.
    static func parse(body: UnsafeBufferPointer<UInt8>, context: LineContext, kind: DaemonKind,
                      into e: PostfixLine) -> ParseStatus {
        e.reset(bytes: LineBytes(body))
        let s = ByteScanner(body)
        guard s.end > 0 else { return .unparsed(reason: "empty message") }
        if let severity = PostfixParser.severity(s) { return .ignored(category: severity) }
        switch kind {
        case .ignoredProgram(let category): return .ignored(category: category)
        case .postscreen: return parsePostscreen(s, context, e)
        case .tlsproxy: return parseTLSProxy(s, context, e)
        case .generic: break
        }
        if let q = PostfixParser.queueIDPrefix(s) {
            e.queueID = Span(q)
            return parseQueued(s, at: q.upperBound + 2, context, e)
        }
        if s.has("NOQUEUE: ", at: 0) { return parseNoQueue(s, at: 9, context, e) }
        return parseSessionLine(s, context, e)
    }

    // MARK: - daemon classes

    enum DaemonKind: Equatable, Sendable {
        case generic
        case postscreen
        case tlsproxy
        case ignoredProgram(String)

        init(program: String) {
            switch program {
            case "postscreen": self = .postscreen
            case "tlsproxy": self = .tlsproxy
            case "anvil": self = .ignoredProgram("anvil")
            case "scache": self = .ignoredProgram("scache")
            case "master": self = .ignoredProgram("master")
            case "tlsmgr": self = .ignoredProgram("tlsmgr")
            case "dnsblog": self = .ignoredProgram("dnsblog")
            case "verify": self = .ignoredProgram("verify")
            case "trivial-rewrite": self = .ignoredProgram("trivial-rewrite")
            case "proxymap", "flush", "showq", "spawn":
                self = .ignoredProgram("postfix-service")
            case "postfix-script", "postfix", "postlog", "postmap", "postalias", "postdrop", "postqueue",
                 "sendmail", "postconf", "postkick", "postlock", "postmulti", "script", "postcat":
                self = .ignoredProgram("postfix-tool")
            default: self = .generic
            }
        }
    }

    // MARK: - prefixes

    @inline(__always)
    static func severity(_ s: ByteScanner) -> String? {
        switch s[0] {
        case 0x77: return s.has("warning: ", at: 0) ? "warning" : nil   // w
        case 0x65: return s.has("error: ", at: 0) ? "error" : nil       // e
        case 0x66: return s.has("fatal: ", at: 0) ? "fatal" : nil       // f
        case 0x70: return s.has("panic: ", at: 0) ? "panic" : nil       // p
        default: return nil
        }
    }

    /// The range of a leading `QID: ` (short hex or long base-52 form), or nil.
    @inline(__always)
    static func queueIDPrefix(_ s: ByteScanner) -> Range<Int>? {
        // The usual short form, `[0-9A-F]{6,15}: `, sixteen bytes at a time: where the hex run
        // ends at a byte that is not alphanumeric, the loop below would stop there too with only
        // hex seen, so that byte decides. A run ending at another alphanumeric (a long ID, or a
        // word like `connect`) is measured again as a run of alphanumerics, the loop's own stop:
        // when that ends before sixteen bytes at a byte other than `:`, the loop would answer nil
        // there (session lines: `connect from`, `Anonymous TLS`). The rest takes the loop.
        if s.end >= 16 {
            let raw = UnsafeRawPointer(s.base)
            let w0 = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            let w1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            let m0 = hexMask(w0)
            let run = m0 != hexHighs ? (~m0 & hexHighs).trailingZeroBitCount >> 3
                : 8 + (~hexMask(w1) & hexHighs).trailingZeroBitCount >> 3
            if run < 16 && PostfixParser.idClass[Int(s[run])] & alnumClass == 0 {
                guard s[run] == Byte.colon, run + 1 == s.end || s[run + 1] == Byte.space, run >= 6 else { return nil }
                return 0..<run
            }
            let a0 = alnumMask(w0)
            let words = a0 != hexHighs ? (~a0 & hexHighs).trailingZeroBitCount >> 3
                : 8 + (~alnumMask(w1) & hexHighs).trailingZeroBitCount >> 3
            if words < 16 && s[words] != Byte.colon { return nil }
        }
        return queueIDPrefixLoop(s)
    }

    /// `queueIDPrefix` byte by byte (any form; the definition the word test is checked against).
    static func queueIDPrefixLoop(_ s: ByteScanner) -> Range<Int>? {
        let t = PostfixParser.idClass
        var i = 0
        var all: UInt8 = 0xFF, any: UInt8 = 0
        let limit = min(s.end, 32)
        while i < limit {
            let c = t[Int(s[i])]
            if c & alnumClass == 0 { break }
            all &= c; any |= c
            i += 1
        }
        guard i < s.end, s[i] == Byte.colon, i + 1 == s.end || s[i + 1] == Byte.space, i >= 6 else { return nil }
        return isQueueIDClass(all: all, any: any, count: i) ? 0..<i : nil
    }

    static let hexHighs: UInt64 = 0x8080_8080_8080_8080

    /// The high bit of each byte of `w` that is `[0-9A-F]`.
    @inline(__always)
    static func hexMask(_ w: UInt64) -> UInt64 {
        ByteScanner.bytesInRange(w, 0x30, 0x39) | ByteScanner.bytesInRange(w, 0x41, 0x46)
    }

    /// The high bit of each byte of `w` that is `[0-9A-Za-z]` (the `alnumClass` bytes).
    @inline(__always)
    static func alnumMask(_ w: UInt64) -> UInt64 {
        ByteScanner.bytesInRange(w, 0x30, 0x39) | ByteScanner.bytesInRange(w, 0x41, 0x5A)
            | ByteScanner.bytesInRange(w, 0x61, 0x7A)
    }

    /// Whether `r` is a Postfix queue ID: `[0-9A-F]{6,}` or the long form (no vowels, contains `z`).
    static func isQueueID(_ s: ByteScanner, _ r: Range<Int>) -> Bool {
        guard r.count >= 6, r.count <= 32 else { return false }
        let t = PostfixParser.idClass
        var all: UInt8 = 0xFF, any: UInt8 = 0
        for i in r {
            let c = t[Int(s[i])]
            if c & alnumClass == 0 { return false }
            all &= c; any |= c
        }
        return isQueueIDClass(all: all, any: any, count: r.count)
    }

    /// The queue-ID rule on the AND (`all`) and OR (`any`) of the classes of `count` alphanumerics.
    @inline(__always)
    static func isQueueIDClass(all: UInt8, any: UInt8, count: Int) -> Bool {
        all & hexClass != 0 || (any & vowelClass == 0 && any & zClass != 0 && count >= 12)
    }

    static let alnumClass: UInt8 = 1, hexClass: UInt8 = 2, vowelClass: UInt8 = 4, zClass: UInt8 = 8

    /// Byte classes of queue-ID characters: alphanumeric, `[0-9A-F]`, vowel, `z` — `idClassOf`
    /// of every byte, as a literal: its bytes are a constant, where a table computed into a
    /// `static let` is reached through a `swift_once` call on every line.
    @inline(__always)
    static var idClass: UnsafePointer<UInt8> {
        let table: StaticString = """
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{3}\u{3}\u{3}\u{3}\u{3}\u{3}\u{3}\u{3}\u{3}\u{3}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{7}\u{3}\u{3}\u{3}\u{7}\u{3}\u{1}\u{1}\u{5}\u{1}\u{1}\u{1}\u{1}\u{1}\u{5}\u{1}\u{1}\u{1}\u{1}\u{1}\u{5}\u{1}\u{1}\u{1}\u{1}\u{1}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{5}\u{1}\u{1}\u{1}\u{5}\u{1}\u{1}\u{1}\u{5}\u{1}\u{1}\u{1}\u{1}\u{1}\u{5}\u{1}\u{1}\u{1}\u{1}\u{1}\u{5}\u{1}\u{1}\u{1}\u{1}\u{9}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}
            """
        return table.utf8Start
    }

    /// The class of one byte (the definition `idClass` tabulates).
    static func idClassOf(_ u: UInt8) -> UInt8 {
        var c: UInt8 = 0
        if Byte.isAlnum(u) { c |= alnumClass }
        if Byte.isDigit(u) || (u >= 0x41 && u <= 0x46) { c |= hexClass }
        switch u {
        case 0x41, 0x45, 0x49, 0x4F, 0x55, 0x61, 0x65, 0x69, 0x6F, 0x75: c |= vowelClass
        case 0x7A: c |= zClass
        default: break
        }
        return c
    }

    // MARK: - lines with a queue ID

    @inline(__always)
    private static func parseQueued(_ s: ByteScanner, at i: Int, _ ctx: LineContext, _ e: PostfixLine) -> ParseStatus {
        guard i < s.end else { return .unparsed(reason: "nothing after queue ID") }
        switch s[i] {
        case 0x74 where s.has("to=", at: i):                          // t
            return parseDelivery(s, at: i + 3, e)
        case 0x63 where s.has("client=", at: i):                      // c
            return parseClient(s, at: i + 7, e)
        case 0x6D where s.has("message-id=", at: i):                  // m
            return parseMessageID(s, at: i + 11, e)
        case 0x66 where s.has("from=", at: i):                        // f
            return parseQmgrFrom(s, at: i + 5, e)
        case 0x72 where s.has("removed", at: i):                      // r
            return parseRemoved(s, at: i + 7, e)
        case 0x75 where s.has("uid=", at: i):                         // u
            return parsePickup(s, at: i + 4, e)
        default: break
        }
        return parseQueuedOther(s, at: i, ctx, e)
    }

    /// `parseQueued` for the rarer texts after a queue ID (refusals, bounces, admin actions,
    /// ignored replies). Out of line: inlined, the refusal parser's code sat inside the common
    /// lines' function and made the instructions a usual line runs span more cache lines.
    @inline(never)
    private static func parseQueuedOther(_ s: ByteScanner, at i: Int, _ ctx: LineContext, _ e: PostfixLine) -> ParseStatus {
        if let o = parseAction(s, at: i, ctx, e) { return o }
        if let o = parseNotification(s, at: i, e) { return o }
        let rest = i..<s.end
        for (lit, _) in PostfixParser.adminActions where s.equals(rest, lit) {
            e.kind = .admin
            e.word = Span(rest)
            return .event
        }
        for (lit, category) in PostfixParser.ignoredAfterQueueID where s.has(lit, at: i) {
            return .ignored(category: category)
        }
        return .unparsed(reason: "unrecognised text after queue ID")
    }

    static let adminActions: [(StaticString, String)] = [
        ("requeued", "requeued"), ("placed on hold", "placed on hold"),
        ("released from hold", "released from hold"), ("expired", "expired"),
    ]

    static let ignoredAfterQueueID: [(StaticString, String)] = [
        ("resent-message-id=", "resent-message-id"),
        ("host ", "smtp-reply"),                    // host H[A] said: ... / refused to talk to me
        ("lost connection with ", "smtp-lost-connection"),
        ("conversation with ", "smtp-timeout"),
        ("connect to ", "smtp-connect-failure"),
        ("lost connection after ", "smtpd-abort"),
        ("timeout after ", "smtpd-abort"),
        ("too many errors after ", "smtpd-abort"),
        ("enabling PIX workarounds", "smtp-pix-workaround"),
        ("Cannot start TLS", "smtp-tls-failure"),
        ("SASL authentication failed", "smtp-sasl-failure"),
        ("Used TLS for ", "smtp-tls"),
        ("skipped, still being delivered", "qmgr-skipped"),
    ]

    @inline(__always)
    private static func parseMessageID(_ s: ByteScanner, at i: Int, _ e: PostfixLine) -> ParseStatus {
        var idRange: Range<Int>
        if let lt = s.find(Byte.lt, from: i) {
            guard let gt = s.findLast(Byte.gt, from: lt + 1, to: s.end) else {
                return .unparsed(reason: "unterminated message-id=<...>")
            }
            idRange = (lt + 1)..<gt
        } else {
            var e = s.end
            while e > i && s[e - 1] == Byte.space { e -= 1 }
            idRange = i..<e
        }
        e.kind = .messageID
        e.messageID = Span(idRange)
        return .event
    }

    @inline(__always)
    private static func parseRemoved(_ s: ByteScanner, at i: Int, _ e: PostfixLine) -> ParseStatus {
        e.kind = .removed
        if i == s.end { return .event }
        guard s.has(" (", at: i), s[s.end - 1] == Byte.rparen, s.end - 1 > i + 2 else {
            return .unparsed(reason: "unexpected text after 'removed'")
        }
        e.word = Span((i + 2)..<(s.end - 1))
        return .event
    }

    /// Out of line: pickup lines are rare (see `parseQueuedOther`).
    @inline(never)
    private static func parsePickup(_ s: ByteScanner, at i: Int, _ e: PostfixLine) -> ParseStatus {
        e.beginPickup()
        let uidEnd = s.scan(from: i, until: Byte.space, Byte.comma)
        let uid = s.int(i..<uidEnd)
        guard s.has(" from=", at: uidEnd), let (sender, next) = s.scanAddress(at: uidEnd + 6) else {
            return .unparsed(reason: "pickup line without from=<...>")
        }
        if s.has(" orig_id=", at: next) {
            let end = s.scan(from: next + 9, until: Byte.space, Byte.comma)
            e.origQueueID = Span((next + 9)..<end)
        } else if next != s.end {
            return .unparsed(reason: "unexpected text after pickup from=<...>")
        }
        e.kind = .pickup
        e.uid = uid
        e.sender = Span(sender)
        return .event
    }

    @inline(__always)
    private static func parseQmgrFrom(_ s: ByteScanner, at i: Int, _ e: PostfixLine) -> ParseStatus {
        e.beginQueued()
        guard let (sender, next) = s.scanAddress(at: i) else { return .unparsed(reason: "unterminated from=<...>") }
        // The usual `, size=N, nrcpt=M` by words (`qmgrSizeAndCount`), else item by item below.
        if let (size, nrcpt) = PostfixParser.qmgrSizeAndCount(s, at: next) {
            e.size = size
            e.nrcpt = nrcpt
            e.kind = .queued
            e.sender = Span(sender)
            return .event
        }
        guard s.has(", ", at: next) else { return .unparsed(reason: "qmgr from= without size/status") }
        let j = next + 2
        if s.has("size=", at: j) {
            let sizeEnd = s.scan(from: j + 5, until: Byte.comma, Byte.space)
            e.size = s.int((j + 5)..<sizeEnd).map(Int64.init)
            if s.has(", nrcpt=", at: sizeEnd) {
                let k = sizeEnd + 8
                e.nrcpt = s.int(k..<s.digitsEnd(from: k))
            }
            e.kind = .queued
            e.sender = Span(sender)
            return .event
        }
        if s.has("status=", at: j) {
            let k = j + 7
            e.kind = .expired
            e.sender = Span(sender)
            e.word = Span(k..<s.scan(from: k, until: Byte.comma, Byte.space))
            return .event
        }
        return .unparsed(reason: "qmgr from= without size/status")
    }

    /// `, size=`, then `, nrcpt=`, as little-endian words (seven and eight bytes).
    static let commaSizeWord: UInt64 = 0x3D_657A_6973_202C
    static let commaNrcptWord: UInt64 = 0x3D74_7063_726E_202C

    /// What the item-by-item reading of a qmgr line gives for `, size=N` followed by a `,` or
    /// a space (N: 1 to 18 digits) and then `, nrcpt=M` (M: 1 to 18 digits), read with word
    /// compares and digit loops: the size, and the count (nil when no digit follows `nrcpt=`, as
    /// `int` of an empty range); nil for anything else (the caller reads it item by item).
    @inline(__always)
    static func qmgrSizeAndCount(_ s: ByteScanner, at i: Int) -> (Int64, Int?)? {
        guard i >= 0, i &+ 8 <= s.end else { return nil }
        let raw = UnsafeRawPointer(s.base)
        let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
        guard w & 0xFF_FFFF_FFFF_FFFF == commaSizeWord else { return nil }
        var j = i &+ 7
        var size = 0
        while j < s.end, case let d = s[j] &- Byte.zero, d < 10 { size = size &* 10 &+ Int(d); j += 1 }
        let n = j - (i &+ 7)
        guard n >= 1, n <= 18, j &+ 8 <= s.end,
              UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: j, as: UInt64.self)) == commaNrcptWord else {
            return nil
        }
        var k = j &+ 8
        var count = 0
        while k < s.end, case let d = s[k] &- Byte.zero, d < 10 { count = count &* 10 &+ Int(d); k += 1 }
        let m = k - (j &+ 8)
        guard m <= 18 else { return nil }
        return (Int64(size), m == 0 ? nil : count)
    }

    private static func parseNotification(_ s: ByteScanner, at i: Int, _ e: PostfixLine) -> ParseStatus? {
        for (lit, kind) in PostfixParser.notificationKinds where s.has(lit, at: i) {
            let j = i + lit.utf8CodeUnitCount
            var end = s.end
            while end > j && s[end - 1] == Byte.space { end -= 1 }
            guard PostfixParser.isQueueID(s, j..<end) else { return .unparsed(reason: "notification without new queue ID") }
            e.kind = .notification
            e.word = Span(i..<(i + kind.utf8.count))      // the kind is the literal's first words
            e.newQueueID = Span(j..<end)
            return .event
        }
        return nil
    }

    static let notificationKinds: [(StaticString, String)] = [
        ("sender non-delivery notification: ", "sender non-delivery"),
        ("postmaster non-delivery notification: ", "postmaster non-delivery"),
        ("sender delay notification: ", "sender delay"),
        ("sender delivery status notification: ", "sender delivery status"),
        ("postmaster delay notification: ", "postmaster delay"),
    ]

    @inline(__always)
    private static func parseClient(_ s: ByteScanner, at i: Int, _ e: PostfixLine) -> ParseStatus {
        e.beginClient()
        let peerEnd = s.findCommaSpace(from: i) ?? s.end
        e.peer = s.peerSpans(i..<peerEnd)
        var j = peerEnd
        while j < s.end {
            guard s.has(", ", at: j) else { return .unparsed(reason: "malformed client= line") }
            j += 2
            guard let eq = s.find(Byte.equals, from: j, to: min(s.end, j + 24)) else {
                return .unparsed(reason: "malformed client= line")
            }
            let v = (eq + 1)..<s.nextItem(from: eq + 1)
            let key = j..<eq
            if s.equals(key, "sasl_method") { e.saslMethod = Span(v) }
            else if s.equals(key, "sasl_username") { e.saslUsername = Span(v) }
            else if s.equals(key, "orig_queue_id") { e.origQueueID = Span(v) }
            else if s.equals(key, "orig_client") { e.origClient = s.peerSpans(v) }
            j = v.upperBound
        }
        e.kind = .client
        return .event
    }

    // MARK: - NOQUEUE and session lines

    @inline(__always)
    private static func parseNoQueue(_ s: ByteScanner, at i: Int, _ ctx: LineContext, _ e: PostfixLine) -> ParseStatus {
        if let o = parseAction(s, at: i, ctx, e) { return o }
        if s.has("client=", at: i) { return .ignored(category: "noqueue-client") }
        for (lit, category) in PostfixParser.ignoredAfterQueueID where s.has(lit, at: i) {
            return .ignored(category: category)
        }
        return .unparsed(reason: "unrecognised NOQUEUE line")
    }

    @inline(__always)
    private static func parseSessionLine(_ s: ByteScanner, _ ctx: LineContext, _ e: PostfixLine) -> ParseStatus {
        if s.has("connect from ", at: 0) {
            e.kind = .connect
            e.peer = s.peerSpans(13..<s.scan(from: 13, until: Byte.space, Byte.space))
            return .event
        }
        if s.has("disconnect from ", at: 0) {
            e.kind = .disconnect
            // The correlator reads no peer here (the process's session ends): only where it
            // starts is kept, `outcome` finds its end.
            e.rawPeer = Span(16..<16)
            return .event
        }
        if let o = parseTLS(s, e) { return o }
        if let o = parseAction(s, at: 0, ctx, e) { return o }   // proxy-reject without queue ID
        for (lit, category) in PostfixParser.ignoredSessionLines where s.has(lit, at: 0) {
            return .ignored(category: category)
        }
        return .unparsed(reason: "unrecognised \(ctx.program) line")
    }

    static let ignoredSessionLines: [(StaticString, String)] = [
        ("lost connection after ", "smtpd-abort"),
        ("timeout after ", "smtpd-abort"),
        ("too many errors after ", "smtpd-abort"),
        ("improper command pipelining after ", "smtpd-pipelining"),
        ("SSL_accept error from ", "tls-failure"),
        ("SSL_connect error to ", "tls-failure"),
        ("TLS handshake failed", "tls-failure"),
        ("certificate verification failed for ", "tls-failure"),
        ("server certificate verification failed for ", "tls-failure"),
        ("untrusted issuer ", "tls-failure"),
        ("setting up TLS connection ", "tls-setup"),
        ("bare <LF> received after ", "smtpd-bare-lf"),
        ("discarding EHLO keywords", "smtpd-ehlo"),
        ("proxy-accept: ", "smtpd-proxy-accept"),
        ("table ", "table-changed"),               // table hash:... has changed -- restarting
        ("connect to ", "smtp-connect-failure"),
        ("statistics: ", "statistics"),
        ("Deleted: ", "postsuper-summary"),
        ("Requeued: ", "postsuper-summary"),
        ("Placed on hold: ", "postsuper-summary"),
        ("Released from hold: ", "postsuper-summary"),
        ("Expired: ", "postsuper-summary"),
        ("daemon started", "master"),
        ("reload ", "master"),
        ("terminating on signal", "master"),
        ("Used TLS for ", "smtp-tls"),
    ]

    // MARK: - postscreen and tlsproxy

    @inline(__always)
    private static func parsePostscreen(_ s: ByteScanner, _ ctx: LineContext, _ e: PostfixLine) -> ParseStatus {
        if s.has("NOQUEUE: ", at: 0) { return parseNoQueue(s, at: 9, ctx, e) }
        for lit in PostfixParser.postscreenWords where s.has(lit, at: 0) {
            return .ignored(category: "postscreen")
        }
        return .unparsed(reason: "unrecognised postscreen line")
    }

    static let postscreenWords: [StaticString] = [
        "CONNECT from ", "PASS NEW ", "PASS OLD ", "DNSBL rank ", "PREGREET ", "HANGUP after ", "DISCONNECT ",
        "WHITELISTED ", "ALLOWLISTED ", "BLACKLISTED ", "DENYLISTED ", "WHITELIST VETO ", "ALLOWLIST VETO ",
        "BLACKLIST VETO ", "DENYLIST VETO ", "COMMAND ", "NON-SMTP COMMAND ", "BARE NEWLINE ", "cache ",
        "all screening ports busy", "all server ports busy",
    ]

    @inline(__always)
    private static func parseTLSProxy(_ s: ByteScanner, _ ctx: LineContext, _ e: PostfixLine) -> ParseStatus {
        if s.has("CONNECT ", at: 0) || s.has("DISCONNECT ", at: 0) { return .ignored(category: "tlsproxy") }
        if let o = parseTLS(s, e) { return o }
        for (lit, category) in PostfixParser.ignoredSessionLines where s.has(lit, at: 0) {
            return .ignored(category: category)
        }
        return .unparsed(reason: "unrecognised tlsproxy line")
    }
}

extension ByteScanner {
    /// End of a `key=value` item's value: the next `, ` that is followed by `word=`, else the end.
    func nextItem(from i: Int) -> Int {
        var j = i
        while let c = findCommaSpace(from: j) {
            var k = c + 2
            while k < end && (Byte.isLower(self[k]) || self[k] == Byte.underscore) { k += 1 }
            if k > c + 2 && k < end && self[k] == Byte.equals { return c }
            j = c + 1
        }
        return end
    }
}
