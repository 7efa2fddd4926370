// EximFields: the small tokeniser and value readers the Exim and UTM parsers share.
//
// Contract: `nextField` reads one item of an Exim log line at a time: a
// `KEY=value` field (KEY is 1-5 letters/digits, optionally `*`), a quoted
// value (`C="..."`, backslash escapes kept until `unescaped`), the `H=`
// host value with spaces (`name (helo) [ip]:port*`), or a bare word. A
// value or word that ends with `:` before a space (or the end) marks the
// start of a free-text message (`** addr R=r T=t: message`); a bare `:`
// word does the same (Exim 4.99's ` : ` separator). Exim message IDs are
// recognised in both forms (6-6-2, 6-11-4). `hostField` reads an `H=` item
// and splits it (peer, HELO) in one pass where the value has the usual shape,
// with exactly the result of `nextField` then `hostSpans` (which decide
// every other shape).
// Known limits: a quoted value whose closing quote is missing runs to the
// end of the line; `H=` values that break the `[ip]` convention end at the
// next space.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailTrailModel

/// One item of an Exim line.
struct EximField {
    /// `KEY` of `KEY=value`; nil for a bare word.
    var key: Range<Int>?
    /// The value (without quotes) or the bare word (without a trailing `:`).
    var value: Range<Int>
    var quoted: Bool
    /// The item was followed by `:` (a message follows).
    var colonAfter: Bool
    /// A quoted value known to hold no backslash (so no escape to resolve); false when unknown.
    var escapeFree = false
}

enum EximFields {
    /// Length of an Exim message ID at `i` (16 or 23), followed by a space or the end; 0 if none.
    @inline(__always)
    static func messageIDLength(_ s: ByteScanner, at i: Int) -> Int {
        guard i + 16 <= s.end, s[i + 6] == Byte.minus else { return 0 }
        if s[i + 13] == Byte.minus {
            // The 6-6-2 form: its 14 letters and digits tested as two words at once.
            let raw = UnsafeRawPointer(s.base + i)
            let w0 = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
            let w1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            let want0: UInt64 = 0x8000_8080_8080_8080           // bytes 0-5 and 7 (byte 6 is the `-`)
            let want1: UInt64 = 0x8080_0080_8080_8080           // bytes 8-12, 14, 15 (13 is the `-`)
            guard alnumBytes(w0) & want0 == want0, alnumBytes(w1) & want1 == want1 else { return 0 }
            return i + 16 == s.end || s[i + 16] == Byte.space ? 16 : 0
        }
        for k in 0..<6 where !Byte.isAlnum(s[i + k]) { return 0 }
        if s[i + 13] == Byte.minus {
            for k in 7..<13 where !Byte.isAlnum(s[i + k]) { return 0 }
            if Byte.isAlnum(s[i + 14]) && Byte.isAlnum(s[i + 15]) && (i + 16 == s.end || s[i + 16] == Byte.space) {
                return 16
            }
            return 0
        }
        guard i + 23 <= s.end, s[i + 18] == Byte.minus else { return 0 }
        for k in 7..<18 where !Byte.isAlnum(s[i + k]) { return 0 }
        for k in 19..<23 where !Byte.isAlnum(s[i + k]) { return 0 }
        return i + 23 == s.end || s[i + 23] == Byte.space ? 23 : 0
    }

    /// The high bit of each byte of `x` that is an ASCII letter or digit (`Byte.isAlnum`): each
    /// range tested on the low seven bits (no carry between bytes), bytes >= 0x80 excluded. The
    /// letters as one range: `b | 0x20` is in `a`-`z` exactly when `b` is a letter of either case.
    @inline(__always)
    static func alnumBytes(_ x: UInt64) -> UInt64 {
        ByteScanner.bytesInRange(x, 0x30, 0x39) | ByteScanner.bytesInRange(x | 0x2020_2020_2020_2020, 0x61, 0x7A)
    }

    /// Whether the bytes at `i` are a whole message ID (used for `R=` values).
    static func isMessageID(_ s: ByteScanner, _ r: Range<Int>) -> Bool {
        (r.count == 16 || r.count == 23) && messageIDLength(ByteScanner(s.buffer(r)), at: 0) == r.count
    }

