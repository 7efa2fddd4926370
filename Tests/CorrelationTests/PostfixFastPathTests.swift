// PostfixFastPathTests: the byte shortcuts of the Postfix correlator against the String forms
// they replace — `LineBytes.sameText` with `TextKey`s (recipient matching) against String
// equality of the decoded bytes, and `isLoopback(_:in:)` on a span against `isLoopback` of its
// String — on listed cases (ASCII, canonical equivalents such as NFC/NFD and the Kelvin sign,
// invalid UTF-8, empty and absent spans) and on seeded random texts drawn from pieces that
// mix those forms; FastMap with keys whose hashes differ only above the 32 bits a slot keeps.
// Limits: fixed seeds (deterministic); the random texts are short (up to 7 pieces).

import Testing
@testable import Correlation
import MailTrailModel

@Suite struct PostfixFastPathTests {
    /// Pieces whose joins give equal texts with different bytes (canonical equivalents),
    /// different ASCII texts, and invalid UTF-8.
    static let pieces: [[UInt8]] = [
        Array("a".utf8), Array("b".utf8), Array("@".utf8), Array(".".utf8), Array("K".utf8), Array(";".utf8),
        Array("127.".utf8), Array("::1".utf8), Array("0".utf8), Array("e".utf8),
        Array("\u{E9}".utf8),            // é precomposed
        Array("e\u{301}".utf8),          // é decomposed
        Array("\u{301}".utf8),           // a lone combining acute
        Array("\u{212A}".utf8),          // KELVIN SIGN, canonically K
        Array("\u{37E}".utf8),           // GREEK QUESTION MARK, canonically ;
        [0xFF], [0xC3], [0x80],          // invalid UTF-8 pieces
    ]

