// RegionCache: a small direct-mapped cache in front of the framer's `host tag`
// interner, so the common line (a host and tag seen lately) is resolved with
// two word loads, one multiply and a compare of the region's words instead of
// a full hash and a probe of the interner.
//
// Contract: `lookup(_:_:)` returns the value stored for exactly these bytes,
// or nil; `store(_:_:_:)` remembers a value for them (replacing whatever
// shared the slot). Only regions of 8 to 48 bytes are cached (`fits`); the
// caller asks the interner for the others. Values must be a function of the
// bytes (the framer stores the interner's packed host/tag indices, which
// never change once given), so a cached answer always equals the interner's.
// The entries sit in one block owned by a class: a lookup reads them in place
// (no array bounds checks); a store first gives the cache its own block when
// it is shared (a copied framer's interner gives other indices from then on).
// Known limits: 256 slots; regions hashing to one slot evict each other (the
// interner still answers, only slower).

struct RegionCache: @unchecked Sendable {
    static let slotCount = 256
    /// Words per entry: regions up to 48 bytes.
    static let wordsPerEntry = 6

    struct Entry {
        /// Region length (0: empty).
        var length = 0
        var value: Int64 = 0
        /// The region's words: bytes 0-7, 8-15, ..., and the last word read as the eight bytes
        /// ending at the region's end (overlapping the one before it).
        var w: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
    }

    final class Storage {
        let entries: UnsafeMutablePointer<Entry>
        init() {
            entries = .allocate(capacity: RegionCache.slotCount)
            entries.initialize(repeating: Entry(), count: RegionCache.slotCount)
        }
        init(copying other: Storage) {
            entries = .allocate(capacity: RegionCache.slotCount)
            entries.initialize(from: other.entries, count: RegionCache.slotCount)
        }
        deinit {
            entries.deinitialize(count: RegionCache.slotCount)
            entries.deallocate()
        }
    }

    private var storage = Storage()

    /// Whether a region of `n` bytes can be cached.
    @inline(__always)
    static func fits(_ n: Int) -> Bool { n >= 8 && n <= 8 * wordsPerEntry }

    @inline(__always)
    private static func slot(_ p: UnsafeRawPointer, _ n: Int) -> Int {
        let first = p.loadUnaligned(as: UInt64.self)
        let last = p.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        let h = (first ^ (last &* 0x9E37_79B9_7F4A_7C15) ^ UInt64(n)) &* 0xC2B2_AE3D_27D4_EB4F
        return Int(truncatingIfNeeded: h >> 56)
    }

    /// The word `k` of a region of `n` bytes (`k` < `wordCount(n)`).
    @inline(__always)
    private static func word(_ p: UnsafeRawPointer, _ n: Int, _ k: Int) -> UInt64 {
        p.loadUnaligned(fromByteOffset: Swift.min(8 * k, n - 8), as: UInt64.self)
    }

    @inline(__always)
    private static func wordCount(_ n: Int) -> Int { (n + 7) >> 3 }

    /// The value stored for these `n` bytes (8 ≤ n ≤ 48), or nil.
    @inline(__always)
    func lookup(_ p: UnsafeRawPointer, _ n: Int) -> Int64? {
        let e = storage.entries + RegionCache.slot(p, n)
        guard e.pointee.length == n else { return nil }
        // The words of the entry in place, in the order stored.
        let equal = withUnsafeBytes(of: &e.pointee.w) { stored -> Bool in
            for k in 0..<RegionCache.wordCount(n)
            where stored.load(fromByteOffset: 8 * k, as: UInt64.self) != RegionCache.word(p, n, k) { return false }
            return true
        }
        return equal ? e.pointee.value : nil
    }

    /// Remembers `value` for these `n` bytes (8 ≤ n ≤ 48).
    mutating func store(_ p: UnsafeRawPointer, _ n: Int, _ value: Int64) {
        if !isKnownUniquelyReferenced(&storage) { storage = Storage(copying: storage) }
        let e = storage.entries + RegionCache.slot(p, n)
        withUnsafeMutableBytes(of: &e.pointee.w) { stored in
            for k in 0..<RegionCache.wordCount(n) {
                stored.storeBytes(of: RegionCache.word(p, n, k), toByteOffset: 8 * k, as: UInt64.self)
            }
        }
        e.pointee.length = n
        e.pointee.value = value
    }
}
