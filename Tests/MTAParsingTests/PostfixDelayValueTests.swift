// PostfixDelayValueTests: `PostfixParser.delay` (the plain decimal read by `plainDecimal`, else
// `ByteScanner.double`) against `ByteScanner.double` itself, bit for bit, on listed values and
// on seeded random ones of digits, dots, signs, exponents, letters and spaces.
// Limits: values of up to 30 bytes.

import Testing
import MailTrailModel
@testable import MTAParsing

@Suite struct PostfixDelayValueTests {
    static func both(_ bytes: [UInt8]) -> (Double?, Double?) {
        bytes.withUnsafeBufferPointer { b in
            let s = ByteScanner(b)
            return (PostfixParser.delay(s, 0..<b.count), s.double(0..<b.count))
        }
    }

    static func same(_ a: Double?, _ b: Double?) -> Bool {
        switch (a, b) {
        case (nil, nil): return true
        case let (x?, y?): return x.bitPattern == y.bitPattern
        default: return false
        }
    }

    @Test func listedValues() {
        let cases = ["0.24", "0", "0.1", "44899", "1.", ".5", ".", "", "1.2.3", "1e3", "-1", "+1", " 1", "1 ",
                     "123456789012345", "1234567890123456", "0.0000000000000000000001", "0.00000000000000000000001",
                     "3.14159", "00.10", "1,5", "nan", "inf"]
        for text in cases {
            let (fast, general) = Self.both(Array(text.utf8))
            #expect(Self.same(fast, general), "\(text): \(String(describing: fast)) vs \(String(describing: general))")
        }
        #expect(Self.both(Array("0.24".utf8)).0 == 0.24)
    }

    @Test func randomValuesMatchDouble() {
        var rng = SplitMix64(seed: 0xDE1A_7)
        let alphabet = Array("01234567890123456789....eE+- x".utf8)
        var wrong: [String] = []
        for _ in 0..<100_000 {
            let n = Int(rng.next() % 31)
            var bytes: [UInt8] = []
            let plain = rng.next() % 2 == 0
            for k in 0..<n {
                if plain { bytes.append(k == n / 2 && rng.next() % 2 == 0 ? 0x2E : 0x30 + UInt8(rng.next() % 10)) }
                else { bytes.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            }
            let (fast, general) = Self.both(bytes)
            if !Self.same(fast, general) { wrong.append(String(decoding: bytes, as: UTF8.self)) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
