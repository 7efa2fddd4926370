// EximIDMemoTests: `EximIDMemo` (the parser buffer's memo of recent Exim queue IDs, through
// which an arrival's ID and the previous hop's `250 OK id=` reply get one String) against
// `String(decoding:as:)`: every lookup, first or repeated, gives exactly that String, on seeded
// IDs of 16 to 24 bytes (the 6-6-2 and 6-11-4 forms, and arbitrary bytes: invalid UTF-8, NULs)
// that collide in its 256 slots; a repeated ID gives the very String stored (same storage),
// a replaced one a new String of the right text; IDs differing in one byte are told apart.
// Limits: the memo only (the correlator's use is checked by EximSharedStringsTests, whose
// shared-buffer rows must equal those of buffers that share nothing).
import Testing
import MailTrailModel

@Suite struct EximIDMemoTests {
    static func identical(_ a: String, _ b: String) -> Bool {
        unsafeBitCast(a, to: (UInt64, UInt64).self) == unsafeBitCast(b, to: (UInt64, UInt64).self)
    }

    static func lookup(_ m: EximIDMemo, _ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { m.string($0.baseAddress!, $0.count) }
    }

    @Test func fitsTheEximIDLengths() {
        #expect(!EximIDMemo.fits(15) && EximIDMemo.fits(16) && EximIDMemo.fits(23) && EximIDMemo.fits(24)
                && !EximIDMemo.fits(25))
    }

    @Test func givesTheDecodedStringFirstAndRepeated() {
        let m = EximIDMemo.make()
        defer { m.free() }
        let a = Self.lookup(m, Array("1rAbCd-0001Ef-GH".utf8))
        #expect(a == "1rAbCd-0001Ef-GH")
        let again = Self.lookup(m, Array("1rAbCd-0001Ef-GH".utf8))
        #expect(Self.identical(a, again))
        let long = Self.lookup(m, Array("1rAbCd-0001EfGhIjK-LmNo".utf8))
        #expect(long == "1rAbCd-0001EfGhIjK-LmNo")
        // One byte changed anywhere: another String, of its own text.
        for k in 0..<16 {
            var b = Array("1rAbCd-0001Ef-GH".utf8)
            b[k] ^= 0x01
            let v = Self.lookup(m, b)
            #expect(v == String(decoding: b, as: UTF8.self))
            #expect(v != a)
        }
        // Invalid UTF-8 is repaired as `String(decoding:as:)` repairs it, first and repeated.
        let bad: [UInt8] = [0x31, 0xFF, 0x41, 0x00] + Array("bCd-0001Ef-GH".utf8)
        #expect(Self.lookup(m, bad) == String(decoding: bad, as: UTF8.self))
        #expect(Self.lookup(m, bad) == String(decoding: bad, as: UTF8.self))
    }

    @Test func agreesWithDecodingOnSeededCollidingIDs() {
        // 3,000 distinct-or-repeated IDs over 256 slots: entries are replaced often, and every
        // answer must still be the ID's own text; repeats while stored give the stored String.
        let m = EximIDMemo.make()
        defer { m.free() }
        var rng = SplitMix64(seed: 81)
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-".utf8) + [0x00, 0xC3, 0xA9, 0xFF]
        var pool: [[UInt8]] = []
        for _ in 0..<400 {
            let n = 16 + Int(rng.next() % 9)
            pool.append((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        var wrong = 0, hits = 0
        var last: [[UInt8]: String] = [:]
        for _ in 0..<3_000 {
            let id = pool[Int(rng.next() % UInt64(pool.count))]
            let v = Self.lookup(m, id)
            if v != String(decoding: id, as: UTF8.self) { wrong += 1 }
            if let prev = last[id], Self.identical(prev, v) { hits += 1 }
            last[id] = v
        }
        #expect(wrong == 0)
        // Some repeats find their String still stored, not all (the pool is larger than the memo).
        #expect(hits > 300 && hits < 2_600)
    }
}
