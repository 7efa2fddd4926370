/// LineBytes, Span, QueueID: how a parsed line's fields travel to the
/// correlator without becoming Strings first.
///
/// Contract: a parser reads one line and records each field as a `Span` (a
/// byte range of the line's buffer, or absent); the correlator turns a span
/// into a `String` only when it stores the value (`LineBytes.string`), and
/// compares or keys by bytes otherwise. A `LineBytes` is a borrowed view: it
/// is valid only during the call that hands it over (one line).
/// `QueueID` is a queue ID held inline (no allocation, cheap hash): exact for
/// IDs of up to 32 bytes without NUL, which covers every MTA's IDs as the
/// parsers accept them (Postfix <= 32, Sendmail <= 24, Exim 16 or 23).
/// `TextKey` (hash + ASCII flag of a text) lets `LineBytes.sameText` decide
/// most span-to-String comparisons without reading the String, with String
/// equality's result (canonical equivalence, invalid UTF-8) in every case.
/// Known limits: a longer ID (only possible through the String-event
/// adapters) is keyed by its first 24 bytes and an FNV-1a hash of all bytes.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A byte range `[lo, hi)` of the current line's buffer, or absent (`lo < 0`).
public struct Span: Hashable, Sendable {
    public var lo: Int32
    public var hi: Int32

    @inlinable public init(lo: Int32, hi: Int32) { self.lo = lo; self.hi = hi }

    @inlinable public init(_ r: Range<Int>) {
        lo = Int32(truncatingIfNeeded: r.lowerBound); hi = Int32(truncatingIfNeeded: r.upperBound)
    }

    /// No value (a field that was not in the line, an Optional's nil). Computed, not a stored
    /// `static let`: a global constant is reached through a `swift_once` accessor call at each use.
    @inlinable public static var absent: Span { Span(lo: -1, hi: -1) }

    @inlinable public var isAbsent: Bool { lo < 0 }
    @inlinable public var isPresent: Bool { lo >= 0 }
    @inlinable public var count: Int { Int(hi &- lo) }
    @inlinable public var isEmpty: Bool { hi <= lo }
    @inlinable public var range: Range<Int> { Int(lo)..<Int(max(lo, hi)) }
}

/// A borrowed view of the bytes a line's spans point into (Sendable because it is never
/// kept beyond the call that hands it over).
public struct LineBytes: @unchecked Sendable {
    public let base: UnsafePointer<UInt8>
    public let count: Int

    @inlinable public init(base: UnsafePointer<UInt8>, count: Int) { self.base = base; self.count = count }

    @inlinable public init(_ buffer: UnsafeBufferPointer<UInt8>) {
        self.base = buffer.baseAddress ?? LineBytes.emptyBase
        self.count = buffer.count
    }

    /// A valid address for empty buffers (never read).
    nonisolated(unsafe) public static let emptyBase: UnsafePointer<UInt8> = {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
        p.initialize(to: 0)
        return UnsafePointer(p)
    }()

    @inlinable public subscript(i: Int) -> UInt8 { base[i] }

