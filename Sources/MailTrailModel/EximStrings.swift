/// EximStrings: the Strings the Exim correlator stores, made from a line's spans as cheaply as
/// the value allows.
///
/// Contract: `EximStrings.string(_:in:)` returns exactly `String(decoding:as: UTF8.self)` of the
/// span's bytes ("" when absent). A value of at most 15 ASCII bytes is built straight in the
/// standard library's small-string form (`SmallASCII.make`: two words, no allocation, no
/// validation call, nothing to retain or release later); a longer one comes from the
/// `StringCache` (`string`) or is made afresh (`fresh`, for values that rarely repeat, which
/// would only evict the ones that do).
/// Known limits: `SmallASCII` depends on the 64-bit String layout of the Swift ABI (the small
/// form: bytes 0-7 in the first word, 8-14 in the second, its top byte `0xE0 | count` for
/// ASCII) on 64-bit little-endian targets (elsewhere `make` calls `String(decoding:as:)`);
/// Tests/CorrelationTests/EximStringsTests.swift checks it bit for bit against
/// `String(decoding:as:)` on every length and `SmallASCII.layoutMatches` checks the layout.

/// Strings of at most 15 ASCII bytes built in the standard library's small form.
public enum SmallASCII {
    /// Whether this platform's String has the layout `make` writes (for tests).
    public static var layoutMatches: Bool {
        guard MemoryLayout<String>.size == 16 else { return false }
        let probe = "abcdefghijklmn"                  // 14 ASCII bytes: a small string
        let words = unsafeBitCast(probe, to: (UInt64, UInt64).self)
        return words.0 == 0x6867_6665_6463_6261 && words.1 == (0xE0 | 14) << 56 | 0x6E6D_6C6B_6A69
    }

    /// The String of the `n` bytes at `p` when `n <= 15` and all are ASCII (the same bits as
    /// `String(decoding:as:)` gives them); nil otherwise. Reads only those `n` bytes.
    @inlinable @inline(__always)
    public static func make(_ p: UnsafePointer<UInt8>, _ n: Int) -> String? {
        let raw = UnsafeRawPointer(p)
        var w0: UInt64 = 0, w1: UInt64 = 0
        if n >= 8 {
            guard n <= 15 else { return nil }
            w0 = raw.loadUnaligned(as: UInt64.self)
            // The last eight bytes hold bytes 8..<n at their top; n == 8 leaves w1 zero.
            let last = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            w1 = n == 8 ? 0 : UInt64(littleEndian: last) >> UInt64((16 - n) * 8)
            w0 = UInt64(littleEndian: w0)
        } else if n >= 4 {
            let a = UInt64(UInt32(littleEndian: raw.loadUnaligned(as: UInt32.self)))
            let b = UInt64(UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)))
            w0 = a | b << UInt64((n - 4) * 8)           // the overlapping bytes are the same
        } else {
            var k = 0
            while k < n { w0 |= UInt64(p[k]) << UInt64(k * 8); k += 1 }
        }
        guard (w0 | w1) & 0x8080_8080_8080_8080 == 0 else { return nil }
        #if _pointerBitWidth(_64) && _endian(little)
        w1 |= (0xE0 | UInt64(n)) << 56
        return unsafeBitCast((w0, w1), to: String.self)
        #else
        return String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        #endif
    }
}

/// The correlator's String maker: small values in place, repeated longer ones through a cache.
public struct EximStrings: Sendable {
    @usableFromInline var cache = StringCache()

    public init() {}

    /// The span's text ("" when absent); a value over 15 bytes through the cache.
    @inlinable @inline(__always)
    public mutating func string(_ s: Span, in b: LineBytes) -> String {
        guard s.isPresent else { return "" }
        if s.count <= 15, let v = SmallASCII.make(b.base + Int(s.lo), s.count) { return v }
        return cached(s, in: b)
    }

    /// The cache's String of a present span (kept out of line: the small path stays short).
    @inline(never)
    public mutating func cached(_ s: Span, in b: LineBytes) -> String { cache.string(s, in: b) }

    /// The span's text, nil when absent.
    @inlinable @inline(__always)
    public mutating func optionalString(_ s: Span, in b: LineBytes) -> String? {
        s.isAbsent ? nil : string(s, in: b)
    }

    /// The span's text ("" when absent), never through the cache (a value that rarely repeats).
    @inlinable @inline(__always)
    public static func fresh(in b: LineBytes, _ s: Span) -> String {
        guard s.isPresent else { return "" }
        if s.count <= 15, let v = SmallASCII.make(b.base + Int(s.lo), s.count) { return v }
        return String(decoding: b.buffer(s), as: UTF8.self)
    }

    /// `fresh`, nil when absent.
    @inlinable @inline(__always)
    public static func optionalFresh(in b: LineBytes, _ s: Span) -> String? {
        s.isAbsent ? nil : fresh(in: b, s)
    }
}
