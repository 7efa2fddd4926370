// Interner: maps byte strings to shared values so repeated hosts and tags do
// not allocate a new String per line.
//
// Contract: `index(for:make:)` returns a stable small index of the entry for
// equal bytes (0, 1, 2, ... in order of first sight), building its value once
// with `make`; -1 when the table is full (the value is then not cached:
// callers build it themselves). `value(at:)` reads an entry. The table is
// bounded: beyond `capacity` distinct keys nothing new is cached, so garbage
// input cannot grow memory without limit.
// Keys are stored back to back in one byte array; the hash reads eight bytes
// at a time (`LineBytes.hash`: a multiply-xor per word), and candidate keys are compared only
// when their full 64-bit hashes match, so a hit costs a few dozen
// instructions and no allocation.
// Known limits: keys longer than 256 bytes are never cached (real hosts and
// tags are far shorter; this bounds the table at about 1 MiB).

import MailTrailModel

/// A bounded cache from byte strings to values built from them.
struct Interner<Value> {
    private var keyBytes: [UInt8] = []
    private var keyStart: [Int32] = []
    private var keyLength: [Int32] = []
    private var hashes: [UInt64] = []
    private var values: [Value] = []
    /// Open-addressing table of entry index + 1 (0 = empty), size a power of two > 2 * capacity.
    private var slots: [Int32]
    private let mask: Int
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    /// The value stored at an index returned by `index(for:make:)`.
    @inline(__always)
    func value(at i: Int) -> Value { values[i] }

    /// The 64-bit byte hash the correlator's caches use too (`LineBytes.hash`).
    @inline(__always)
    static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 { LineBytes.hash(b) }

    @inline(__always)
    private func keyEquals(_ e: Int, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = Int(keyLength[e])
        guard n == b.count else { return false }
        if n == 0 { return true }
        let start = Int(keyStart[e])
        return keyBytes.withUnsafeBufferPointer { k in
            let a = UnsafeRawPointer(k.baseAddress! + start), c = UnsafeRawPointer(b.baseAddress!)
            var i = 0
            while i + 8 <= n {
                if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != c.loadUnaligned(fromByteOffset: i, as: UInt64.self) {
                    return false
                }
                i += 8
            }
            // The last partial word read as the eight bytes ending at `n` (they overlap ones compared).
            if i < n && n >= 8 {
                return a.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
                    == c.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            }
            while i < n {
                if a.load(fromByteOffset: i, as: UInt8.self) != c.load(fromByteOffset: i, as: UInt8.self) { return false }
                i += 1
            }
            return true
        }
    }

    /// The entry index for `bytes`, building its value with `make` on first sight; -1 when the table is full.
    @inline(__always)
    mutating func index(for bytes: UnsafeBufferPointer<UInt8>, make: (UnsafeBufferPointer<UInt8>) -> Value) -> Int {
        let h = Interner.hash(bytes)
        var slot = Int(truncatingIfNeeded: h >> 7) & mask
        while true {
            let e = Int(slots[slot])
            if e == 0 { break }
            if hashes[e - 1] == h && keyEquals(e - 1, bytes) { return e - 1 }
            slot = (slot + 1) & mask
        }
        return insert(bytes, h, slot, make)
    }

    /// The entry index for `bytes`, or -1 when they are not in the table.
    @inline(__always)
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        let h = Interner.hash(bytes)
        var slot = Int(truncatingIfNeeded: h >> 7) & mask
        while true {
            let e = Int(slots[slot])
            if e == 0 { return -1 }
            if hashes[e - 1] == h && keyEquals(e - 1, bytes) { return e - 1 }
            slot = (slot + 1) & mask
        }
    }

    /// Adds `bytes` with `value` unless present or the table is full; returns the entry index or -1.
    @discardableResult
    mutating func add(_ bytes: UnsafeBufferPointer<UInt8>, _ value: Value) -> Int {
        index(for: bytes) { _ in value }
    }

    private mutating func insert(_ bytes: UnsafeBufferPointer<UInt8>, _ h: UInt64, _ slot: Int,
                                 _ make: (UnsafeBufferPointer<UInt8>) -> Value) -> Int {
        guard values.count < capacity, bytes.count <= 256 else { return -1 }
        let i = values.count
        keyStart.append(Int32(keyBytes.count))
        keyLength.append(Int32(bytes.count))
        keyBytes.append(contentsOf: bytes)
        hashes.append(h)
        values.append(make(bytes))
        slots[slot] = Int32(i + 1)
        return i
    }
}

extension Interner: Sendable where Value: Sendable {}
