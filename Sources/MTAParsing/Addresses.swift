// Addresses: e-mail addresses in `<...>`, peers `NAME[ADDR]:PORT`, IP validation.
//
// Contract:
// * `scanAddress` reads `<...>` quote-aware (a quoted local part may hold
//   `>`, `,`, `;`, `=`) and requires the closing `>` to be followed by the
//   end, a space, `,`, `:`, `;` or `)`; if a stray `"` breaks the quote-aware
//   scan it retries ignoring quotes. Without `<` it reads a bare value up to
//   `, `/space/end (old and hand-written logs). `<>` is the empty string.
// * `parsePeer` splits on the LAST `[` (names never contain `[`, IPv6 may
//   contain `:`), reads `]:PORT`, keeps `unknown` as the name. ADDR becomes
//   `ip` only if `inet_pton` accepts it (so PostgreSQL's inet accepts it
//   too); a socket path (`host[private/dovecot-lmtp]`) stays in the name as
//   written, with no ip; anything else (`unknown`, `300.1.1.1`) gives ip nil.
//   IPv4 is checked by the same rule in Swift (no copy, no libc call). The
//   usual `NAME[a.b.c.d][:PORT]` is read from its end first (`peerSpansQuadAtEnd`).
// Known limits: IPv6 zone ids (`fe80::1%eth0`) are not valid ips here.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailTrailModel

extension ByteScanner {
    /// Reads an address value at `i`; returns the content range and the index after the value.
    func scanAddress(at i: Int) -> (content: Range<Int>, next: Int)? {
        guard i < end else { return (i..<i, i) }
        guard base[i] == Byte.lt else {
            // bare value: up to ", " or space or end
            var j = i
            while j < end {
                let b = base[j]
                if b == Byte.space || (b == Byte.comma && (j + 1 == end || base[j + 1] == Byte.space)) { break }
                j += 1
            }
            return (i..<j, j)
        }
        if let close = closingAngle(from: i + 1, quoteAware: true) ?? closingAngle(from: i + 1, quoteAware: false) {
            return ((i + 1)..<close, close + 1)
        }
        return nil
    }

    @inline(__always)
    private func isValueTerminator(_ j: Int) -> Bool {
        if j >= end { return true }
        let b = base[j]
        return b == Byte.space || b == Byte.comma || b == Byte.colon || b == Byte.semicolon || b == Byte.rparen
    }

    private func closingAngle(from start: Int, quoteAware: Bool) -> Int? {
        var j = start
        var inQuote = false
        // Outside quotes only `"` and `>` matter: jump to the next of them eight bytes at a time.
        while j < end {
            if !inQuote {
                j = quoteAware ? ByteScanner.firstOf(Byte.gt, Byte.quote, base, j, end)
                               : ByteScanner.firstIndex(of: Byte.gt, base, j, end)
                guard j < end else { return nil }
            }
            let b = base[j]
            if inQuote {
                if b == Byte.backslash { j += 2; continue }
                if b == Byte.quote { inQuote = false }
            } else if b == Byte.quote && quoteAware {
                inQuote = true
            } else if b == Byte.gt && isValueTerminator(j + 1) {
                return j
            }
            j += 1
        }
        return nil
    }

