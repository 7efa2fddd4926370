// ByteScanner: the byte-level toolkit every MTA parser uses.
//
// Contract: a read-only view of one line body (`UnsafeBufferPointer<UInt8>`)
// addressed by integer indices; prefix tests, forward/backward searches and
// number parsing work directly on the bytes (eight bytes at a time with the
// exact zero-byte test, sixteen at a time with SIMD16 compares for searches
// that usually end in the first blocks, memcmp for literals), never through
// `String`, `Regex` or Foundation. Strings are built only by `string(_:)`,
// for fields that are stored. Literals are `StaticString`s (UTF-8, no copy).
// Known limits: valid only while the underlying buffer lives (one parse call).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Named byte values used by the parsers.
enum Byte {
    static let space: UInt8 = 0x20
    static let quote: UInt8 = 0x22        // "
    static let lparen: UInt8 = 0x28       // (
    static let rparen: UInt8 = 0x29       // )
    static let comma: UInt8 = 0x2C
    static let minus: UInt8 = 0x2D
    static let dot: UInt8 = 0x2E
    static let slash: UInt8 = 0x2F
    static let zero: UInt8 = 0x30
    static let colon: UInt8 = 0x3A
    static let semicolon: UInt8 = 0x3B
    static let lt: UInt8 = 0x3C           // <
    static let equals: UInt8 = 0x3D
    static let gt: UInt8 = 0x3E           // >
    static let lbracket: UInt8 = 0x5B     // [
    static let backslash: UInt8 = 0x5C
    static let rbracket: UInt8 = 0x5D     // ]
    static let underscore: UInt8 = 0x5F
    static let percent: UInt8 = 0x25

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- 0x30 < 10 }
    @inline(__always) static func isUpper(_ b: UInt8) -> Bool { b &- 0x41 < 26 }
    @inline(__always) static func isLower(_ b: UInt8) -> Bool { b &- 0x61 < 26 }
    @inline(__always) static func isAlnum(_ b: UInt8) -> Bool { isDigit(b) || isUpper(b) || isLower(b) }
}

/// A view of one body with index-based scanning helpers.
struct ByteScanner {
    let base: UnsafePointer<UInt8>
    let end: Int

    init(_ buffer: UnsafeBufferPointer<UInt8>) {
        // An empty buffer may have a nil base; point at a static byte then (end = 0, never read).
        self.base = buffer.baseAddress ?? ByteScanner.emptyBase
        self.end = buffer.count
    }

    nonisolated(unsafe) private static let emptyBase: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    @inline(__always) subscript(i: Int) -> UInt8 { base[i] }

    /// Whether the bytes at `i` equal `lit`.
    @inline(__always)
    func has(_ lit: StaticString, at i: Int) -> Bool {
        let n = lit.utf8CodeUnitCount
        guard i >= 0, i + n <= end else { return false }
        return memcmp(base + i, lit.utf8Start, n) == 0
    }

    /// Whether the bytes in `r` are exactly `lit`.
    @inline(__always)
    func equals(_ r: Range<Int>, _ lit: StaticString) -> Bool {
        r.count == lit.utf8CodeUnitCount && memcmp(base + r.lowerBound, lit.utf8Start, r.count) == 0
    }

    /// Index of the first `b` in `[from, to)`.
    @inline(__always)
    func find(_ b: UInt8, from: Int, to: Int? = nil) -> Int? {
        let stop = to ?? end
        guard from < stop else { return nil }
        let i = ByteScanner.firstIndex(of: b, base, from, stop)
        return i < stop ? i : nil
    }

    /// Index of the last `b` in `[from, to)`.
    @inline(__always)
    func findLast(_ b: UInt8, from: Int, to: Int) -> Int? {
        guard from < to else { return nil }
        let i = ByteScanner.lastIndex(of: b, base, from, to)
        return i >= from ? i : nil
    }

    static let ones: UInt64 = 0x0101_0101_0101_0101
    static let highs: UInt64 = 0x8080_8080_8080_8080
    static let lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F

    /// The high bit of every byte of `x` that is zero, exactly (no carries between bytes).
    @inline(__always)
    static func zeroBytes(_ x: UInt64) -> UInt64 { ~(((x & lows) &+ lows) | x | lows) }