    @inline(__always)
    static func skipSpaces(_ s: ByteScanner, _ i: inout Int) {
        while i < s.end && s[i] == Byte.space { i += 1 }
    }

    /// Whether `b` may be part of a key (`A-Z a-z 0-9 *`): one shift of a 128-bit mask.
    @inline(__always)
    static func isKeyByte(_ b: UInt8) -> Bool {
        let low: UInt64 = (1 << 0x2A) | (0x3FF << 0x30)           // `*`, `0`-`9`
        let high: UInt64 = (0x3FF_FFFF << 1) | (0x3FF_FFFF << 33)  // `A`-`Z`, `a`-`z` (minus 64)
        return b < 128 && ((b < 64 ? low : high) &>> UInt64(b & 63)) & 1 != 0
    }

    /// Reads the next item at `i` (spaces skipped); nil at the end.
    ///
    /// The key is up to six key bytes followed by `=`; the usual one- and two-byte keys are
    /// recognised by the `=` at the second or third byte before the byte loop (which decides
    /// every other case, as it did alone).
    static func nextField(_ s: ByteScanner, _ i: inout Int) -> EximField? {
        var p = i
        while p < s.end && s[p] == Byte.space { p += 1 }
        guard p < s.end else { i = p; return nil }
        var j = p
        if p + 2 < s.end, s[p + 1] == Byte.equals, isKeyByte(s[p]) {
            j = p + 1
        } else if p + 3 < s.end, s[p + 2] == Byte.equals, isKeyByte(s[p]), isKeyByte(s[p + 1]) {
            j = p + 2
        } else {
            while j < s.end && j - p <= 5 && isKeyByte(s[j]) { j += 1 }
            guard j > p, j < s.end, s[j] == Byte.equals else { return word(s, &i, from: p, key: nil) }
        }
        let key = p..<j
        let v = j + 1
        if j == p + 1 && s[p] == 0x48 {           // H=
            let end = hostValueEnd(s, v)
            var f = EximField(key: key, value: v..<end, quoted: false, colonAfter: false)
            i = end
            if i < s.end && s[i] == Byte.colon { f.colonAfter = true; i += 1 }
            else if end > v && s[end - 1] == Byte.colon { f.value = v..<(end - 1); f.colonAfter = true }
            return f
        }
        if v < s.end && s[v] == Byte.quote {
            let (value, escapeFree, colonAfter) = quoted(s, v, &i)
            return EximField(key: key, value: value, quoted: true, colonAfter: colonAfter, escapeFree: escapeFree)
        }
        return word(s, &i, from: v, key: key)
    }

    /// The quoted value whose opening quote is at `v` (`nextField`'s reading, also used inline by
    /// the delivery loop for `C="..."`): the text between the quotes (to the end when the closing
    /// one is missing), whether it holds no backslash, whether a `:` follows; `i` moves past it.
    @inline(__always)
    static func quoted(_ s: ByteScanner, _ v: Int, _ i: inout Int) -> (Range<Int>, escapeFree: Bool, colonAfter: Bool) {
        var q = v + 1
        var escapeFree = false
        // Common case: no backslash before the next quote, so that quote closes the value.
        if let nq = memchrIndex(s, Byte.quote, from: q, to: s.end), memchrIndex(s, Byte.backslash, from: q, to: nq) == nil {
            q = nq
            escapeFree = true
        }
        while q < s.end && s[q] != Byte.quote { q += s[q] == Byte.backslash ? 2 : 1 }
        let close = min(q, s.end)
        i = min(close + 1, s.end)
        if i < s.end && s[i] == Byte.colon { i += 1; return ((v + 1)..<close, escapeFree, true) }
        return ((v + 1)..<close, escapeFree, false)
    }

