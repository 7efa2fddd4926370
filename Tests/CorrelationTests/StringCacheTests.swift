// StringCacheTests: the cache returns exactly the String of the bytes asked for, whatever the
// length (its key is read in overlapping words) and whichever single byte differs from a value
// cached before; values past 32 bytes and invalid UTF-8 as `String(decoding:)` makes them.
// Limits: single-byte differences and same-length values only (what the key could confuse).

import Testing
import MailTrailModel

@Suite struct StringCacheTests {
    /// `cache.string` of all of `bytes`.
    private func cached(_ cache: inout StringCache, _ bytes: [UInt8]) -> String {
        bytes.withUnsafeBufferPointer { buf in
            cache.string(Span(0..<buf.count), in: LineBytes(buf))
        }
    }

    @Test func everyLengthAndEveryDifferingByteGivesItsOwnString() {
        var cache = StringCache()
        var wrong: [String] = []
        for n in 1...40 {
            let base = (0..<n).map { UInt8(ascii: "a") &+ UInt8($0 % 26) }
            for k in 0..<n {
                var variant = base
                variant[k] = UInt8(ascii: "Z")
                // Base, variant, then both again (hits when they share an entry's key, or misses).
                for bytes in [base, variant, base, variant] {
                    let s = cached(&cache, bytes)
                    if s != String(decoding: bytes, as: UTF8.self) { wrong.append("n=\(n) k=\(k) got \(s)") }
                }
            }
        }
        #expect(wrong == [])
    }

    @Test func emptyAbsentAndInvalidUTF8() {
        var cache = StringCache()
        #expect(cached(&cache, []) == "")
        let lb = [UInt8]("x".utf8)
        lb.withUnsafeBufferPointer { buf in
            #expect(cache.optionalString(.absent, in: LineBytes(buf)) == nil)
            #expect(cache.string(.absent, in: LineBytes(buf)) == "")
        }
        #expect(cached(&cache, [0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
        #expect(cached(&cache, [0x61, 0xFF, 0x62]) == "a\u{FFFD}b")
        #expect(cached(&cache, [0x61, 0xFE, 0x62]) == "a\u{FFFD}b")
        #expect(cached(&cache, [0x61, 0x62, 0x62]) == "abb")
    }

    /// Two copies of a cache share its buffer until one of them writes (a miss): then that copy
    /// starts its own, so neither sees the other's values, and hits read the shared buffer.
    @Test func copiesNeverSeeEachOthersWrites() {
        var a = StringCache()
        let words = (0..<600).map { "v\($0)-" + String(repeating: "x", count: $0 % 20) }
        for w in words { _ = cached(&a, Array(w.utf8)) }
        var b = a                                   // shares a's buffer
        var wrong: [String] = []
        for (k, w) in words.enumerated().reversed() {
            // Interleaved: b hits and misses (its first miss gives it its own buffer), a reads on.
            let other = Array((w + "!").utf8)
            if cached(&b, other) != w + "!" { wrong.append("b \(k)") }
            if cached(&a, Array(w.utf8)) != w { wrong.append("a \(k)") }
            if cached(&b, Array(w.utf8)) != w { wrong.append("b2 \(k)") }
        }
        #expect(wrong == [])
    }
}
