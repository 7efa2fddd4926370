// PostfixFields: the field-rich Postfix line kinds — delivery lines, refusals
// (smtpd, postscreen, cleanup header/body checks, milters, proxy filter) and
// TLS summaries.
//
// Contract:
// * Delivery: `to=<R>[, orig_to=<O>], relay=R[, conn_use=N], delay=D
//   [, delays=a/b/c/d][, tls=F][, dsn=X.Y.Z], status=S[ (TEXT)]`; items are
//   read by key, so old 2.x lines (no delays/dsn) and unknown future keys
//   work. A response cut before its `)` (Postfix/syslog truncation) is kept
//   as it is. Unknown status words are unparsed.
// * Refusals: `ACTION: STAGE from PEER: TEXT; from=<S> to=<R> proto=P helo=<H>`
//   (smtpd; postscreen has `, ` separators); the context starts at the LAST
//   `; from=` (else `; to=`, `; proto=`, `; helo=`) because TEXT may contain
//   `;`. smtpd/cleanup refusals without that context are truncated lines and
//   unparsed; postscreen CONNECT refusals have none by design. TEXT gives
//   code (`554`), dsn (`5.7.1`) and reason (the rest).
//   Cleanup: `ACTION: header|body CONTENT from PEER; from=<S> to=<R> proto=P
//   helo=<H>[: TEXT]` -> stage header/body, reason = CONTENT[: TEXT].
// * TLS: `[TRUST ]TLS connection established|reused from|to PEER[ to SNI]:
//   PROTO with cipher C (n/m bits)...`; bits is the first number.
// Known limits: sasl_* items on refusal lines (3.10+) are not stored.

import MailTrailModel

extension PostfixParser {
    // MARK: delivery

    @inline(__always)
    static func parseDelivery(_ s: ByteScanner, at i: Int, _ e: PostfixLine) -> ParseStatus {
        e.beginDelivery()
        guard let (rcpt, afterRcpt) = s.scanAddress(at: i) else { return .unparsed(reason: "unterminated to=<...>") }
        e.recipient = Span(rcpt)
        e.status = .sent
        var j = afterRcpt
        var haveStatus = false
        while j < s.end {
            // The usual keys by their literal (the `=` and the key that the general search finds
            // there): with the `, ` before them as one word when nine bytes are there, else after
            // the `, `; any other key by the first `=` within 16 bytes.
            let key: DeliveryItem
            let eq: Int
            if let (k, e) = PostfixParser.usualDeliveryItemWord(s, at: j) {
                key = k; eq = e
            } else {
                guard s.has(", ", at: j) else { return .unparsed(reason: "malformed delivery line") }
                j += 2
                if let (k, e) = PostfixParser.usualDeliveryItem(s, at: j) {
                    key = k; eq = e
                } else {
                    guard let e = s.find(Byte.equals, from: j, to: min(s.end, j + 16)) else {
                        return .unparsed(reason: "malformed delivery line")
                    }
                    key = PostfixParser.deliveryItem(s, j..<e); eq = e
                }
            }
            j = eq + 1
            if key == .status {
                let wEnd = s.scan(from: j, until: Byte.space, Byte.comma)
                guard let st = PostfixParser.deliveryStatus(s, j..<wEnd) else {
                    return .unparsed(reason: "unknown delivery status")
                }
                e.status = st
                if wEnd < s.end {
                    guard s.has(" (", at: wEnd) else { return .unparsed(reason: "unexpected text after status") }
                    let tStart = wEnd + 2
                    let tEnd = s[s.end - 1] == Byte.rparen ? s.end - 1 : s.end
                    let text = tStart..<max(tStart, tEnd)
                    e.response = Span(text)
                    // Postfix's usual `... queued as ID` first (read from the end), then texts that
                    // cannot hold an ID, then every form.
                    if let q = RemoteQueueID.postfixReplyRange(s, text) {
                        e.nextQueueID = Span(q)
                    }
                }
                haveStatus = true
                break
            }
            if key == .origTo {
                guard let (o, next) = s.scanAddress(at: j) else { return .unparsed(reason: "unterminated orig_to=<...>") }
                e.origRecipient = Span(o)
                j = next
                continue
            }
            let vEnd = s.findCommaSpace(from: j) ?? s.end
            let v = j..<vEnd
            j = vEnd
            switch key {
            case .relay: e.peer = s.peerSpans(v)
            case .delay: e.delay = PostfixParser.delay(s, v)
            case .delays: e.delays = PostfixParser.delays(s, v)
            case .dsn: e.dsn = Span(v)
            case .connUse: e.connUse = s.int(v)
            case .tls: e.tlsFeature = Span(v)
            case .status, .origTo, .other: break
            }
        }
        guard haveStatus else { return .unparsed(reason: "delivery line without status=") }
        e.kind = .delivery
        return .event
    }

