/// SendmailMemo: stored values of recently seen byte strings — the `TLSInfo` of a
/// `STARTTLS=` line by the bytes that decide it (`SendmailLine.Fields.tlsKey`) — so a
/// repeated value costs a hash and a compare instead of its `StringCache` lookups, a trust
/// word and a new struct.
///
/// Contract: `value(for:in:make:)` returns `make()`'s value for those bytes (the caller's
/// `make` must be a function of them alone): from the memo when the same bytes were seen
/// lately (compared in full), else made and kept. Direct-mapped, `slots` entries of keys up
/// to `maxKey` bytes (longer keys are made every time): memory is bounded whatever the input.
/// As `StringCache`: the entries live in one buffer owned by a class, a copy that finds the
/// buffer shared starts an empty one before writing, and nothing of it is saved with the
/// correlator's state.
/// Known limits: an absent key (String API, unusual field order) always calls `make`.

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
        init(slots: Int, maxKey: Int) {
            self.slots = slots
            self.maxKey = maxKey
            entries = .allocate(capacity: slots)
            entries.initialize(repeating: Entry(), count: slots)
            keys = .allocate(capacity: slots * maxKey)
        }
        deinit {
            entries.deinitialize(count: slots)
            entries.deallocate()
            keys.deallocate()
        }
    }

    var storage: Storage
    /// log2 of the number of entries.
    let bits: Int

    /// A memo of `1 << bits` entries, keys up to `maxKey` bytes.
    init(bits: Int, maxKey: Int) {
        self.bits = bits
        storage = Storage(slots: 1 << bits, maxKey: maxKey)
    }

    /// The value for the bytes of `key` (see the contract); `make` builds it when not kept.
    @inline(__always)
    mutating func value(for key: Span, in b: LineBytes, make: () -> Value) -> Value {
        guard key.isPresent, key.count <= storage.maxKey else { return make() }
        let bytes = b.buffer(key)
        let n = bytes.count
        let h = LineBytes.hash(bytes)
        let i = Int(truncatingIfNeeded: h >> UInt64(64 - bits))
        var e = storage.entries + i
        var k = storage.keys + i * storage.maxKey
        if e.pointee.length == n && e.pointee.hash == h && (n == 0 || memcmp(k, bytes.baseAddress!, n) == 0),
           let v = e.pointee.value {
            return v
        }
        let v = make()
        if !isKnownUniquelyReferenced(&storage) {
            storage = Storage(slots: storage.slots, maxKey: storage.maxKey)
            e = storage.entries + i
            k = storage.keys + i * storage.maxKey
        }
        if n > 0 { k.update(from: bytes.baseAddress!, count: n) }
        e.pointee.length = n
        e.pointee.hash = h
        e.pointee.value = v
        return v
    }
}
