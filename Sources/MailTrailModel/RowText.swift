/// RowText: the text of one batch of rows, as bytes back to back in one buffer, and
/// `TextRef`, a field's place in it.
///
/// Contract: `add` copies bytes in and returns where they are; `bytes(_:)` gives them back
/// until `reset()`. A value type with copy-on-write: a copy (a batch handed to the loader)
/// keeps its bytes when the original is reset or appended to. Bytes are stored as they came
/// (from the log line, unvalidated); readers apply the rule a String made from them would
/// (`string(_:)`: invalid UTF-8 becomes U+FFFD, as `String(decoding:as:)` and
/// `LineBytes.string` do), and `isValidUTF8` tells an encoder when the bytes are that String's.
/// Why: a row field made as a String costs a cache lookup (a cold table entry and a retain of a
/// cold String) or an allocation, and a release when the batch is emptied; copying the same
/// bytes from the line just read touches nothing cold (docs/performance-history.md, round 12).
/// Limits: one buffer holds at most 4 GiB (`UInt32` offsets; a batch is 50,000 lines).
public struct RowText: @unchecked Sendable {
    /// Owns the buffer; replaced (not changed) when the buffer grows or is shared.
    @usableFromInline typealias Storage = ByteStorage

    @usableFromInline var storage: Storage
    /// `storage.base` and `.capacity`, held here: reading them through the class costs a load each.
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    /// Bytes in use.
    @inlinable public var count: Int { _count }
    @usableFromInline var _count: Int = 0

    public init(capacity: Int = 256) {
        storage = Storage(capacity: max(capacity, 16))
        base = storage.base
        self.capacity = storage.capacity
    }

    /// Forgets the bytes (keeping the buffer when no copy shares it).
    public mutating func reset() {
        if !isKnownUniquelyReferenced(&storage) { replace(minimumCapacity: capacity, keeping: 0) }
        _count = 0
    }

    @usableFromInline @inline(never)
    mutating func replace(minimumCapacity: Int, keeping: Int) {
        storage = ByteStorage(replacing: base, capacity: max(capacity, 16), minimum: minimumCapacity, keeping: keeping)
        base = storage.base; capacity = storage.capacity
    }

    /// Makes the buffer this value's alone (a copy made since keeps its bytes): call it before
    /// `put`s, once per row rather than per field (the check is a runtime call).
    @inlinable @inline(__always)
    public mutating func claim() {
        if _slowPath(!isKnownUniquelyReferenced(&storage)) { replace(minimumCapacity: capacity, keeping: _count) }
    }

    /// Copies `n` bytes from `p` in; returns their place.
    @inlinable @inline(__always)
    public mutating func add(_ p: UnsafePointer<UInt8>, _ n: Int) -> TextRef {
        claim()
        return put(p, n)
    }

    /// `add` without `claim()`: the caller claimed the buffer, and made no copy of this value since.
    @inlinable @inline(__always)
    public mutating func put(_ p: UnsafePointer<UInt8>, _ n: Int) -> TextRef {
        if _slowPath(_count &+ n > capacity) {
            precondition(_count &+ n < Int(UInt32.max), "RowText: a batch's text exceeds 4 GiB")
            replace(minimumCapacity: (_count + n) * 2, keeping: _count)
        }
        let o = _count
        RowText.copy(base + o, p, n)
        _count = o &+ n
        return TextRef(offset: UInt32(truncatingIfNeeded: o), count: UInt32(truncatingIfNeeded: n))
    }

