/// SharedStringCache: the Sendmail and Exim correlators' cache of Strings for byte values that
/// repeat (senders, recipients, relay names, authids, ciphers, queue IDs, Message-IDs), one per
/// parser line buffer and shared by the correlators of every host its lines reach.
///
/// Contract: `string(_:in:)` returns a String equal to `String(decoding: bytes, as: UTF8.self)`,
/// from the cache when the same bytes were seen lately, else made and cached. Up to 15 ASCII bytes
/// are made in place (`SmallASCII`) without a lookup; up to 32 bytes go through `StringCache`'s
/// own lookup (`StringCache.short`, keyed by the bytes as four overlapping words kept in the
/// entry; the entries are `StringCache`'s too); 33 to `maxLong` bytes (a
/// Message-ID, a long address) are keyed by a hash of their words and compared with the cached
/// String's own UTF-8 (so a repaired String, whose bytes differ, is only a miss); longer values
/// are made every time. Direct-mapped, `1 << bits` entries. Why shared and larger than
/// `StringCache`: Sendmail (and Exim) log a message's sender, recipients, relays and Message-ID again on the
/// next hop's host seconds later, which a cache per host cannot hit (on the seed-42 sample the
/// caches per host made ~21,000 Strings for ~10,000 distinct short values). The buffer is owned
/// by a class; a copy of the cache that finds it shared when about to write starts an empty one
/// (the cache only saves work). Not part of any saved state.
/// Known limits: memory is fixed (`1 << bits` × 56 bytes); conflicting values evict each other.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct SharedStringCache: @unchecked Sendable {
    @usableFromInline typealias Storage = StringCache.Storage

    @usableFromInline var storage: Storage
    @usableFromInline let mask: Int
    /// The longest value cached (longer ones are made every time).
    public static let maxLong = 128

    /// A cache of `1 << bits` entries (9: as `StringCache`; a parser's shared one: 12).
    public init(bits: Int = 9) {
        storage = Storage(count: 1 << bits)
        mask = (1 << bits) - 1
    }

    /// The span's text; nil for an absent span.
    @inlinable
    public mutating func optionalString(_ s: Span, in b: LineBytes) -> String? {
        s.isAbsent ? nil : string(s, in: b)
    }

    /// The span's text; "" for an absent span.
    @inlinable
    public mutating func string(_ s: Span, in b: LineBytes) -> String {
        guard s.isPresent else { return "" }
        let n = s.count
        if n <= 15, let v = SmallASCII.make(b.base + Int(s.lo), n) { return v }
        guard n <= 32, n > 0 else { return long(s, in: b) }
        return StringCache.short(&storage, mask: mask, b.base + Int(s.lo), n)
    }

    /// A value over 32 bytes: keyed by a hash of its words, compared with the cached String's bytes.
    @usableFromInline
    mutating func long(_ s: Span, in b: LineBytes) -> String {
        let n = s.count
        let bytes = b.buffer(s)
        guard n <= SharedStringCache.maxLong, n > 32 else { return String(decoding: bytes, as: UTF8.self) }
        let raw = UnsafeRawPointer(bytes.baseAddress!)
        var h = UInt64(n) &* 0x9E37_79B9_7F4A_7C15
        var k = 0
        while k + 8 <= n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: k, as: UInt64.self)) &* 0xC2B2_AE3D_27D4_EB4F
            h ^= h >> 29
            k += 8
        }
        if k < n {
            h = (h ^ raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)) &* 0x1656_67B1_9E37_79F9
            h ^= h >> 29
        }
        // Long entries: length stored negated - 2 (never -1, the empty mark), w0 = the hash.
        let i = Int(truncatingIfNeeded: h ^ (h >> 31)) & mask
        var e = storage.entries + i
        if e.pointee.length == -2 - n && e.pointee.w0 == h {
            let hit = e.pointee.value.utf8.withContiguousStorageIfAvailable { u in
                u.count == n && memcmp(u.baseAddress!, raw, n) == 0
            } ?? false
            if hit { return e.pointee.value }
        }
        let v = String(decoding: bytes, as: UTF8.self)
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(count: mask + 1); e = storage.entries + i }
        e.pointee.length = -2 - n
        e.pointee.w0 = h
        e.pointee.value = v
        return v
    }
}
