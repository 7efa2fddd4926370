/// MessageKey: the non-null 64-bit key every per-message fact row carries.
///
/// Contract: derived from the Message-ID when there is one, so that all hops of
/// one e-mail on all hosts get the same key (the future Citus distribution
/// column); otherwise from host, queue ID and the day it was received. The
/// hash is FNV-1a 64 over the UTF-8 bytes, read as a signed Int64; the SQL
/// function `mailtrail.message_key(text)` computes the same value.
public enum MessageKey {
    static let offsetBasis: UInt64 = 0xcbf2_9ce4_8422_2325
    static let prime: UInt64 = 0x0000_0100_0000_01b3

    public static func hash<S: Sequence>(bytes: S) -> Int64 where S.Element == UInt8 {
        var h = offsetBasis
        for b in bytes {
            h ^= UInt64(b)
            h = h &* prime
        }
        return Int64(bitPattern: h)
    }

    @inline(__always)
    static func add(_ h: inout UInt64, _ s: String) {
        let done = s.utf8.withContiguousStorageIfAvailable { u -> Bool in
            for b in u { h = (h ^ UInt64(b)) &* prime }
            return true
        }
        if done == nil {
            for b in s.utf8 { h = (h ^ UInt64(b)) &* prime }
        }
    }

    /// Key of a message that has a Message-ID (angle brackets already stripped).
    public static func forMessageID(_ id: String) -> Int64 {
        var h = offsetBasis
        add(&h, id)
        return Int64(bitPattern: h)
    }

    /// `forMessageID` of the String `String(decoding: bytes, as: UTF8.self)` makes (the one
    /// `LineBytes.string` gives), hashed from the bytes when they are that String's UTF-8 (valid
    /// UTF-8: no String made); other bytes go through the String, whose repair changes them.
    public static func forMessageID(bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        guard let p = bytes.baseAddress else { return Int64(bitPattern: offsetBasis) }
        let n = bytes.count
        var h = offsetBasis
        var high: UInt8 = 0          // every byte OR-ed: ASCII when its top bit stays clear
        var i = 0
        // Four bytes a step: FNV-1a is one serial chain of multiplications, so only the loop's
        // own counting and branching can be saved.
        while i &+ 4 <= n {
            let a = p[i], b = p[i &+ 1], c = p[i &+ 2], d = p[i &+ 3]
            high |= a | b | c | d
            h = (h ^ UInt64(a)) &* prime
            h = (h ^ UInt64(b)) &* prime
            h = (h ^ UInt64(c)) &* prime
            h = (h ^ UInt64(d)) &* prime
            i &+= 4
        }
        while i < n {
            high |= p[i]
            h = (h ^ UInt64(p[i])) &* prime
            i &+= 1
        }
        if high >= 0x80 && !RowText.validSlow(bytes) {
            return forMessageID(String(decoding: bytes, as: UTF8.self))
        }
        return Int64(bitPattern: h)
    }

    /// Message-IDs seen lately with their keys: a message's ID is logged again by every host it
    /// passes, and the next hop's correlator then gets the same String (no new one) and its key
    /// (no second hash). `value(_:)` returns exactly `String(decoding: bytes, as: UTF8.self)`
    /// (`LineBytes.string` of the span) and `forMessageID` of that String: an entry is used
    /// only when its String's UTF-8 is the bytes asked for (so invalid UTF-8 never hits).
    /// Direct-mapped, 1,024 entries chosen by a hash of the length and five words of the bytes
    /// (`slotHash`; all of them below 16 bytes). Not saved anywhere.
    public struct Cache: @unchecked Sendable {
        @usableFromInline struct Entry {
            var hash: UInt64 = 0
            var value: String? = nil
            var key: Int64 = 0
        }

        @usableFromInline final class Storage {
            let entries: UnsafeMutablePointer<Entry>
            init() {
                entries = .allocate(capacity: Cache.count)
                entries.initialize(repeating: Entry(), count: Cache.count)
            }
            deinit {
                entries.deinitialize(count: Cache.count)
                entries.deallocate()
            }
        }

        static let count = 1024
        @usableFromInline var storage = Storage()

        public init() {}

        /// A hash of `bytes` for their entry: the length and the words at 0, 8, the middle, n - 16
        /// and n - 8 (where IDs differ: their unique parts and their domains), instead of every
        /// word; an entry is used only after a full comparison, so a collision costs a miss.
        @inline(__always)
        static func slotHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
            let n = bytes.count
            guard n >= 16, let p = bytes.baseAddress else { return LineBytes.hash(bytes) }
            let raw = UnsafeRawPointer(p)
            @inline(__always) func word(_ i: Int) -> UInt64 { raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) }
            var h = (UInt64(n) ^ word(0)) &* 0x9E37_79B9_7F4A_7C15
            h = (h ^ (h >> 29) ^ word(8)) &* 0xC2B2_AE3D_27D4_EB4F
            h = (h ^ (h >> 29) ^ word((n - 8) / 2)) &* 0x1656_67B1_9E37_79F9
            h = (h ^ (h >> 29) ^ word(n - 16)) &* 0x27D4_EB2F_1656_67C5
            h = (h ^ (h >> 29) ^ word(n - 8)) &* 0x9E37_79B9_7F4A_7C15
            return h ^ (h >> 31)
        }

        /// The String of `bytes` and its `forMessageID` key (see the type's contract).
        public mutating func value(_ bytes: UnsafeBufferPointer<UInt8>) -> (String, Int64) {
            let h = Cache.slotHash(bytes)
            let e = storage.entries + Int(truncatingIfNeeded: h >> 54)      // the top 10 bits
            if e.pointee.hash == h, let v = e.pointee.value, LineBytes.equal(bytes, v) { return (v, e.pointee.key) }
            let v = String(decoding: bytes, as: UTF8.self)
            let k = MessageKey.forMessageID(v)
            if !isKnownUniquelyReferenced(&storage) { storage = Storage() }
            let f = storage.entries + Int(truncatingIfNeeded: h >> 54)
            f.pointee.hash = h; f.pointee.value = v; f.pointee.key = k
            return (v, k)
        }
    }

    /// Key of a transaction without a Message-ID: `host/queue_id`.
    public static func forQueue(host: String, queueID: String) -> Int64 {
        var h = offsetBasis
        add(&h, host)
        h = (h ^ 0x2F) &* prime           // "/"
        add(&h, queueID)
        return Int64(bitPattern: h)
    }

    /// `forQueue(host:queueID:)` of the queue ID `prefix + bytes`, without making that String,
    /// when `bytes` are ASCII (other bytes go through the String, whose UTF-8 repair may change them).
    public static func forQueue(host: String, prefix: StaticString, bytes: UnsafeBufferPointer<UInt8>) -> Int64 {
        var ascii = true
        for b in bytes where b >= 0x80 { ascii = false; break }
        guard ascii else {
            return forQueue(host: host, queueID: prefix.description + String(decoding: bytes, as: UTF8.self))
        }
        var h = offsetBasis
        add(&h, host)
        h = (h ^ 0x2F) &* prime           // "/"
        let p = prefix.utf8Start
        for k in 0..<prefix.utf8CodeUnitCount { h = (h ^ UInt64(p[k])) &* prime }
        for b in bytes { h = (h ^ UInt64(b)) &* prime }
        return Int64(bitPattern: h)
    }
}