    /// The high bit of `x`'s first zero byte (the lowest) and of no byte before it; bytes after
    /// it may be flagged too (a borrow out of the zero byte), so only `trailingZeroBitCount` of
    /// a non-zero result is meaningful: the forward searches' test, two operations cheaper than
    /// `zeroBytes`.
    @inline(__always)
    static func firstZeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }

    /// Index of the first `b` in `[from, to)`, or `to`: eight bytes at a time.
    @inline(__always)
    static func firstIndex(of b: UInt8, _ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Int {
        let pattern = ones &* UInt64(b)
        let raw = UnsafeRawPointer(base)
        var i = from
        while i + 8 <= to {
            let m = firstZeroByte(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ pattern)
            if m != 0 { return i + m.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < to {
            if base[i] == b { return i }
            i += 1
        }
        return to
    }

    /// Index of the last `b` in `[from, to)`, or `from - 1`: eight bytes at a time, backwards.
    @inline(__always)
    static func lastIndex(of b: UInt8, _ base: UnsafePointer<UInt8>, _ from: Int, _ to: Int) -> Int {
        let pattern = ones &* UInt64(b)
        let raw = UnsafeRawPointer(base)
        var i = to
        while i - 8 >= from {
            let m = zeroBytes(UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i - 8, as: UInt64.self)) ^ pattern)
            if m != 0 { return i - 8 + (63 - m.leadingZeroBitCount) >> 3 }
            i -= 8
        }
        while i > from {
            i -= 1
            if base[i] == b { return i }
        }
        return from - 1
    }

    /// Index of the first occurrence of `lit` in `[from, to)` (memchr on its first non-space byte).
    func find(_ lit: StaticString, from: Int, to: Int? = nil) -> Int? {
        let stop = to ?? end
        let n = lit.utf8CodeUnitCount
        let p = lit.utf8Start
        var a = 0
        while a < n - 1 && p[a] == Byte.space { a += 1 }
        let anchor = p[a]
        var i = from + a
        while i + (n - a) <= stop {
            guard let j = find(anchor, from: i, to: stop - (n - a) + 1) else { return nil }
            if j - a >= from && memcmp(base + j - a, p, n) == 0 { return j - a }
            i = j + 1
        }
        return nil
    }

    /// Index of the last occurrence of `lit` in `[from, to)`.
    func findLast(_ lit: StaticString, from: Int, to: Int? = nil) -> Int? {
        let stop = to ?? end
        let n = lit.utf8CodeUnitCount
        let first = lit.utf8Start[0]
        var i = stop - n + 1               // candidates start in [from, stop - n]
        while i > from {
            let j = ByteScanner.lastIndex(of: first, base, from, i)
            if j < from { return nil }
            if memcmp(base + j, lit.utf8Start, n) == 0 { return j }
            i = j
        }
        return nil
    }

    /// Index of the first byte at or after `i` that is `a` or `b` (or `end`).
    @inline(__always)
    func scan(from i: Int, until a: UInt8, _ b: UInt8) -> Int {
        guard i < end else { return end }
        return a == b ? ByteScanner.firstIndex(of: a, base, i, end) : ByteScanner.firstOf(a, b, base, i, end)
    }

    /// Index of the first `, ` in `[from, end)` (the item separator of Postfix and Sendmail records).
    @inline(__always)
    func findCommaSpace(from: Int) -> Int? {
        var i = from
        while i < end {
            let c = ByteScanner.firstIndex(of: Byte.comma, base, i, end)
            guard c + 1 < end else { return nil }
            if base[c + 1] == Byte.space { return c }
            i = c + 1
        }
        return nil
    }

    /// A String of the bytes in `r` (invalid UTF-8 becomes U+FFFD).
    @inline(__always)
    func string(_ r: Range<Int>) -> String {
        String(decoding: UnsafeBufferPointer(start: base + r.lowerBound, count: r.count), as: UTF8.self)
    }

    /// The bytes in `r` as a buffer.
    @inline(__always)
    func buffer(_ r: Range<Int>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + r.lowerBound, count: r.count)
    }

    /// A non-negative decimal integer filling `r` exactly; nil if empty, not digits or too large.
    /// (At most 18 digits, so the wrapping arithmetic never wraps.)
    @inline(__always)
    func int(_ r: Range<Int>) -> Int? {
        let n = r.count
        guard n > 0, n <= 18 else { return nil }
        var p = base + r.lowerBound
        let e = p + n
        var v = 0
        repeat {
            let d = p.pointee &- Byte.zero
            guard d < 10 else { return nil }
            v = v &* 10 &+ Int(d)
            p += 1
        } while p < e
        return v
    }

    /// Index after the run of digits starting at `i`.
    @inline(__always)
    func digitsEnd(from i: Int) -> Int {
        var j = i
        while j < end && Byte.isDigit(base[j]) { j += 1 }
        return j
    }

    static let pow10: [Double] = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                                          1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]

    /// A decimal number `d+[.d*]` filling `r` exactly (correctly rounded); falls back to strtod for other forms.
    func double(_ r: Range<Int>) -> Double? {
        guard !r.isEmpty else { return nil }
        var mantissa: UInt64 = 0
        var digits = 0
        var fraction = 0
        var seenDot = false
        var simple = true
        for i in r {
            let b = base[i]
            if Byte.isDigit(b) {
                mantissa = mantissa &* 10 &+ UInt64(b &- Byte.zero)
                digits += 1
                if seenDot { fraction += 1 }
            } else if b == Byte.dot && !seenDot {
                seenDot = true
            } else {
                simple = false
                break
            }
        }
        if simple && digits > 0 && digits <= 15 && fraction <= 22 {
            return Double(mantissa) / ByteScanner.pow10[fraction]
        }
        // Rare forms (exponents, very long numbers): let the C library decide, whole range or nothing.
        guard r.count < 64 else { return nil }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { tmp -> Double? in
            for (k, i) in r.enumerated() { tmp[k] = CChar(bitPattern: base[i]) }
            tmp[r.count] = 0
            var endp: UnsafeMutablePointer<CChar>?
            let v = strtod(tmp.baseAddress!, &endp)
            guard let e = endp, e - tmp.baseAddress! == r.count, v.isFinite else { return nil }
            return v
        }
    }
}

