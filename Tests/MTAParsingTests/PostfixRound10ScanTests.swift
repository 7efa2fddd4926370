// PostfixRound10ScanTests: the cheaper Postfix parser forms of round 10 against the forms they
// replace, on exact values — `delays=` parts of Postfix's short shapes (`D`, `D.D`, `D.DD`)
// read by their shape (`shortPart`) before `plainDecimal`, against the general path
// (`ByteScanner.double` per part) on every four-part combination of short, near-short and
// malformed parts, and on seeded random texts; a delivery item's `, KEY=` read as one word
// (`usualDeliveryItemWord`) against the `, ` check and `usualDeliveryItem` after it, on every
// key the parser knows, near misses and every cut of them; a qmgr line's `, size=N, nrcpt=M`
// by words (`qmgrSizeAndCount`) against the item-by-item reading it stands before.
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

    /// The words are the literals' bytes.
    @Test func deliveryKeyWordsAreTheLiterals() {
        func word(_ t: String) -> UInt64 {
            var w: UInt64 = 0
            for (k, b) in t.utf8.enumerated() { w |= UInt64(b) << (8 * UInt64(k)) }
            return w
        }
        #expect(PostfixParser.commaRelayWord == word(", relay="))
        #expect(PostfixParser.commaDelayWord == word(", delay="))
        #expect(PostfixParser.commaDelaysWord == word(", delays"))
        #expect(PostfixParser.commaDSNWord == word(", dsn="))
        #expect(PostfixParser.commaStatusWord == word(", status"))
    }

    /// Where the word reading answers, it answers what the `, ` check and `usualDeliveryItem`
    /// answer; it answers for every usual key with nine bytes to read.
    @Test func deliveryKeyWordEqualsTheLiteralReading() {
        let items = [", relay=mx[1.2.3.4]:25", ", delay=0.2", ", delays=0/0/0/0", ", dsn=2.0.0", ", status=sent (ok)",
                     ", orig_to=<a@b>", ", conn_use=2", ", tls=x", ", relays=x", ", relay", ", delayed=1", ", delays ",
                     ", dsn:2.0.0", ", dsnx=1", ", statuses=1", ", status ", ",  relay=x", "; relay=x", ",relay=x",
                     ", Relay=x", ", delay=", ", dsn=", ", status=", ", delays=", ", relay=", ", x=1", ""]
        var answered = 0
        for item in items {
            let full = Array(item.utf8)
            for cut in 0...full.count {
                for pad in [0, 1, 4] {
                    let text = Array(full[0..<cut]) + Array(repeating: UInt8(ascii: "z"), count: pad)
                    text.withUnsafeBufferPointer { buf in
                        let s = ByteScanner(buf)
                        let simple: (PostfixParser.DeliveryItem, Int)? =
                            s.has(", ", at: 0) ? PostfixParser.usualDeliveryItem(s, at: 2) : nil
                        if let w = PostfixParser.usualDeliveryItemWord(s, at: 0) {
                            answered += 1
                            #expect(simple?.0 == w.0 && simple?.1 == w.1, "\(item) cut \(cut) pad \(pad)")
                        } else if let simple, buf.count >= 9 {
                            Issue.record("no word answer for \(simple) in \(item) cut \(cut) pad \(pad)")
                        }
                    }
                }
            }
        }
        #expect(answered > 50)
    }

    /// The item-by-item reading of a qmgr `from=<...>` line's `, size=..., nrcpt=...` (the
    /// parser's code before the word reading): nil when it does not read a size item.
    static func sizeAndCountSimple(_ s: ByteScanner, at next: Int) -> (Int64?, Int?)? {
        guard s.has(", ", at: next) else { return nil }
        let j = next + 2
        guard s.has("size=", at: j) else { return nil }
        let sizeEnd = s.scan(from: j + 5, until: Byte.comma, Byte.space)
        let size = s.int((j + 5)..<sizeEnd).map(Int64.init)
        var nrcpt: Int? = nil
        if s.has(", nrcpt=", at: sizeEnd) {
            let k = sizeEnd + 8
            nrcpt = s.int(k..<s.digitsEnd(from: k))
        }
        return (size, nrcpt)
    }

    /// Where the word reading answers, the item-by-item reading gives the same size and count;
    /// the word reading answers the usual form.
    @Test func qmgrSizeAndCountEqualsTheItemReading() {
        let tails = [", size=10561, nrcpt=1 (queue active)", ", size=1461, nrcpt=12 (queue active)", ", size=0, nrcpt=0",
                     ", size=, nrcpt=1", ", size=1x, nrcpt=1", ", size=123 , nrcpt=1", ", size=1234567890123456789, nrcpt=1",
                     ", size=123456789012345678, nrcpt=123456789012345678", ", size=12, nrcpt=", ", size=12, nrcpt=3x",
                     ", size=12, nrcpt=1234567890123456789", ", size=12,nrcpt=3", ", size=12", ", size=12, nrcpt=-1",
                     ", status=expired, returned to sender", ",  size=1, nrcpt=1", ", Size=1, nrcpt=1", ", size=1, nrcpts=1",
                     ", size=1; nrcpt=1", ""]
        var answered = 0
        for tail in tails {
            let full = Array("from=<a@b>".utf8) + Array(tail.utf8)
            for cut in 10...full.count {
                let text = Array(full[0..<cut])
                text.withUnsafeBufferPointer { buf in
                    let s = ByteScanner(buf)
                    let simple = Self.sizeAndCountSimple(s, at: 10)
                    if let w = PostfixParser.qmgrSizeAndCount(s, at: 10) {
                        answered += 1
                        #expect(simple?.0 == w.0 && simple?.1 == w.1, "\(tail) cut \(cut)")
                    }
                }
            }
        }
        #expect(answered > 40)
        let usual = Array("from=<a@b>, size=10561, nrcpt=3 (queue active)".utf8)
        usual.withUnsafeBufferPointer { buf in
            let w = PostfixParser.qmgrSizeAndCount(ByteScanner(buf), at: 10)
            #expect(w?.0 == 10561 && w?.1 == 3)
        }
        #expect(PostfixParser.commaSizeWord == Array(", size=".utf8).enumerated().reduce(0) { $0 | UInt64($1.1) << (8 * UInt64($1.0)) })
        #expect(PostfixParser.commaNrcptWord == Array(", nrcpt=".utf8).enumerated().reduce(0) { $0 | UInt64($1.1) << (8 * UInt64($1.0)) })
    }
}
