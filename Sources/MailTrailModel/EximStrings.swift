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
/// `fresh` builds a value of 16 to 63 ASCII bytes as a native String directly (`NativeASCII`:
/// one allocation, the header the standard library writes; checked once at first use against
/// Strings the standard library made, else `String(decoding:as:)`; NativeASCIITests).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Strings of 16 to 63 ASCII bytes built in the standard library's native form directly: one
/// `swift_allocObject` of the storage class, its header and bytes written here, instead of
/// `String(decoding:as:)`'s validation, capacity computation and generic copy (~310 instructions
/// a String against ~150).
///
/// Contract: `make` returns a String equal to `String(decoding:as:)` of the bytes, with the same
/// words and the same storage header (capacity, count and flags) the standard library writes for
/// them (NativeASCIITests); nil when the bytes are not all ASCII, when there are not 16 to 63 of
/// them (longer Strings carry breadcrumbs) or when `layout` found the runtime's Strings laid out
/// otherwise (the callers then use `String(decoding:as:)`).
/// Known limits: written for the 64-bit little-endian layout of Swift 6 on Linux (the storage:
/// class pointer, reference counts, real capacity with flags, count with flags, the bytes and a
/// NUL at offset 32); `layout` checks it once, on a String the standard library made, before
/// the first use.
public enum NativeASCII {
    /// The storage class and the runtime's allocator, found by `probe`; nil when the check failed.
    @usableFromInline
    struct Layout: @unchecked Sendable {
        let storageClass: UnsafeRawPointer
        let alloc: @convention(c) (UnsafeRawPointer, Int, Int) -> UnsafeMutableRawPointer?
    }

    @usableFromInline static let layout: Layout? = probe()

    /// Whether `make` builds Strings here (false: the layout check failed; callers decode).
    public static var isAvailable: Bool { layout != nil }

    /// Checks the layout on Strings `String(decoding:as:)` made (every length `make` builds) and
    /// on one `make` built from it: equal text, hash, words and header.
    static func probe() -> Layout? {
        #if os(Linux) && _pointerBitWidth(_64) && _endian(little)
        guard MemoryLayout<String>.size == 16, let sym = dlsym(nil, "swift_allocObject") else { return nil }
        let alloc = unsafeBitCast(sym, to: (@convention(c) (UnsafeRawPointer, Int, Int) -> UnsafeMutableRawPointer?).self)
        var storageClass: UnsafeRawPointer?
        for n in 16...63 {
            let bytes = (0..<n).map { UInt8(0x21 + ($0 * 7) % 90) }
            let s = String(decoding: bytes, as: UTF8.self)
            let ok = withExtendedLifetime(s) { () -> Bool in
                let (w0, w1) = unsafeBitCast(s, to: (UInt64, UInt64).self)
                guard w0 == countAndFlags(n), w1 >> 60 == 0, let obj = UnsafeRawPointer(bitPattern: UInt(w1)) else {
                    return false
                }
                let cls = obj.load(as: UnsafeRawPointer.self)
                if storageClass == nil { storageClass = cls }
                guard cls == storageClass, obj.load(fromByteOffset: 16, as: UInt64.self) == UInt64(realCapacity(n)),
                      obj.load(fromByteOffset: 24, as: UInt64.self) == w0,
                      memcmp(obj + 32, bytes, n) == 0, obj.load(fromByteOffset: 32 + n, as: UInt8.self) == 0 else {
                    return false
                }
                return true
            }
            guard ok else { return nil }
        }
        guard let cls = storageClass else { return nil }
        let l = Layout(storageClass: cls, alloc: alloc)
        for n in [16, 31, 32, 47, 48, 63] {
            let bytes = (0..<n).map { UInt8(0x41 + $0 % 26) }
            let expected = String(decoding: bytes, as: UTF8.self)
            guard let s = bytes.withUnsafeBufferPointer({ build(l, $0.baseAddress!, n) }) else { return nil }
            var t = s
            t.append("+")
            guard s == expected, s.hashValue == expected.hashValue, s.utf8.count == n, Array(s.utf8) == bytes,
                  unsafeBitCast(s, to: (UInt64, UInt64).self).0 == unsafeBitCast(expected, to: (UInt64, UInt64).self).0,
                  t == expected + "+" else { return nil }
        }
        return l
        #else
        return nil
        #endif
    }

    /// The count-and-flags word of a native ASCII String of `n` bytes (ASCII, NFC, natively
    /// stored, tail-allocated).
    @inline(__always) @usableFromInline
    static func countAndFlags(_ n: Int) -> UInt64 { 0xF000_0000_0000_0000 | UInt64(n) }

    /// The real capacity (bytes and the NUL) the standard library gives `n` bytes: rounded up to 16.
    @inline(__always) @usableFromInline
    static func realCapacity(_ n: Int) -> Int { (n + 16) & ~15 }

    /// The String of the `n` bytes at `p` when `16 <= n <= 63`, all are ASCII and the layout
    /// check passed; nil otherwise. Reads only those `n` bytes.
    @inlinable @inline(__always)
    public static func make(_ p: UnsafePointer<UInt8>, _ n: Int) -> String? {
        guard n >= 16, n <= 63, let l = layout else { return nil }
        return build(l, p, n)
    }

    /// `make` past its checks of `n` and the layout.
    @usableFromInline
    static func build(_ l: Layout, _ p: UnsafePointer<UInt8>, _ n: Int) -> String? {
        let cap = realCapacity(n)
        guard let obj = l.alloc(l.storageClass, 32 + cap, 7) else { return nil }
        let cf = countAndFlags(n)
        obj.storeBytes(of: UInt64(cap), toByteOffset: 16, as: UInt64.self)
        obj.storeBytes(of: cf, toByteOffset: 24, as: UInt64.self)
        // The bytes copied a word at a time (the last word overlapping), their high bits gathered.
        let src = UnsafeRawPointer(p), dst = obj + 32
        var acc: UInt64 = 0
        var k = 0
        while k + 8 <= n {
            let w = src.loadUnaligned(fromByteOffset: k, as: UInt64.self)
            acc |= w
            dst.storeBytes(of: w, toByteOffset: k, as: UInt64.self)
            k += 8
        }
        let last = src.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        acc |= last
        dst.storeBytes(of: last, toByteOffset: n - 8, as: UInt64.self)
        dst.storeBytes(of: 0, toByteOffset: n, as: UInt8.self)
        // The String's two words written into a variable that holds an immortal empty String (so
        // nothing is released): the variable then owns the new storage's one reference (a
        // non-ASCII value's storage is released with it when the variable ends).
        var s = ""
        withUnsafeMutableBytes(of: &s) { w in
            w.storeBytes(of: cf, as: UInt64.self)
            w.storeBytes(of: UInt64(UInt(bitPattern: obj)), toByteOffset: 8, as: UInt64.self)
        }
        return acc & 0x8080_8080_8080_8080 == 0 ? s : nil
    }
}

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
        if let v = NativeASCII.make(b.base + Int(s.lo), s.count) { return v }
        return String(decoding: b.buffer(s), as: UTF8.self)
    }

    /// `fresh`, nil when absent.
    @inlinable @inline(__always)
    public static func optionalFresh(in b: LineBytes, _ s: Span) -> String? {
        s.isAbsent ? nil : fresh(in: b, s)
    }
}
