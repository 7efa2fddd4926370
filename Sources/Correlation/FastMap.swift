/// FastMap: the correlators' hash table — open addressing over dense arrays,
/// keyed by values with a cheap precomputed hash (`FastKey`).
///
/// Contract: a dictionary (one value per key) whose lookups hash the key once
/// with `fastHash` (a few multiplications, no `Hasher`) and compare candidate
/// keys only when their stored hashes (32 bits, kept in the slot) match. Values live in a dense array:
/// `withValue` changes one in place (no copy); removal moves the last entry
/// into the hole. Iteration (`keys`/`values`, index order) is deterministic:
/// insertion order, disturbed only by removals. Codable exactly as Swift's
/// `Dictionary` with non-String keys encodes itself (an unkeyed container of
/// key, value, key, value, ...), so saved states keep their layout.
/// `filter` drops entries in one pass and re-places the kept ones in the slot table once.
/// Known limits: linear probing at load factor <= 1/2; the slot table never
/// shrinks (it follows the largest number of open entries).

import MailTrailModel

struct FastMap<Key: FastKey, Value> {
    private(set) var keys: [Key] = []
    private(set) var values: [Value] = []
    /// Per slot: dense index + 1 (0 = empty) in the low 32 bits, the key's hash (low 32 bits) in
    /// the high ones, so a probe compares hashes without reading a dense array, and an entry's
    /// home slot is known without its key (the table is at most 2^31 slots).
    private var slots: [UInt64]
    private var mask: Int

    init() {
        slots = [UInt64](repeating: 0, count: 16)
        mask = 15
    }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    @inline(__always)
    private static func slotValue(index i: Int, hash h: Int) -> UInt64 {
        UInt64(truncatingIfNeeded: i + 1) & 0xFFFF_FFFF | UInt64(truncatingIfNeeded: h) << 32
    }

    /// Dense index of `key`, or nil.
    @inline(__always)
    func index(of key: Key) -> Int? {
        let h = key.fastHash
        let tag = UInt32(truncatingIfNeeded: h)
        var s = h & mask
        return slots.withUnsafeBufferPointer { sl in
            while true {
                let v = sl[s]
                let e = Int(truncatingIfNeeded: v & 0xFFFF_FFFF)
                if e == 0 { return nil }
                if UInt32(truncatingIfNeeded: v >> 32) == tag && keys[e - 1] == key { return e - 1 }
                s = (s + 1) & mask
            }
        }
    }

    subscript(key: Key) -> Value? {
        get { index(of: key).map { values[$0] } }
        set {
            // Consumed, not bound: `if let` copied the value (a retain per reference it holds).
            switch consume newValue {
            case .some(let v):
                if let i = index(of: key) { values[i] = v } else { append(key, v, hash: key.fastHash) }
            case .none:
                if let i = index(of: key) { remove(at: i) }
            }
        }
    }

    /// Changes the value of `key` in place, creating it with `make` first when missing;
    /// `created` tells whether it had to be created.
    @inline(__always)
    mutating func withValue<R>(_ key: Key, make: () -> Value, _ body: (inout Value, _ created: Bool) -> R) -> R {
        if let i = index(of: key) { return body(&values[i], false) }
        append(key, make(), hash: key.fastHash)
        return body(&values[values.count - 1], true)
    }

    /// The dense index of `key`, appended with the value `make` gives when missing;
    /// `created` tells whether it had to be.
    @inline(__always)
    mutating func index(of key: Key, orMake make: () -> Value) -> (index: Int, created: Bool) {
        if let i = index(of: key) { return (i, false) }
        append(key, make(), hash: key.fastHash)
        return (values.count - 1, true)
    }

    /// Changes the value at a dense index in place.
    @inline(__always)
    mutating func withValue<R>(at i: Int, _ body: (inout Value) -> R) -> R { body(&values[i]) }

    @inline(__always)
    func value(at i: Int) -> Value { values[i] }

    private mutating func append(_ key: consuming Key, _ value: consuming Value, hash h: Int) {
        if (keys.count + 1) * 2 > slots.count { grow() }
        var s = h & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        keys.append(key); values.append(value)
        slots[s] = FastMap.slotValue(index: keys.count - 1, hash: h)
    }

    private mutating func grow() {
        let old = slots
        let size = slots.count * 2
        slots = [UInt64](repeating: 0, count: size)
        mask = size - 1
        // Dense order, as before (the probe chains then match a table built by appends).
        var byIndex = [UInt64](repeating: 0, count: keys.count)
        for v in old where v != 0 { byIndex[Int(truncatingIfNeeded: v & 0xFFFF_FFFF) - 1] = v }
        for v in byIndex {
            var s = Int(truncatingIfNeeded: v >> 32) & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = v
        }
    }