    /// The keys of a delivery line's items that the parser reads.
    enum DeliveryItem: Equatable {
        case status, origTo, relay, delay, delays, dsn, connUse, tls, other
    }

    /// The item a key names (`other` for the keys the parser skips).
    static func deliveryItem(_ s: ByteScanner, _ key: Range<Int>) -> DeliveryItem {
        if s.equals(key, "status") { return .status }
        if s.equals(key, "orig_to") { return .origTo }
        if s.equals(key, "relay") { return .relay }
        if s.equals(key, "delay") { return .delay }
        if s.equals(key, "delays") { return .delays }
        if s.equals(key, "dsn") { return .dsn }
        if s.equals(key, "conn_use") { return .connUse }
        if s.equals(key, "tls") { return .tls }
        return .other
    }

    /// The item at `j` and the index of its `=` when `j` starts one of the keys every delivery
    /// line has (`relay=`, `delay=`, `delays=`, `dsn=`, `status=`): what the general reading (the
    /// first `=` within 16 bytes, then `deliveryItem` of the key before it) finds there, since
    /// these keys hold no `=`; nil for anything else (the general reading decides).
    @inline(__always)
    static func usualDeliveryItem(_ s: ByteScanner, at j: Int) -> (DeliveryItem, Int)? {
        guard j < s.end else { return nil }
        switch s[j] {
        case 0x72 where s.has("relay=", at: j): return (.relay, j + 5)              // r
        case 0x64:                                                                  // d
            if s.has("delays=", at: j) { return (.delays, j + 6) }
            if s.has("delay=", at: j) { return (.delay, j + 5) }
            if s.has("dsn=", at: j) { return (.dsn, j + 3) }
            return nil
        case 0x73 where s.has("status=", at: j): return (.status, j + 6)            // s
        default: return nil
        }
    }

    /// `, relay=`, `, delay=`, `, delays` (then `=`), `, dsn=` (six bytes) and `, status` (then `=`)
    /// as little-endian words (PostfixRound10ScanTests checks them against the literals).
    static let commaRelayWord: UInt64 = 0x3D79_616C_6572_202C
    static let commaDelayWord: UInt64 = 0x3D79_616C_6564_202C
    static let commaDelaysWord: UInt64 = 0x7379_616C_6564_202C
    static let commaDSNWord: UInt64 = 0x3D6E_7364_202C
    static let commaStatusWord: UInt64 = 0x7375_7461_7473_202C

    /// `usualDeliveryItem` of the item after the `, ` at `j`, read as one word (and a ninth
    /// byte) when nine bytes are there: the same item and `=` for `, ` followed by one of those
    /// keys, nil for anything else (the caller then checks the `, ` and asks `usualDeliveryItem`).
    @inline(__always)
    static func usualDeliveryItemWord(_ s: ByteScanner, at j: Int) -> (DeliveryItem, Int)? {
        guard j >= 0, j &+ 9 <= s.end else { return nil }
        let w = UInt64(littleEndian: UnsafeRawPointer(s.base + j).loadUnaligned(as: UInt64.self))
        if w == commaRelayWord { return (.relay, j &+ 7) }
        if w == commaDelayWord { return (.delay, j &+ 7) }
        if w & 0xFFFF_FFFF_FFFF == commaDSNWord { return (.dsn, j &+ 5) }
        if w == commaDelaysWord && s[j &+ 8] == Byte.equals { return (.delays, j &+ 8) }
        if w == commaStatusWord && s[j &+ 8] == Byte.equals { return (.status, j &+ 8) }
        return nil
    }

