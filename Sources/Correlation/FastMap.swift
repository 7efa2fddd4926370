/// FastMap: the correlators' hash table — open addressing over dense arrays,
/// keyed by values with a cheap precomputed hash (`FastKey`).
///
/// Contract: a dictionary (one value per key) whose lookups hash the key once
/// with `fastHash` (a few multiplications, no `Hasher`) and compare candidate
/// keys only when their stored hashes match. Values live in a dense array:
/// `withValue` changes one in place (no copy); removal moves the last entry
/// into the hole. Iteration (`keys`/`values`, index order) is deterministic:
/// insertion order, disturbed only by removals. Codable exactly as Swift's
/// `Dictionary` with non-String keys encodes itself (an unkeyed container of
/// key, value, key, value, ...), so saved states keep their layout.
/// Known limits: linear probing at load factor <= 1/2; the slot table never
/// shrinks (it follows the largest number of open entries).

import MailTrailModel

struct FastMap<Key: FastKey, Value> {
    private(set) var keys: [Key] = []
    private(set) var values: [Value] = []
    private var hashes: [Int] = []
    /// Dense index + 1 per slot; 0 = empty.
    private var slots: [Int32]
    private var mask: Int

    init() {
        slots = [Int32](repeating: 0, count: 16)
        mask = 15
    }

    var count: Int { keys.count }
    var isEmpty: Bool { keys.isEmpty }

    /// Dense index of `key`, or nil.
    @inline(__always)
    func index(of key: Key) -> Int? {
        let h = key.fastHash
        var s = h & mask
        return slots.withUnsafeBufferPointer { sl in
            while true {
                let e = Int(sl[s])
                if e == 0 { return nil }
                if hashes[e - 1] == h && keys[e - 1] == key { return e - 1 }
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

    /// Changes the value at a dense index in place.
    @inline(__always)
    mutating func withValue<R>(at i: Int, _ body: (inout Value) -> R) -> R { body(&values[i]) }

    @inline(__always)
    func value(at i: Int) -> Value { values[i] }

    private mutating func append(_ key: consuming Key, _ value: consuming Value, hash h: Int) {
        if (keys.count + 1) * 2 > slots.count { grow() }
        var s = h & mask
        while slots[s] != 0 { s = (s + 1) & mask }
        keys.append(key); values.append(value); hashes.append(h)
        slots[s] = Int32(keys.count)
    }

    private mutating func grow() {
        let size = slots.count * 2
        slots = [Int32](repeating: 0, count: size)
        mask = size - 1
        for (i, h) in hashes.enumerated() {
            var s = h & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = Int32(i + 1)
        }
    }

    /// The slot holding dense index `i`.
    private func slot(ofIndex i: Int) -> Int {
        var s = hashes[i] & mask
        while Int(slots[s]) != i + 1 { s = (s + 1) & mask }
        return s
    }

    /// Removes the entry at dense index `i` (the last entry takes its place).
    mutating func remove(at i: Int) {
        // Backward-shift deletion keeps every probe chain unbroken without tombstones.
        var hole = slot(ofIndex: i)
        var j = hole
        while true {
            j = (j + 1) & mask
            let e = Int(slots[j])
            if e == 0 { break }
            let home = hashes[e - 1] & mask
            // The entry at j may move into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if stays { continue }
            slots[hole] = slots[j]
            hole = j
        }
        slots[hole] = 0
        let last = keys.count - 1
        if i != last {
            slots[slot(ofIndex: last)] = Int32(i + 1)
            // Moves, not swaps: no copies of the (large) values.
            keys[i] = keys.removeLast(); values[i] = values.removeLast(); hashes[i] = hashes.removeLast()
        } else {
            keys.removeLast(); values.removeLast(); hashes.removeLast()
        }
    }

    /// Keeps only the entries for which `keep` is true.
    mutating func filter(_ keep: (Value) -> Bool) {
        var i = 0
        while i < values.count {
            if keep(values[i]) { i += 1 } else { remove(at: i) }
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