    /// The slot holding dense index `i`, found from its key's hash.
    private func slot(ofIndex i: Int) -> Int {
        var s = keys[i].fastHash & mask
        while Int(truncatingIfNeeded: slots[s] & 0xFFFF_FFFF) != i + 1 { s = (s + 1) & mask }
        return s
    }

    /// Removes the entry at dense index `i` (the last entry takes its place).
    mutating func remove(at i: Int) {
        // Backward-shift deletion keeps every probe chain unbroken without tombstones.
        var hole = slot(ofIndex: i)
        var j = hole
        while true {
            j = (j + 1) & mask
            let v = slots[j]
            if v == 0 { break }
            let home = Int(truncatingIfNeeded: v >> 32) & mask
            // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if stays { continue }
            slots[hole] = v
            hole = j
        }
        slots[hole] = 0
        let last = keys.count - 1
        if i != last {
            let ls = slot(ofIndex: last)
            slots[ls] = slots[ls] & 0xFFFF_FFFF_0000_0000 | UInt64(i + 1)
            // Moves, not swaps: no copies of the (large) values.
            keys[i] = keys.removeLast(); values[i] = values.removeLast()
        } else {
            keys.removeLast(); values.removeLast()
        }
    }

    /// Keeps only the entries for which `keep` is true, in the dense order `remove(at:)` per
    /// dropped entry would leave (the last entry takes a dropped one's place and is tested there).
    mutating func filter(_ keep: (Value) -> Bool) {
        // One pass over the dense arrays (dropped entries swapped to the end, moved, not copied),
        // then one rebuild of the slots: a removal's backward shift and two slot searches per
        // dropped entry cost more than re-placing the kept ones once.
        var n = values.count
        var i = 0
        while i < n {
            if keep(values[i]) { i += 1; continue }
            n -= 1
            if i != n {
                keys.withUnsafeMutableBufferPointer { $0.swapAt(i, n) }
                values.withUnsafeMutableBufferPointer { $0.swapAt(i, n) }
            }
        }
        let dropped = values.count - n
        guard dropped > 0 else { return }
        keys.removeLast(dropped)
        values.removeLast(dropped)
        rebuildSlots()
    }

    /// Places every dense entry again in an emptied slot table of the same size, in dense order.
    private mutating func rebuildSlots() {
        let m = mask
        slots.withUnsafeMutableBufferPointer { sl in
            sl.update(repeating: 0)
            for i in keys.indices {
                let h = keys[i].fastHash
                var s = h & m
                while sl[s] != 0 { s = (s + 1) & m }
                sl[s] = FastMap.slotValue(index: i, hash: h)
            }
        }
    }
}

/// A key with a cheap, well-mixed hash.
protocol FastKey: Equatable {
    var fastHash: Int { get }
}

extension FastMap: Sendable where Key: Sendable, Value: Sendable {}

extension FastMap: Codable where Key: Codable, Value: Codable {
    init(from decoder: Decoder) throws {
        self.init()
        var c = try decoder.unkeyedContainer()
        while !c.isAtEnd {
            let k = try c.decode(Key.self)
            guard !c.isAtEnd else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "key without a value")
            }
            self[k] = try c.decode(Value.self)
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        for i in keys.indices {
            try c.encode(keys[i])
            try c.encode(values[i])
        }
    }
}

/// A String key with its hash computed once from the UTF-8 bytes (word at a time, no `Hasher`).
struct StrKey: FastKey, Sendable {
    let text: String
    let fastHash: Int

    init(_ text: String) {
        self.text = text
        var copy = text
        fastHash = Int(truncatingIfNeeded: copy.withUTF8 { LineBytes.hash($0) })
    }

    static func == (a: StrKey, b: StrKey) -> Bool { a.fastHash == b.fastHash && a.text == b.text }
}

/// A FastMap keyed by Strings, saved exactly as a `[String: Value]` dictionary (a JSON object).
struct StringMap<Value>: Sequence {
    var table = FastMap<StrKey, Value>()

    init() {}

    var count: Int { table.count }
    var isEmpty: Bool { table.isEmpty }

    subscript(key: String) -> Value? {
        get { table[StrKey(key)] }
        set { table[StrKey(key)] = newValue }
    }

    func makeIterator() -> AnyIterator<(key: String, value: Value)> {
        var i = 0
        let t = table
        return AnyIterator {
            guard i < t.count else { return nil }
            defer { i += 1 }
            return (t.keys[i].text, t.values[i])
        }
    }
}

extension StringMap: Sendable where Value: Sendable {}

extension StringMap: Codable where Value: Codable {
    init(from decoder: Decoder) throws {
        self.init()
        for (k, v) in try [String: Value](from: decoder) { table[StrKey(k)] = v }
    }

    func encode(to encoder: Encoder) throws {
        var d: [String: Value] = [:]
        for i in table.keys.indices { d[table.keys[i].text] = table.values[i] }
        try d.encode(to: encoder)
    }
}