    static func deliveryStatus(_ s: ByteScanner, _ r: Range<Int>) -> DeliveryStatus? {
        if s.equals(r, "sent") { return .sent }
        if s.equals(r, "deferred") { return .deferred }
        if s.equals(r, "bounced") { return .bounced }
        if s.equals(r, "SOFTBOUNCE") { return .softbounce }
        if s.equals(r, "deliverable") { return .deliverable }
        if s.equals(r, "undeliverable") || s.equals(r, "undeliverable-but-not-cached") { return .undeliverable }
        if s.equals(r, "expired") { return .expired }
        if s.equals(r, "discarded") { return .discarded }
        return nil
    }

    /// `a/b/c/d`: exactly four numbers, else nil.
    static func delays(_ s: ByteScanner, _ r: Range<Int>) -> (Double, Double, Double, Double)? {
        // The usual form (four plain decimals, `0.07/0/0.01/0.3`) number by number, each
        // computed exactly as `ByteScanner.double` does; anything else takes the general path.
        // Postfix writes most parts as `D`, `D.D` or `D.DD` (`0`, `0.1`, `0.07`): those are read
        // by their shape first (`shortPart`), any other by `plainDecimal`.
        var i = r.lowerBound
        let hi = r.upperBound
        guard let a = shortPart(s, &i, hi) ?? plainDecimal(s, &i, hi), i < hi, s[i] == Byte.slash else {
            return delaysGeneral(s, r)
        }
        i += 1
        guard let b = shortPart(s, &i, hi) ?? plainDecimal(s, &i, hi), i < hi, s[i] == Byte.slash else {
            return delaysGeneral(s, r)
        }
        i += 1
        guard let c = shortPart(s, &i, hi) ?? plainDecimal(s, &i, hi), i < hi, s[i] == Byte.slash else {
            return delaysGeneral(s, r)
        }
        i += 1
        guard let d = shortPart(s, &i, hi) ?? plainDecimal(s, &i, hi), i == hi else { return delaysGeneral(s, r) }
        return (a, b, c, d)
    }

    /// A part of `delays=` at `i` of the shape `D`, `D.D` or `D.DD` (one digit, then none, one or
    /// two after the dot) ending at `hi` or a `/`, moving `i` past it; nil (and `i` unchanged)
    /// for anything else. Its value is `plainDecimal`'s on the same bytes (which stops at the
    /// same place): the digits as an integer over 10 to the fraction's length.
    @inline(__always)
    static func shortPart(_ s: ByteScanner, _ i: inout Int, _ hi: Int) -> Double? {
        let j = i
        guard j < hi else { return nil }
        let d0 = s[j] &- Byte.zero
        guard d0 < 10 else { return nil }
        if j + 1 == hi || s[j + 1] == Byte.slash { i = j + 1; return Double(d0) }
        guard s[j + 1] == Byte.dot, j + 2 < hi else { return nil }
        let d1 = s[j + 2] &- Byte.zero
        guard d1 < 10 else { return nil }
        if j + 3 == hi || s[j + 3] == Byte.slash { i = j + 3; return Double(Int(d0) &* 10 &+ Int(d1)) / 10 }
        let d2 = s[j + 3] &- Byte.zero
        guard d2 < 10, j + 4 == hi || s[j + 4] == Byte.slash else { return nil }
        i = j + 4
        return Double(Int(d0) &* 100 &+ Int(d1) &* 10 &+ Int(d2)) / 100
    }

