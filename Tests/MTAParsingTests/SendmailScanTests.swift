// SendmailScanTests: the word-at-a-time Sendmail scanners against their byte-by-byte
// definitions: `smIDEnd` (letters and digits, eight at a time) on every byte value at every
// position, and `smFields` (whose `<addr>, key=` shortcut must end values where
// `smValueEnd` does) on generated and malformed `from=` records; `smCommaSpaceNear` (two words
// searched in place, then `smCommaSpace`) against `smCommaSpace` on every position of generated
// bodies rich in commas and spaces.
// Limits: generated forms only (seeded, deterministic), not a fuzzer.

import Testing
@testable import MTAParsing
import MailTrailModel

@Suite struct SendmailScanTests {
    /// `smIDEnd` by its definition: the first byte at or after `i` that is not a letter or digit.
    static func idEndByBytes(_ b: [UInt8], from i: Int) -> Int {
        var j = i
        while j < b.count && Byte.isAlnum(b[j]) { j += 1 }
        return j
    }

    @Test func commaSpaceNearAgreesWithCommaSpace() {
        var rng = SplitMix64(seed: 61)
        let alphabet = Array(", ,a=0\u{FF}".utf8)
        var wrong: [String] = []
        for round in 0..<3_000 {
            let n = Int(rng.next() % 40)
            let bytes = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for from in 0...n {
                    let got = s.smCommaSpaceNear(from: from), want = s.smCommaSpace(from: from)
                    if got != want { wrong.append("round \(round) from \(from): \(String(describing: got)) != \(String(describing: want))") }
                }
            }
        }
        // The usual values: a comma after 0, 7, 8, 15, 16, 17 and 30 bytes, and none.
        for k in [0, 7, 8, 15, 16, 17, 30] {
            let bytes = Array((String(repeating: "x", count: k) + ", key=v").utf8)
            bytes.withUnsafeBufferPointer { buf in #expect(ByteScanner(buf).smCommaSpaceNear(from: 0) == k) }
        }
        Array("no comma at all here".utf8).withUnsafeBufferPointer { buf in
            #expect(ByteScanner(buf).smCommaSpaceNear(from: 0) == nil)
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func idEndAgreesWithByteLoopForEveryByte() {
        var wrong: [String] = []
        for v in 0...255 {
            for pos in 0..<20 {
                var bytes = Array("42100bwA020177AbCdEfGh".utf8)
                guard pos < bytes.count else { continue }
                bytes[pos] = UInt8(v)
                for from in [0, 1, 3] {
                    bytes.withUnsafeBufferPointer { buf in
                        let got = ByteScanner(buf).smIDEnd(from: from)
                        let want = Self.idEndByBytes(bytes, from: from)
                        if got != want { wrong.append("byte \(v) at \(pos) from \(from): \(got) != \(want)") }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        // Short bodies (no whole word) and an ID running to the end.
        for s in ["", "a", "abc:", "42100bwA020177", "42100bwA020177: x"] {
            let bytes = Array(s.utf8)
            bytes.withUnsafeBufferPointer { buf in
                #expect(ByteScanner(buf).smIDEnd(from: 0) == Self.idEndByBytes(bytes, from: 0))
            }
        }
    }

    /// The fields of a record as (key, value, content) through `smFields`, and the same through
    /// the general value scan (each value ended by `smValueEnd`, each address by `smAddress`).
    static func fields(_ text: String) -> (fast: [String], general: [String]) {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            func str(_ r: Range<Int>) -> String { String(decoding: bytes[r], as: UTF8.self) }
            var fast: [String] = []
            let stop = s.smFields(from: 0, to: s.end) { (kw: UInt64, k: Range<Int>, v: Range<Int>, c: Range<Int>?) in
                let content = (kw == SMKey.from_ || kw == SMKey.msgid) ? (c ?? s.smAddress(v)) : v
                fast.append("\(str(k))=\(str(v))|\(str(content))")
            }
            fast.append("stop \(stop)")
            var general: [String] = []
            var i = 0
            var end = s.end
            while i < s.end {
                guard let eq = s.smKeyEnd(i, to: s.end) else { end = i; break }
                let kw = s.smKeyWord(i..<eq)
                let v0 = eq + 1
                let vEnd: Int
                if kw == SMKey.stat || kw == SMKey.reject {
                    vEnd = s.end
                } else if kw == SMKey.reply, let st = s.findLast(", stat=", from: v0, to: s.end) {
                    vEnd = st
                } else if v0 < s.end, s[v0] == Byte.lt, kw == SMKey.msgid || kw == SMKey.from_,
                          let a = s.scanAddress(at: v0), a.next <= s.end {
                    vEnd = a.next < s.end ? s.smValueEnd(from: a.next, to: s.end) : s.end
                } else {
                    vEnd = s.smValueEnd(from: v0, to: s.end)
                }
                let v = v0..<vEnd
                let content = (kw == SMKey.from_ || kw == SMKey.msgid) ? s.smAddress(v) : v
                general.append("\(str(i..<eq))=\(str(v))|\(str(content))")
                i = vEnd + 2
            }
            general.append("stop \(i >= s.end ? s.end : end)")
            return (fast, general)
        }
    }

    @Test func addressShortcutEndsValuesAsTheGeneralScan() {
        let addresses = ["<a@b.example>", "<>", "<\"x, y=z\"@b.example>", "<a@b>x", "<a@b", "<a>b@c>", "a@b",
                         "<\"a@b>", "<a@b>,", "<a@b>, ", "<a@b> , size=1", "<a@b>,size=1", "<a@b>;"]
        let tails = ["", ", size=10561, class=0", ", ", ", x", ", discard", ", Size=1", ", size", ", =1",
                     ", msgid=<m@h>, relay=[10.0.0.1]", ",, size=1", ", size=1, x=<a>, y=2", " (x), size=1"]
        var wrong: [String] = []
        var n = 0
        for key in ["from", "msgid"] {
            for a in addresses {
                for t in tails {
                    let text = "\(key)=\(a)\(t)"
                    let (fast, general) = Self.fields(text)
                    if fast != general { wrong.append("\(text): \(fast) != \(general)") }
                    n += 1
                }
            }
        }
        // Seeded random records from the same pieces, several fields long.
        var rng = SplitMix64(seed: 42)
        let pieces = addresses + ["10561", "ESMTP", "[10.1.9.15]", "a, b", "\"q\"", ""]
        let keys = ["from", "msgid", "size", "relay", "to"]
        for _ in 0..<2000 {
            var text = ""
            for f in 0..<(1 + Int(rng.next() % 4)) {
                if f > 0 { text += ", " }
                text += keys[Int(rng.next() % UInt64(keys.count))] + "=" + pieces[Int(rng.next() % UInt64(pieces.count))]
            }
            let (fast, general) = Self.fields(text)
            if fast != general { wrong.append("\(text): \(fast) != \(general)") }
            n += 1
        }
        #expect(n == 2 * addresses.count * tails.count + 2000)
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
