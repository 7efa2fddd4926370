// LineSplitterTests: framing of byte chunks into lines, checked against a
// `split` oracle for every chunk size (swift-nio style sweep), plus the
// line-length cap and the end-of-input tail.

import Testing
import SyslogFraming

/// One expected/observed line: content, offset, number, truncated flag.
struct SplitLine: Equatable, CustomStringConvertible {
    var bytes: [UInt8]; var offset: Int64; var number: Int64; var truncated: Bool
    var description: String { "#\(number)@\(offset)\(truncated ? "T" : ""):\(String(decoding: bytes, as: UTF8.self).debugDescription)" }
}

/// The oracle: `split` on `\n`, strip one `\r`, cut at `cap`; the unterminated rest is returned separately.
func oracle(_ input: [UInt8], cap: Int) -> (lines: [SplitLine], tail: [UInt8]) {
    var parts = input.split(separator: 10, omittingEmptySubsequences: false).map(Array.init)
    let tail = parts.removeLast()   // bytes after the last \n (empty if input ends with \n)
    var out: [SplitLine] = []
    var offset: Int64 = 0
    for (i, p) in parts.enumerated() {
        var c = p
        if c.last == 13 { c.removeLast() }
        let truncated = c.count > cap
        out.append(SplitLine(bytes: Array(c.prefix(cap)), offset: offset, number: Int64(i + 1), truncated: truncated))
        offset += Int64(p.count + 1)
    }
    return (out, tail)
}

/// Feeds `input` in chunks of `size` bytes and collects the lines (and the tail via `finish`).
func split(_ input: [UInt8], chunkSize size: Int, cap: Int) -> (lines: [SplitLine], last: SplitLine?, pending: Int64) {
    var s = LineSplitter(maxLineLength: cap)
    var out: [SplitLine] = []
    var i = 0
    while i < input.count {
        let chunk = Array(input[i..<min(input.count, i + size)])
        s.feed(chunk) { buf, line in
            out.append(SplitLine(bytes: Array(buf), offset: line.offset, number: line.number, truncated: line.truncated))
        }
        i += size
    }
    let pending = s.pendingByteCount
    var last: SplitLine?
    s.finish { buf, line in
        last = SplitLine(bytes: Array(buf), offset: line.offset, number: line.number, truncated: line.truncated)
    }
    return (out, last, pending)
}

let splitterInputs: [String] = [
    "",
    "\n",
    "a\nbb\nccc\n",
    "no newline at all",
    "line one\r\nline two\r\n\r\nlast without newline\r",
    "\n\n\nx\n\ny",
    "Jan  5 09:12:01 mx1 postfix/smtpd[2101]: connect from mail.example.org[203.0.113.5]\n"
        + "Jan  5 09:12:02 mx1 postfix/cleanup[2105]: 4T9x2B1kQPz9sQk: message-id=<abc123@example.org>\n",
    "\r\n\r\r\n\ré\n",
    String(repeating: "x", count: 40) + "\n" + String(repeating: "y", count: 17) + "\r\n" + "z",
]

@Suite struct LineSplitterTests {
    @Test(arguments: splitterInputs)
    func everyChunkSizeMatchesSplit(_ text: String) {
        let input = Array(text.utf8)
        for cap in [LineSplitter.defaultMaxLineLength, 8] {
            let expected = oracle(input, cap: cap)
            for size in 1...max(1, input.count + 1) {
                let got = split(input, chunkSize: size, cap: cap)
                #expect(got.lines == expected.lines, "chunk size \(size), cap \(cap)")
                #expect(got.pending == Int64(expected.tail.count), "chunk size \(size), cap \(cap)")
                if expected.tail.isEmpty {
                    #expect(got.last == nil)
                } else {
                    var t = expected.tail
                    if t.last == 13 { t.removeLast() }
                    let off = Int64(input.count - expected.tail.count)
                    let want = SplitLine(bytes: Array(t.prefix(cap)), offset: off,
                                         number: Int64(expected.lines.count + 1), truncated: t.count > cap)
                    #expect(got.last == want, "chunk size \(size), cap \(cap)")
                }
            }
        }
    }

    @Test func longLineIsCutAndFlaggedWithBoundedMemory() {
        // A 3 MiB line fed in 64 KiB chunks is delivered as 1 MiB, truncated; the next line is intact.
        var s = LineSplitter()
        let chunk = [UInt8](repeating: 0x61, count: 65_536)
        var got: [(Int, LineSplitter.Line)] = []
        for _ in 0..<48 { s.feed(chunk) { b, l in got.append((b.count, l)) } }
        #expect(got.isEmpty)
        #expect(s.pendingByteCount == 48 * 65_536)
        s.feed(Array("\nnext\n".utf8)) { b, l in got.append((b.count, l)) }
        #expect(got.count == 2)
        #expect(got[0].0 == LineSplitter.defaultMaxLineLength)
        #expect(got[0].1 == LineSplitter.Line(offset: 0, number: 1, truncated: true, rawLength: 48 * 65_536))
        #expect(got[1].0 == 4)
        #expect(got[1].1 == LineSplitter.Line(offset: 48 * 65_536 + 1, number: 2, truncated: false, rawLength: 4))
        #expect(s.nextOffset == 48 * 65_536 + 6)
        #expect(s.nextLineNumber == 3)
    }

    @Test func tailIsExposedButNotALine() {
        var s = LineSplitter()
        var lines = 0
        s.feed(Array("a\npartial".utf8)) { _, _ in lines += 1 }
        #expect(lines == 1)
        #expect(s.pendingByteCount == 7)
        #expect(s.nextOffset == 2)
        let tail = s.withPendingTail { b, truncated in (String(decoding: b, as: UTF8.self), truncated) }
        #expect(tail.0 == "partial" && tail.1 == false)
        s.feed(Array(" line\n".utf8)) { b, l in
            #expect(String(decoding: b, as: UTF8.self) == "partial line")
            #expect(l.offset == 2 && l.number == 2)
        }
        #expect(s.pendingByteCount == 0)
        #expect(s.finish { _, _ in Issue.record("no tail expected") } == false)
    }

    @Test func resumesAtACheckpoint() {
        var s = LineSplitter(startOffset: 1_000, startLine: 41)
        var seen: [LineSplitter.Line] = []
        s.feed(Array("x\nyy\n".utf8)) { _, l in seen.append(l) }
        #expect(seen == [LineSplitter.Line(offset: 1_000, number: 41, truncated: false, rawLength: 1),
                         LineSplitter.Line(offset: 1_002, number: 42, truncated: false, rawLength: 2)])
    }
}