    /// Index of the first byte in `[from, to)` that is `a` or `b`, or `to`.
    @inline(__always)
    static func firstOf(_ a: UInt8, _ b: UInt8, _ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Int {
        let pa = ones &* UInt64(a), pb = ones &* UInt64(b)
        let raw = UnsafeRawPointer(base)
        var i = from
        while i + 8 <= to {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            // The lowest flagged byte of either test is exact (see `firstZeroByte`).
            let m = firstZeroByte(w ^ pa) | firstZeroByte(w ^ pb)
            if m != 0 { return i + m.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < to {
            if base[i] == a || base[i] == b { return i }
            i += 1
        }
        return to
    }

    /// Parses a peer `NAME[ADDR][:PORT]`, `[ADDR]:PORT` or a bare `NAME` filling `r`.
    func parsePeer(_ r: Range<Int>) -> Peer {
        let p = peerSpans(r)
        return Peer(name: p.name.isPresent ? string(p.name.range) : nil, ip: p.ip.isPresent ? string(p.ip.range) : nil,
                    port: p.port)
    }

    /// `parsePeer` as spans of this scanner's buffer (no String is made).
    @inline(__always)
    func peerSpans(_ r: Range<Int>) -> PeerSpans {
        if let p = peerSpansQuadAtEnd(r) { return p }
        return peerSpansGeneral(r)
    }

    /// `peerSpans` of the usual `NAME[a.b.c.d]` and `NAME[a.b.c.d]:PORT` (1–18 port digits),
    /// read from the end: the port, the `]`, then four octets back to the `[` (the last `[` of
    /// the range: only digits, dots, `]` and `:` follow it), each octet by `dottedQuadEnd`'s
    /// rules (one to three digits, no leading zero, at most 255); nil for anything else, which
    /// `peerSpansGeneral` reads (it gives the same answer for these too).
    @inline(__always)
    func peerSpansQuadAtEnd(_ r: Range<Int>) -> PeerSpans? {
        let lo = r.lowerBound
        var j = r.upperBound - 1
        guard j - lo >= 8 else { return nil }           // `[1.2.3.4]` is 9 bytes
        var port: Int? = nil
        if base[j] != Byte.rbracket {
            var k = j
            var v = 0, scale = 1
            while k > lo, base[k] &- Byte.zero < 10 {
                v &+= Int(base[k] &- Byte.zero) &* scale
                scale &*= 10
                k -= 1
            }
            guard j - k >= 1, j - k <= 18, base[k] == Byte.colon, k - 1 > lo, base[k - 1] == Byte.rbracket else {
                return nil
            }
            port = v
            j = k - 1
        }
        // `j` is at the `]`; octets from the last one back.
        var p = j - 1
        var octet = 0
        while true {
            guard p > lo else { return nil }            // a digit, and a byte before it
            let d0 = base[p] &- Byte.zero
            guard d0 < 10 else { return nil }
            let d1 = base[p - 1] &- Byte.zero
            if d1 >= 10 {
                p -= 1
            } else {
                guard p - 1 > lo else { return nil }
                let d2 = base[p - 2] &- Byte.zero
                if d2 >= 10 {
                    guard d1 != 0 else { return nil }   // leading zero
                    p -= 2
                } else {
                    guard d2 != 0, Int(d2) * 100 + Int(d1) * 10 + Int(d0) <= 255, p - 2 > lo,
                          base[p - 3] &- Byte.zero >= 10 else { return nil }
                    p -= 3
                }
            }
            octet += 1
            if octet == 4 { break }
            guard base[p] == Byte.dot else { return nil }
            p -= 1
        }
        guard base[p] == Byte.lbracket else { return nil }
        return PeerSpans(name: p > lo ? Span(lo..<p) : .absent, ip: Span((p + 1)..<j), port: port)
    }

    /// `peerSpans` of any peer text (the definition the shortcut above is checked against).
    func peerSpansGeneral(_ r: Range<Int>) -> PeerSpans {
        guard !r.isEmpty else { return PeerSpans() }
        guard let lb = findLast(Byte.lbracket, from: r.lowerBound, to: r.upperBound) else { return PeerSpans(name: Span(r)) }
        // The usual `NAME[a.b.c.d]` / `[a.b.c.d]:PORT`: one pass reads the dotted quad and finds
        // the `]` it must end at (a quad holds no `]`, so that is the first one); anything else
        // takes the general path below, which gives the same answer for these too.
        if let rb = dottedQuadEnd(from: lb + 1, to: r.upperBound), base[rb] == Byte.rbracket {
            if rb + 1 == r.upperBound {
                return PeerSpans(name: lb > r.lowerBound ? Span(r.lowerBound..<lb) : .absent, ip: Span((lb + 1)..<rb))
            }
            if base[rb + 1] == Byte.colon, let p = int((rb + 2)..<r.upperBound) {
                return PeerSpans(name: lb > r.lowerBound ? Span(r.lowerBound..<lb) : .absent, ip: Span((lb + 1)..<rb),
                                 port: p)
            }
        }
        guard let rb = find(Byte.rbracket, from: lb + 1, to: r.upperBound) else { return PeerSpans(name: Span(r)) }
        var port: Int?
        var tailOK = rb + 1 == r.upperBound
        if !tailOK, base[rb + 1] == Byte.colon, let p = int((rb + 2)..<r.upperBound) {
            port = p; tailOK = true
        }
        let addr = (lb + 1)..<rb
        if tailOK, isIPAddress(addr) {
            return PeerSpans(name: lb > r.lowerBound ? Span(r.lowerBound..<lb) : .absent, ip: Span(addr), port: port)
        }
        if find(Byte.slash, from: addr.lowerBound, to: addr.upperBound) != nil || !tailOK {
            return PeerSpans(name: Span(r.lowerBound..<(tailOK && port == nil ? rb + 1 : r.upperBound)), port: port)
        }
        return PeerSpans(name: lb > r.lowerBound ? Span(r.lowerBound..<lb) : .absent, port: port)
    }

    /// Whether the bytes in `r` are an IPv4 or IPv6 address that inet_pton accepts: IPv6 when
    /// they hold a `:`, else inet_pton(AF_INET)'s rule (BIND's inet_pton4, as in glibc and the
    /// BSDs), checked here step for step: four dotted decimal octets <= 255, no leading zeros,
    /// nothing else up to the end or a NUL (where the C string would end).
    func isIPAddress(_ r: Range<Int>) -> Bool {
        let n = r.count
        guard n >= 2, n <= 45 else { return false }
        // IPv4 first (the usual case: its success up to the end means there is no `:`, so no
        // scan for one); a `:` anywhere still makes it IPv6 whatever the IPv4 reading said.
        let start = base + r.lowerBound
        if isIPv4(start, n, endAtNUL: false) { return true }
        if ByteScanner.contains(Byte.colon, start, n) { return isIPv6(r) }
        return isIPv4(start, n, endAtNUL: true)
    }

    /// Where an IPv4 address in inet_pton4's form (see `isIPAddress`) starting at `from` ends:
    /// the index of the first byte after its fourth octet, which is below `to` (so the caller may
    /// read it); nil when the bytes from `from` do not begin with such an address followed by
    /// another byte before `to`. A byte that is not a digit or `.` ends the address; the caller
    /// checks what it is. Octets are read up to three digits at a time, not in a loop.
    @inline(__always)
    func dottedQuadEnd(from: Int, to: Int) -> Int? {
        var p = from
        var octet = 0
        while true {
            // Every read below is at an index < `to`: the guards come first.
            guard p < to else { return nil }
            let d0 = base[p] &- Byte.zero
            guard d0 < 10 else { return nil }
            guard p + 1 < to else { return nil }
            let d1 = base[p + 1] &- Byte.zero
            if d1 >= 10 {
                p += 1
            } else {
                guard d0 != 0, p + 2 < to else { return nil }                 // leading zero
                let d2 = base[p + 2] &- Byte.zero
                if d2 >= 10 {
                    p += 2
                } else {
                    guard Int(d0) * 100 + Int(d1) * 10 + Int(d2) <= 255, p + 3 < to else { return nil }
                    guard base[p + 3] &- Byte.zero >= 10 else { return nil }  // four digits: > 255
                    p += 3
                }
            }
            octet += 1
            if octet == 4 { return p }
            guard base[p] == Byte.dot else { return nil }
            p += 1
        }
    }

    /// inet_pton4's rule on `n` bytes at `start`: an address that fills them all (then they are
    /// digits and dots: no `:`), or with `endAtNUL` also one followed by a NUL.
    @inline(__always)
    private func isIPv4(_ start: UnsafePointer<UInt8>, _ n: Int, endAtNUL: Bool) -> Bool {
        let e = start + n
        var p = start
        var octet = 0
        while true {
            guard p < e else { return false }
            var v = UInt32(p.pointee &- Byte.zero)
            guard v < 10 else { return false }
            p += 1
            if v == 0 {
                if p < e && Byte.isDigit(p.pointee) { return false }        // leading zero
            } else {
                while p < e {
                    let d = UInt32(p.pointee &- Byte.zero)
                    if d >= 10 { break }
                    v = v &* 10 &+ d
                    if v > 255 { return false }
                    p += 1
                }
            }
            octet += 1
            if octet == 4 { return p == e || (endAtNUL && p.pointee == 0) }
            guard p < e, p.pointee == Byte.dot else { return false }
            p += 1
        }
    }

    /// Whether `n` bytes at `p` hold `b` (eight at a time).
    @inline(__always)
    static func contains(_ b: UInt8, _ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let pattern = ones &* UInt64(b)
        let raw = UnsafeRawPointer(p)
        var i = 0
        while i + 8 <= n {
            let x = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) ^ pattern
            if (x &- ones) & ~x & 0x8080_8080_8080_8080 != 0 { return true }
            i += 8
        }
        while i < n {
            if p[i] == b { return true }
            i += 1
        }
        return false
    }

    /// inet_pton(AF_INET6) on a copy of the bytes (NUL-terminated).
    @inline(never)
    func isIPv6(_ r: Range<Int>) -> Bool {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: 48) { tmp -> Bool in
            var k = 0
            for i in r { tmp[k] = CChar(bitPattern: base[i]); k += 1 }
            tmp[k] = 0
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { out -> Bool in
                inet_pton(AF_INET6, tmp.baseAddress!, out.baseAddress!) == 1
            }
        }
    }
}
