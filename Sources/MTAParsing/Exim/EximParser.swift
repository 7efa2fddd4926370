// EximParser: the body of one Exim line (mainlog, syslog, Sophos UTM
// exim-in/exim-out) -> an EximLine (hot path) or a ParseOutcome.
//
// Contract: reads only the bytes it is given and the line's context; every
// line ends as `.exim`, `.ignored` or `.unparsed(reason:)`. The framer has
// already removed the envelope and Exim's own timestamp and `[pid]` where
// it could. Syslog pieces `[n/m] ` (split for length) are joined per pid
// and parsed when the last piece arrives (earlier pieces are
// `.ignored("exim:split-part")`); pieces `[n\m] ` (split at a newline: a
// rejectlog header dump) keep piece 1 and ignore the rest. Line types: see
// docs/log-formats/exim.md.
// One grammar, two forms: `parse(body:context:into:)` fills an `EximLine`
// (spans; the rare line kinds carry their String event), and
// `parse(body:context:)` / `event(_:_:)` build the String `EximEvent` from
// that same line. Values that repeat (message IDs, senders, recipients,
// hosts, routers, transports, ciphers) are made through the parser's
// StringCache. A joined split line's event is made at once (its bytes do not
// outlive the call).
// Known limits: a split whose pieces interleave with another split of the
// same pid is joined wrongly (Exim writes a split entry in one go); a
// pipe/file delivery address with spaces is cut at the first space; `T=` is
// kept as logged apart from `\"`/`\\`.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailTrailModel

/// Parses Exim line bodies.
public struct EximParser: Sendable {
    /// Pieces of `[n/m]` split lines waiting for the rest, by pid.
    private var splits: [Int32: [UInt8]] = [:]
    /// Strings of values that repeat (message IDs, hosts, senders, routers, transports, ciphers):
    /// one allocation per distinct value.
    private var strings = StringCache()

    /// The line `parse(body:context:into:)` fills (one per parser; a copy gets its own on first use).
    private var buffer = EximLineBuffer()

    public init() {}

    /// The last line `parseLine` filled (its spans point into that call's body).
    public var line: EximLine { buffer.line }