    /// `delay=`'s value: `ByteScanner.double` of `r`, the usual plain decimal read by `plainDecimal`.
    @inline(__always)
    static func delay(_ s: ByteScanner, _ r: Range<Int>) -> Double? {
        var i = r.lowerBound
        if let v = plainDecimal(s, &i, r.upperBound), i == r.upperBound { return v }
        return s.double(r)
    }

    /// `d*[.d*]` at `i` (at least one digit, at most 15, at most 22 after the dot), moving `i`
    /// past it; nil for anything else (`i` is then of no use). The value is `ByteScanner.double`'s.
    @inline(__always)
    private static func plainDecimal(_ s: ByteScanner, _ i: inout Int, _ hi: Int) -> Double? {
        var mantissa: UInt64 = 0
        let start = i
        while i < hi && Byte.isDigit(s[i]) { mantissa = mantissa &* 10 &+ UInt64(s[i] &- Byte.zero); i += 1 }
        var digits = i - start
        var fraction = 0
        if i < hi && s[i] == Byte.dot {
            i += 1
            let f = i
            while i < hi && Byte.isDigit(s[i]) { mantissa = mantissa &* 10 &+ UInt64(s[i] &- Byte.zero); i += 1 }
            fraction = i - f
            digits += fraction
        }
        guard digits > 0 && digits <= 15 && fraction <= 22 else { return nil }
        return Double(mantissa) / ByteScanner.pow10[fraction]
    }

    /// `delays=` through `ByteScanner.double` per part (exponents, long numbers, malformed text).
    static func delaysGeneral(_ s: ByteScanner, _ r: Range<Int>) -> (Double, Double, Double, Double)? {
        var out: (Double, Double, Double, Double) = (0, 0, 0, 0)
        var n = 0
        var a = r.lowerBound
        while a <= r.upperBound {
            let b = s.find(Byte.slash, from: a, to: r.upperBound) ?? r.upperBound
            guard let v = s.double(a..<b) else { return nil }
            switch n {
            case 0: out.0 = v
            case 1: out.1 = v
            case 2: out.2 = v
            case 3: out.3 = v
            default: return nil
            }
            n += 1
            a = b + 1
        }
        return n == 4 ? out : nil
    }

    // MARK: refusals and policy actions

    /// Parses `ACTION: ...` refusal shapes at `i`; nil when the text does not have that shape.
    @inline(__always)
    static func parseAction(_ s: ByteScanner, at i: Int, _ ctx: LineContext, _ e: PostfixLine) -> ParseStatus? {
        e.beginReject()
        var k = i
        while k < s.end && (Byte.isLower(s[k]) || s[k] == Byte.underscore || s[k] == Byte.minus) { k += 1 }
        guard k > i, s.has(": ", at: k) else { return nil }
        let actionRange = i..<k
        let j = k + 2
        if s.has("header ", at: j) { return parseContentCheck(s, actionRange, stage: j..<(j + 6), at: j + 7, e) }
        if s.has("body ", at: j) { return parseContentCheck(s, actionRange, stage: j..<(j + 4), at: j + 5, e) }
        var m = j
        while m < s.end && (Byte.isUpper(s[m]) || s[m] == Byte.minus) { m += 1 }
        guard m > j else { return nil }
        let stageRange = j..<m
        if s.has(" from ", at: m) {
            let peerStart = m + 6
            guard let peerEnd = s.find(": ", from: peerStart) else {
                return .unparsed(reason: "refusal without reply text")
            }
            let peer = s.peerSpans(peerStart..<peerEnd)
            return finishRefusal(s, actionRange, stageRange, peer, textStart: peerEnd + 2, ctx, e)
        }
        if s.has(": ", at: m) {           // proxy-reject: END-OF-MESSAGE: TEXT; from=...
            return finishRefusal(s, actionRange, stageRange, PeerSpans(), textStart: m + 2, ctx, e)
        }
        return nil
    }

