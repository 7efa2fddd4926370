// SendmailWordsTests: `SendmailWords.literal` returns exactly the String the bytes make, or nil —
// for every listed word (read in place and at the end of the buffer, where the bytes are read
// one by one), near misses (case, a byte more or less, trailing NUL bytes, another word's bytes
// at another length) and seeded random spans.
// Limits: generated cases only, not a fuzzer.

import Testing
import MailTrailModel
@testable import Correlation

@Suite struct SendmailWordsTests {
    static let words = ["2.0.0", "esmtp", "local", "relay", "smtp", "ESMTP", "ESMTPS", "ESMTPSA", "ESMTPA", "SMTP",
                        "PLAIN", "LOGIN", "550", "554", "553", "450", "451", "452", "421", "5.1.1", "5.7.1", "4.7.1",
                        "4.4.1", "4.2.0", "5.2.2"]

    /// What `literal` must give for `bytes`: their String when it is one of the words, else nil.
    static func expected(_ bytes: [UInt8]) -> String? {
        let s = String(decoding: bytes, as: UTF8.self)
        return words.contains(s) && Array(s.utf8) == bytes ? s : nil
    }

    /// The literal for `bytes` placed after `pad` bytes, with `tail` bytes after them.
    static func literal(_ bytes: [UInt8], pad: Int = 0, tail: [UInt8] = []) -> String? {
        let buf = [UInt8](repeating: 0x78, count: pad) + bytes + tail
        return buf.withUnsafeBufferPointer { p in
            SendmailWords.literal(Span(pad..<(pad + bytes.count)), LineBytes(base: p.baseAddress!, count: p.count))
        }
    }

    @Test func wordsAndNearMisses() {
        for w in Self.words {
            let b = Array(w.utf8)
            #expect(Self.literal(b) == w)
            #expect(Self.literal(b, pad: 3, tail: Array(", x=1".utf8)) == w)
            #expect(Self.literal(b, pad: 1, tail: [0]) == w)
            // Near misses: nil, unless they spell another word (`ESMTPS` less a byte is `ESMTP`).
            for near in [b + [0], Array(b.dropLast()), b + Array("x".utf8), Array(w.lowercased().utf8),
                         Array(w.uppercased().utf8)] {
                #expect(Self.literal(near) == Self.expected(near), "\(near)")
            }
        }
        #expect(Self.literal([]) == nil)
        let absent = [UInt8](repeating: 0, count: 8).withUnsafeBufferPointer { p in
            SendmailWords.literal(.absent, LineBytes(base: p.baseAddress!, count: 8))
        }
        #expect(absent == nil)
    }

    @Test func randomSpansGiveTheirStringOrNil() {
        var rng = SplitMix64(seed: 91)
        let alphabet: [UInt8] = Array("2.0esmtplocalrayESMTPALOGINx54.17".utf8) + [0, 0xFF]
        var wrong: [String] = []
        var hits = 0
        for round in 0..<50_000 {
            var b: [UInt8]
            if round % 4 == 0 {
                b = Array(Self.words[Int(rng.next() % UInt64(Self.words.count))].utf8)
                if rng.next() % 2 == 0, !b.isEmpty { b[Int(rng.next() % UInt64(b.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            } else {
                b = (0..<Int(rng.next() % 10)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            }
            let pad = Int(rng.next() % 3), tail = (0..<Int(rng.next() % 9)).map { _ in UInt8(0x61) }
            let got = Self.literal(b, pad: pad, tail: tail)
            if let got {
                hits += 1
                if got != String(decoding: b, as: UTF8.self) || !Self.words.contains(got) { wrong.append("\(b) -> \(got)") }
            } else if let s = String(validating: b, as: UTF8.self), Self.words.contains(s) {
                wrong.append("\(b) -> nil")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(hits > 5_000)
    }
}
