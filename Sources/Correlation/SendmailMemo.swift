/// SendmailMemo: stored values of recently seen byte strings — the `TLSInfo` of a
/// `STARTTLS=` line by the bytes that decide it (`SendmailLine.Fields.tlsKey`) — so a
/// repeated value costs a hash and a compare instead of its `StringCache` lookups, a trust
/// word and a new struct.
///
/// Contract: `value(for:in:make:)` returns `make()`'s value for those bytes (the caller's
/// `make` must be a function of them alone): from the memo when the same bytes were seen
/// lately (compared in full), else made and kept. `slots` entries of keys up to `maxKey` bytes
/// (longer keys are made every time): memory is bounded whatever the input. Two-way: a key may
/// sit in either entry of its set (picked by a hash of its length and four of its words; a miss
/// replaces the two in turn), so two frequent keys of one set do not evict each other.
/// As `StringCache`: the entries live in one buffer owned by a class, a copy that finds the
/// buffer shared starts an empty one before writing, and nothing of it is saved with the
/// correlator's state.
/// Known limits: an absent key (String API, unusual field order) always calls `make`.
/// `SendmailIDMemo` (below) keeps values by a number that stands for the bytes instead (the
/// parser's `tlsTailID`).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailTrailModel

struct SendmailMemo<Value>: @unchecked Sendable {
    struct Entry {
        var length = -1
        var hash: UInt64 = 0
        var value: Value?
    }

    final class Storage {
        let slots: Int
        let maxKey: Int
        let entries: UnsafeMutablePointer<Entry>
        let keys: UnsafeMutablePointer<UInt8>
        /// Per set of two entries: the one a miss replaces next.
        let next: UnsafeMutablePointer<UInt8>
        init(slots: Int, maxKey: Int) {
            self.slots = slots
            self.maxKey = maxKey
            entries = .allocate(capacity: slots)
            entries.initialize(repeating: Entry(), count: slots)
            keys = .allocate(capacity: slots * maxKey)
            next = .allocate(capacity: slots / 2)
            next.initialize(repeating: 0, count: slots / 2)
        }
        deinit {
            entries.deinitialize(count: slots)
            entries.deallocate()
            keys.deallocate()
            next.deallocate()
        }
    }

    var storage: Storage
    /// log2 of the number of entries.
    let bits: Int

    /// A memo of `1 << bits` entries (`bits` >= 1), keys up to `maxKey` bytes.
    init(bits: Int, maxKey: Int) {
        precondition(bits >= 1, "SendmailMemo needs at least one set of two entries")
        self.bits = bits
        storage = Storage(slots: 1 << bits, maxKey: maxKey)
    }

