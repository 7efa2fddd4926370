// SendmailWordCompareTests: the Sendmail parser's word compares against their byte-by-byte
// definitions — `smIsNextKey` (`, KEY=` as one or two loads) against `smIsNextKeySimple` for
// every key the fast paths expect, at every position of listed and seeded random bodies (the
// pattern with each byte changed, cut short at every length, near the end of the bytes), and
// `smHas` (a literal of 1 to 8 bytes as one masked load) against `has(_:at:)` for every
// `SMWord` the dispatch uses, likewise; the `SMWord` constants are the bytes of their literals.
// `smDigits` against `digitsEnd` + `int`, `smIsHMS` against its byte definition, `smHMS` (check
// and value from one word) against `smIsHMS` + `smDelay`,
// `smAcceptedID` (its literal as four words) against the same check with `has(_:at:)`, and a
// `ctladdr=` address by its usual-form shortcut against the address before the last ` (`; a bare
// `to=` recipient against what `toList` gives.
// Limits: generated forms only (seeded, deterministic), not a fuzzer.

import Testing
@testable import MTAParsing
import MailTrailModel

@Suite struct SendmailWordCompareTests {
    /// Every key the record fast paths check, with its length.
    static let keys: [(String, UInt64)] = [
        ("size", SMKey.size), ("class", SMKey.class_), ("nrcpts", SMKey.nrcpts), ("msgid", SMKey.msgid),
        ("bodytype", SMKey.bodytype), ("proto", SMKey.proto), ("daemon", SMKey.daemon), ("relay", SMKey.relay),
        ("ctladdr", SMKey.ctladdr), ("delay", SMKey.delay), ("xdelay", SMKey.xdelay), ("mailer", SMKey.mailer),
        ("pri", SMKey.pri), ("dsn", SMKey.dsn), ("stat", SMKey.stat), ("version", SMKey.version),
        ("verify", SMKey.verify), ("cipher", SMKey.cipher), ("bits", SMKey.bits), ("authid", SMKey.authid),
        ("mech", SMKey.mech), ("auth", SMKey.auth), ("to", SMKey.to_), ("from", SMKey.from_),
    ]

    /// The dispatch words with their literals.
    static let words: [(String, UInt64)] = [
        ("NOQUEUE:", SMWord.noqueue), ("from=", SMWord.from_), ("to=", SMWord.to_), ("STARTTLS", SMWord.starttls),
        ("AUTH=", SMWord.auth), ("ruleset=", SMWord.ruleset), ("=server,", SMWord.eqServer),
        ("=client,", SMWord.eqClient), (" relay=", SMWord.spRelay), ("AUTH=ser", SMWord.authSer),
        ("ver, ", SMWord.verCommaSp), ("relay=", SMWord.relay), ("Sent", SMWord.sent), (": ", SMWord.colonSp),
        (" ", 0x20), ("=", 0x3D),
    ]

    static func word(_ s: String) -> UInt64 {
        var w: UInt64 = 0
        for (k, b) in s.utf8.enumerated() { w |= UInt64(b) << (UInt64(k) * 8) }
        return w
    }

