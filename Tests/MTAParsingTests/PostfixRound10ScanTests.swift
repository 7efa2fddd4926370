// PostfixRound10ScanTests: the cheaper Postfix parser forms of round 10 against the forms they
// replace, on exact values — `delays=` parts of Postfix's short shapes (`D`, `D.D`, `D.DD`)
// read by their shape (`shortPart`) before `plainDecimal`, against the general path
// (`ByteScanner.double` per part) on every four-part combination of short, near-short and
// malformed parts, and on seeded random texts.
// Limits: deterministic inputs (fixed lists and a fixed seed).

import Testing
@testable import MTAParsing
import MailTrailModel

@Suite struct PostfixRound10ScanTests {
    static func both(_ text: [UInt8]) -> ([Double]?, [Double]?) {
        // The value sits inside a longer line (bytes after it), as in a delivery line.
        let line = Array("delays=".utf8) + text + Array(", dsn=2.0.0".utf8)
        return line.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            let r = 7..<(7 + text.count)
            let fast = PostfixParser.delays(s, r).map { [$0.0, $0.1, $0.2, $0.3] }
            let general = PostfixParser.delaysGeneral(s, r).map { [$0.0, $0.1, $0.2, $0.3] }
            return (fast, general)
        }
    }

    /// Every combination of four parts from short shapes, their neighbours and malformed parts.
    @Test func shortPartsEqualTheGeneralPath() {
        let parts = ["0", "7", "0.1", "0.07", "1.2", "9.99", "12", "0.123", "1.", "0.", ".5", "", "00", "0.0",
                     "x", "1e2", "0.1.", "-1"]
        var checked = 0, parsed = 0
        for a in parts { for b in parts { for c in parts { for d in parts {
            let text = Array("\(a)/\(b)/\(c)/\(d)".utf8)
            let (fast, general) = Self.both(text)
            #expect(fast == general, "\(a)/\(b)/\(c)/\(d)")
            checked += 1
            if fast != nil { parsed += 1 }
        } } } }
        #expect(checked == 18 * 18 * 18 * 18)
        #expect(parsed > 10_000)
        // Fewer or more parts, and a part that ends the text in the middle of a short shape.
        for text in ["0/0/0", "0/0/0/0/0", "0.0", "0/0/0/0.", "0/0/0/0.1/", "0.07/0/0/0.0"] {
            let (fast, general) = Self.both(Array(text.utf8))
            #expect(fast == general, "\(text)")
        }
        #expect(Self.both(Array("0.07/0/0.1/2.5".utf8)).0 == [0.07, 0, 0.1, 2.5])
    }

    /// Seeded random texts over digits, `.`, `/` and a few other bytes.
    @Test func randomTextsEqualTheGeneralPath() {
        let alphabet = Array("0123456789./././e- ".utf8)
        var rng = SplitMix64(seed: 20261122)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 24)
            let text = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            let (fast, general) = Self.both(text)
            #expect(fast == general, "\(String(decoding: text, as: UTF8.self))")
        }
    }
}