    /// The bytes of a present span.
    @inlinable public func buffer(_ s: Span) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: base + Int(s.lo), count: max(0, s.count))
    }

    /// The span's text (invalid UTF-8 becomes U+FFFD); "" for an absent span. Up to 15 ASCII
    /// bytes are built in place as a small String (`SmallASCII`: no validation call, no allocation).
    @inlinable public func string(_ s: Span) -> String {
        if s.isAbsent { return "" }
        if s.count <= 15, let v = SmallASCII.make(base + Int(s.lo), s.count) { return v }
        return String(decoding: buffer(s), as: UTF8.self)
    }

    /// The span's text, nil when absent.
    @inlinable public func optionalString(_ s: Span) -> String? {
        s.isAbsent ? nil : string(s)
    }

    /// Whether a present span holds exactly `lit`.
    @inlinable public func equals(_ s: Span, _ lit: StaticString) -> Bool {
        s.isPresent && s.count == lit.utf8CodeUnitCount
            && (s.count == 0 || memcmp(base + Int(s.lo), lit.utf8Start, s.count) == 0)
    }

    /// Whether a present span starts with `lit`.
    @inlinable public func hasPrefix(_ s: Span, _ lit: StaticString) -> Bool {
        s.isPresent && s.count >= lit.utf8CodeUnitCount
            && memcmp(base + Int(s.lo), lit.utf8Start, lit.utf8CodeUnitCount) == 0
    }

    /// Whether the span (absent = nil) has the same text as `string` (nil = absent).
    @inlinable public func equals(_ s: Span, _ string: String?) -> Bool {
        guard let string else { return s.isAbsent }
        guard s.isPresent else { return false }
        return LineBytes.equal(buffer(s), string)
    }

    /// Whether `bytes` are the UTF-8 of `string` (byte comparison; a String made from invalid
    /// UTF-8 never equals the original bytes, as with String equality).
    @inlinable public static func equal(_ bytes: UnsafeBufferPointer<UInt8>, _ string: String) -> Bool {
        if let r = string.utf8.withContiguousStorageIfAvailable({ u -> Bool in
            u.count == bytes.count && (u.count == 0 || memcmp(u.baseAddress!, bytes.baseAddress!, u.count) == 0)
        }) { return r }
        return string == String(decoding: bytes, as: UTF8.self)
    }

    /// Whether the span's text equals `string` as Strings compare (`String(decoding:)` of the
    /// bytes `==` `string`, canonical equivalence included), given their `TextKey`s: keys that
    /// differ decide "not equal" when both texts are ASCII (ASCII texts are equal only byte for
    /// byte); equal keys are confirmed on the bytes; anything else takes String equality.
    @inlinable public func sameText(_ s: Span, _ spanKey: TextKey, _ string: String, _ key: TextKey) -> Bool {
        if spanKey.hash != key.hash {
            if spanKey.isASCII && key.isASCII { return false }
        } else if equals(s, string) {
            return true
        }
        return string == self.string(s)
    }

    /// The span as an inline queue ID.
    @inlinable public func queueID(_ s: Span) -> QueueID { QueueID(buffer(s)) }
}

/// What `LineBytes.sameText` needs of a text to tell most unequal texts apart without reading
/// them: a hash of its UTF-8 bytes and whether they are all ASCII.
public struct TextKey: Hashable, Sendable {
    public var hash: UInt64
    public var isASCII: Bool

    /// One pass over the bytes, a word at a time (the hash is this type's own: keys are only
    /// compared with keys).
    @inlinable public init(_ b: UnsafeBufferPointer<UInt8>) {
        let n = b.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: n &+ 1)
        var any: UInt64 = 0
        if n > 0, let p = b.baseAddress {
            let raw = UnsafeRawPointer(p)
            if n >= 8 {
                var i = 0
                while i + 8 <= n {
                    let w = raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                    any |= w
                    h = (h ^ w) &* 0xC2B2_AE3D_27D4_EB4F
                    h ^= h >> 29
                    i += 8
                }
                if i < n {
                    let w = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                    any |= w
                    h = (h ^ w) &* 0x1656_67B1_9E37_79F9
                }
            } else {
                var w: UInt64 = 0
                for k in 0..<n { w |= UInt64(p[k]) << (UInt64(k) &* 8) }
                any = w
                h = (h ^ w) &* 0xC2B2_AE3D_27D4_EB4F
            }
        }
        hash = h ^ (h >> 31)
        isASCII = any & 0x8080_8080_8080_8080 == 0
    }

    /// The key of a span's bytes (an absent span is "").
    @inlinable public init(_ s: Span, in b: LineBytes) {
        self.init(s.isAbsent ? UnsafeBufferPointer(start: b.base, count: 0) : b.buffer(s))
    }

    /// The key of a String's UTF-8 bytes.
    public init(_ string: String) {
        var copy = string
        self = copy.withUTF8 { TextKey($0) }
    }

    /// Whether every byte is below 0x80 (eight at a time).
    @inlinable public static func isASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = b.count
        guard n > 0, let p = b.baseAddress else { return true }
        let raw = UnsafeRawPointer(p)
        var acc: UInt64 = 0
        var i = 0
        while i + 8 <= n { acc |= raw.loadUnaligned(fromByteOffset: i, as: UInt64.self); i += 8 }
        while i < n { acc |= UInt64(p[i]); i += 1 }
        return acc & 0x8080_8080_8080_8080 == 0
    }
}