    @inline(__always)
    private static func finishRefusal(_ s: ByteScanner, _ action: Range<Int>, _ stage: Range<Int>, _ peer: PeerSpans,
                                      textStart: Int, _ ctx: LineContext, _ e: PostfixLine) -> ParseStatus {
        e.action = Span(action)
        e.stage = Span(stage)
        e.peer = peer
        let ctxStart = PostfixParser.contextStart(s, from: textStart)
        var textEnd = ctxStart ?? s.end
        if ctxStart == nil && ctx.program != "postscreen" {
            // smtpd always ends TEXT with `;` (then the optional items); without it the line was cut.
            guard s[s.end - 1] == Byte.semicolon else {
                return .unparsed(reason: "refusal without from=/to=/proto= context (truncated?)")
            }
            textEnd = s.end - 1
        }
        let text = textStart..<textEnd
        PostfixParser.reply(s, text, into: e)
        if let c = ctxStart {
            guard PostfixParser.context(s, from: c + 2, into: e) != nil else {
                return .unparsed(reason: "unterminated <...> in refusal context")
            }
        }
        e.kind = .reject
        return .event
    }

    private static func parseContentCheck(_ s: ByteScanner, _ action: Range<Int>, stage: Range<Int>,
                                          at i: Int, _ e: PostfixLine) -> ParseStatus {
        guard let c = s.findLast("; from=", from: i) else {
            return .unparsed(reason: "header/body check without context (truncated?)")
        }
        e.action = Span(action)
        e.stage = Span(stage)
        var contentEnd = c
        if let f = s.findLast(" from ", from: i, to: c) {
            e.peer = s.peerSpans((f + 6)..<c)
            contentEnd = f
        }
        guard let trailing = PostfixParser.context(s, from: c + 2, into: e) else {
            return .unparsed(reason: "unterminated <...> in header/body check context")
        }
        if let t = trailing {
            PostfixParser.reply(s, t, into: e)
            e.reasonTail = Span(t)
        }
        e.reason = Span(i..<contentEnd)
        e.kind = .reject
        return .event
    }

    /// Index of the `; ` that starts the trailing context (LAST `; from=`, else `; to=`, `; proto=`, `; helo=`).
    static func contextStart(_ s: ByteScanner, from i: Int) -> Int? {
        s.findLast("; from=", from: i) ?? s.findLast("; to=", from: i) ?? s.findLast("; proto=", from: i)
            ?? s.findLast("; helo=", from: i)
    }

    /// Splits a reply text into code, dsn and reason.
    static func reply(_ s: ByteScanner, _ t: Range<Int>, into e: PostfixLine) {
        var j = t.lowerBound
        if t.count >= 3, Byte.isDigit(s[j]), Byte.isDigit(s[j + 1]), Byte.isDigit(s[j + 2]),
           j + 3 == t.upperBound || s[j + 3] == Byte.space || s[j + 3] == Byte.minus {
            e.code = Span(j..<(j + 3))
            j = min(t.upperBound, j + 4)
        }
        // enhanced status d.d{1,3}.d{1,3}
        var k = j
        if k < t.upperBound, Byte.isDigit(s[k]), k + 1 < t.upperBound, s[k + 1] == Byte.dot {
            k += 2
            let a = s.digitsEnd(from: k)
            if a > k, a - k <= 3, a < t.upperBound, s[a] == Byte.dot {
                let b = min(s.digitsEnd(from: a + 1), t.upperBound)
                if b > a + 1, b - a - 1 <= 3, b == t.upperBound || s[b] == Byte.space {
                    e.dsn = Span(j..<b)
                    j = min(t.upperBound, b + 1)
                }
            }
        }
        e.reason = j < t.upperBound ? Span(j..<t.upperBound) : .absent
    }