// MARK: 16 bytes at a time

extension ByteScanner {
    /// The first lane set in a 16-lane mask given as its two words (lanes 0-7, 8-15; at least one
    /// set, each lane a byte of all ones or zeros).
    @inline(__always)
    static func firstLane(_ w0: UInt64, _ w1: UInt64) -> Int {
        w0 != 0 ? w0.trailingZeroBitCount &>> 3 : 8 &+ w1.trailingZeroBitCount &>> 3
    }

    /// The lanes of `m` as two words (lanes 0-7, 8-15).
    @inline(__always)
    static func words(_ m: SIMDMask<SIMD16<Int8>>) -> (UInt64, UInt64) {
        let w = unsafeBitCast(m, to: SIMD2<UInt64>.self)
        return (w[0], w[1])
    }

    /// Index of the first byte in `[from, to)` equal to `a`, `b` or `c` (repeat one for fewer
    /// values), or `to`: sixteen bytes at a time in place (SSE2 on x86-64: a compare per value and
    /// one mask move per block), no call, one pass for all three values; for a search that usually
    /// ends within the first blocks (a memchr call's set-up costs about as much as such a scan).
    /// The last 1...15 bytes before `to` go byte by byte.
    @inline(__always)
    func firstOf(_ a: UInt8, _ b: UInt8, _ c: UInt8, from: Int, to: Int) -> Int {
        let raw = UnsafeRawPointer(base)
        let va = SIMD16<UInt8>(repeating: a), vb = SIMD16<UInt8>(repeating: b), vc = SIMD16<UInt8>(repeating: c)
        var i = from
        while i &+ 16 <= to {
            let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            // The mask's two words, not `any(_:)`: the optimizer does not always turn that into one
            // mask move, and then it calls a generic reduction.
            let w = ByteScanner.words((v .== va) .| (v .== vb) .| (v .== vc))
            if w.0 | w.1 != 0 { return i &+ ByteScanner.firstLane(w.0, w.1) }
            i &+= 16
        }
        while i < to {
            let x = base[i]
            if x == a || x == b || x == c { return i }
            i &+= 1
        }
        return to
    }

    /// Index of the first byte at or after `from` that is not a letter or digit (or `end`):
    /// sixteen bytes at a time as `firstOf` (a letter's byte with 0x20 set is `a`-`z`; each range
    /// tested as `byte - low <= width - 1`, unsigned), the last 1...15 bytes byte by byte.
    @inline(__always)
    func alnumEnd(from: Int) -> Int {
        let raw = UnsafeRawPointer(base)
        var i = from
        while i &+ 16 <= end {
            let v = raw.loadUnaligned(fromByteOffset: i, as: SIMD16<UInt8>.self)
            let letter = (v | SIMD16<UInt8>(repeating: 0x20)) &- SIMD16<UInt8>(repeating: 0x61)
            let digit = v &- SIMD16<UInt8>(repeating: Byte.zero)
            let w = ByteScanner.words(.!((letter .<= SIMD16<UInt8>(repeating: 25)) .| (digit .<= SIMD16<UInt8>(repeating: 9))))
            if w.0 | w.1 != 0 { return i &+ ByteScanner.firstLane(w.0, w.1) }
            i &+= 16
        }
        while i < end && Byte.isAlnum(base[i]) { i &+= 1 }
        return i
    }
}

extension ByteScanner {
    /// The high bit of each byte of `x` that lies in `lo...hi` (both below 0x80; a byte of 0x80
    /// or more never does), eight bytes at once: the range is tested on each byte's low seven
    /// bits, where the additions cannot carry into the next byte.
    @inline(__always)
    static func bytesInRange(_ x: UInt64, _ lo: UInt8, _ hi: UInt8) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let y = x & 0x7F7F_7F7F_7F7F_7F7F
        return (y &+ ones &* UInt64(0x80 - lo)) & ~(y &+ ones &* UInt64(0x7F - hi)) & ~x & 0x8080_8080_8080_8080
    }
}
