// ByteScannerVectorTests: the sixteen-bytes-at-a-time searches (`firstOf`, `alnumEnd`, and
// `smIDEnd`, `smAngle` on them) against byte-by-byte definitions, at every start and end in
// seeded random buffers of 0-70 bytes (so hits fall in full blocks, in the byte-by-byte rest
// and nowhere), with the searched bytes, letters, digits, `@`, `[`, `` ` ``, `{`, `/`, `:`
// (the class edges), high bytes and NULs.
// Limits: buffers of up to 70 bytes.

import Testing
import MailTrailModel
@testable import MTAParsing

@Suite struct ByteScannerVectorTests {
    static let alphabet: [UInt8] = Array("<>\",aZz09@[`{/: ".utf8) + [0x00, 0x80, 0xC3, 0xFF, 0x41, 0x7A, 0x30, 0x39]

    static func buffers() -> [[UInt8]] {
        var rng = SplitMix64(seed: 0x16B7_7E5)
        var out: [[UInt8]] = []
        for n in 0...70 {
            for _ in 0..<4 {
                // Mostly letters and digits (long ID-like runs), some of every other byte.
                out.append((0..<n).map { _ in
                    rng.next() % 4 == 0 ? alphabet[Int(rng.next() % UInt64(alphabet.count))]
                        : Array("aB3xY9".utf8)[Int(rng.next() % 6)]
                })
            }
        }
        return out
    }

    @Test func firstOfMatchesTheDefinition() {
        for bytes in Self.buffers() {
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for from in 0...bytes.count {
                    for to in from...bytes.count {
                        let want = (from..<to).first { bytes[$0] == Byte.gt || bytes[$0] == Byte.quote || bytes[$0] == Byte.comma } ?? to
                        #expect(s.firstOf(Byte.gt, Byte.quote, Byte.comma, from: from, to: to) == want)
                        let at = UInt8(ascii: "@")
                        let wantAt = (from..<to).first { bytes[$0] == at } ?? to
                        #expect(s.firstOf(at, at, at, from: from, to: to) == wantAt)
                    }
                }
            }
        }
    }

    @Test func alnumEndAndSmAngleMatchTheDefinitions() {
        for bytes in Self.buffers() {
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for from in 0...bytes.count {
                    let want = (from..<bytes.count).first { !Byte.isAlnum(bytes[$0]) } ?? bytes.count
                    #expect(s.alnumEnd(from: from) == want)
                    #expect(s.smIDEnd(from: from) == want)
                    // smAngle: the first `>` with no `"` before it and a terminator after it, else scanAddress.
                    guard from < bytes.count else { continue }
                    let stop = (from + 1..<bytes.count).first { bytes[$0] == Byte.gt || bytes[$0] == Byte.quote }
                    let got = s.smAngle(at: from)
                    if let j = stop, bytes[j] == Byte.gt,
                       j + 1 == bytes.count || [Byte.comma, Byte.space, Byte.colon, Byte.semicolon, Byte.rparen].contains(bytes[j + 1]) {
                        #expect(got?.content == (from + 1)..<j && got?.next == j + 1)
                    } else {
                        let general = s.scanAddress(at: from)
                        #expect(got?.content == general?.content && got?.next == general?.next)
                    }
                }
            }
        }
    }
}
