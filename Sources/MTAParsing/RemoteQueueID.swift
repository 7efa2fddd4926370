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
// Only the last `queued as`/`forwarded as` and the first `OK id=` / `Message
// accepted` are tried (an earlier `queued as X` behind a later empty one is
// not); the response is scanned once, backwards, space by space.
// Postfix's parser asks `postfixReplyRange`: a reply ending in `queued as ID` is read from its
// end, a reply with no space after ` as`, `OK` or `ge` (`delivered to maildir`) has no ID
// (`mayHoldID`), the rest goes through the scan above.
// Known limits: opaque provider tokens (`OK 1715000000 x12-... - gsmtp`),
// Exchange `<message-id> [InternalId=...]` and qmail `qp N` are not IDs here.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
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

    /// Postfix's usual reply, a text that ends with `queued as ID` (ID bytes up to the end), read
    /// from the end: the ID, or nil when the text does not end so (then `extractRange` decides;
    /// the Postfix parser asks this first, the other MTAs' replies go to `extractRange` at once).
    /// Where this answers, `extractRange` does too, with the same range: the last space of the text
    /// is the one after `as` (the ID holds none, so no ` Message accepted` fits after it), the
    /// next one back starts ` as `, so that `queued as` is the first form it meets and, its
    /// token being the ID, the one it returns.
    @inline(__always)
    static func queuedAsAtEnd(_ s: ByteScanner, _ r: Range<Int>) -> Range<Int>? {
        let lo = r.lowerBound, hi = r.upperBound
        let ids = RemoteQueueID.idBytes
        var t = hi
        while t > lo && ids[Int(s[t - 1])] != 0 { t -= 1 }
        guard t - 10 >= lo, s[t - 1] == Byte.space, matches(s, t - 10, "queued as ") else { return nil }
        var k = hi
        while k > t && s[k - 1] == Byte.dot { k -= 1 }      // `token`'s trailing dots
        return k > t ? t..<k : nil
    }

    /// False when `extractRange(s, r)` is nil for certain: every form it knows has a space
    /// right after ` as` (`queued as ID`, `forwarded as ID`), `OK` (`OK id=`) or `ge`
    /// (`Message accepted`), all inside `r`, so a text with no such space (`delivered to
    /// maildir`, `delivered via dovecot service`, Exchange's `... bytes in ... Queued mail for
    /// delivery`) has no ID. The spaces are found eight bytes at a time (a test that may also
    /// flag a byte after a space, never misses one; a flagged byte only costs its check), then
    /// the bytes before each are read. True for texts under nine bytes (`extractRange` decides
    /// them).
    @inline(__always)
    static func mayHoldID(_ s: ByteScanner, _ r: Range<Int>) -> Bool {
        let lo = r.lowerBound, hi = r.upperBound
        guard hi - lo >= 9 else { return true }
        let raw = UnsafeRawPointer(s.base)
        let ones = ByteScanner.ones
        let spaces = ones &* UInt64(Byte.space)
        var i = lo + 1
        while true {
            // Words cover [lo + 1, hi); the last one ends at `hi` (it may overlap the one before).
            let at = min(i, hi - 8)
            let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: at, as: UInt64.self)) ^ spaces
            var m = (x &- ones) & ~x & ByteScanner.highs
            while m != 0 {
                let q = at + (m.trailingZeroBitCount >> 3)      // a space (or a flagged byte after one)
                let prev = s[q - 1]
                if prev == UInt8(ascii: "s") {
                    if q - 3 >= lo && s[q - 2] == UInt8(ascii: "a") && s[q - 3] == Byte.space && s[q] == Byte.space { return true }
                } else if prev == UInt8(ascii: "K") {
                    if q - 2 >= lo && s[q - 2] == UInt8(ascii: "O") && s[q] == Byte.space { return true }
                } else if prev == UInt8(ascii: "e") {
                    if q - 2 >= lo && s[q - 2] == UInt8(ascii: "g") && s[q] == Byte.space { return true }
                }
                m &= m &- 1
            }
            if at == hi - 8 { return false }
            i += 8
        }
    }

    /// The queue ID of a Postfix delivery's reply: `extractRange`'s answer, with the usual
    /// replies decided first (`queuedAsAtEnd`, then `mayHoldID`'s negative).
    @inline(__always)
    static func postfixReplyRange(_ s: ByteScanner, _ r: Range<Int>) -> Range<Int>? {
        if let q = queuedAsAtEnd(s, r) { return q }
        return mayHoldID(s, r) ? extractRange(s, r) : nil
    }

    /// 1 for the bytes of `isIDByte` (`[A-Za-z0-9._-]`), else 0, as a literal (a constant, no
    /// `swift_once` per use).
    @inline(__always)
    static var idBytes: UnsafePointer<UInt8> {
        let table: StaticString = """
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{1}\u{1}\u{0}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{0}\u{0}\u{0}\u{0}\u{1}\
            \u{0}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{1}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\
            \u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}\u{0}
            """
        return table.utf8Start
    }

    /// The range of the queue ID in `r`, or nil (the rules of `extract`).
    ///
    /// One pass, backwards: every form holds a space at a fixed offset (`queued␣as␣`,
    /// `forwarded␣as␣`, `OK␣id=`, `␣Message accepted for delivery`), so the spaces of `r` are
    /// visited once, from the end, noting each form's last (`queued as`, `forwarded as`) or
    /// first (the others) occurrence; the forms are then tried in the contract's order, exactly
    /// as separate searches would. The last `queued as` comes first from the end, and when it
    /// is followed by an ID nothing else can win: the scan stops there (Postfix's usual reply).
    static func extractRange(_ s: ByteScanner, _ r: Range<Int>) -> Range<Int>? {
        let lo = r.lowerBound, hi = r.upperBound
        var queued = -1, forwarded = -1, okID = -1, acceptedUpper = -1, acceptedLower = -1
        let raw = UnsafeRawPointer(s.base)
        let spaces = ByteScanner.ones &* UInt64(Byte.space)
        var e = hi                      // [lo, e) is still to visit
        while e > lo {
            // The spaces of the eight bytes before `e` as a mask (high bit of each byte), visited last first.
            var m: UInt64
            let w: Int
            if e - 8 >= lo {
                w = e - 8
                m = ByteScanner.zeroBytes(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: w, as: UInt64.self)) ^ spaces)
            } else if hi - lo >= 8 {
                // The first eight bytes of the range, less those already visited.
                w = lo
                let x = ByteScanner.zeroBytes(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: w, as: UInt64.self)) ^ spaces)
                m = x & ((1 &<< UInt64((e - lo) * 8)) &- 1)
            } else {
                w = lo
                m = 0
                for k in 0..<(e - lo) where s[lo + k] == Byte.space { m |= 0x80 &<< UInt64(k * 8) }
            }
            while m != 0 {
                let bit = 63 - m.leadingZeroBitCount
                m ^= 1 &<< UInt64(bit)
                let p = w + bit >> 3
                if p > lo {
                    let prev = s[p - 1]
                    if prev == UInt8(ascii: "d") {
                        // `queued as ` starts at p - 6, `forwarded as ` at p - 9; both go on with `as `.
                        if p + 4 <= hi && s[p + 1] == UInt8(ascii: "a") && s[p + 2] == UInt8(ascii: "s")
                            && s[p + 3] == Byte.space {
                            if p - 6 >= lo && matches(s, p - 6, "queue") {
                                if queued < 0 {
                                    queued = p - 6
                                    if let t = token(s, from: p + 4, to: hi) { return t }
                                }
                            } else if forwarded < 0 && p - 9 >= lo && matches(s, p - 9, "forwarde") {
                                forwarded = p - 9
                            }
                        }
                    } else if prev == UInt8(ascii: "K") {
                        if p - 2 >= lo && s[p - 2] == UInt8(ascii: "O") && p + 4 <= hi
                            && s[p + 1] == UInt8(ascii: "i") && s[p + 2] == UInt8(ascii: "d")
                            && s[p + 3] == Byte.equals {
                            okID = p - 2
                        }
                    }
                }
                if p + 30 <= hi {
                    let next = s[p + 1]
                    if next == UInt8(ascii: "M") || next == UInt8(ascii: "m"),
                       matches(s, p + 2, "essage accepted for delivery") {
                        if next == UInt8(ascii: "M") { acceptedUpper = p } else { acceptedLower = p }
                    }
                }
            }
            e = w
        }
        // The last `queued as` (if any) had no ID after it.
        if forwarded >= 0, let t = token(s, from: forwarded + 13, to: hi) { return t }
        if okID >= 0, let t = token(s, from: okID + 6, to: hi) { return t }
        let i = acceptedUpper >= 0 ? acceptedUpper : acceptedLower
        if i >= 0 {
            var k = i
            while k > lo && s[k - 1] != Byte.space { k -= 1 }
            guard k < i else { return nil }
            for j in k..<i where !isIDByte(s[j]) { return nil }
            return k..<i
        }
        return nil
    }

    /// Whether the bytes at `i` are `lit` (the caller has checked that they lie in range).
    @inline(__always)
    private static func matches(_ s: ByteScanner, _ i: Int, _ lit: StaticString) -> Bool {
        memcmp(s.base + i, lit.utf8Start, lit.utf8CodeUnitCount) == 0
    }
}