    static func randomTexts(seed: UInt64, count: Int) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            (0..<Int(rng.next() % 8)).flatMap { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }
        }
    }

    /// `sameText` of all of `bytes` against `string`, as the correlator calls it.
    static func sameText(_ bytes: [UInt8], _ string: String) -> Bool {
        bytes.withUnsafeBufferPointer { buf in
            let b = LineBytes(buf), s = Span(0..<buf.count)
            return b.sameText(s, TextKey(s, in: b), string, TextKey(string))
        }
    }

    static func loopback(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buf in isLoopback(Span(0..<buf.count), in: LineBytes(buf)) }
    }

    @Test func sameTextIsStringEqualityOnListedCases() {
        let cases: [([UInt8], String, Bool)] = [
            (Array("a@b".utf8), "a@b", true),
            (Array("a@b".utf8), "a@c", false),
            (Array("a@b".utf8), "a@bb", false),
            (Array("".utf8), "", true),
            (Array("caf\u{E9}@x".utf8), "cafe\u{301}@x", true),      // NFC bytes, NFD String
            (Array("cafe\u{301}@x".utf8), "caf\u{E9}@x", true),
            (Array("K@x".utf8), "\u{212A}@x", true),                 // ASCII bytes, non-ASCII String
            (Array("a;b".utf8), "a\u{37E}b", true),
            ([0x61, 0xFF, 0x62], "a\u{FFFD}b", true),                // invalid UTF-8 decodes to U+FFFD
            ([0x61, 0xFF, 0x62], "a\u{FFFE}b", false),
            (Array("a\u{301}".utf8), "a", false),
        ]
        for (bytes, string, expected) in cases {
            #expect(Self.sameText(bytes, string) == expected, "\(bytes) vs \(string)")
            #expect((String(decoding: bytes, as: UTF8.self) == string) == expected, "the definition itself")
        }
        // An absent span is the empty text.
        [UInt8]("x".utf8).withUnsafeBufferPointer { buf in
            let b = LineBytes(buf)
            #expect(b.sameText(.absent, TextKey(.absent, in: b), "", TextKey("")))
            #expect(!b.sameText(.absent, TextKey(.absent, in: b), "x", TextKey("x")))
        }
    }

    @Test func sameTextIsStringEqualityOnRandomTexts() {
        let a = Self.randomTexts(seed: 61, count: 3_000), b = Self.randomTexts(seed: 62, count: 3_000)
        var wrong: [String] = []
        for (x, y) in zip(a, b) {
            for (bytes, other) in [(x, y), (x, x), (y, x)] {
                let string = String(decoding: other, as: UTF8.self)
                if Self.sameText(bytes, string) != (String(decoding: bytes, as: UTF8.self) == string) {
                    wrong.append("\(bytes) vs \(other)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func spanLoopbackIsStringLoopback() {
        let listed: [[UInt8]] = [
            Array("127.0.0.1".utf8), Array("127.1".utf8), Array("::1".utf8), Array("::ffff:127.0.0.1".utf8),
            Array("128.0.0.1".utf8), Array("::2".utf8), Array("127".utf8), Array("".utf8),
            Array("127.\u{301}0.0.1".utf8), [0x31, 0x32, 0x37, 0x2E, 0xFF],
        ]
        for bytes in listed + Self.randomTexts(seed: 63, count: 5_000) {
            #expect(Self.loopback(bytes) == isLoopback(String(decoding: bytes, as: UTF8.self)), "\(bytes)")
        }
        [UInt8]("x".utf8).withUnsafeBufferPointer { buf in #expect(!isLoopback(Span.absent, in: LineBytes(buf))) }
    }

    /// Keys whose hashes agree in the low 32 bits (the part a slot keeps) and differ above.
    private struct HighBitsKey: FastKey, Hashable {
        let n: Int
        var fastHash: Int { (n % 4) | (n << 36) }
    }

    @Test func fastMapTellsKeysApartWhoseHashesDifferOnlyAbove32Bits() {
        var map = FastMap<HighBitsKey, Int>()
        var model: [Int: Int] = [:]
        var rng = SplitMix64(seed: 64)
        for step in 0..<10_000 {
            let k = Int(rng.next() % 200)
            if rng.next() % 3 == 0 { map[HighBitsKey(n: k)] = nil; model[k] = nil }
            else { map[HighBitsKey(n: k)] = step; model[k] = step }
        }
        #expect(map.count == model.count)
        for k in 0..<200 { #expect(map[HighBitsKey(n: k)] == model[k]) }
        #expect(Dictionary(uniqueKeysWithValues: zip(map.keys.map(\.n), map.values)) == model)
    }
}

/// `QueueID`'s word reads against the copy it replaces (zero-padded bytes), all lengths 0...40.
@Suite struct QueueIDWordsTests {
    /// The words as the copy made them (the definition).
    static func copied(_ b: UnsafeBufferPointer<UInt8>) -> (UInt64, UInt64, UInt64, UInt64) {
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &words) { raw in
            if b.count > 0 { raw.baseAddress!.copyMemory(from: UnsafeRawPointer(b.baseAddress!), byteCount: min(b.count, 32)) }
        }
        return words
    }

    @Test func wordsAreTheZeroPaddedBytes() {
        var rng = SplitMix64(seed: 65)
        var wrong: [Int] = []
        for n in 0...32 {
            for _ in 0..<200 {
                // The ID sits inside a larger buffer, so reads past its end would be seen.
                let buf = (0..<(n + 16)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
                buf.withUnsafeBufferPointer { all in
                    let b = UnsafeBufferPointer(rebasing: all[4..<(4 + n)])
                    let q = QueueID(b), c = Self.copied(b)
                    if q.w0 != c.0 || q.w1 != c.1 || q.w2 != c.2 || q.w3 != c.3 { wrong.append(n) }
                }
            }
        }
        #expect(wrong.isEmpty, "\(Set(wrong).sorted())")
        // Longer IDs keep their first 24 bytes and a hash flag (unchanged path).
        let long = [UInt8](repeating: 0x41, count: 40)
        long.withUnsafeBufferPointer { #expect(QueueID($0).w3 >> 63 == 1) }
    }
}