    /// Parses `from=<S> to=<R> proto=P helo=<H>` (space or `, ` separated) at `i`.
    /// Returns nil for an unterminated `<`, else the range of a trailing `: TEXT` if any.
    static func context(_ s: ByteScanner, from i: Int, into e: PostfixLine) -> Range<Int>?? {
        var j = i
        while j < s.end {
            while j < s.end && (s[j] == Byte.space || s[j] == Byte.comma) { j += 1 }
            guard j < s.end else { break }
            var k = j
            while k < s.end && (Byte.isLower(s[k]) || s[k] == Byte.underscore) { k += 1 }
            guard k > j, k < s.end, s[k] == Byte.equals else { break }
            let key = j..<k
            var vStart = k + 1, vEnd: Int, next: Int
            if vStart < s.end && s[vStart] == Byte.lt {
                guard let (c, n) = s.scanAddress(at: vStart) else { return nil }
                vStart = c.lowerBound; vEnd = c.upperBound; next = n
            } else {
                var end = vStart
                while end < s.end {
                    let b = s[end]
                    if b == Byte.space || b == Byte.comma { break }
                    if b == Byte.colon && (end + 1 == s.end || s[end + 1] == Byte.space) { break }
                    end += 1
                }
                vEnd = end; next = end
            }
            let v = Span(vStart..<vEnd)
            if s.equals(key, "from") { e.sender = v }
            else if s.equals(key, "to") { e.recipient = v }
            else if s.equals(key, "proto") { e.proto = v }
            else if s.equals(key, "helo") { e.helo = v }
            j = next
            if s.has(": ", at: j) { return .some((j + 2)..<s.end) }
        }
        return .some(nil)
    }

    // MARK: TLS

    /// Parses a TLS summary line at the start of the body; nil when it is not one.
    @inline(__always)
    static func parseTLS(_ s: ByteScanner, _ e: PostfixLine) -> ParseStatus? {
        var j = 0
        switch s[0] {
        case 0x41 where s.has("Anonymous ", at: 0): j = 10
        case 0x55 where s.has("Untrusted ", at: 0): j = 10
        case 0x54 where s.has("Trusted ", at: 0): j = 8
        case 0x56 where s.has("Verified ", at: 0): j = 9
        default: break
        }
        let trust: Span = j > 0 ? Span(0..<(j - 1)) : .absent
        guard s.has("TLS connection ", at: j) else { return nil }
        j += 15
        if s.has("established ", at: j) { j += 12 } else if s.has("reused ", at: j) { j += 7 } else { return nil }
        let direction: TLSDirection
        if s.has("from ", at: j) { direction = .inbound; j += 5 } else if s.has("to ", at: j) { direction = .outbound; j += 3 }
        else { return nil }
        let tokEnd = s.find(Byte.space, from: j) ?? s.end
        var peerEnd = tokEnd
        var afterPeer: Int
        if tokEnd > j && s[tokEnd - 1] == Byte.colon {
            peerEnd = tokEnd - 1; afterPeer = tokEnd + 1
        } else {
            guard let c = s.find(": ", from: tokEnd) else { return .unparsed(reason: "TLS line without protocol") }
            afterPeer = c + 2
        }
        // `PROTO with cipher C (`: PROTO and C hold no space, so the first space after each is
        // where the literal starts (tested there first: one byte test instead of a search).
        let sp = s.scan(from: afterPeer, until: Byte.space, Byte.space)
        guard let w = s.has(" with cipher ", at: sp) ? sp : s.find(" with cipher ", from: afterPeer) else {
            return .unparsed(reason: "TLS line without cipher")
        }
        e.beginTLS()
        e.peer = s.peerSpans(j..<peerEnd)
        e.tls.trust = trust
        e.tls.proto = Span(afterPeer..<w)
        let cStart = w + 13
        let cSpace = s.find(Byte.space, from: cStart)
        let cEnd = (cSpace.map { s.has(" (", at: $0) } ?? false ? cSpace : s.find(" (", from: cStart)) ?? s.end
        e.tls.cipher = Span(cStart..<cEnd)
        if cEnd + 2 < s.end { e.tls.bits = s.int((cEnd + 2)..<s.digitsEnd(from: cEnd + 2)) }
        e.kind = .tls
        e.direction = direction
        return .event
    }
}
