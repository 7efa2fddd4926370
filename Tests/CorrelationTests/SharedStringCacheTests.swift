// SharedStringCacheTests: `SharedStringCache.string` against `String(decoding:as:)` (the simple
// form) — every length to 40 and long ones in steps past `maxLong`, each with every single byte changed (what a key of words or a
// hash could confuse), invalid UTF-8 (a repaired String, whose bytes differ from the span's, must
// not be a hit for other bytes), absent and empty spans, a copy that writes (it must not disturb the
// other), and seeded random values from a small alphabet in a small cache (many evictions and
// conflicts, short and long entries sharing slots).
// Limits: seeded, deterministic inputs; not a fuzzer.

import Testing
import MailTrailModel

@Suite struct SharedStringCacheTests {
    private func cached(_ cache: inout SharedStringCache, _ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { buf in cache.string(Span(0..<buf.count), in: LineBytes(buf)) }
    }

    @Test func everyLengthAndEveryDifferingByte() {
        var cache = SharedStringCache(bits: 6)
        var wrong: [String] = []
        // Every length to 40 (the short keys' word layouts), then the long ones in steps, past the limit.
        for n in Array(1...40) + Array(stride(from: 41, through: SharedStringCache.maxLong + 8, by: 11)) + [SharedStringCache.maxLong, SharedStringCache.maxLong + 1] {
            let base = (0..<n).map { UInt8(ascii: "a") &+ UInt8($0 % 26) }
            for k in 0..<n {
                var variant = base
                variant[k] = UInt8(ascii: "Z")
                for bytes in [base, variant, base, variant] where cached(&cache, bytes) != String(decoding: bytes, as: UTF8.self) {
                    wrong.append("n=\(n) k=\(k)")
                }
            }
        }
        #expect(wrong == [])
    }

    @Test func invalidUTF8AbsentEmptyAndCopies() {
        var cache = SharedStringCache(bits: 4)
        #expect(cached(&cache, []) == "")
        let long = Array(repeating: UInt8(ascii: "m"), count: 40)
        var bad = long; bad[20] = 0xFF
        var replaced = long; replaced.replaceSubrange(20..<21, with: Array("\u{FFFD}".utf8))
        for bytes in [bad, replaced, bad, replaced, long, bad] {
            #expect(cached(&cache, bytes) == String(decoding: bytes, as: UTF8.self))
        }
        [UInt8]("x".utf8).withUnsafeBufferPointer { buf in
            #expect(cache.optionalString(.absent, in: LineBytes(buf)) == nil)
        }
        var copy = cache
        let a = Array("a.long.value.beyond.fifteen@example.org".utf8), b = Array("another.one.beyond.fifteen@example.org".utf8)
        #expect(cached(&copy, a) == String(decoding: a, as: UTF8.self))
        #expect(cached(&cache, b) == String(decoding: b, as: UTF8.self))
        #expect(cached(&copy, b) == String(decoding: b, as: UTF8.self))
        #expect(cached(&cache, a) == String(decoding: a, as: UTF8.self))
    }

    @Test func seededRandomValues() {
        var rng = SplitMix64(seed: 1207)
        let alphabet: [UInt8] = Array("ab.@<>".utf8) + [0xC3, 0xA9, 0xFF]
        var cache = SharedStringCache(bits: 5)
        var pool: [[UInt8]] = []
        for _ in 0..<400 {
            let n = Int(rng.next() % 150)
            pool.append((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        var wrong = 0
        for _ in 0..<5_000 {
            let bytes = pool[Int(rng.next() % UInt64(pool.count))]
            if cached(&cache, bytes) != String(decoding: bytes, as: UTF8.self) { wrong += 1 }
        }
        #expect(wrong == 0)
    }
}