    /// `nextField` for its usual shape, read inline by the arrival and delivery loops: a one- or
    /// two-byte key (not `H`) followed by an unquoted value. Gives exactly `nextField`'s field and
    /// end index when the item at `i` has that shape; nil (and `i` unchanged) for any other item,
    /// which the caller then hands to `nextField`.
    @inline(__always)
    static func quickField(_ s: ByteScanner, _ i: inout Int) -> EximField? {
        let p = i
        let v: Int
        if p + 2 < s.end, s[p + 1] == Byte.equals, isKeyByte(s[p]) {
            guard s[p] != 0x48 else { return nil }
            v = p + 2
        } else if p + 3 < s.end, s[p + 2] == Byte.equals, isKeyByte(s[p]), isKeyByte(s[p + 1]) {
            v = p + 3
        } else {
            return nil
        }
        guard s[v] != Byte.quote else { return nil }
        let e = memchrIndex(s, Byte.space, from: v, to: s.end) ?? s.end
        i = e
        if e > v && s[e - 1] == Byte.colon {
            return EximField(key: p..<(v - 1), value: v..<(e - 1), quoted: false, colonAfter: true)
        }
        return EximField(key: p..<(v - 1), value: v..<e, quoted: false, colonAfter: false)
    }

    /// The number of items `nextField` reads from `i` to the end (`i` moves to the end): an
    /// item that cannot be `KEY=value` is one word, read without making its field.
    static func countItems(_ s: ByteScanner, _ i: inout Int) -> Int {
        var n = 0
        while true {
            var p = i
            while p < s.end && s[p] == Byte.space { p += 1 }
            guard p < s.end else { i = p; return n }
            var j = p
            while j < s.end && j - p <= 5 && isKeyByte(s[j]) { j += 1 }
            if j > p, j < s.end, s[j] == Byte.equals {
                i = p
                _ = nextField(s, &i)
            } else {
                i = memchrIndex(s, Byte.space, from: p, to: s.end) ?? s.end
            }
            n += 1
        }
    }

    /// Reads the next space-delimited word at `i` as a bare word (an address may contain `=`).
    static func plainWord(_ s: ByteScanner, _ i: inout Int) -> EximField? {
        skipSpaces(s, &i)
        guard i < s.end else { return nil }
        return word(s, &i, from: i, key: nil)
    }

    @inline(__always)
    private static func word(_ s: ByteScanner, _ i: inout Int, from v: Int, key: Range<Int>?) -> EximField {
        let e = memchrIndex(s, Byte.space, from: v, to: s.end) ?? s.end
        i = e
        if e > v && s[e - 1] == Byte.colon {
            return EximField(key: key, value: v..<(e - 1), quoted: false, colonAfter: true)
        }
        return EximField(key: key, value: v..<e, quoted: false, colonAfter: false)
    }

    /// End of an `H=` value starting at `v`: `[name ][(helo) ][ip]][:port][*]`, or one word.
    static func hostValueEnd(_ s: ByteScanner, _ v: Int) -> Int {
        var k = v
        while k < s.end {
            let b = s[k]
            if b == Byte.lbracket {
                let sp = s.find(Byte.space, from: k) ?? s.end
                guard let rb = s.find(Byte.rbracket, from: k, to: sp) else { return sp }
                var e = rb + 1
                if e < s.end && s[e] == Byte.colon && e + 1 < s.end && Byte.isDigit(s[e + 1]) {
                    e = s.digitsEnd(from: e + 1)
                }
                if e < s.end && s[e] == 0x2A { e += 1 }
                return e
            }
            if b == Byte.lparen {
                // `(helo)`: a HELO may hold spaces only in broken clients; take up to `) `.
                var close = k
                var depth = 0
                while close < s.end {
                    if s[close] == Byte.lparen { depth += 1 }
                    else if s[close] == Byte.rparen { depth -= 1; if depth == 0 { break } }
                    close += 1
                }
                guard close < s.end else { return s.end }
                k = close + 1
            } else {
                k = s.find(Byte.space, from: k) ?? s.end
            }
            // Continue only into a following `(helo)` or `[ip]`.
            guard k + 1 < s.end, s[k] == Byte.space, s[k + 1] == Byte.lbracket || s[k + 1] == Byte.lparen else {
                return k
            }
            k += 1
        }
        return k
    }

