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

    /// `LineBytes.string` (small ASCII values built in place, the rest decoded) and the cache give
    /// `String(decoding:)`'s text on any bytes, and a small ASCII value is the very String decoding
    /// makes (the same two words).
    @Test func lineBytesAndCacheStringsEqualDecodingOnAnyBytes() {
        var rng = SplitMix64(seed: 0x5A11)
        var cache = StringCache()
        let alphabet: [UInt8] = Array(0x20...0x7E) + [0x00, 0x7F, 0x80, 0xC3, 0xA9, 0xFF, 0xE2, 0x82, 0xAC]
        var wrong: [String] = []
        for _ in 0..<20_000 {
            let bytes = (0..<Int(rng.next() % 41)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let expected = String(decoding: bytes, as: UTF8.self)
            bytes.withUnsafeBufferPointer { buf in
                let lb = LineBytes(buf), span = Span(0..<buf.count)
                let a = lb.string(span), b = lb.optionalString(span), c = cache.string(span, in: lb)
                if a != expected || b != expected || c != expected { wrong.append("\(bytes)") }
                // An ASCII value of up to 15 bytes is a small String: its two words are its whole identity.
                if bytes.count <= 15 && bytes.allSatisfy({ $0 < 0x80 }) && unsafeBitCast(a, to: (UInt64, UInt64).self) != unsafeBitCast(expected, to: (UInt64, UInt64).self) {
                    wrong.append("bits \(bytes)")
                }
            }
        }
        #expect(wrong == [])
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
