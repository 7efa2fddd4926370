// EximStringsTests: `SmallASCII.make` builds exactly the String (the same two words) that
// `String(decoding:as:)` builds for every length 0-15 and seeded random ASCII inputs, refuses
// non-ASCII and longer inputs, and reads only the bytes of its span (values at the end of a
// buffer); `EximStrings.string`/`fresh` give `String(decoding:as:)`'s text on any bytes.
// Limits: the layout check is of this build's platform only.

import Testing
import MailTrailModel

@Suite struct EximStringsTests {
    /// The two words of a String.
    private func words(_ s: String) -> (UInt64, UInt64) { unsafeBitCast(s, to: (UInt64, UInt64).self) }

    /// `count` seeded inputs of 0 to `maxLength - 1` bytes drawn from `alphabet`.
    private static func randomBytes(_ alphabet: [UInt8], seed: UInt64, maxLength: UInt64, count: Int = 20_000) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            (0..<Int(rng.next() % maxLength)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        }
    }

    /// `make` of `bytes` placed at the very end of a buffer (a read past them would leave it).
    private func made(_ bytes: [UInt8]) -> String? {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
        defer { p.deallocate() }
        for (k, b) in bytes.enumerated() { p[k] = b }
        return SmallASCII.make(p, bytes.count)
    }

    @Test func layoutIsTheExpectedOne() {
        #expect(SmallASCII.layoutMatches)
    }

    @Test func everyLengthGivesTheSameWordsAsDecoding() {
        var wrong: [String] = []
        for n in 0...15 {
            for first in [UInt8(ascii: "a"), 0x00, 0x7F, UInt8(ascii: "0")] {
                let bytes = (0..<n).map { (first &+ UInt8($0)) & 0x7F }
                let expected = String(decoding: bytes, as: UTF8.self)
                guard let s = made(bytes) else { wrong.append("n=\(n) nil"); continue }
                if s != expected || words(s) != words(expected) || s.utf8.count != n || s.hashValue != expected.hashValue {
                    wrong.append("n=\(n) first=\(first)")
                }
            }
        }
        #expect(wrong == [])
    }

    @Test func seededRandomASCIIGivesTheSameWordsAsDecoding() {
        let alphabet = (0..<128).map { UInt8($0) }
        var wrong = 0
        for bytes in Self.randomBytes(alphabet, seed: 61, maxLength: 16) {
            let expected = String(decoding: bytes, as: UTF8.self)
            guard let s = made(bytes), s == expected, words(s) == words(expected) else { wrong += 1; continue }
        }
        #expect(wrong == 0)
    }

    @Test func nonASCIIAndLongerInputsAreRefused() {
        #expect(made(Array("abcdefghijklmnop".utf8)) == nil)           // 16 bytes
        #expect(made(Array("é".utf8)) == nil)
        #expect(made([0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0xFF]) == nil)
        #expect(made([0x80]) == nil)
    }

    @Test func stringsAndFreshGiveDecodingsText() {
        // Mixed bytes (invalid UTF-8 included) of 0 to 39 bytes, each asked twice (a hit the second time).
        let alphabet: [UInt8] = Array("ab.-@ 0".utf8) + [0xC3, 0xA9, 0xFF, 0x80]
        var strings = EximStrings()
        var wrong = 0
        for bytes in Self.randomBytes(alphabet, seed: 62, maxLength: 40, count: 5_000) {
            let expected = String(decoding: bytes, as: UTF8.self)
            bytes.withUnsafeBufferPointer { buf in
                let b = LineBytes(buf), span = Span(0..<buf.count)
                for _ in 0..<2 {
                    if strings.string(span, in: b) != expected { wrong += 1 }
                    if EximStrings.fresh(in: b, span) != expected { wrong += 1 }
                }
                if strings.optionalString(.absent, in: b) != nil || EximStrings.optionalFresh(in: b, .absent) != nil {
                    wrong += 1
                }
            }
        }
        #expect(wrong == 0)
    }
}
