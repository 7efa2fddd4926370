// ByteScannerIntTests: `ByteScanner.int`'s pointer loop with wrapping arithmetic against the
// definition (a non-empty run of at most 18 ASCII digits, read by `Int(String)`; nil for
// anything else) on listed ranges and on seeded random ones of digits, signs, spaces,
// letters, high bytes and NULs, inside a longer buffer (so the range's neighbours differ).
// Limits: ranges of up to 24 bytes.

import Testing
import MailTrailModel
@testable import MTAParsing

@Suite struct ByteScannerIntTests {
    /// The definition of `int`.
    static func simple(_ bytes: ArraySlice<UInt8>) -> Int? {
        guard !bytes.isEmpty, bytes.count <= 18, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(String(decoding: bytes, as: UTF8.self))
    }

    static func fast(_ bytes: [UInt8], _ r: Range<Int>) -> Int? {
        bytes.withUnsafeBufferPointer { ByteScanner($0).int(r) }
    }

    @Test func listedRanges() {
        let cases: [(String, Int?)] = [
            ("0", 0), ("7", 7), ("25", 25), ("10561", 10561), ("000123", 123), ("999999999999999999", 999_999_999_999_999_999),
            ("1000000000000000000", nil), ("", nil), ("-1", nil), ("+1", nil), ("1 ", nil), (" 1", nil), ("12a", nil),
            ("1.5", nil), ("\u{0}", nil), ("١٢", nil),
        ]
        for (text, expected) in cases {
            let bytes = Array(("x" + text + "9").utf8)
            let r = 1..<(bytes.count - 1)
            #expect(Self.fast(bytes, r) == expected, "\(text)")
            #expect(Self.simple(bytes[r]) == expected, "\(text)")
        }
    }

    @Test func randomRangesMatchTheDefinition() {
        var rng = SplitMix64(seed: 0x1A7_5EED)
        let alphabet = Array("0123456789012345678901234567890123456789 +-.a".utf8) + [0x00, 0x2F, 0x3A, 0x80, 0xFF]
        var wrong: [String] = []
        for _ in 0..<200_000 {
            let n = Int(rng.next() % 30)
            var bytes: [UInt8] = []
            let digitsOnly = rng.next() % 2 == 0
            for _ in 0..<n {
                bytes.append(digitsOnly ? 0x30 + UInt8(rng.next() % 10) : alphabet[Int(rng.next() % UInt64(alphabet.count))])
            }
            let lo = n == 0 ? 0 : Int(rng.next() % UInt64(n + 1))
            let hi = lo + Int(rng.next() % UInt64(min(24, n - lo) + 1))
            if Self.fast(bytes, lo..<hi) != Self.simple(bytes[lo..<hi]) { wrong.append("\(bytes) \(lo)..<\(hi)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