/// A queue ID held inline: up to 32 bytes, zero-padded (see the file comment for longer IDs).
public struct QueueID: Hashable, Sendable {
    public var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    @inlinable public init(_ b: UnsafeBufferPointer<UInt8>) {
        let n = b.count
        // 8...32 bytes (every Postfix, Sendmail and Exim ID): whole words read in place, the last
        // partial one as the word that ends the ID shifted down (its lower bytes were read
        // already), so the words are exactly the zero-padded bytes without a copy call (the
        // shift is little-endian's; elsewhere the copy below serves).
        #if _endian(little)
        if n >= 8 && n <= 32, let p = b.baseAddress {
            let raw = UnsafeRawPointer(p)
            @inline(__always) func word(_ k: Int) -> UInt64 {
                let end = (k + 1) * 8
                if end <= n { return raw.loadUnaligned(fromByteOffset: k * 8, as: UInt64.self) }
                if k * 8 >= n { return 0 }
                let tail = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                return tail >> UInt64((end - n) * 8)
            }
            w0 = word(0); w1 = word(1); w2 = word(2); w3 = word(3)
            return
        }
        #endif
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        if n <= 32 {
            if n > 0 {
                withUnsafeMutableBytes(of: &words) { raw in
                    raw.baseAddress!.copyMemory(from: UnsafeRawPointer(b.baseAddress!), byteCount: n)
                }
            }
        } else {
            withUnsafeMutableBytes(of: &words) { raw in
                raw.baseAddress!.copyMemory(from: UnsafeRawPointer(b.baseAddress!), byteCount: 24)
            }
            var h: UInt64 = 0xcbf2_9ce4_8422_2325
            for x in b { h = (h ^ UInt64(x)) &* 0x0000_0100_0000_01b3 }
            words.3 = h | (1 << 63)
        }
        w0 = words.0; w1 = words.1; w2 = words.2; w3 = words.3
    }

    /// The queue ID of a String (UTF-8 bytes).
    public init(_ s: String) {
        var copy = s
        self = copy.withUTF8 { QueueID($0) }
    }

    /// The ID as text (for IDs of up to 32 bytes; a longer one was kept only as a hash).
    public var string: String {
        var words = (w0, w1, w2, w3)
        return withUnsafeBytes(of: &words) { raw in
            let b = raw.bindMemory(to: UInt8.self)
            let n = w3 >> 63 == 1 ? 24 : (b.firstIndex(of: 0) ?? 32)
            return String(decoding: UnsafeBufferPointer(rebasing: b[0..<n]), as: UTF8.self)
        }
    }

    /// A well-mixed hash of the words (for open-addressing tables).
    @inlinable public var fastHash: Int {
        var h = w0 &* 0x9E37_79B9_7F4A_7C15
        h ^= (w1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (w2 &* 0x1656_67B1_9E37_79F9) ^ (w3 &* 0x27D4_EB2F_1656_67C5)
        return Int(truncatingIfNeeded: h ^ (h >> 31))
    }

    @inlinable public static func == (a: QueueID, b: QueueID) -> Bool {
        a.w0 == b.w0 && a.w1 == b.w1 && a.w2 == b.w2 && a.w3 == b.w3
    }

    public func hash(into h: inout Hasher) { h.combine(fastHash) }
}

extension LineBytes {
    /// A 64-bit hash of the span's bytes, eight at a time (for caches keyed by bytes).
    @inlinable public func hash(_ s: Span) -> UInt64 { LineBytes.hash(buffer(s)) }

    @inlinable public static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let n = b.count
        var h: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: n &+ 1)
        guard n > 0, let p = b.baseAddress else { return h }
        let raw = UnsafeRawPointer(p)
        if n >= 8 {
            var i = 0
            while i + 8 <= n {
                h = (h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0xC2B2_AE3D_27D4_EB4F
                h ^= h >> 29
                i += 8
            }
            if i < n {
                h = (h ^ raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) &* 0x1656_67B1_9E37_79F9
                h ^= h >> 29
            }
        } else {
            var w: UInt64 = 0
            for k in 0..<n { w |= UInt64(p[k]) << (UInt64(k) &* 8) }
            h = (h ^ w) &* 0xC2B2_AE3D_27D4_EB4F
            h ^= h >> 29
        }
        return h &* 0x2545_F491_4F6C_DD1D
    }
}

