// RemoteQueueID: the next hop's queue ID found in an SMTP/LMTP/local response.
//
// Contract: recognises, in this order,
//   Postfix  `... queued as X` (also `Ok: N bytes queued as X`; the LAST
//            occurrence wins, so amavis' `250 2.0.0 from MTA(smtp:[...]:10025):
//            250 2.0.0 Ok: queued as X` yields the re-injected X),
//   local(8) `forwarded as X`,
//   Exim     `OK id=X`,
//   Sendmail / OpenSMTPD `X Message accepted for delivery`.
// X is a run of `[A-Za-z0-9._-]` (trailing `.` dropped); nil when none matches.
// Known limits: opaque provider tokens (`OK 1715000000 x12-... - gsmtp`),
// Exchange `<message-id> [InternalId=...]` and qmail `qp N` are not IDs here.

import MailTrailModel

/// Extracts the next hop's queue ID from a delivery response text.
public enum RemoteQueueID {
    /// The queue ID in `response`, or nil.
    public static func extract(fromResponse response: UnsafeBufferPointer<UInt8>) -> String? {
        let s = ByteScanner(response)
        return extract(s, 0..<s.end)
    }

    /// The queue ID in `response`, or nil.
    public static func extract(fromResponse response: String) -> String? {
        var copy = response
        return copy.withUTF8 { extract(fromResponse: $0) }
    }

    @inline(__always)
    private static func isIDByte(_ b: UInt8) -> Bool {
        Byte.isAlnum(b) || b == Byte.dot || b == Byte.minus || b == Byte.underscore
    }

    private static func token(_ s: ByteScanner, from i: Int, to end: Int) -> Range<Int>? {
        var j = i
        while j < end && isIDByte(s[j]) { j += 1 }
        var k = j
        while k > i && s[k - 1] == Byte.dot { k -= 1 }
        return k > i ? i..<k : nil
    }

    static func extract(_ s: ByteScanner, _ r: Range<Int>) -> String? {
        extractRange(s, r).map { s.string($0) }
    }

    /// The range of the queue ID in `r`, or nil (the rules of `extract`).
    static func extractRange(_ s: ByteScanner, _ r: Range<Int>) -> Range<Int>? {
        if let i = s.findLast("queued as ", from: r.lowerBound, to: r.upperBound),
           let t = token(s, from: i + 10, to: r.upperBound) { return t }
        if let i = s.findLast("forwarded as ", from: r.lowerBound, to: r.upperBound),
           let t = token(s, from: i + 13, to: r.upperBound) { return t }
        if let i = s.find("OK id=", from: r.lowerBound, to: r.upperBound),
           let t = token(s, from: i + 6, to: r.upperBound) { return t }
        if let i = s.find(" Message accepted for delivery", from: r.lowerBound, to: r.upperBound)
            ?? s.find(" message accepted for delivery", from: r.lowerBound, to: r.upperBound) {
            var k = i
            while k > r.lowerBound && s[k - 1] != Byte.space { k -= 1 }
            guard k < i else { return nil }
            for j in k..<i where !isIDByte(s[j]) { return nil }
            return k..<i
        }
        return nil
    }
}
