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
