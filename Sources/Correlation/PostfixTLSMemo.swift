/// PostfixTLSMemo: the `TLSInfo` of recent Postfix TLS lines, found by the bytes of their
/// protocol, cipher and trust word and their bits, so that a line whose facts were seen lately
/// takes the same shared object (one retain) instead of three Strings and a new object (and,
/// when the session or connection that held the last one ends, freeing it).
///
/// Contract: `info(_:in:strings:)` returns a `TLSInfo` whose fields equal those of
/// `TLSInfo(proto: strings.optionalString(t.proto, in: b), cipher: …, bits: t.bits, trust: …)`
/// — the correlator's former making of it — for every input: the key is exact (every byte of
/// the three texts, their lengths or absence, and the bits), so equal keys mean equal texts and
/// so equal Strings. Direct-mapped, 64 entries; a collision replaces the entry. Texts longer
/// than the key holds (protocol or trust over 16 bytes, cipher over 32) or present but empty
/// are made as before and not stored. Not part of any saved state; a copy of the memo shares its
/// entries until it stores one (then it starts an empty one).
/// Known limits: memory is fixed (64 entries, ~7 KB per host's correlator, made at its first
/// TLS line).
import MailTrailModel

struct PostfixTLSMemo: @unchecked Sendable {
    /// The exact key of a line's TLS facts (see `init?`).
    struct Key: Equatable {
        var p0: UInt64 = 0, p1: UInt64 = 0
        var c0: UInt64 = 0, c1: UInt64 = 0, c2: UInt64 = 0, c3: UInt64 = 0
        var t0: UInt64 = 0, t1: UInt64 = 0
        /// Lengths + 1 (0: absent) of protocol, cipher, trust in bytes 0, 1, 2; bit 24: bits present.
        var shape: UInt64 = 0
        var bits: Int = 0

        /// The key of no line (all texts absent, no bits): that of empty entries, whose info is nil.
        init() {}

        /// The key of `t`'s texts in `b`, nil when one does not fit (see the contract).
        @inline(__always)
        init?(_ t: TLSSpans, in b: LineBytes) {
            var shape: UInt64 = 0
            if t.proto.isPresent {
                let n = t.proto.count
                guard n >= 1, n <= 16 else { return nil }
                (p0, p1) = Self.two(b.base + Int(t.proto.lo), n)
                shape |= UInt64(n + 1)
            }
            if t.cipher.isPresent {
                let n = t.cipher.count
                guard n >= 1, n <= 32 else { return nil }
                (c0, c1, c2, c3) = Self.four(b.base + Int(t.cipher.lo), n)
                shape |= UInt64(n + 1) << 8
            }
            if t.trust.isPresent {
                let n = t.trust.count
                guard n >= 1, n <= 16 else { return nil }
                (t0, t1) = Self.two(b.base + Int(t.trust.lo), n)
                shape |= UInt64(n + 1) << 16
            }
            if let v = t.bits { bits = v; shape |= 1 << 24 }
            self.shape = shape
        }

        /// The `n` bytes at `p` (1 ≤ n ≤ 16) as two words that, with `n`, determine every byte:
        /// overlapping loads that stay inside the bytes.
        @inline(__always)
        static func two(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64) {
            let raw = UnsafeRawPointer(p)
            if n >= 8 {
                return (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
            }
            if n >= 4 {
                return (UInt64(raw.loadUnaligned(as: UInt32.self))
                            | UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32, 0)
            }
            return (UInt64(p[0]) | UInt64(p[n >> 1]) << 8 | UInt64(p[n - 1]) << 16, 0)
        }

        /// As `two` for 1 ≤ n ≤ 32 bytes in four words.
        @inline(__always)
        static func four(_ p: UnsafePointer<UInt8>, _ n: Int) -> (UInt64, UInt64, UInt64, UInt64) {
            if n <= 16 {
                let (a, b) = two(p, n)
                return (a, b, 0, 0)
            }
            let raw = UnsafeRawPointer(p)
            return (raw.loadUnaligned(as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: min(16, n - 8), as: UInt64.self),
                    raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self))
        }

        /// Word by word (the derived equality compared the bytes through a `memcmp` call).
        @inline(__always)
        static func == (a: Key, b: Key) -> Bool {
            a.c0 == b.c0 && a.shape == b.shape && a.p0 == b.p0 && a.c1 == b.c1 && a.c2 == b.c2 && a.c3 == b.c3
                && a.p1 == b.p1 && a.t0 == b.t0 && a.t1 == b.t1 && a.bits == b.bits
        }

        /// The entry the key maps to.
        @inline(__always)
        var slot: Int {
            var h = (p0 ^ shape) &* 0x9E37_79B9_7F4A_7C15
            h ^= (c0 ^ c3 ^ t0 ^ UInt64(bitPattern: Int64(bits))) &* 0xC2B2_AE3D_27D4_EB4F
            return Int(truncatingIfNeeded: h >> 58)
        }
    }

    static let slots = 64

    final class Storage {
        let keys = UnsafeMutablePointer<Key>.allocate(capacity: PostfixTLSMemo.slots)
        let infos = UnsafeMutablePointer<TLSInfo?>.allocate(capacity: PostfixTLSMemo.slots)
        init() {
            // An empty entry's info is nil: found by its key (a line with no TLS text at all), it is a miss.
            keys.initialize(repeating: Key(), count: PostfixTLSMemo.slots)
            infos.initialize(repeating: nil, count: PostfixTLSMemo.slots)
        }
        deinit {
            keys.deinitialize(count: PostfixTLSMemo.slots)
            infos.deinitialize(count: PostfixTLSMemo.slots)
            keys.deallocate(); infos.deallocate()
        }
    }

    /// Made at the first TLS line.
    var storage: Storage? = nil

    init() {}

    /// The line's TLS facts (see the contract).
    @inline(__always)
    mutating func info(_ t: TLSSpans, in b: LineBytes, strings: inout StringCache) -> TLSInfo {
        guard let key = Key(t, in: b) else { return Self.make(t, in: b, strings: &strings) }
        let i = key.slot
        if let st = storage, st.keys[i] == key, let hit = st.infos[i] { return hit }
        return store(key, at: i, Self.make(t, in: b, strings: &strings))
    }

    /// The facts as the correlator made them before the memo (the definition the memo keeps).
    static func make(_ t: TLSSpans, in b: LineBytes, strings: inout StringCache) -> TLSInfo {
        TLSInfo(proto: strings.optionalString(t.proto, in: b), cipher: strings.optionalString(t.cipher, in: b),
                bits: t.bits, trust: strings.optionalString(t.trust, in: b))
    }

    /// Stores `info` for `key` in entry `i` (replacing what was there); returns it.
    mutating func store(_ key: Key, at i: Int, _ info: TLSInfo) -> TLSInfo {
        if storage == nil || !isKnownUniquelyReferenced(&storage!) { storage = Storage() }
        let st = storage!
        st.keys[i] = key
        st.infos[i] = info
        return info
    }
}