    /// Copies `n` bytes from `src` to `dst`. Fields are mostly under 64 bytes: whole unaligned
    /// words inline (the last one overlapping), where a `memcpy` call costs more than the copy.
    @inlinable @inline(__always)
    public static func copy(_ to: UnsafeMutablePointer<UInt8>, _ from: UnsafePointer<UInt8>, _ n: Int) {
        let dst = UnsafeMutableRawPointer(to), src = UnsafeRawPointer(from)
        if n >= 8 && n <= 64 {
            var i = 0
            while i &+ 8 < n {
                dst.storeBytes(of: src.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
                i &+= 8
            }
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self), toByteOffset: n &- 8, as: UInt64.self)
        } else if n >= 4 && n < 8 {
            dst.storeBytes(of: src.loadUnaligned(as: UInt32.self), as: UInt32.self)
            dst.storeBytes(of: src.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self), toByteOffset: n &- 4, as: UInt32.self)
        } else if n > 64 {
            // `memcpy` (`update(from:count:)` is an element loop).
            UnsafeMutableRawPointer(to).copyMemory(from: from, byteCount: n)
        } else {
            var i = 0
            while i < n { to[i] = from[i]; i &+= 1 }
        }
    }

    /// `put` of a span of a line (absent: `.none`).
    @inlinable @inline(__always)
    public mutating func put(_ b: LineBytes, _ s: Span) -> TextRef {
        s.isPresent ? put(b.base + Int(s.lo), max(0, s.count)) : .none
    }

    /// `put` of a span of a line; an absent span is the empty text (`SharedStringCache.string`'s "").
    @inlinable @inline(__always)
    public mutating func putOrEmpty(_ b: LineBytes, _ s: Span) -> TextRef {
        s.isPresent ? put(b.base + Int(s.lo), max(0, s.count)) : TextRef(offset: 0, count: 0)
    }

    /// Copies a buffer in.
    @inlinable @inline(__always)
    public mutating func add(_ b: UnsafeBufferPointer<UInt8>) -> TextRef {
        guard let p = b.baseAddress else { return TextRef(offset: UInt32(truncatingIfNeeded: count), count: 0) }
        return add(p, b.count)
    }

    /// Copies a span of a line in (absent: `.none`).
    @inlinable @inline(__always)
    public mutating func add(_ b: LineBytes, _ s: Span) -> TextRef {
        claim()
        return put(b, s)
    }

    /// Copies a String's UTF-8 in (nil: `.none`).
    @inlinable
    public mutating func add(_ s: String?) -> TextRef {
        guard let s else { return .none }
        claim()
        return putString(s)
    }

    /// `put` of a String's UTF-8 (nil: `.none`).
    @inlinable @inline(__always)
    public mutating func put(_ s: String?) -> TextRef {
        guard let s else { return .none }
        return putString(s)
    }

    /// `put` of bytes held in an array.
    @inlinable @inline(__always)
    public mutating func put(_ a: [UInt8]) -> TextRef {
        a.withUnsafeBufferPointer { u in
            u.baseAddress.map { put($0, u.count) } ?? TextRef(offset: UInt32(truncatingIfNeeded: _count), count: 0)
        }
    }

    @usableFromInline @inline(never)
    mutating func putString(_ s: String) -> TextRef {
        var s = s
        return s.withUTF8 { u in u.baseAddress.map { put($0, u.count) } ?? TextRef(offset: UInt32(truncatingIfNeeded: _count), count: 0) }
    }

    /// The bytes of a present `ref` (empty for `.none`); valid until the text changes.
    @inlinable
    public func bytes(_ ref: TextRef) -> UnsafeBufferPointer<UInt8> {
        guard ref.isPresent else { return UnsafeBufferPointer(start: nil, count: 0) }
        return UnsafeBufferPointer(start: base + Int(ref.offset), count: Int(ref.count))
    }

    /// The text of `ref` as a String (invalid UTF-8 becomes U+FFFD); nil for `.none`.
    public func string(_ ref: TextRef) -> String? {
        guard ref.isPresent else { return nil }
        return withExtendedLifetime(storage) { String(decoding: bytes(ref), as: UTF8.self) }
    }

    /// Appends all of `other`'s bytes; returns the shift to add to its refs.
    public mutating func append(_ other: RowText) -> Int {
        let shift = count
        if other.count > 0 {
            withExtendedLifetime(other.storage) { _ = add(other.base, other.count) }
        }
        return shift
    }

    /// Whether every byte of `b` is ASCII (a word at a time).
    @inlinable
    public static func isASCII(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let p = b.baseAddress else { return true }
        let n = b.count
        var i = 0
        let raw = UnsafeRawPointer(p)
        while i &+ 8 <= n {
            if raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 != 0 { return false }
            i &+= 8
        }
        while i < n {
            if p[i] >= 0x80 { return false }
            i &+= 1
        }
        return true
    }

    /// Whether `b` is valid UTF-8 (then a String made of it has exactly these bytes).
    @inlinable
    public static func isValidUTF8(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        isASCII(b) || validSlow(b)
    }

    @usableFromInline @inline(never)
    static func validSlow(_ b: UnsafeBufferPointer<UInt8>) -> Bool {
        LineBytes.equal(b, String(decoding: b, as: UTF8.self))
    }
}

/// A field's place in a `RowText`: `count` bytes from `offset`; `count == UInt32.max`: no value (nil).
public struct TextRef: Hashable, Sendable {
    public var offset: UInt32
    public var count: UInt32
    @inlinable public init(offset: UInt32, count: UInt32) { self.offset = offset; self.count = count }
    /// No value. Computed, not a stored `static let` (see `Span.absent`).
    @inlinable public static var none: TextRef { TextRef(offset: 0, count: .max) }
    @inlinable public var isPresent: Bool { count != .max }
    /// The same place in a buffer whose first `by` bytes were put in front.
    @inlinable public func shifted(_ by: Int) -> TextRef {
        isPresent ? TextRef(offset: offset &+ UInt32(truncatingIfNeeded: by), count: count) : self
    }
}

/// A byte buffer's memory, owned by a copy-on-write value (`RowText`, the loader's `CopyBinary`):
/// allocated with its capacity, freed with the last reference; a value replaces it (never
/// changes it) when it must grow or is shared.
public final class ByteStorage {
    public let base: UnsafeMutablePointer<UInt8>
    public let capacity: Int
    public init(capacity: Int) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    /// The memory that replaces `old` (`capacity` bytes) when it must grow or is shared: the
    /// capacity doubled until it holds `minimum` bytes, the first `keeping` bytes copied.
    public convenience init(replacing old: UnsafePointer<UInt8>, capacity: Int, minimum: Int, keeping: Int) {
        var c = max(capacity, 1)
        while c < minimum { c *= 2 }
        self.init(capacity: c)
        if keeping > 0 { base.update(from: old, count: keeping) }
    }

    deinit { base.deallocate() }
}