    /// Reads an `H=` item at `i` (which holds `H=`): its peer and HELO, as `nextField` then
    /// `hostSpans` give them, and whether a `:` followed (`colonAfter`); `i` moves past it.
    ///
    /// The usual values (`[ip]`, `name [ip]`, `(helo) [ip]`, `name (helo) [ip]`, each `[ip]`
    /// with an optional `:port` and `*`) are read in one pass; the pass gives up, and the two
    /// scans decide, on anything else: no `[ip]` at the end, a second `(helo)`, a `(` in the
    /// name, a `[` inside `[ip]`, a value starting with a space.
    @inline(__always)
    static func hostField(_ s: ByteScanner, _ i: inout Int) -> (peer: PeerSpans, helo: Span, colonAfter: Bool) {
        let v = i + 2
        if let (peer, helo, end) = hostOnePass(s, v) {
            if end < s.end && s[end] == Byte.colon { i = end + 1; return (peer, helo, true) }
            i = end
            return (peer, helo, false)
        }
        let end = hostValueEnd(s, v)
        var value = v..<end
        var colonAfter = false
        i = end
        if i < s.end && s[i] == Byte.colon { colonAfter = true; i += 1 }
        else if end > v && s[end - 1] == Byte.colon { value = v..<(end - 1); colonAfter = true }
        let (peer, helo) = hostSpans(s, value)
        return (peer, helo, colonAfter)
    }

    /// `hostField`'s single pass over `[name ][(helo) ][ip]][:port][*]` at `v`: peer, HELO and
    /// the value's end, or nil when the value is not of that shape (see `hostField`).
    static func hostOnePass(_ s: ByteScanner, _ v: Int) -> (PeerSpans, Span, Int)? {
        var k = v
        guard k < s.end, s[k] != Byte.space else { return nil }
        var nameEnd = -1, lp = -1, rp = -1
        if s[k] != Byte.lbracket && s[k] != Byte.lparen {
            k = firstOf(s, Byte.space, Byte.lparen, Byte.space, from: k)
            guard k == s.end || s[k] == Byte.space else { return nil }
            nameEnd = k
            guard k + 1 < s.end, s[k + 1] == Byte.lbracket || s[k + 1] == Byte.lparen else { return nil }
            k += 1
        }
        if s[k] == Byte.lparen {
            lp = k
            // To the `)` that closes it, from paren to paren.
            var depth = 0
            while true {
                k = firstOf(s, Byte.lparen, Byte.rparen, Byte.rparen, from: k)
                guard k < s.end else { return nil }
                if s[k] == Byte.lparen { depth += 1 } else { depth -= 1; if depth == 0 { break } }
                k += 1
            }
            rp = k
            k += 1
            guard k + 1 < s.end, s[k] == Byte.space, s[k + 1] == Byte.lbracket else { return nil }
            k += 1
        }
        // `[ip]`: up to the first `]` before a space, with no other `[` in it. The usual dotted
        // quad closed by `]` is read (and found valid, as `isIPAddress` would) in the same pass.
        let lb = k
        let rb: Int
        var quad = false
        if let q = lb + 17 <= s.end ? dottedQuadEnd(s, lb + 1, wide: true) : dottedQuadEnd(s, lb + 1), q < s.end,
           s[q] == Byte.rbracket {
            rb = q
            quad = true
        } else {
            k = firstOf(s, Byte.rbracket, Byte.space, Byte.lbracket, from: k + 1)
            guard k < s.end, s[k] == Byte.rbracket else { return nil }
            rb = k
        }
        var end = rb + 1
        var peer = PeerSpans()
        if end < s.end && s[end] == Byte.colon && end + 1 < s.end && Byte.isDigit(s[end + 1]) {
            // The port (`s.int` of the digits: nil when more than 18).
            var j = end + 1, n = 0
            while j < s.end && Byte.isDigit(s[j]) { n = n &* 10 &+ Int(s[j] &- Byte.zero); j += 1 }
            peer.port = j - (end + 1) <= 18 ? n : nil
            end = j
        }
        if end < s.end && s[end] == 0x2A { end += 1 }
        if quad {
            peer.ip = Span((lb + 1)..<rb)
        } else {
            var addr = (lb + 1)..<rb
            if !addr.isEmpty && s[addr.upperBound - 1] == Byte.colon { addr = addr.lowerBound..<(addr.upperBound - 1) }
            if s.isIPAddress(addr) { peer.ip = Span(addr) }
        }
        if nameEnd > v { peer.name = Span(v..<nameEnd) }
        return (peer, lp >= 0 ? Span((lp + 1)..<rp) : .absent, end)
    }