    /// A hash of a key for its set: the length and, for keys of 8 bytes or more, four words (at
    /// offsets 0 and 16, the middle one and the last one: where STARTTLS keys differ — version,
    /// verify's value, cipher, bits) instead of every word (`LineBytes.hash`); keys are compared in
    /// full, so a collision costs only a miss, and two keys of one set both stay.
    @inline(__always)
    static func hash(_ b: UnsafeBufferPointer<UInt8>) -> UInt64 {
        let n = b.count
        var h = 0x9E37_79B9_7F4A_7C15 &* UInt64(truncatingIfNeeded: n &+ 1)
        guard n > 0, let p = b.baseAddress else { return h }
        let raw = UnsafeRawPointer(p)
        if n >= 8 {
            @inline(__always) func word(_ i: Int) -> UInt64 { raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) }
            let second = word(n >= 24 ? 16 : n - 8)
            let middle = word((n - 8) / 2)
            h ^= word(0) &* 0xC2B2_AE3D_27D4_EB4F
            h ^= (second ^ (middle >> 7 | middle << 57)) &* 0x1656_67B1_9E37_79F9
            h ^= word(n - 8) &* 0x2545_F491_4F6C_DD1D
        } else {
            var w: UInt64 = 0
            for k in 0..<n { w |= UInt64(p[k]) << (UInt64(k) &* 8) }
            h ^= w &* 0xC2B2_AE3D_27D4_EB4F
        }
        h ^= h >> 29
        return h &* 0x2545_F491_4F6C_DD1D
    }

    /// Whether entry `i` holds the key `bytes` (hash `h`).
    @inline(__always)
    func holds(_ i: Int, _ bytes: UnsafeBufferPointer<UInt8>, _ h: UInt64) -> Bool {
        let e = storage.entries + i
        let n = bytes.count
        return e.pointee.length == n && e.pointee.hash == h
            && (n == 0 || memcmp(storage.keys + i * storage.maxKey, bytes.baseAddress!, n) == 0)
    }

    /// The value for the bytes of `key` (see the contract); `make` builds it when not kept.
    @inline(__always)
    mutating func value(for key: Span, in b: LineBytes, make: () -> Value) -> Value {
        guard key.isPresent, key.count <= storage.maxKey else { return make() }
        let bytes = b.buffer(key)
        let n = bytes.count
        let h = SendmailMemo.hash(bytes)
        // Sets of two entries: the top `bits - 1` bits of the hash pick one.
        let set = Int(truncatingIfNeeded: h >> UInt64(65 - bits))
        let first = set &* 2
        if holds(first, bytes, h), let v = storage.entries[first].value { return v }
        if holds(first + 1, bytes, h), let v = storage.entries[first + 1].value { return v }
        let v = make()
        if !isKnownUniquelyReferenced(&storage) {
            storage = Storage(slots: storage.slots, maxKey: storage.maxKey)
        }
        // The two entries of a set are replaced in turn.
        let i = first + Int(storage.next[set])
        storage.next[set] ^= 1
        let e = storage.entries + i
        if n > 0 { (storage.keys + i * storage.maxKey).update(from: bytes.baseAddress!, count: n) }
        e.pointee.length = n
        e.pointee.hash = h
        e.pointee.value = v
        return v
    }
}

/// Values by a number that stands for one byte string (`SendmailLine.Fields.tlsTailID`: equal
/// numbers mean equal bytes, a number is never given to other bytes), direct-mapped by the number's
/// low bits: a hit is one compare, where `SendmailMemo` hashes and compares the bytes.
///
/// Contract: `value(forID:make:)` returns `make()`'s value for that number (the caller's `make`
/// must be a function of the bytes the number stands for): from the memo when the number was seen
/// lately, else made and kept. `1 << bits` entries; 0 is never a key (`make` every time). As
/// `SendmailMemo`, the entries live in a buffer owned by a class, a copy that finds the buffer
/// shared starts an empty one before writing, and nothing of it is saved.
/// Known limits: numbers with the same low bits evict each other.
struct SendmailIDMemo<Value>: @unchecked Sendable {
    final class Storage {
        let count: Int
        let ids: UnsafeMutablePointer<UInt64>
        let values: UnsafeMutablePointer<Value?>
        init(count: Int) {
            self.count = count
            ids = .allocate(capacity: count)
            ids.initialize(repeating: 0, count: count)
            values = .allocate(capacity: count)
            values.initialize(repeating: nil, count: count)
        }
        deinit {
            ids.deallocate()
            values.deinitialize(count: count)
            values.deallocate()
        }
    }

    var storage: Storage
    let mask: Int

    /// A memo of `1 << bits` entries.
    init(bits: Int) {
        storage = Storage(count: 1 << bits)
        mask = (1 << bits) - 1
    }

    /// The value for the bytes number `id` stands for (see the contract); `make` builds it when not kept.
    @inline(__always)
    mutating func value(forID id: UInt64, make: () -> Value) -> Value {
        let i = Int(truncatingIfNeeded: id) & mask
        if id != 0, storage.ids[i] == id, let v = storage.values[i] { return v }
        let v = make()
        guard id != 0 else { return v }
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(count: mask + 1) }
        storage.ids[i] = id
        storage.values[i] = v
        return v
    }
}