/// StringCache: Strings for byte values that repeat (TLS ciphers, relay and client names, status
/// codes), so a repeated value costs a hash and a compare instead of an allocation.
///
/// Contract: `string(_:in:)` returns a String equal to `String(decoding: bytes, as: UTF8.self)`,
/// from the cache when the same bytes were seen lately (compared word by word with a key kept
/// in the entry), else made and cached; a value of at most 15 ASCII bytes is made in place as a
/// small String (`SmallASCII`) without a lookup, since that is cheaper than any. Direct-mapped, 512 entries (or as many as `init(entries:)` asks) of values up to 32 bytes
/// (longer ones are made every time): memory is bounded whatever the input. The entries live in
/// one buffer owned by a class; a copy of the cache that finds the buffer shared when it is about
/// to write starts an empty one (the cache only saves work, so it never has to be shared). So a
/// buffer is written only while one cache holds it, and a hit, which only reads, needs no check:
/// no other holder can be writing it. Not part of any saved state.
public struct StringCache: @unchecked Sendable {
    /// The entries, owned by a class (`SharedStringCache` uses it too, with more of them).
    @usableFromInline
    final class Storage {
        @usableFromInline let entries: UnsafeMutablePointer<Entry>
        @usableFromInline let count: Int
        @usableFromInline init(count: Int = 512) {
            self.count = count
            entries = .allocate(capacity: count)
            entries.initialize(repeating: Entry(), count: count)
        }
        deinit {
            entries.deinitialize(count: count)
            entries.deallocate()
        }
    }

    @usableFromInline
    struct Entry {
        @usableFromInline var length = -1
        @usableFromInline var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0
        @usableFromInline var value = ""
        @usableFromInline init() {}
    }

    @usableFromInline var storage: Storage

    /// A cache of 512 entries.
    public init() { self.init(entries: 512) }

    /// A cache of `entries` entries (a power of two).
    public init(entries: Int) {
        precondition(entries > 0 && entries & (entries - 1) == 0, "StringCache needs a power of two entries")
        storage = Storage(count: entries)
    }

    /// Number of entries - 1 (a power of two less one; read from the storage, so the cache stays
    /// one reference wide as the correlators that embed it expect).
    @inlinable public var mask: Int { storage.count - 1 }

    /// The span's text (see the contract); nil for an absent span.
    @inlinable
    public mutating func optionalString(_ s: Span, in b: LineBytes) -> String? {
        s.isAbsent ? nil : string(s, in: b)
    }

    /// The span's text (see the contract); "" for an absent span.
    @inlinable
    public mutating func string(_ s: Span, in b: LineBytes) -> String {
        guard s.isPresent else { return "" }
        let n = s.count
        // Up to 15 ASCII bytes make a small String in place: cheaper than any lookup.
        if n <= 15, let v = SmallASCII.make(b.base + Int(s.lo), n) { return v }
        guard n <= 32, n > 0 else { return String(decoding: b.buffer(s), as: UTF8.self) }
        return Self.short(&storage, mask: mask, b.base + Int(s.lo), n)
    }

    /// The String of the `n` bytes at `p` (1 ≤ `n` ≤ 32) from the entry of `storage` that the
    /// bytes choose among `mask + 1`, made and stored there on a miss.
    @inlinable @inline(__always)
    static func short(_ storage: inout Storage, mask: Int, _ p: UnsafePointer<UInt8>, _ n: Int) -> String {
        // The key: the bytes as (overlapping) words read in place, a function of the bytes that
        // tells any two values of the same length apart (every byte is in some word), without a
        // memcpy call; reads stay inside the span.
        let raw = UnsafeRawPointer(p)
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        if n >= 8 {
            words.0 = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
            words.1 = raw.loadUnaligned(fromByteOffset: Swift.min(8, n - 8), as: UInt64.self)
            words.2 = raw.loadUnaligned(fromByteOffset: Swift.min(16, n - 8), as: UInt64.self)
            words.3 = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)   // n <= 32
        } else if n >= 4 {
            words.0 = UInt64(raw.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
                | UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32
        } else {
            words.0 = UInt64(p[0]) | UInt64(p[n >> 1]) << 8 | UInt64(p[n - 1]) << 16
        }
        var h = (words.0 ^ UInt64(n)) &* 0x9E37_79B9_7F4A_7C15
        h ^= (words.1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (words.2 &* 0x1656_67B1_9E37_79F9) ^ (words.3 &* 0x27D4_EB2F_1656_67C5)
        let i = Int(truncatingIfNeeded: h ^ (h >> 31)) & mask
        // A hit only reads; only a write needs the buffer to itself (see the contract).
        var e = storage.entries + i
        if e.pointee.length == n && e.pointee.w0 == words.0 && e.pointee.w1 == words.1 && e.pointee.w2 == words.2
            && e.pointee.w3 == words.3 {
            return e.pointee.value
        }
        let v = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(count: mask + 1); e = storage.entries + i }
        e.pointee.length = n
        e.pointee.w0 = words.0; e.pointee.w1 = words.1; e.pointee.w2 = words.2; e.pointee.w3 = words.3
        e.pointee.value = v
        return v
    }
}