    /// The end of a dotted quad at `i` by inet_pton4's rule (four decimal octets <= 255, no
    /// leading zeros: what `isIPAddress` accepts when the quad fills its range), or nil when the
    /// bytes from `i` do not start with one. `wide`: at least 16 bytes follow `i` (a quad and the
    /// byte after it read at most `i + 15`: four octets of at most three digits, each followed by
    /// one more byte read), so the end is not tested before each byte (a constant at every call,
    /// folded away when inlined).
    @inline(__always)
    static func dottedQuadEnd(_ s: ByteScanner, _ i: Int, wide: Bool = false) -> Int? {
        let b = s.base, end = s.end
        var p = i
        var octet = 0
        while true {
            guard wide || p < end else { return nil }
            var v = Int(b[p] &- Byte.zero)
            guard v < 10 else { return nil }
            p += 1
            if v == 0 {
                if (wide || p < end) && b[p] &- Byte.zero < 10 { return nil }         // leading zero
            } else {
                while wide || p < end {
                    let d = Int(b[p] &- Byte.zero)
                    if d >= 10 { break }
                    v = v &* 10 &+ d
                    if v > 255 { return nil }
                    p += 1
                }
            }
            octet += 1
            if octet == 4 { return p }
            guard wide || p < end, b[p] == Byte.dot else { return nil }
            p += 1
        }
    }

    /// `s.find(b, from:to:)` by `memchr` (fewer instructions on long ranges: quoted values).
    @inline(__always)
    static func memchrIndex(_ s: ByteScanner, _ b: UInt8, from: Int, to: Int) -> Int? {
        guard from < to, let q = memchr(s.base + from, Int32(b), to - from) else { return nil }
        return q.assumingMemoryBound(to: UInt8.self) - UnsafeMutablePointer(mutating: s.base)
    }

