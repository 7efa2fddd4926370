// PostfixQueueIDPrefixTests: `queueIDPrefix`'s sixteen-byte reading of the short form against
// `queueIDPrefixLoop` (the byte-by-byte definition) on listed bodies and on seeded random ones
// built from hex digits, other letters and digits, vowels, `z`, colons, spaces and high bytes;
// and `hexMask` / `alnumMask` against the byte tests `[0-9A-F]` / `idClass` alphanumeric for
// every byte value in every position. Session-line words (`connect from`, `Anonymous TLS`),
// which the word run answers without the loop, are among the listed bodies.
// Limits: bodies of up to 40 bytes (the prefix reads at most 32).

import Testing
import MailTrailModel
@testable import MTAParsing

@Suite struct PostfixQueueIDPrefixTests {
    static func both(_ bytes: [UInt8]) -> (Range<Int>?, Range<Int>?) {
        bytes.withUnsafeBufferPointer { b in
            let s = ByteScanner(b)
            return (PostfixParser.queueIDPrefix(s), PostfixParser.queueIDPrefixLoop(s))
        }
    }

    @Test func listedBodies() {
        let cases: [(String, Range<Int>?)] = [
            ("3F1A2B4C5D: client=x[1.2.3.4]", 0..<10), ("3F1A2B: removed and more text", 0..<6),
            ("3F1A2: too short of an id here", nil), ("ABCDEF0123456789: sixteen hex digits", 0..<16),
            ("ABCDEF012345678: fifteen hex digits", 0..<15), ("connect from mail.example.org[1.2.3.4]", nil),
            ("4Xc1Ln5zVbz9tyq: client=long form id here", 0..<15), ("3F1A2B4C5D:client=no space here", nil),
            ("3F1A2B4C5D removed without a colon ok", nil), ("NOQUEUE: reject: RCPT from x[1.2.3.4]", nil),
            ("3f1a2b4c5d: lowercase hex is not the short form", nil), ("3F1A2B4C5D:", 0..<10),
            ("connect from mail.example.org[192.0.2.1]", nil), ("disconnect from unknown[192.0.2.1] ehlo=1", nil),
            ("Anonymous TLS connection established from x", nil), ("NOQUEUE: reject: RCPT from x[1.2.3.4]: 554", nil),
            ("Trusted TLS connection established to x[1.2.3.4]", nil), ("warning: hostname x does not resolve", nil),
            ("4Xc1Ln5zVbz9tyqbcdfg: long form of twenty", 0..<20), ("bcdfghjklmnpqrstvwz: nineteen", 0..<19),
            ("bcdfghjklmnpqrstvwxyzbcdfghjklmnpqr: too long", nil), ("abcdefghijklmnopq: a vowel", nil),
            ("statistics: max connection rate 1/60s", nil), ("ABCDEF0123456789Z: seventeen alnums", nil),
        ]
        for (text, expected) in cases {
            let bytes = Array(text.utf8)
            let (fast, loop) = Self.both(bytes)
            #expect(fast == loop, "\(text)")
            #expect(fast == expected, "\(text)")
        }
    }

    @Test func randomBodiesMatchTheLoop() {
        var rng = SplitMix64(seed: 0x51D_0F1D)
        let hex = Array("0123456789ABCDEF".utf8), other = Array("GHJKLMNPQRSTVWXYbcdfghjklmnpqrstvwxyz".utf8)
        let special: [UInt8] = [0x3A, 0x20, 0x41, 0x45, 0x61, 0x65, 0x7A, 0x80, 0xC1, 0xFF, 0x2F, 0x40, 0x47, 0x60]
        var wrong: [String] = []
        for _ in 0..<100_000 {
            let n = 16 + Int(rng.next() % 25)
            let hexRun = Int(rng.next() % 20)
            var bytes: [UInt8] = []
            for k in 0..<n {
                let r = rng.next() % 10
                if k < hexRun && r < 8 { bytes.append(hex[Int(rng.next() % 16)]) }
                else if r < 5 { bytes.append(special[Int(rng.next() % UInt64(special.count))]) }
                else if r < 8 { bytes.append(other[Int(rng.next() % UInt64(other.count))]) }
                else { bytes.append(UInt8(truncatingIfNeeded: rng.next())) }
            }
            if rng.next() % 3 == 0 && hexRun < n - 1 { bytes[hexRun] = 0x3A; bytes[hexRun + 1] = 0x20 }
            let (fast, loop) = Self.both(bytes)
            if fast != loop { wrong.append("\(bytes)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func alnumMaskIsTheClassTableInEveryPosition() {
        for b in 0...255 {
            let isAlnum = PostfixParser.idClassOf(UInt8(b)) & PostfixParser.alnumClass != 0
            for k in 0..<8 {
                for fill: UInt64 in [0x4141_4141_4141_4141, 0xFFFF_FFFF_FFFF_FFFF, 0x2020_2020_2020_2020, 0x7A7A_7A7A_7A7A_7A7A] {
                    let shift = UInt64(k * 8)
                    let w = fill & ~(UInt64(0xFF) << shift) | UInt64(b) << shift
                    let bit = PostfixParser.alnumMask(w) & (UInt64(0x80) << shift) != 0
                    #expect(bit == isAlnum, "byte \(b) at \(k) among \(fill)")
                }
            }
        }
    }

    @Test func hexMaskIsTheByteTestInEveryPosition() {
        for b in 0...255 {
            let isHex = (0x30...0x39).contains(b) || (0x41...0x46).contains(b)
            for k in 0..<8 {
                // The byte at position k among neighbours that are hex, then not hex (carries would show).
                for fill: UInt64 in [0x4141_4141_4141_4141, 0xFFFF_FFFF_FFFF_FFFF, 0x2020_2020_2020_2020] {
                    let shift = UInt64(k * 8)
                    let w = fill & ~(UInt64(0xFF) << shift) | UInt64(b) << shift
                    let bit = PostfixParser.hexMask(w) & (UInt64(0x80) << shift) != 0
                    #expect(bit == isHex, "byte \(b) at \(k) among \(fill)")
                }
            }
        }
    }
}
