// Interner: maps byte strings to shared values so repeated hosts and tags do
// not allocate a new String per line.
//
// Contract: `value(for:make:)` returns the cached value for equal bytes, or
// builds it once with `make`, together with a stable small index of the
// entry (0, 1, 2, ... in order of first sight; -1 when not cached). A
// one-entry "last hit" check comes first (a log has few distinct hosts and
// tags). The table is bounded: beyond `capacity` distinct keys new values are
// built but not cached, so garbage input cannot grow memory without limit.
// Known limits: FNV-1a 64 hashing; a hash collision between two different
// keys is detected (bytes compared) and the newcomer is simply not cached.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A bounded cache from byte strings to values built from them.
struct Interner<Value> {
    private var keys: [[UInt8]] = []
    private var hashes: [UInt64] = []
    private var values: [Value] = []
    /// Open-addressing table of entry index + 1 (0 = empty), size a power of two > 2 * capacity.
    private var slots: [Int32]
    private let mask: Int
    private var lastIndex = -1
    let capacity: Int

    init(capacity: Int = 4096) {
        self.capacity = capacity
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
    }

    @inline(__always)
    private func keyEquals(_ i: Int, _ b: UnsafeBufferPointer<UInt8>) -> Bool {
        keys[i].withUnsafeBufferPointer { a in
            a.count == b.count && (a.count == 0 || memcmp(a.baseAddress!, b.baseAddress!, a.count) == 0)
        }
    }

    /// The value stored at an index returned by `index(for:make:)`.
    @inline(__always)
    func value(at i: Int) -> Value { values[i] }

    /// The entry index for `bytes`, building its value with `make` on first sight; -1 when the table is full.
    @inline(__always)
    mutating func index(for bytes: UnsafeBufferPointer<UInt8>, make: (UnsafeBufferPointer<UInt8>) -> Value) -> Int {
        if lastIndex >= 0, keyEquals(lastIndex, bytes) { return lastIndex }
        return lookup(bytes, make).1
    }

    /// The value for `bytes` (built by `make` on first sight) and its entry index (-1 if not cached).
    @inline(__always)
    mutating func value(for bytes: UnsafeBufferPointer<UInt8>,
                        make: (UnsafeBufferPointer<UInt8>) -> Value) -> (Value, Int) {
        if lastIndex >= 0, keyEquals(lastIndex, bytes) { return (values[lastIndex], lastIndex) }
        return lookup(bytes, make)
    }

    private mutating func lookup(_ bytes: UnsafeBufferPointer<UInt8>,
                                 _ make: (UnsafeBufferPointer<UInt8>) -> Value) -> (Value, Int) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        var slot = Int(truncatingIfNeeded: h ^ (h >> 29)) & mask
        while true {
            let e = Int(slots[slot])
            if e == 0 { break }
            if hashes[e - 1] == h && keyEquals(e - 1, bytes) {
                lastIndex = e - 1
                return (values[e - 1], e - 1)
            }
            slot = (slot + 1) & mask
        }
        let v = make(bytes)
        guard keys.count < capacity else { return (v, -1) }
        let i = keys.count
        keys.append(Array(bytes)); hashes.append(h); values.append(v)
        slots[slot] = Int32(i + 1)
        lastIndex = i
        return (v, i)
    }
}

extension Interner: Sendable where Value: Sendable {}