    /// Index of the first byte at or after `from` that is `a`, `b` or `c` (`s.end` if none),
    /// eight bytes at a time. Each pattern's `firstZeroByte` flags its first match exactly and
    /// nothing before it, so the lowest flag of the three is the first match of any.
    @inline(__always)
    static func firstOf(_ s: ByteScanner, _ a: UInt8, _ b: UInt8, _ c: UInt8, from: Int) -> Int {
        var i = from
        let raw = UnsafeRawPointer(s.base)
        let pa = ByteScanner.ones &* UInt64(a), pb = ByteScanner.ones &* UInt64(b), pc = ByteScanner.ones &* UInt64(c)
        while i + 8 <= s.end {
            let x = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let m = ByteScanner.firstZeroByte(x ^ pa) | ByteScanner.firstZeroByte(x ^ pb) | ByteScanner.firstZeroByte(x ^ pc)
            if m != 0 { return i + m.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < s.end {
            let x = s[i]
            if x == a || x == b || x == c { return i }
            i += 1
        }
        return s.end
    }

    /// Splits an `H=` value into peer and HELO.
    @inline(__always)
    static func host(_ s: ByteScanner, _ r: Range<Int>) -> (Peer, String?) { host(s, r) { s.string($0) } }

    /// As `host(_:_:)`, with the Strings made by `make` (e.g. from the parser's cache).
    @inline(__always)
    static func host(_ s: ByteScanner, _ r: Range<Int>, make: (Range<Int>) -> String) -> (Peer, String?) {
        let (p, h) = hostSpans(s, r)
        return (Peer(name: p.name.isPresent ? make(p.name.range) : nil, ip: p.ip.isPresent ? make(p.ip.range) : nil,
                     port: p.port),
                h.isPresent ? make(h.range) : nil)
    }

    /// Splits an `H=` value into peer and HELO spans (the grammar of `host(_:_:)`).
    static func hostSpans(_ s: ByteScanner, _ r: Range<Int>) -> (PeerSpans, Span) {
        var peer = PeerSpans()
        var helo = Span.absent
        var nameEnd = r.upperBound
        if let lb = s.findLast(Byte.lbracket, from: r.lowerBound, to: r.upperBound),
           lb == r.lowerBound || s[lb - 1] == Byte.space {
            let rb = s.find(Byte.rbracket, from: lb, to: r.upperBound) ?? r.upperBound
            var addr = (lb + 1)..<rb
            if !addr.isEmpty && s[addr.upperBound - 1] == Byte.colon { addr = addr.lowerBound..<(addr.upperBound - 1) }
            if s.isIPAddress(addr) { peer.ip = Span(addr) }
            if rb + 1 < r.upperBound, s[rb + 1] == Byte.colon {
                // `s.int` of the digits at rb + 2 in one pass: nil when there are none or more than 18.
                var j = rb + 2, n = 0
                while j < s.end && Byte.isDigit(s[j]) { n = n &* 10 &+ Int(s[j] &- Byte.zero); j += 1 }
                peer.port = j > rb + 2 && j - (rb + 2) <= 18 ? n : nil
            }
            nameEnd = lb
        }
        var head = r.lowerBound..<nameEnd
        while !head.isEmpty && s[head.upperBound - 1] == Byte.space { head = head.lowerBound..<(head.upperBound - 1) }
        if let lp = s.find(Byte.lparen, from: head.lowerBound, to: head.upperBound),
           let rp = s.findLast(Byte.rparen, from: lp, to: head.upperBound) {
            helo = Span((lp + 1)..<rp)
            var n = head.lowerBound..<lp
            while !n.isEmpty && s[n.upperBound - 1] == Byte.space { n = n.lowerBound..<(n.upperBound - 1) }
            if !n.isEmpty { peer.name = Span(n) }
        } else if !head.isEmpty {
            peer.name = Span(head)
        }
        return (peer, helo)
    }

    /// `X=TLS1.2:CIPHER:256[*]` into a TLSInfo (the trust word is set from `CV=` by the caller).
    /// GnuTLS builds write the protocol as `TLS1.2`, OpenSSL builds as `TLSv1.2`; it is stored
    /// in OpenSSL's (and Postfix's) spelling so reports compare one vocabulary.
    @inline(__always)
    static func tls(_ s: ByteScanner, _ r: Range<Int>) -> TLSInfo {
        EximLine.tlsInfo(tlsSpans(s, r), trust: nil, LineBytes(base: s.base, count: s.end)) {
            String(decoding: UnsafeBufferPointer(start: s.base + Int($0.lo), count: $0.count), as: UTF8.self)
        }
    }

    /// The spans of an `X=` value (the grammar of `tls(_:_:)`: `EximTLSSpans.read`).
    static func tlsSpans(_ s: ByteScanner, _ r: Range<Int>) -> EximTLSSpans {
        EximTLSSpans.read(LineBytes(base: s.base, count: s.end), Span(r))
    }

    /// `CV=` value as `EximLine.trust`'s code: yes/dane 1 (Verified), no 2 (Untrusted), else 0.
    static func trustCode(_ s: ByteScanner, _ r: Range<Int>) -> UInt8 {
        if s.equals(r, "yes") || s.equals(r, "dane") { return 1 }
        if s.equals(r, "no") { return 2 }
        return 0
    }

    /// `CV=` value as a trust word: yes/dane -> Verified, no -> Untrusted.
    static func trust(_ s: ByteScanner, _ r: Range<Int>) -> String? {
        if s.equals(r, "yes") || s.equals(r, "dane") { return "Verified" }
        if s.equals(r, "no") { return "Untrusted" }
        return nil
    }

    /// A quoted value with Exim's `\"` and `\\` escapes removed (other escapes kept as written).
    static func unescaped(_ s: ByteScanner, _ r: Range<Int>) -> String {
        guard s.find(Byte.backslash, from: r.lowerBound, to: r.upperBound) != nil else { return s.string(r) }
        var out: [UInt8] = []
        out.reserveCapacity(r.count)
        var k = r.lowerBound
        while k < r.upperBound {
            let b = s[k]
            if b == Byte.backslash, k + 1 < r.upperBound, s[k + 1] == Byte.quote || s[k + 1] == Byte.backslash {
                out.append(s[k + 1]); k += 2
            } else {
                out.append(b); k += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// An Exim duration (`3m45s`, `1s`, `0.304s`, `2d3h`) in seconds.
    ///
    /// Each number is read in the pass that finds its end: `ByteScanner.double`'s simple form
    /// (at most one dot, 1-15 digits, at most 22 after the dot: the same division, so the same
    /// value); any other run of digits and dots is handed to `double` itself.
    static func duration(_ s: ByteScanner, _ r: Range<Int>) -> Double? {
        var total = 0.0
        var k = r.lowerBound
        var any = false
        while k < r.upperBound {
            var e = k
            var mantissa: UInt64 = 0
            var digits = 0, fraction = 0, dots = 0
            while e < r.upperBound {
                let b = s[e]
                if Byte.isDigit(b) {
                    mantissa = mantissa &* 10 &+ UInt64(b &- Byte.zero)
                    digits += 1
                    fraction += dots
                } else if b == Byte.dot {
                    dots += 1
                } else {
                    break
                }
                e += 1
            }
            guard e > k else { return nil }
            let v: Double
            if dots <= 1 && digits > 0 && digits <= 15 && fraction <= 22 {
                v = Double(mantissa) / ByteScanner.pow10[fraction]
            } else {
                guard let d = s.double(k..<e) else { return nil }
                v = d
            }
            let unit: Double
            if e == r.upperBound { unit = 1 } else {
                switch s[e] {
                case 0x73: unit = 1            // s
                case 0x6D: unit = 60           // m
                case 0x68: unit = 3600         // h
                case 0x64: unit = 86_400       // d
                case 0x77: unit = 604_800      // w
                default: return nil
                }
                e += 1
            }
            total += v * unit
            any = true
            k = e
        }
        return any ? total : nil
    }

    /// An address `<x>` or bare `x` in `r` without the angle brackets.
    @inline(__always)
    static func address(_ s: ByteScanner, _ r: Range<Int>) -> String { s.string(addressRange(s, r)) }

    /// The range of `address(_:_:)`'s text.
    @inline(__always)
    static func addressRange(_ s: ByteScanner, _ r: Range<Int>) -> Range<Int> {
        if r.count >= 2, s[r.lowerBound] == Byte.lt, s[r.upperBound - 1] == Byte.gt {
            return (r.lowerBound + 1)..<(r.upperBound - 1)
        }
        return r
    }

    /// `RemoteQueueID.extractRange(s, r)`, with the reply of an Exim next hop (`250 OK id=X`, X
    /// running to the end) read directly: there the only spaces are the two of `250 OK id=`, so
    /// the one form present is `OK id=` and its token is the answer. Any other text goes to
    /// `extractRange` unless it lacks every literal a found ID stands behind (then nil).
    @inline(__always)
    static func nextQueueIDRange(_ s: ByteScanner, _ r: Range<Int>) -> Range<Int>? {
        let lo = r.lowerBound + 10, hi = r.upperBound
        if hi > lo, isOKid(s, r.lowerBound) {
            // The usual token (8 to 16 bytes, an Exim ID is 16) tested as two overlapping words:
            // all of its bytes pass the loop below and the last is no dot, so the loop's answer.
            let n = hi - lo
            if n >= 8, n <= 16, s[hi - 1] != Byte.dot {
                let raw = UnsafeRawPointer(s.base)
                let a = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: lo, as: UInt64.self))
                let b = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: hi - 8, as: UInt64.self))
                if idTokenBytes(a) & idTokenBytes(b) == ByteScanner.highs { return lo..<hi }
            }
            var j = lo
            while j < hi && (Byte.isAlnum(s[j]) || s[j] == Byte.dot || s[j] == Byte.minus || s[j] == Byte.underscore) {
                j += 1
            }
            if j == hi {
                while j > lo && s[j - 1] == Byte.dot { j -= 1 }
                return j > lo ? lo..<j : nil
            }
        }
        // `extractRange` finds an ID only behind `queued as `/`forwarded as ` (both hold `d as `),
        // `OK id=` or ` [Mm]essage accepted for delivery`: a reply with none of them up to the
        // line's end has none (the usual LMTP `250 2.0.0 <rcpt> TOKEN Saved`, Google's `250 2.0.0
        // OK  N TOKEN - gsmtp`), told by `memchr` of their rarer bytes instead of its scan.
        let from = r.lowerBound
        if EximParser.find(s, "OK id=", anchor: 5, from: from) == nil,
           EximParser.find(s, "d as ", anchor: 3, from: from) == nil,
           EximParser.find(s, "accepted for delivery", anchor: 20, from: from) == nil {
            return nil
        }
        return RemoteQueueID.extractRange(s, r)
    }

    /// Whether the 10 bytes at `i` (which exist) are `250 OK id=`: `s.has("250 OK id=", at: i)`
    /// as one word and one half-word compare.
    @inline(__always)
    static func isOKid(_ s: ByteScanner, _ i: Int) -> Bool {
        let raw = UnsafeRawPointer(s.base + i)
        // "250 OK i" and "d=" as little-endian loads.
        return UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) == 0x6920_4B4F_2030_3532
            && UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt16.self)) == 0x3D64
    }

    /// The high bit of each byte of `x` that `nextQueueIDRange`'s token loop accepts (an ASCII
    /// letter or digit, `.`, `-`, `_`), exactly.
    @inline(__always)
    static func idTokenBytes(_ x: UInt64) -> UInt64 {
        let ones = ByteScanner.ones
        return alnumBytes(x) | ByteScanner.zeroBytes(x ^ (ones &* 0x2E)) | ByteScanner.zeroBytes(x ^ (ones &* 0x2D))
            | ByteScanner.zeroBytes(x ^ (ones &* 0x5F))
    }

    /// `ByteScanner.int` read inline (the hot loops' numbers: `S=`, the bits of `X=`).
    @inline(__always)
    static func int(_ s: ByteScanner, _ r: Range<Int>) -> Int? {
        guard !r.isEmpty, r.count <= 18 else { return nil }
        var v = 0
        var k = r.lowerBound
        while k < r.upperBound {
            let d = s[k] &- Byte.zero
            guard d < 10 else { return nil }
            v = v &* 10 &+ Int(d)
            k += 1
        }
        return v
    }

    /// The enhanced status code (`5.1.1`) after a 3-digit reply code at the start of `r`, or anywhere as `NNN d.d.d`.
    static func dsn(_ s: ByteScanner, _ r: Range<Int>) -> (code: String?, dsn: String?) {
        let (c, d) = dsnRanges(s, r)
        return (c.map { s.string($0) }, d.map { s.string($0) })
    }

    /// The ranges of `dsn(_:_:)`'s code and enhanced status.
    static func dsnRanges(_ s: ByteScanner, _ r: Range<Int>) -> (code: Range<Int>?, dsn: Range<Int>?) {
        var k = r.lowerBound
        while k + 3 <= r.upperBound {
            if Byte.isDigit(s[k]) && Byte.isDigit(s[k + 1]) && Byte.isDigit(s[k + 2])
                && (k == r.lowerBound || s[k - 1] == Byte.space)
                && (k + 3 == r.upperBound || s[k + 3] == Byte.space || s[k + 3] == Byte.minus)
                && (s[k] >= 0x32 && s[k] <= 0x35) {
                let code = k..<(k + 3)
                let d = k + 4
                if d < r.upperBound, Byte.isDigit(s[d]), d + 1 < r.upperBound, s[d + 1] == Byte.dot {
                    var e = d
                    while e < r.upperBound && (Byte.isDigit(s[e]) || s[e] == Byte.dot) { e += 1 }
                    if e < r.upperBound && (s[e] == Byte.space || s[e] == Byte.comma) || e == r.upperBound {
                        return (code, d..<e)
                    }
                }
                return (code, nil)
            }
            k += 1
        }
        return (nil, nil)
    }
}
