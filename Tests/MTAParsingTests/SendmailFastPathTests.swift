// SendmailFastPathTests: the Sendmail parser's shortcuts against the general code they skip:
// `smIsDottedQuad` against `isIPAddress` (relay addresses), `int` (which replaced `smInt`) on Sendmail's
// number fields against its definition, `smLastSpaceParen` against `findLast`,
// `smReplyRanges` (the usual `NNN D.D.D TEXT` read in place) against `smReplyGeneral`, `smAcceptedID` against
// `RemoteQueueID.extractRange` (`stat=Sent (ID Message accepted for delivery)`), and the
// STARTTLS `tlsKey` (equal key bytes must mean an equal TLSInfo, since the correlator reuses
// one per key) on reordered and repeated fields.
// Limits: generated forms only (seeded, deterministic), not a fuzzer.

import Testing
@testable import MTAParsing
import MailTrailModel

@Suite struct SendmailFastPathTests {
    /// Runs `body` on a scanner over `text` and the range of all of it.
    static func scan<R>(_ text: String, _ body: (ByteScanner, Range<Int>) -> R) -> R {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buf in body(ByteScanner(buf), 0..<buf.count) }
    }

    @Test func dottedQuadAgreesWithIsIPAddress() {
        // Without `:` or NUL, `isIPAddress` is inet_pton's IPv4 rule, which `smIsDottedQuad` must match exactly.
        var cases = ["10.20.240.88", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4",
                     "1.02.3.4", "1.2.3.04", "1.2.3.0", "1234.1.1.1", "1.1.1.1234", "1..1.1", ".1.1.1", "1.1.1.",
                     "1.1.1.1 ", " 1.1.1.1", "a.b.c.d", "1.1.1.a", "999.999.999.999", "100.200.250.255",
                     "12", "1.2", "", "1.2.3.4x", "192.0.2.1.", "9.9.9.9", "10.0.0.300", "1e1.1.1.1"]
        var rng = SplitMix64(seed: 7)
        let alphabet = Array("0123456789.0123456789.1a ".utf8)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 17)
            cases.append(String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        var wrong: [String] = []
        for c in cases {
            let (fast, general) = Self.scan(c) { s, r in (s.smIsDottedQuad(r), r.count >= 2 && s.isIPAddress(r)) }
            if fast != general { wrong.append("\(c): \(fast) != \(general)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(Self.scan("10.2.6.14") { s, r in s.smIsDottedQuad(r) })
    }

    @Test func numberFieldsReadByIntMatchTheDefinition() {
        var cases = ["", "0", "7", "40561", "0042", "-1", "1a", "a1", " 1", "1 ", "999999999999999999",
                     "1000000000000000000", "123456789012345678", "12345678901234567890", "256/256", "+1"]
        var rng = SplitMix64(seed: 13)
        let alphabet = Array("0123456789012345678/-a ".utf8)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 21)
            cases.append(String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        var wrong: [String] = []
        for c in cases {
            let fast = Self.scan(c) { s, r in s.int(r) }
            let general = ByteScannerIntTests.simple(Array(c.utf8)[...])
            if fast != general { wrong.append("\(c): \(String(describing: fast)) != \(String(describing: general))") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func replyFastPathAgreesWithGeneral() {
        var cases = ["550 5.7.1 <a@b>... Relaying denied", "550 5.7.1 ", "550 5.7.1", "550 5.7.1x", "550 5.7.10 x",
                     "550 5.7.1  x", "421 4.3.2 Connection rate limit exceeded.", "5500 5.7.1 x", "55 5.7.1 x",
                     "550 a.7.1 x", "550 5,7.1 x", "550 5.7,1 x", "550 5.x.1 x", "550 5.7.x x", "550 5.7.1.1 x",
                     "550 15.7.1 x", "5.7.1 x", "550", "550 ", "", "ab5 5.7.1 x", "550\t5.7.1 x", "550 5.17.1 x",
                     "550 5.7.1\u{FF} x", "\u{FF}550 5.7.1 x"]
        var rng = SplitMix64(seed: 19)
        let alphabet = Array("0123456789. . x".utf8) + [0xFF]
        for _ in 0..<20_000 {
            var b = Array("550 5.7.1 text".utf8)
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let at = Int(rng.next() % UInt64(b.count))
                let c = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                switch rng.next() % 3 {
                case 0: b[at] = c
                case 1: b.insert(c, at: at)
                default: b.remove(at: at)
                }
            }
            cases.append(String(decoding: b, as: UTF8.self))
        }
        var wrong: [String] = []
        for c in cases {
            // The whole text, and the text without its last byte (a range that ends before the line does).
            for cut in [0, 1] where c.utf8.count >= cut {
                let same = Self.scan(c) { s, r0 -> Bool in
                    let r = r0.lowerBound..<(r0.upperBound - cut)
                    let f = s.smReplyRanges(r), g = s.smReplyGeneral(r)
                    return f.code == g.code && f.dsn == g.dsn && f.text == g.text
                }
                if !same { wrong.append("\(c) cut \(cut)") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func lastSpaceParenAgreesWithFindLast() {
        var cases = ["", " ", "(", " (", "  (", "<a@b> (1/1)", "<a@b> (1/1) (2/2)", "a (", "( ", "x ( (", "<a (b)>",
                     "<marie@example.org> (3234/3234)"]
        var rng = SplitMix64(seed: 17)
        let alphabet = Array(" (a)".utf8)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 12)
            cases.append(String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        var wrong: [String] = []
        for c in cases {
            for cut in [0, 1] {
                let (fast, general) = Self.scan(c) { s, r -> (Int?, Int?) in
                    let sub = Swift.min(r.lowerBound + cut, r.upperBound)..<r.upperBound
                    return (s.smLastSpaceParen(sub), s.findLast(" (", from: sub.lowerBound, to: sub.upperBound))
                }
                if fast != general { wrong.append("\(c) cut \(cut): \(String(describing: fast)) != \(String(describing: general))") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func acceptedIDAgreesWithExtractRange() {
        let tail = " Message accepted for delivery"
        var cases = ["42100cUt014003" + tail, "a" + tail, tail, "x" + tail + " ", "a b" + tail, "queued as Y" + tail,
                     "OK id=1a2b" + tail, "abc." + tail, "a.b-c_d" + tail, "fooed" + tail, "OK" + tail,
                     "forwarded as Z" + tail, "x" + tail.lowercased(), "a,b" + tail, "x Message accepted for deliverY",
                     "Message accepted for delivery", "42100cUt014003 Message accepted for delivery (more)"]
        var rng = SplitMix64(seed: 11)
        let alphabet = Array("aZ09.-_ ,(dKO".utf8)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 12)
            cases.append(String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self) + tail)
        }
        var wrong: [String] = []
        var decided = 0
        for c in cases {
            Self.scan(c) { s, r in
                guard let fast = s.smAcceptedID(r) else { return }
                decided += 1
                let general = RemoteQueueID.extractRange(s, r)
                if fast != general { wrong.append("\(c): \(fast) != \(String(describing: general))") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(decided > 1000)
        #expect(Self.scan("42100cUt014003" + tail) { s, r in s.smAcceptedID(r) } == 0..<14)
        #expect(Self.scan("a b" + tail) { s, r in s.smAcceptedID(r) } == nil)
    }

    /// The TLS key's text and the TLSInfo of one STARTTLS body.
    static func tls(_ body: String) -> (key: String?, info: TLSInfo?) {
        var parser = SendmailParser()
        let buffer = SendmailLineBuffer()
        let ctx = LineContext(time: Timestamp(seconds: 0), host: "h", instance: "", program: "sm-mta", pid: 1)
        let bytes = Array(body.utf8)
        return bytes.withUnsafeBufferPointer { buf in
            guard parser.parse(body: buf, context: ctx, into: buffer) == .event else { return (nil, nil) }
            let line = buffer.line
            let key = line.f.tlsKey.isPresent ? String(decoding: line.bytes.buffer(line.f.tlsKey), as: UTF8.self) : nil
            guard case .tls(_, _, let info, _) = line.event else { return (key, nil) }
            return (key, info)
        }
    }

    @Test func tlsKeyDecidesTheTLSInfo() {
        #expect(Self.tls("STARTTLS=server, relay=[10.1.1.1], version=TLSv1.3, verify=NO, cipher=C1, bits=256/256").key
                == "TLSv1.3, verify=NO, cipher=C1, bits=256/256")
        // A TLS value before `version=` is not in the key: no key then.
        #expect(Self.tls("STARTTLS=server, relay=x, cipher=C1, version=TLSv1.3, verify=NO, bits=256/256").key == nil)
        #expect(Self.tls("STARTTLS=server, relay=x, bits=128/128, version=TLSv1.3, verify=NO, cipher=C1").key == nil)
        #expect(Self.tls("STARTTLS=server, relay=x, verify=OK, version=TLSv1.3, cipher=C1").key == nil)
        #expect(Self.tls("STARTTLS=client, relay=x, cipher=C1, bits=1").key == nil)
        #expect(Self.tls("STARTTLS=client, relay=x, cipher=C1, bits=1").info == TLSInfo(cipher: "C1", bits: 1))
        // Repeated keys: the last of each counts.
        #expect(Self.tls("STARTTLS=server, relay=x, cipher=C0, version=TLSv1.2, cipher=C1").key == "TLSv1.2, cipher=C1")
        #expect(Self.tls("STARTTLS=server, relay=x, version=TLSv1.2, cipher=C0, version=TLSv1.3, cipher=C1").key
                == "TLSv1.3, cipher=C1")

        // Generated lines: whenever two keys are equal, so are their TLSInfos.
        let pieces = ["version=TLSv1.3", "version=TLSv1.2", "verify=NO", "verify=OK", "verify=FAIL", "cipher=C1",
                      "cipher=C2", "bits=256/256", "bits=128", "bits=x", "relay=[10.0.0.1]", "relay=a.example.",
                      "x=1", "version=", "cipher="]
        var rng = SplitMix64(seed: 3)
        var seen: [String: TLSInfo] = [:]
        var wrong: [String] = []
        var keyed = 0
        for _ in 0..<5_000 {
            var body = rng.next() % 2 == 0 ? "STARTTLS=server, relay=a" : "STARTTLS=client, relay=[10.0.0.2]"
            for _ in 0..<(1 + Int(rng.next() % 6)) { body += ", " + pieces[Int(rng.next() % UInt64(pieces.count))] }
            let (key, info) = Self.tls(body)
            guard let key, let info else { continue }
            keyed += 1
            if let other = seen[key], other != info { wrong.append("\(body): \(info) != \(other)") }
            seen[key] = info
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(keyed > 500)
    }
}

@Suite struct SendmailSpanListTests {
    @Test func growsKeepsOrderAndEmpties() {
        let buffer = SendmailLineBuffer()
        let line = buffer.line
        for round in 0..<3 {
            line.f.recipients.removeAll()
            #expect(line.f.recipients.isEmpty)
            let n = 5 + round * 20         // past the first capacity (8) and its doublings
            for k in 0..<n { line.f.recipients.append(Span(lo: Int32(k), hi: Int32(k + round))) }
            #expect(line.f.recipients.count == n)
            #expect(line.f.recipients[n - 1] == Span(lo: Int32(n - 1), hi: Int32(n - 1 + round)))
            #expect(line.f.recipients.map { Int($0.lo) } == Array(0..<n))
        }
        // A long to= list through the parser: every recipient, in order.
        let list = (0..<30).map { "<r\($0)@example.org>" }.joined(separator: ",")
        let e = sm("Mar  1 00:00:38 smtp1 sm-mta[20192]: 42100bwA020177: to=\(list), delay=00:00:00, mailer=esmtp, pri=1, dsn=2.0.0, stat=Sent")
        guard case .to(_, let t)? = e else { Issue.record("not a to= line"); return }
        #expect(t.recipients == (0..<30).map { "r\($0)@example.org" })
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct SendmailIPv6TextTests {
    static func ntop(_ b: [UInt8]) -> String {
        b.withUnsafeBufferPointer { src in
            withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { out in
                _ = inet_ntop(AF_INET6, src.baseAddress!, out.baseAddress!, 64)
                return String(cString: out.baseAddress!)
            }
        }
    }

    @Test func textIsInetNtops() {
        var cases: [[UInt8]] = [
            [UInt8](repeating: 0, count: 16),
            [UInt8](repeating: 0, count: 15) + [1],
            [UInt8](repeating: 0, count: 15) + [2],
            [UInt8](repeating: 0, count: 14) + [0xff, 0xff],
            [UInt8](repeating: 0, count: 12) + [192, 0, 2, 1],
            [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 192, 0, 2, 1],
            [UInt8](repeating: 0, count: 10) + [0xff, 0xfe, 192, 0, 2, 1],
            [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1],
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1],
            [0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0x02, 0x1a, 0x2b, 0xff, 0xfe, 0x3c, 0x4d, 0x5e],
            [1] + [UInt8](repeating: 0, count: 15),
        ]
        // Random words, half of them zero, so runs of every length and position occur.
        var rng = SplitMix64(seed: 9)
        for _ in 0..<20_000 {
            var b: [UInt8] = []
            for _ in 0..<8 {
                let r = rng.next()
                let w: UInt64 = r % 2 == 0 ? 0 : [r >> 48, (r >> 40) & 0xff, (r >> 52) & 0xf, 0xffff][Int((r >> 8) % 4)]
                b.append(UInt8(w >> 8)); b.append(UInt8(w & 0xff))
            }
            cases.append(b)
        }
        var wrong: [String] = []
        for c in cases {
            let got = c.withUnsafeBufferPointer { ByteScanner.smIPv6Text($0) }
            let want = Self.ntop(c)
            if got != want { wrong.append("\(c): \(got) != \(want)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