    /// Parses a body into the parser's `line` (the hot path: spans, no Strings for the common kinds).
    public mutating func parseLine(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext) -> ParseStatus {
        if !isKnownUniquelyReferenced(&buffer) { buffer = EximLineBuffer() }
        return parse(body: body, context: ctx, into: buffer.line)
    }

    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext) -> ParseOutcome {
        switch parseLine(body: body, context: ctx) {
        case .event: return .exim(ctx, EximParser.event(buffer.line, &strings))
        case .ignored(let c): return .ignored(category: c)
        case .unparsed(let r): return .unparsed(reason: r)
        }
    }

    /// Parses a body into `e` (see the file comment).
    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext, into e: EximLine) -> ParseStatus {
        let s = ByteScanner(body)
        e.reset(bytes: LineBytes(body))
        if s.end > 5, s[0] == Byte.lbracket, let (n, m, newline, after) = EximParser.splitPrefix(s) {
            if newline {
                if n == 1 { return EximParser.parseText(s, from: after, &strings, into: e) }
                return .ignored(category: "exim:rejectlog-continuation")
            }
            if n == 1 {
                if splits.count > 256 { splits.removeAll() }
                splits[ctx.pid] = Array(s.buffer(after..<s.end))
            } else {
                guard splits[ctx.pid] != nil else { return .unparsed(reason: "exim: split line piece without its first piece") }
                splits[ctx.pid]!.append(contentsOf: s.buffer(after..<s.end))
            }
            if n < m { return .ignored(category: "exim:split-part") }
            let joined = splits.removeValue(forKey: ctx.pid) ?? []
            let status = joined.withUnsafeBufferPointer { j -> ParseStatus in
                e.reset(bytes: LineBytes(j))
                let st = EximParser.parseText(ByteScanner(j), from: 0, &strings, into: e)
                if case .event = st, e.kind != .other { e.setOther(EximParser.event(e, &strings)) }
                return st
            }
            e.storage.pointee.bytes = LineBytes(body)
            return status
        }
        return EximParser.parseText(s, from: 0, &strings, into: e)
    }

    /// The String event of a line `parse(body:context:into:)` filled with `.event`.
    public static func event(_ e: EximLine, _ c: inout StringCache) -> EximEvent {
        let b = e.bytes
        switch e.kind {
        case .other:
            return e.event ?? .note(messageID: "", kind: "")
        case .completed:
            return .completed(messageID: c.string(e.messageID, in: b))
        case .note:
            return .note(messageID: c.string(e.messageID, in: b), kind: e.noteKind)
        case .connection:
            return .connection(client: EximLine.peer(e.client) { b.string($0) })
        case .arrival:
            let id = c.string(e.messageID, in: b)
            var recipients: [String] = []
            if e.recipientsFrom >= 0 {
                let s = ByteScanner(UnsafeBufferPointer(start: b.base, count: b.count))
                var i = Int(e.recipientsFrom)
                while let r = EximFields.nextField(s, &i) {
                    recipients.append(c.string(Span(EximFields.addressRange(s, r.value)), in: b))
                }
            }
            let a = EximArrival(
                sender: c.string(e.sender, in: b), client: EximLine.peer(e.client) { c.string($0, in: b) },
                helo: c.optionalString(e.helo, in: b),
                interface: e.interface.map { p in EximLine.peer(p) { c.string($0, in: b) } },
                localUser: c.optionalString(e.localUser, in: b), proto: c.optionalString(e.proto, in: b),
                tls: e.tlsInfo { c.string($0, in: b) }, authenticator: c.optionalString(e.authenticator, in: b),
                authID: c.optionalString(e.authID, in: b), size: e.size,
                messageIDHeader: b.optionalString(e.messageIDHeader),
                subject: e.subject.isPresent ? EximLine.unescaped(b, e.subject) : nil,
                reference: c.optionalString(e.reference, in: b), dkimDomain: c.optionalString(e.dkimDomain, in: b),
                recipients: recipients, fakeReject: e.fakeReject)
            return .arrival(messageID: id, a)
        case .reject:
            let r = EximReject(
                action: e.rejectActionText, stage: e.rejectStage,
                client: EximLine.peer(e.client) { b.string($0) }, helo: b.optionalString(e.helo),
                sender: b.optionalString(e.sender), recipient: b.optionalString(e.recipient),
                tls: e.tlsInfo { b.string($0) }, code: b.optionalString(e.code), dsn: b.optionalString(e.dsn),
                reason: e.reasonText { b.string($0) })
            return .reject(messageID: e.messageID.isPresent ? c.string(e.messageID, in: b) : nil, r)
        case .delivery:
            let id = c.string(e.messageID, in: b)
            let d = EximDelivery(
                flag: e.flag, recipient: c.string(e.recipient, in: b), origRecipient: b.optionalString(e.origRecipient),
                router: c.optionalString(e.router, in: b), transport: c.optionalString(e.transport, in: b),
                relay: EximLine.peer(e.relay) { c.string($0, in: b) }, tls: e.tlsInfo { c.string($0, in: b) },
                response: e.response.isAbsent ? nil
                    : e.responseQuoted ? EximLine.unescaped(b, e.response) : b.string(e.response),
                dsn: b.optionalString(e.dsn), nextQueueID: b.optionalString(e.nextQueueID),
                queueTime: e.queueTime, deliveryTime: e.deliveryTime, errno: e.errno)
            return .delivery(messageID: id, d)
        }
    }

    /// Records a rare kind's outcome in `e` (kind `other`).
    @inline(__always)
    static func other(_ o: ParseOutcome, _ e: EximLine) -> ParseStatus {
        switch o {
        case .exim(_, let ev): e.setOther(ev); return .event
        case .ignored(let c): return .ignored(category: c)
        case .unparsed(let r): return .unparsed(reason: r)
        default: return .ignored(category: "")       // not produced by this parser
        }
    }

    /// `[n/m] ` or `[n\m] ` at the start: (n, m, split-at-newline, index after the space).
    static func splitPrefix(_ s: ByteScanner) -> (Int, Int, Bool, Int)? {
        let d1 = s.digitsEnd(from: 1)
        guard d1 > 1, d1 < s.end, s[d1] == Byte.slash || s[d1] == Byte.backslash else { return nil }
        let d2 = s.digitsEnd(from: d1 + 1)
        guard d2 > d1 + 1, d2 + 1 < s.end, s[d2] == Byte.rbracket, s[d2 + 1] == Byte.space,
              let n = s.int(1..<d1), let m = s.int((d1 + 1)..<d2), n >= 1, n <= m else { return nil }
        return (n, m, s[d1] == Byte.backslash, d2 + 2)
    }

    /// Skips an Exim timestamp (`YYYY-MM-DD hh:mm:ss[.f][ ±hhmm][ [pid]] `) at `i` (joined split lines keep it).
    static func skipStamp(_ s: ByteScanner, _ i: Int) -> Int {
        guard i + 20 <= s.end, Byte.isDigit(s[i]), s[i + 4] == Byte.minus, s[i + 10] == Byte.space,
              s[i + 13] == Byte.colon else { return i }
        var k = i + 19
        if k < s.end && s[k] == Byte.dot { k = s.digitsEnd(from: k + 1) }
        guard k < s.end, s[k] == Byte.space else { return i }
        k += 1
        if k + 5 < s.end, s[k] == 0x2B || s[k] == Byte.minus, s.digitsEnd(from: k + 1) == k + 5, s[k + 5] == Byte.space {
            k += 6
        }
        if k < s.end, s[k] == Byte.lbracket, let rb = s.find(Byte.rbracket, from: k), rb + 1 < s.end,
           s[rb + 1] == Byte.space, s.digitsEnd(from: k + 1) == rb { k = rb + 2 }
        return k
    }

    /// Parses the text after envelope and timestamp into `e` (whose bytes are `s`'s).
    @inline(__always)
    static func parseText(_ s: ByteScanner, from i0: Int, _ c: inout StringCache, into e: EximLine) -> ParseStatus {
        var i = skipStamp(s, i0)
        EximFields.skipSpaces(s, &i)
        guard i < s.end else { return .unparsed(reason: "exim: empty line") }
        let idLen = EximFields.messageIDLength(s, at: i)
        if idLen > 0 {
            let idRange = i..<(i + idLen)
            let t = min(i + idLen + 1, s.end)
            return parseMessageLine(s, idRange, t, &c, e)
        }
        if s.has("SMTP connection from ", at: i) {
            if find(s, "(TCP/IP connection count", anchor: 4, from: i + 21) != nil {    // (no `(` in the prefix)
                let h = i + 21
                e.storage.pointee.kind = .connection
                e.storage.pointee.client = EximFields.hostOnePass(s, h)?.0
                    ?? EximFields.hostSpans(s, h..<EximFields.hostValueEnd(s, h)).0
                return .event
            }
            return .ignored(category: "exim:session")
        }
        guard let o = parseSessionLine(s, i, e) else { return .event }     // a refusal, filled in `e`
        return other(o, e)
    }

    // MARK: - lines with a message ID

    @inline(__always)
    static func parseMessageLine(_ s: ByteScanner, _ idRange: Range<Int>, _ t: Int,
                                 _ c: inout StringCache, _ e: EximLine) -> ParseStatus {
        e.storage.pointee.messageID = Span(idRange)
        guard t + 2 <= s.end else {
            return .unparsed(reason: "exim: message ID without text")
        }
        let a = s[t], b = s[t + 1]
        if t + 2 < s.end && s[t + 2] == Byte.space {
            switch (a, b) {
            case (Byte.lt, Byte.equals): return arrival(s, t + 3, fake: false, e)
            case (Byte.lparen, Byte.equals): return arrival(s, t + 3, fake: true, e)
            case (Byte.equals, Byte.gt): return delivery(s, t + 3, .delivered, e)
            case (Byte.minus, Byte.gt): return delivery(s, t + 3, .additional, e)
            case (Byte.gt, Byte.gt): return delivery(s, t + 3, .cutthrough, e)
            case (0x2A, Byte.gt): return delivery(s, t + 3, .suppressed, e)
            case (0x2A, 0x2A): return delivery(s, t + 3, .failed, e)
            case (Byte.equals, Byte.equals): return delivery(s, t + 3, .deferred, e)
            default: break
            }
        }
        if s.has("Completed", at: t) { e.storage.pointee.kind = .completed; return .event }
        if s.has("DKIM: signing failed", at: t) || s.has("DKIM: validation error", at: t) { return note(e, "dkim-signing") }
        if s.has("DKIM: ", at: t) { return other(dkim(s, s.cached(idRange, &c), t + 6), e) }
        if s.has("ctasd reports '", at: t) {
            let v = t + 15
            guard let q = s.find(0x27, from: v) else { return .unparsed(reason: "exim: ctasd line without verdict") }
            return other(.exim(ctxPlaceholder, .spamVerdict(messageID: s.cached(idRange, &c), verdict: s.string(v..<q), score: nil)), e)
        }
        if find(s, " rejected ", anchor: 3, from: t) != nil || s.has("rejected ", at: t) {
            if reject(s, t, e) { return .event }
        }
        if let kind = messageNoteKind(s, t) { return note(e, kind) }
        // `ID NAME [IP] Network is unreachable`: a connection error to one host.
        if let sp = s.find(Byte.space, from: t), sp + 1 < s.end, s[sp + 1] == Byte.lbracket,
           let rb = s.find(Byte.rbracket, from: sp), rb + 1 < s.end, s[rb + 1] == Byte.space || s[rb + 1] == Byte.colon {
            return note(e, "host-error")
        }
        return .unparsed(reason: "exim: unknown line about a message")
    }

    @inline(__always)
    static func note(_ e: EximLine, _ kind: String) -> ParseStatus {
        e.storage.pointee.kind = .note
        e.storage.pointee.noteKind = kind
        return .event
    }

    /// Placeholder context of the rare kinds' outcomes (the event is kept, the context is the caller's).
    static let ctxPlaceholder = LineContext(time: Timestamp(micros: 0), host: "", instance: "", program: "", pid: 0)

    static func messageNoteKind(_ s: ByteScanner, _ t: Int) -> String? {
        if s.has("Frozen", at: t) || s.has("Message is frozen", at: t) || s.has("Unfrozen", at: t)
            || find(s, "frozen", anchor: 3, from: t) != nil { return "frozen" }
        if find(s, "retry time not reached", anchor: 4, from: t) != nil || find(s, "retry timeout exceeded", anchor: 4, from: t) != nil {
            return "retry"
        }
        if find(s, "SMTP error from remote mail server", anchor: 1, from: t) != nil { return "smtp-error" }
        // `ID <addr>: TRANSPORT transport output: TEXT` (a pipe/local delivery's own output; the
        // outcome is on the `**`/`==` line that follows). Seen in the real-MTA lab.
        if find(s, " transport output: ", anchor: 6, from: t) != nil { return "transport-output" }
        if s.has("H=", at: t) || s.has("Failed to connect", at: t) || find(s, "Connection timed out", anchor: 0, from: t) != nil
            || find(s, "Connection refused", anchor: 0, from: t) != nil { return "host-error" }
        if s.has("SA: ", at: t) { return "sa-exim" }
        if s.has("Spool file", at: t) || s.has("spool file", at: t) { return "spool" }
        if s.has("cancelled", at: t) || s.has("removed by", at: t) || s.has("Message removed", at: t)
            || s.has("deleted", at: t) { return "removed" }
        if s.has("Error while", at: t) || s.has("error ignored", at: t) || find(s, "error ignored", anchor: 8, from: t) != nil {
            return "error"
        }
        if s.has("== ", at: t) || s.has("-> ", at: t) { return "delivery-fragment" }
        if s.has("Sender identification", at: t) || s.has("Warning:", at: t) || s.has("warning:", at: t)
            || s.has("no immediate delivery", at: t) || s.has("rewritten", at: t) || s.has("Received", at: t)
            || s.has("Message ", at: t) || s.has("Start ", at: t) || s.has("SMTP ", at: t) || s.has("TLS ", at: t)
            || s.has("DKIM", at: t) || s.has("DMARC", at: t) || s.has("SPF", at: t) || s.has("malware", at: t) {
            return "info"
        }
        return nil
    }

    // MARK: - arrival

    static func arrival(_ s: ByteScanner, _ i0: Int, fake: Bool, _ e: EximLine) -> ParseStatus {
        var i = i0
        guard let senderField = EximFields.plainWord(s, &i) else {
            return .unparsed(reason: "exim: arrival without sender")
        }
        e.beginArrival(fake: fake)
        let a = e.storage
        a.pointee.sender = Span(EximFields.addressRange(s, senderField.value))
        while true {
            EximFields.skipSpaces(s, &i)
            guard i < s.end else { break }                   // (`nextField` would give nil)
            if i + 1 < s.end && s[i] == 0x48 && s[i + 1] == Byte.equals {                  // H= (read in one pass)
                let h = EximFields.hostField(s, &i)
                a.pointee.client = h.peer
                a.pointee.helo = h.helo
                continue
            }
            if i + 3 <= s.end && s[i] == 0x66 && s[i + 1] == 0x6F && s[i + 2] == 0x72
                && (i + 3 == s.end || s[i + 3] == Byte.space) {                            // the word `for` (as nextField)
                i += 3
                a.pointee.recipientsFrom = Int32(i)
                a.pointee.recipientCount = EximFields.countItems(s, &i)
                break
            }
            if i + 2 < s.end && s[i] == 0x54 && s[i + 1] == Byte.equals && s[i + 2] == Byte.quote {  // T="..." (as nextField)
                let (v, escapeFree, _) = EximFields.quoted(s, i + 2, &i)
                a.pointee.subject = Span(v); a.pointee.subjectEscapeFree = escapeFree
                continue
            }
            guard let f = EximFields.quickField(s, &i) ?? EximFields.nextField(s, &i) else { break }
            guard let k = f.key else {
                if s.equals(f.value, "for") {
                    a.pointee.recipientsFrom = Int32(i)
                    a.pointee.recipientCount = EximFields.countItems(s, &i)
                    break
                }
                if s.equals(f.value, "from") { _ = EximFields.nextField(s, &i) }
                continue
            }
            let v = f.value
            switch k.count {
            case 1:
                switch s[k.lowerBound] {
                case 0x49: a.pointee.interface = EximFields.hostSpans(s, v).0                // I
                case 0x55: a.pointee.localUser = Span(v)                                     // U
                case 0x50: a.pointee.proto = Span(v)                                         // P
                case 0x58: a.pointee.tls = EximTLSSpans(value: Span(v))                         // X
                case 0x41:                                                                   // A
                    if let colon = s.find(Byte.colon, from: v.lowerBound, to: v.upperBound) {
                        a.pointee.authenticator = Span(v.lowerBound..<colon)
                        let rest = (colon + 1)..<v.upperBound
                        let c2 = s.find(Byte.colon, from: rest.lowerBound, to: rest.upperBound) ?? rest.upperBound
                        a.pointee.authID = Span(rest.lowerBound..<c2)
                    } else {
                        a.pointee.authenticator = Span(v)
                    }
                case 0x53: a.pointee.size = EximFields.int(s, v).map(Int64.init)            // S
                case 0x54: a.pointee.subject = Span(v); a.pointee.subjectEscapeFree = f.escapeFree  // T
                case 0x52: a.pointee.reference = Span(v)                                     // R
                default: break
                }
            case 2:
                if s.equals(k, "id") { a.pointee.messageIDHeader = stripAngles(s, v) }
                else if s.equals(k, "CV") { a.pointee.trust = EximFields.trustCode(s, v) }
            case 3:
                if s.equals(k, "id*") { a.pointee.messageIDHeader = stripAngles(s, v) }
            case 4:
                if s.equals(k, "DKIM") { a.pointee.dkimDomain = Span(v) }
            default: break
            }
        }
        return .event
    }

    /// `r` without enclosing angle brackets; absent when nothing is left.
    static func stripAngles(_ s: ByteScanner, _ r: Range<Int>) -> Span {
        var r = r
        if !r.isEmpty && s[r.lowerBound] == Byte.lt { r = (r.lowerBound + 1)..<r.upperBound }
        if !r.isEmpty && s[r.upperBound - 1] == Byte.gt { r = r.lowerBound..<(r.upperBound - 1) }
        return r.isEmpty ? .absent : Span(r)
    }

    // MARK: - deliveries

    static func delivery(_ s: ByteScanner, _ i0: Int, _ flag: EximDeliveryFlag, _ e: EximLine) -> ParseStatus {
        var i = i0
        guard let addr = EximFields.plainWord(s, &i), !addr.value.isEmpty else {
            return .unparsed(reason: "exim: delivery line without address")
        }
        e.beginDelivery(flag)
        let d = e.storage
        d.pointee.recipient = Span(addr.value)
        var message: Range<Int>? = addr.colonAfter ? messageRange(s, i) : nil
        var confirmation: Range<Int>?
        var quotedConfirmation = false
        var confirmationEscapeFree = false
        while message == nil {
            EximFields.skipSpaces(s, &i)
            guard i < s.end else { break }                   // (`nextField` would give nil)
            if i + 1 < s.end && s[i] == 0x48 && s[i + 1] == Byte.equals {                  // H= (read in one pass)
                let h = EximFields.hostField(s, &i)
                d.pointee.relay = h.peer
                if h.colonAfter { message = messageRange(s, i) }
                continue
            }
            if i + 2 < s.end && s[i] == 0x43 && s[i + 1] == Byte.equals && s[i + 2] == Byte.quote {  // C="..." (as nextField)
                let (v, escapeFree, colonAfter) = EximFields.quoted(s, i + 2, &i)
                confirmation = v; quotedConfirmation = true; confirmationEscapeFree = escapeFree
                if colonAfter { message = messageRange(s, i) }
                continue
            }
            guard let f = EximFields.quickField(s, &i) ?? EximFields.nextField(s, &i) else { break }
            if let k = f.key {
                let v = f.value
                if k.count == 1 {
                    switch s[k.lowerBound] {
                    case 0x52: d.pointee.router = Span(v)                                   // R
                    case 0x54: d.pointee.transport = Span(v)                                // T
                    case 0x58: d.pointee.tls = EximTLSSpans(value: Span(v))                    // X
                    case 0x43:                                                              // C
                        confirmation = v; quotedConfirmation = f.quoted; confirmationEscapeFree = f.escapeFree
                    default: break
                    }
                } else if s.equals(k, "CV") {
                    d.pointee.trust = EximFields.trustCode(s, v)
                } else if s.equals(k, "QT") {
                    d.pointee.queueTime = EximFields.duration(s, v)
                } else if s.equals(k, "DT") {
                    d.pointee.deliveryTime = EximFields.duration(s, v)
                }
            } else {
                let v = f.value
                if !v.isEmpty && s[v.lowerBound] == Byte.lt && d.pointee.router.isAbsent && d.pointee.transport.isAbsent {
                    d.pointee.origRecipient = Span(EximFields.addressRange(s, v))
                } else if v.count > 2, s[v.lowerBound] == Byte.lparen, s[v.upperBound - 1] == Byte.rparen {
                    let inner = (v.lowerBound + 1)..<(v.upperBound - 1)
                    if s[inner.lowerBound] == Byte.minus {
                        d.pointee.errno = s.int((inner.lowerBound + 1)..<inner.upperBound).map { -$0 }
                    } else if let en = s.int(inner) {
                        d.pointee.errno = en
                    }
                }
            }
            if f.colonAfter { message = messageRange(s, i) }
        }
        if let c = confirmation {
            d.pointee.response = Span(c)
            d.pointee.responseQuoted = quotedConfirmation
            d.pointee.responseEscapeFree = confirmationEscapeFree
            if let q = EximFields.nextQueueIDRange(s, c) { d.pointee.nextQueueID = Span(q) }
            if let ds = EximFields.dsnRanges(s, c).dsn { d.pointee.dsn = Span(ds) }
        } else if let m = message, !m.isEmpty {
            // The message of a failure/deferral; a trailing ` DT=...` (4.99) is not part of it.
            var mr = m
            if let dt = s.findLast(" DT=", from: m.lowerBound, to: m.upperBound) {
                d.pointee.deliveryTime = EximFields.duration(s, (dt + 4)..<m.upperBound)
                if d.pointee.deliveryTime != nil { mr = m.lowerBound..<dt }
            }
            d.pointee.response = Span(mr)
            if let ds = EximFields.dsnRanges(s, mr).dsn { d.pointee.dsn = Span(ds) }
        }
        return .event
    }

    /// The free text from `i` (after `: ` or ` : `) to the end.
    static func messageRange(_ s: ByteScanner, _ i: Int) -> Range<Int> {
        var k = i
        EximFields.skipSpaces(s, &k)
        if k < s.end && s[k] == Byte.colon && (k + 1 == s.end || s[k + 1] == Byte.space) { k += 1; EximFields.skipSpaces(s, &k) }
        return k..<s.end
    }

    // MARK: - DKIM

    static func dkim(_ s: ByteScanner, _ id: String, _ i0: Int) -> ParseOutcome {
        var domain: String?
        var i = i0
        let lb = s.findLast(Byte.lbracket, from: i0, to: s.end)
        let fieldsEnd = lb ?? s.end
        while i < fieldsEnd {
            var j = i
            guard let f = EximFields.nextField(s, &j), f.value.upperBound <= fieldsEnd else { break }
            if let k = f.key, s.equals(k, "d") { domain = s.string(f.value) }
            i = j
        }
        guard let lb, let rb = s.findLast(Byte.rbracket, from: lb, to: s.end) else {
            return .unparsed(reason: "exim: DKIM line without [result]")
        }
        let r = (lb + 1)..<rb
        let result: String
        if s.has("verification succeeded", at: r.lowerBound) { result = "pass" }
        else if s.has("verification failed", at: r.lowerBound) { result = "fail" }
        else if s.has("invalid", at: r.lowerBound) {
            result = s.find("unavailable", from: r.lowerBound, to: r.upperBound) != nil ? "temperror" : "permerror"
        } else if s.has("not verified", at: r.lowerBound) { result = "none" }
        else {
            let e = s.find(Byte.space, from: r.lowerBound, to: r.upperBound) ?? r.upperBound
            result = s.string(r.lowerBound..<e).lowercased()
        }
        return .exim(ctxPlaceholder, .dkim(messageID: id, domain: domain, result: result))
    }

    // MARK: - lines without a message ID

    /// A line without a message ID (the listener's `SMTP connection from` lines are read by `parseText`);
    /// nil when it is a refusal (ACL, `dropped by`, authenticator), filled in `e` as a `reject` line.
    static func parseSessionLine(_ s: ByteScanner, _ i: Int, _ e: EximLine) -> ParseOutcome? {
        if let a = find(s, " authenticator failed for ", anchor: 15, from: i) { authFailure(s, i, a, e); return nil }
        if s.has("H=", at: i), let d = find(s, " dropped by ", anchor: 10, from: i) {
            // `H=... dropped by 'connect' ACL: REASON` (drop verb): a refusal that closes the connection.
            let r = beginRefusal(e, action: 1, stage: "CONNECT")
            var k = i
            if let f = EximFields.nextField(s, &k), f.key != nil {
                let (peer, helo) = EximFields.hostSpans(s, f.value)
                r.pointee.client = peer; r.pointee.helo = helo
            }
            if let c = s.find(": ", from: d) { r.pointee.reason = Span((c + 2)..<s.end) }
            if s.find(" RCPT ", from: i, to: d) != nil { r.pointee.rejectStage = "RCPT" }
            return nil
        }
        if find(s, ": discarded by ", anchor: 13, from: i) != nil { return .ignored(category: "exim:acl-discard") }
        if s.has("H=", at: i) || s.has("F=", at: i) || s.has("rejected ", at: i) || s.has("temporarily rejected", at: i)
            || s.has("U=", at: i) {
            if find(s, "rejected ", anchor: 2, from: i) != nil, reject(s, i, e) { return nil }
            if let w = find(s, "Warning: ", anchor: 0, from: i) {
                var k = i
                var peer = Peer()
                if let f = EximFields.nextField(s, &k), let key = f.key, s.equals(key, "H") { peer = EximFields.host(s, f.value).0 }
                return .exim(ctxPlaceholder, .sessionNote(client: peer, sender: nil, recipient: nil,
                                                           text: s.string(w..<s.end)))
            }
            if let kind = sessionIgnoreKind(s, i) { return .ignored(category: kind) }
            return .unparsed(reason: "exim: unknown host line")
        }
        if s[i] == Byte.lbracket, let rb = s.find(Byte.rbracket, from: i), s.has(" F=<", at: rb + 1) {
            // UTM ACL log_message: `[ip] F=<sender> R=<rcpt> Accepted: ...` (R= is the recipient here).
            var peer = Peer()
            if s.isIPAddress((i + 1)..<rb) { peer.ip = s.string((i + 1)..<rb) }
            var k = rb + 1
            var sender: String?, rcpt: String?
            var text = s.end..<s.end
            while let f = EximFields.nextField(s, &k) {
                if let key = f.key, s.equals(key, "F") { sender = EximFields.address(s, f.value) }
                else if let key = f.key, s.equals(key, "R") { rcpt = EximFields.address(s, f.value) }
                else { text = f.value.lowerBound..<s.end; break }
            }
            return .exim(ctxPlaceholder, .sessionNote(client: peer, sender: sender, recipient: rcpt, text: s.string(text)))
        }
        if let kind = sessionIgnoreKind(s, i) { return .ignored(category: kind) }
        return .unparsed(reason: "exim: unknown line")
    }

    /// `s.find(lit, from:)` searching (with `memchr`) for the byte `lit[anchor]` (a letter rarer in
    /// log lines than the first, e.g. the `j` of `rejected`): fewer candidates to compare.
    static func find(_ s: ByteScanner, _ lit: StaticString, anchor a: Int, from: Int) -> Int? {
        let n = lit.utf8CodeUnitCount
        let p = lit.utf8Start
        let b = p[a]
        var i = from + a
        let stop = s.end - (n - a) + 1             // the anchor's last possible index + 1
        while i < stop {
            guard let q = memchr(s.base + i, Int32(b), stop - i) else { return nil }
            let j = q.assumingMemoryBound(to: UInt8.self) - UnsafeMutablePointer(mutating: s.base)
            let start = j - a
            // The first byte inline (most candidates fail there), the rest by `memcmp` (a byte
            // loop cost ~17 instructions a byte: the connection count's 24-byte literal ~400).
            if s.base[start] == p[0] && memcmp(s.base + start, p, n) == 0 { return start }
            i = j + 1
        }
        return nil
    }

    static func sessionIgnoreKind(_ s: ByteScanner, _ i: Int) -> String? {
        if s.has("Start queue run", at: i) || s.has("End queue run", at: i) || s.has("exim ", at: i)
            || find(s, " daemon started", anchor: 4, from: i) != nil || s.has("daemon ", at: i) || s.has("pid ", at: i)
            || s.has("Exim configuration", at: i) || s.has("Received ", at: i) || s.has("queue run", at: i) {
            return "exim:daemon"
        }
        if s.has("no host name found", at: i) || s.has("no IP address found", at: i)
            || s.has("host name alias list", at: i) || find(s, "lookup of host", anchor: 3, from: i) != nil
            || find(s, "sender verify", anchor: 7, from: i) != nil || find(s, "Warning:", anchor: 0, from: i) != nil
            || find(s, "warning:", anchor: 0, from: i) != nil || s.has("recipient verify", at: i)
            || find(s, " verify fail", anchor: 1, from: i) != nil || find(s, " verify defer", anchor: 1, from: i) != nil {
            return "exim:verify"
        }
        if s.has("SMTP ", at: i) || s.has("TLS error", at: i) || s.has("no MAIL in", at: i)
            || s.has("unexpected disconnection", at: i) || find(s, "incomplete transaction", anchor: 5, from: i) != nil
            || find(s, "connection from", anchor: 11, from: i) != nil || find(s, "Connection from", anchor: 0, from: i) != nil
            || find(s, " lost", anchor: 1, from: i) != nil || s.has("TLS ", at: i) || find(s, "SMTP", anchor: 1, from: i) != nil
            || s.has("rejected ", at: i) || find(s, "synchronization error", anchor: 8, from: i) != nil
            || s.has("Connection ", at: i) || s.has("Failed to ", at: i) || s.has("ETRN", at: i)
            || s.has("refused", at: i) || find(s, "too many", anchor: 7, from: i) != nil || s.has("dropped", at: i) {
            return "exim:session"
        }
        return nil
    }

    /// `[H=HOSTINFO] [X=..] [CV=..] [F=<s> [A=..]] [temporarily ]rejected WHAT: MESSAGE` starting at `i`,
    /// into `e` as a `reject` line (spans; the message ID is the caller's); false when the text is
    /// not of that form (`e`'s refusal fields then mean nothing).
    static func reject(_ s: ByteScanner, _ i0: Int, _ e: EximLine) -> Bool {
        var i = i0
        let r = e.storage
        r.pointee.rejectTemporary = false; r.pointee.rejectStage = nil
        r.pointee.rejectAction = 0; r.pointee.reasonIsAuthenticator = false
        r.pointee.client = PeerSpans(); r.pointee.helo = .absent; r.pointee.sender = .absent
        r.pointee.recipient = .absent; r.pointee.tls = nil; r.pointee.trust = 0
        r.pointee.code = .absent; r.pointee.dsn = .absent; r.pointee.reason = .absent
        while true {
            EximFields.skipSpaces(s, &i)
            if s.has("temporarily rejected ", at: i) { r.pointee.rejectTemporary = true; i += 21; break }
            if s.has("rejected ", at: i) { i += 9; break }
            if i + 1 < s.end && s[i] == 0x48 && s[i + 1] == Byte.equals {                  // H=
                let h = EximFields.hostField(s, &i)
                r.pointee.client = h.peer
                r.pointee.helo = h.helo
                continue
            }
            guard let f = EximFields.nextField(s, &i) else { return false }
            guard let k = f.key else { return false }
            if s.equals(k, "F") { r.pointee.sender = Span(EximFields.addressRange(s, f.value)) }
            else if s.equals(k, "X") { r.pointee.tls = EximTLSSpans(value: Span(f.value)) }
            else if s.equals(k, "CV") { r.pointee.trust = EximFields.trustCode(s, f.value) }
        }
        var reasonStart: Int?
        if s.has("RCPT ", at: i) {
            r.pointee.rejectStage = "RCPT"
            if let (c, next) = s.scanAddress(at: i + 5) { r.pointee.recipient = Span(c); reasonStart = next }
        } else if s.has("MAIL ", at: i) {
            r.pointee.rejectStage = "MAIL"
            if let (c, next) = s.scanAddress(at: i + 5) {
                if r.pointee.sender.isAbsent { r.pointee.sender = Span(c) }
                reasonStart = next
            }
        } else if s.has("EHLO or HELO ", at: i) {
            r.pointee.rejectStage = "EHLO"
            let c = s.find(Byte.colon, from: i + 13) ?? s.end
            if r.pointee.helo.isAbsent { r.pointee.helo = Span((i + 13)..<c) }
            reasonStart = c
        } else if s.has("connection", at: i) {
            r.pointee.rejectStage = "CONNECT"
        } else if s.has("after DATA", at: i) {
            r.pointee.rejectStage = "END-OF-MESSAGE"
        } else if s.has("DATA", at: i) {
            r.pointee.rejectStage = "DATA"
        } else if s.has("during MIME ACL checks", at: i) {
            r.pointee.rejectStage = "MIME"
        } else if s.has("VRFY", at: i) {
            r.pointee.rejectStage = "VRFY"
        } else if s.has("ETRN", at: i) {
            r.pointee.rejectStage = "ETRN"
        } else if s.has("AUTH", at: i) {
            r.pointee.rejectStage = "AUTH"
        } else if s.has("after", at: i) {
            r.pointee.rejectStage = "DATA"
        }
        let from = reasonStart ?? i
        if let c = s.find(": ", from: from) {
            var rs = c + 2
            EximFields.skipSpaces(s, &rs)
            var re = s.end
            if re - rs >= 2, s[rs] == Byte.quote, s[re - 1] == Byte.quote { rs += 1; re -= 1 }
            if rs < re { r.pointee.reason = Span(rs..<re) }
            let cd = EximFields.dsnRanges(s, rs..<min(re, rs + 12))
            if let code = cd.code { r.pointee.code = Span(code) }
            if let dsn = cd.dsn { r.pointee.dsn = Span(dsn) }
        }
        r.pointee.kind = .reject
        return true
    }

    /// `e` as a refusal (`kind` reject, no message ID) of verb `action` (see `EximLine.rejectAction`)
    /// at `stage`, its other refusal fields cleared; the fields' pointer.
    @inline(__always)
    static func beginRefusal(_ e: EximLine, action: UInt8, stage: String) -> UnsafeMutablePointer<EximLine.Fields> {
        let r = e.storage
        r.pointee.kind = .reject
        r.pointee.rejectTemporary = false; r.pointee.rejectAction = action; r.pointee.rejectStage = stage
        r.pointee.reasonIsAuthenticator = false
        r.pointee.client = PeerSpans(); r.pointee.helo = .absent; r.pointee.sender = .absent
        r.pointee.recipient = .absent; r.pointee.tls = nil; r.pointee.trust = 0
        r.pointee.code = .absent; r.pointee.dsn = .absent; r.pointee.reason = .absent
        return r
    }

    /// `NAME authenticator failed for HOSTINFO: 535 Incorrect authentication data (set_id=U)`
    /// (` authenticator failed for ` at `a`), into `e` as a refusal (`auth-failed`, `AUTH`): the
    /// reason is the text after the reply code's `: `, else `NAME authenticator failed`.
    static func authFailure(_ s: ByteScanner, _ i: Int, _ a: Int, _ e: EximLine) {
        let h = a + 26
        let r = beginRefusal(e, action: 2, stage: "AUTH")
        var hostEnd = s.end
        var k = h
        while let c = s.find(": ", from: k) {
            if c + 2 < s.end, Byte.isDigit(s[c + 2]) { hostEnd = c; break }
            k = c + 2
        }
        let (peer, helo) = EximFields.hostSpans(s, h..<hostEnd)
        r.pointee.client = peer; r.pointee.helo = helo
        if hostEnd < s.end {
            let rs = hostEnd + 2
            let cd = EximFields.dsnRanges(s, rs..<s.end)
            if let code = cd.code { r.pointee.code = Span(code) }
            if let dsn = cd.dsn { r.pointee.dsn = Span(dsn) }
            r.pointee.reason = Span(rs..<s.end)
        } else {
            r.pointee.reason = Span(i..<a)
            r.pointee.reasonIsAuthenticator = true
        }
    }
}