    /// Checks both forms at every position of `bytes` for every key; returns the disagreements.
    static func checkKeys(_ bytes: [UInt8], _ label: String) -> [String] {
        var wrong: [String] = []
        bytes.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            for (name, key) in keys {
                for e in 0...(bytes.count + 1) {
                    let got = s.smIsNextKey(e, key, name.utf8.count), want = s.smIsNextKeySimple(e, key, name.utf8.count)
                    if got != want { wrong.append("\(label): key \(name) at \(e): \(got) != \(want)") }
                }
            }
        }
        return wrong
    }

    @Test func constantsAreTheirLiterals() {
        for (lit, w) in Self.words { #expect(Self.word(lit) == w, "\(lit)") }
        for (name, key) in Self.keys { #expect(Self.word(name) == key, "\(name)") }
    }

    @Test func nextKeyAgreesWithByteForm() {
        var wrong: [String] = []
        for (name, _) in Self.keys {
            let pattern = Array(", \(name)=".utf8)
            for pad in [0, 1, 5, 8] {
                // The pattern whole, then with each byte changed (to neighbours and to `=`, `,`, ` `, 0x80).
                let base = Array(repeating: UInt8(ascii: "x"), count: pad) + pattern + Array("value, more".utf8)
                wrong += Self.checkKeys(base, "\(name) pad \(pad)")
                for k in 0..<pattern.count {
                    for v: UInt8 in [pattern[k] &+ 1, pattern[k] &- 1, 0x3D, 0x2C, 0x20, 0x80, 0] {
                        var b = base
                        b[pad + k] = v
                        wrong += Self.checkKeys(b, "\(name) pad \(pad) byte \(k)=\(v)")
                    }
                }
                // Cut short at every length (the pattern near and at the end of the bytes).
                let whole = Array(repeating: UInt8(ascii: "x"), count: pad) + pattern
                for cut in 0...whole.count { wrong += Self.checkKeys(Array(whole[0..<cut]), "\(name) pad \(pad) cut \(cut)") }
            }
        }
        // Seeded random bodies from an alphabet rich in key bytes, commas, spaces and `=`.
        var rng = SplitMix64(seed: 97)
        let alphabet = Array(", =sizeclasnrcptmgdbo".utf8)
        for round in 0..<400 {
            let n = Int(rng.next() % 48)
            let bytes = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            wrong += Self.checkKeys(bytes, "round \(round)")
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func hasWordAgreesWithHas() {
        var wrong: [String] = []
        for (lit, w) in Self.words {
            let litBytes = Array(lit.utf8)
            let n = litBytes.count
            for pad in [0, 1, 3, 9] {
                let base = Array(repeating: UInt8(ascii: "y"), count: pad) + litBytes + Array("tail text".utf8)
                var variants: [[UInt8]] = [base]
                for k in 0..<n {
                    for v: UInt8 in [litBytes[k] &+ 1, litBytes[k] ^ 0x20, 0, 0xFF] {
                        var b = base
                        b[pad + k] = v
                        variants.append(b)
                    }
                }
                let whole = Array(repeating: UInt8(ascii: "y"), count: pad) + litBytes
                for cut in 0...whole.count { variants.append(Array(whole[0..<cut])) }
                for b in variants {
                    b.withUnsafeBufferPointer { buf in
                        let s = ByteScanner(buf)
                        for i in -1...(b.count + 1) {
                            let want = i >= 0 && i + n <= b.count && Array(b[i..<(i + n)]) == litBytes
                            let got = s.smHas(i, w, n)
                            if got != want { wrong.append("\(lit) in \(b) at \(i): \(got) != \(want)") }
                        }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func digitsAgreeWithDigitsEndAndInt() {
        var rng = SplitMix64(seed: 131)
        let alphabet = Array("0123456789,x/ 9".utf8)
        var wrong: [String] = []
        var cases: [[UInt8]] = [[], Array("0".utf8), Array(String(repeating: "9", count: 18).utf8),
                                Array(String(repeating: "9", count: 19).utf8), Array("12345, class=0".utf8)]
        for _ in 0..<2_000 {
            let n = Int(rng.next() % 30)
            cases.append((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        for b in cases {
            b.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for i in 0...b.count {
                    let got = s.smDigits(from: i)
                    let e = s.digitsEnd(from: i)
                    if got.end != e || got.value != s.int(i..<e) { wrong.append("\(b) at \(i): \(got)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }

    @Test func hmsAgreesWithItsDefinition() {
        var rng = SplitMix64(seed: 137)
        let alphabet = Array("0123456789::,x".utf8)
        var wrong: [String] = []
        for _ in 0..<5_000 {
            let n = Int(rng.next() % 14)
            let b = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            b.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for v in 0...b.count {
                    let want = v + 8 <= b.count && (0..<8).allSatisfy { k in
                        k == 2 || k == 5 ? b[v + k] == UInt8(ascii: ":") : Byte.isDigit(b[v + k])
                    }
                    if s.smIsHMS(v) != want { wrong.append("\(b) at \(v)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }

    /// `smHMS` (check and value from one word) against `smIsHMS` and `smDelay`: every byte value
    /// at every position of valid `DD:DD:DD`s, seeded random valid ones (all values 00:00:00 to
    /// 99:99:99 are read, as `smDelay` reads them), and every position of short and mixed bodies.
    @Test func hmsValueAgreesWithDelay() {
        var bodies: [[UInt8]] = []
        var rng = SplitMix64(seed: 139)
        for _ in 0..<300 {
            let digits = (0..<6).map { _ in UInt8(ascii: "0") + UInt8(rng.next() % 10) }
            bodies.append([digits[0], digits[1], 0x3A, digits[2], digits[3], 0x3A, digits[4], digits[5]])
        }
        let base = Array("12:34:56".utf8)
        for k in 0..<8 {
            for v in 0...255 { var b = base; b[k] = UInt8(v); bodies.append(b) }
        }
        bodies += ["00:00:00", "99:99:99", "09:59:59", "1:02:03", "01:02:03, xdelay=", "x01:02:03", "+1:00:00:00",
                   "01:02:0", "01-02-03"].map { Array($0.utf8) }
        let alphabet = Array("0123456789:,x".utf8) + [0x80, 0xBA, 0xFF, 0x2F, 0x3B]
        for _ in 0..<3_000 {
            bodies.append((0..<Int(rng.next() % 20)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] })
        }
        var wrong: [String] = []
        var valid = 0
        for b in bodies {
            b.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for v in 0...b.count {
                    let want: Double? = s.smIsHMS(v) ? s.smDelay(v..<(v + 8)) : nil
                    if want != nil { valid += 1 }
                    if s.smHMS(v) != want { wrong.append("\(b) at \(v): \(String(describing: s.smHMS(v))) vs \(String(describing: want))") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
        #expect(valid == 300 + 6 * 10 + 2 + 6)     // random, one byte changed, listed
    }

    /// A `ctladdr=` value's address by the usual-form shortcut (`ctladdrRange`) against the
    /// address before the last ` (` (`ctladdrGeneral`): listed forms and seeded random values of
    /// `<>`, quotes, spaces, parentheses and slashes, at every sub-range of each.
    @Test func ctladdrAgreesWithTheLastSpaceParen() {
        var values = ["<eric@example.com> (3234/3234)", "<a@b> (1/1)", "<a@b>", "a@b (1/1)", "<a@b> (1/1) (2/2)",
                      "<a@b> (1 /1)", "<a@b>  (1/1)", "<\"x y\"@b> (1/1)", "<a@b>(1/1)", "<> (0/0)", "<a@b> (",
                      "<a@b> ( ", "<a (b)@c> (1/1)", "<a@b> (1/1) x", "", "<", "<a@b", "x <a@b> (1/1)"]
        var rng = SplitMix64(seed: 149)
        let alphabet = Array("<>a@b \"(/)1".utf8)
        for _ in 0..<1_500 {
            values.append(String(decoding: (0..<Int(rng.next() % 24)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        var wrong: [String] = []
        for v in values {
            let b = Array(v.utf8)
            b.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for lo in 0...b.count {
                    for hi in lo...b.count {
                        let got = SendmailParser.ctladdrRange(s, lo..<hi), want = SendmailParser.ctladdrGeneral(s, lo..<hi)
                        if got != want { wrong.append("\(v) [\(lo), \(hi)): \(got) vs \(want)") }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }

    /// A `to=` value taken as one bare recipient (`isBareRecipient`) is exactly what `toList` gives
    /// for it (one recipient, the whole value, no ` [more]`): listed and seeded random values at
    /// every sub-range; the shortcut is taken for the usual local users.
    @Test func bareRecipientIsWhatTheListGives() {
        var values = ["eric", "wklein", "a", "", "e ric", "a,b", "<a@b>", "\"a\"", "a [more]", "x@y.z", "a@b,c@d",
                      "root@localhost", "a.b-c_d+e"]
        var rng = SplitMix64(seed: 151)
        let alphabet = Array("ab@.,<> \"[more]".utf8)
        for _ in 0..<1_500 {
            values.append(String(decoding: (0..<Int(rng.next() % 16)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        let buffer = SendmailLineBuffer()
        var wrong: [String] = []
        var taken = 0
        for v in values {
            let b = Array(v.utf8)
            b.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                buffer.line.reset(bytes: LineBytes(buf))
                for lo in 0...b.count {
                    for hi in lo...b.count where SendmailParser.isBareRecipient(s, lo..<hi) {
                        taken += 1
                        buffer.line.f.more = false
                        SendmailParser.toList(s, lo..<hi, buffer.line)
                        let got = buffer.line.f.recipients.map { $0 }
                        if got != [Span(lo..<hi)] || buffer.line.f.more { wrong.append("\(v) [\(lo), \(hi)): \(got)") }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
        #expect(taken > 1_000)
        for v in ["eric", "wklein", "root@localhost"] {
            let b = Array(v.utf8)
            #expect(b.withUnsafeBufferPointer { SendmailParser.isBareRecipient(ByteScanner($0), 0..<b.count) })
        }
    }

    /// `smAcceptedID` as it was written with `has(_:at:)`.
    static func acceptedIDByHas(_ s: ByteScanner, _ r: Range<Int>) -> Range<Int>? {
        let p = r.upperBound - 30
        guard p > r.lowerBound, s.has(" Message accepted for delivery", at: p) else { return nil }
        for j in r.lowerBound..<p {
            let b = s[j]
            guard Byte.isAlnum(b) || b == Byte.dot || b == Byte.minus || b == Byte.underscore else { return nil }
        }
        return r.lowerBound..<p
    }

    @Test func acceptedIDAgreesWithHas() {
        let reply = Array("42100cUt014003 Message accepted for delivery".utf8)
        var cases: [[UInt8]] = [reply, Array(" Message accepted for delivery".utf8), Array("x Message accepted for deliver".utf8),
                                Array("a.b-c_d Message accepted for delivery".utf8), Array("a b Message accepted for delivery".utf8)]
        for k in 0..<reply.count {
            for v: UInt8 in [0x20, 0x41, 0x2E, 0xFF] {
                var b = reply
                b[k] = v
                cases.append(b)
            }
        }
        for cut in 0..<reply.count { cases.append(Array(reply[cut...])); cases.append(Array(reply[..<cut])) }
        var wrong: [String] = []
        for b in cases {
            let padded = Array("(".utf8) + b + Array(")".utf8)
            padded.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                let r = 1..<(padded.count - 1)
                if s.smAcceptedID(r) != Self.acceptedIDByHas(s, r) { wrong.append(String(decoding: b, as: UTF8.self)) }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }
}
