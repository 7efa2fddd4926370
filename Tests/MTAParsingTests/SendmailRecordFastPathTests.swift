// SendmailRecordFastPathTests: the record fast paths (`fromFast`, `toFast`, `tlsFast`, `authFast`:
// the usual field order read with each key checked where the field loop would find it) against
// the field loop they skip (`fromGeneral`, `toGeneral`, `tlsGeneral`, `authGeneral`): the same
// status, the same event (every field, the relay's rewritten address included) and the same
// STARTTLS `tlsKey`, on listed lines (usual forms, optional fields left out, reordered, repeated
// and unknown keys, commas inside values, trailing items) and on seeded random edits of them.
// Also the address and relay shortcuts they use: `smAngle` against `scanAddress`, `smQuadOpen`
// against `findLast("[")` + `smIsDottedQuad`.
// Limits: generated forms only (seeded, deterministic), not a fuzzer.

import Testing
@testable import MTAParsing
import MailTrailModel

@Suite struct SendmailRecordFastPathTests {
    /// What a line became: status, event and TLS key, as text.
    static func outcome(_ line: SendmailLine, _ status: ParseStatus) -> String {
        guard status == .event else { return "\(status)" }
        let key = line.f.tlsKey.isPresent ? String(decoding: line.bytes.buffer(line.f.tlsKey), as: UTF8.self) : "-"
        return "\(line.event) key=\(key)"
    }

    /// The outcome of `body` through the production path (fast paths first) and through the field
    /// loop alone; nil when the body is not a `QID: from=`, `QID: to=`, `STARTTLS=` or `AUTH=` line.
    static func both(_ body: String) -> (fast: String, general: String)? {
        let bytes = Array(body.utf8)
        return bytes.withUnsafeBufferPointer { buf -> (String, String)? in
            let s = ByteScanner(buf)
            let fastBuffer = SendmailLineBuffer(), generalBuffer = SendmailLineBuffer()
            let fast = fastBuffer.line, general = generalBuffer.line
            fast.reset(bytes: LineBytes(buf)); general.reset(bytes: LineBytes(buf))
            let idEnd = s.smIDEnd(from: 0)
            let f: ParseStatus, g: ParseStatus
            if s.has(": ", at: idEnd), s.smIsQueueID(alnum: 0..<idEnd) {
                let qid = 0..<idEnd, i = idEnd + 2
                if s.has("from=", at: i) {
                    f = SendmailParser.from(s, qid: qid, at: i, fast)
                    g = SendmailParser.fromGeneral(s, qid: qid, at: i, general)
                } else if s.has("to=", at: i) {
                    f = SendmailParser.to(s, qid: qid, at: i, fast)
                    g = SendmailParser.toGeneral(s, qid: qid, at: i, general)
                } else {
                    return nil
                }
            } else if s.has("STARTTLS=server, relay=", at: 0) || s.has("STARTTLS=client, relay=", at: 0) {
                f = SendmailParser.tls(s, at: 0, fast)
                g = SendmailParser.tlsGeneral(s, at: 0, direction: s.has("STARTTLS=server", at: 0) ? .inbound : .outbound,
                                              general)
            } else if s.has("AUTH=server, ", at: 0) {
                f = SendmailParser.auth(s, at: 0, fast)
                g = SendmailParser.authGeneral(s, at: 0, general)
            } else {
                return nil
            }
            return withExtendedLifetime((fastBuffer, generalBuffer)) { (outcome(fast, f), outcome(general, g)) }
        }
    }

    static let listed = [
        // The usual forms.
        "42100bwA020177: from=<brandon.garcia@example.com>, size=10561, class=0, nrcpts=1, msgid=<000001c294c6011e$2a567ce4$854f86db$@example.com>, bodytype=8BITMIME, proto=ESMTPSA, daemon=MSA-v4, relay=[10.20.240.88]",
        "42100cUt014003: from=<brandon.garcia@example.com>, size=11263, class=0, nrcpts=1, msgid=<a@b>, bodytype=8BITMIME, proto=ESMTP, daemon=MTA-v4, relay=smtp1.example.com [10.1.9.15]",
        "42100cUt014003: from=<>, size=11263, class=0, nrcpts=1, msgid=<a@b>, proto=ESMTP, daemon=MTA-v4, relay=smtp1.example.com [10.1.9.15] (may be forged)",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, msgid=<a@b>, relay=root@localhost",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=0, proto=ESMTP, daemon=MTA, relay=[IPv6:2001:db8:0:0:0:0:0:1]",
        "42100cUt014003: from=<a@b>, size=1, class=-60, nrcpts=1, msgid=<a@b>, relay=x",
        "42100cUt014003: from=<a@b>, size=, class=, nrcpts=, msgid=<>, bodytype=, proto=, daemon=, relay=",
        "42100cUt014003: from=a@b, size=1, class=0, nrcpts=1, msgid=<a@b>, relay=x",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, msgid=a@b, relay=x",
        "42100cUt014003: from=<a@b>, class=0, size=1, nrcpts=1, relay=x",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, relay=x, relay=y",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, relay=x, y",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, relay=x, discard",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, proto=E, SMTP, daemon=M, relay=x",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, proto=E,SMTP, daemon=M, relay=x",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, proto=E, daemon=M, bodytype=7BIT, relay=x",
        "42100cUt014003: from=<a@b>, size=12x, class=0, nrcpts=1, relay=x",
        "42100cUt014003: from=<a@b>, size=1234567890123456789, class=0, nrcpts=1, relay=x",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, auth=x, relay=x",
        "42100cUt014003: from=<a, b>, size=1, class=0, nrcpts=1, relay=x",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, relay=",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1",
        "42100cUt014003: from=<a@b>, size=1, class=0, nrcpts=1, ",
        "42100bwA020177: to=<eric@example.com>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=40561, relay=mbox3.example.com. [10.2.6.14], dsn=2.0.0, stat=Sent (42100cUt014003 Message accepted for delivery)",
        "42100cUt014003: to=eric, ctladdr=<eric@example.com> (3234/3234), delay=00:00:00, xdelay=00:00:00, mailer=local, pri=41263, dsn=2.0.0, stat=Sent",
        "42100cUt014003: to=<a@b>,<c@d>, ctladdr=<a@b> (1/1), delay=1+00:00:00, xdelay=00:00:01, mailer=local, pri=1, dsn=2.0.0, stat=Sent",
        "42100cUt014003: to=<a@b>,<c@d> [more], delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, relay=x. [10.0.0.1], dsn=4.0.0, stat=Deferred: Connection refused by x.",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, relay=x, dsn=5.1.1, stat=User unknown, reply=550",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, relay=x, dsn=5.1.1, reply=550 5.1.1 no, stat=User unknown",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, relay=x, dsn=4.2.0, stat=queued",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, relay=x, dsn=2.0.0, stat=Sent (ok, id=1, done)",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, relay=[IPv6:::ffff:10.0.0.1], dsn=2.0.0, stat=Sent",
        "42100cUt014003: to=<a@b>, delay=00:00:00, mailer=esmtp, pri=1, relay=x, dsn=2.0.0, stat=Sent",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, relay=x, dsn=2.0.0, ntries=3, stat=Sent",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, relay=x, stat=Sent",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1a, relay=x, dsn=2.0.0, stat=Sent",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=, dsn=2.0.0, stat=",
        "42100cUt014003: to=\"a, b\"@c, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, dsn=2.0.0, stat=Sent",
        "42100cUt014003: to=a, b, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, dsn=2.0.0, stat=Sent",
        "42100cUt014003: to=, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, dsn=2.0.0, stat=Sent",
        "42100cUt014003: to=<a@b>, ctladdr=<a@b> (1/1), ctladdr=<c@d>, delay=00:00:00, xdelay=00:00:00, mailer=x, pri=1, dsn=2.0.0, stat=Sent",
        "42100cUt014003: to=<a@b>, delay=00:00:00, xdelay=00:00:00, mailer=esmtp, pri=1, relay=x, dsn=2.0.0, stat=Sent, to=<c@d>",
        "STARTTLS=server, relay=[10.20.240.88], version=TLSv1.2, verify=NO, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256/256",
        "STARTTLS=client, relay=mbox3.example.com., version=TLSv1.3, verify=FAIL, cipher=TLS_AES_128_GCM_SHA256, bits=128/128",
        "STARTTLS=server, relay=a [IPv6:2001:db8::1], version=TLSv1.3, verify=OK, cipher=C, bits=256",
        "STARTTLS=server, relay=a, version=TLSv1.3, verify=OK, cipher=C, bits=256/256, bits=1",
        "STARTTLS=server, relay=a, version=TLSv1.3, verify=OK, cipher=C, bits=256/256, x",
        "STARTTLS=server, relay=a, version=TLSv1.3, cipher=C, verify=OK, bits=256/256",
        "STARTTLS=server, relay=a, version=, verify=, cipher=, bits=",
        "STARTTLS=server, relay=a, version=TLSv1.3, verify=OK, cipher=C, D, bits=256/256",
        "STARTTLS=server, relay=a, version=TLSv1.3, verify=OK, cipher=C,D, bits=256/256",
        "STARTTLS=client, relay=a, version=TLSv1.3, verify=OK, cipher=C",
        "AUTH=server, relay=ws-11d217.corp.example.com [10.16.100.156], authid=carol.richardson@example.com, mech=PLAIN, bits=0",
        "AUTH=server, relay=[10.0.0.1], authid=a, mech=LOGIN, bits=0, authid=b",
        "AUTH=server, relay=[10.0.0.1], authid=a, mech=LOGIN",
        "AUTH=server, relay=[10.0.0.1], mech=LOGIN, authid=a, bits=0",
        "AUTH=server, relay=[10.0.0.1], authid=a, b, mech=LOGIN, bits=0",
        "AUTH=server, authid=a, mech=LOGIN, bits=0",
    ]

    @Test func listedLinesAgree() {
        var wrong: [String] = []
        var checked = 0
        for body in Self.listed {
            guard let (fast, general) = Self.both(body) else { wrong.append("not a record: \(body)"); continue }
            checked += 1
            if fast != general { wrong.append("\(body)\n  fast:    \(fast)\n  general: \(general)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5).joined(separator: "\n"))")
        #expect(checked == Self.listed.count)
    }

    @Test func randomEditsAgree() {
        // Edits that make and break the forms the fast paths expect: bytes of keys, separators,
        // addresses and digits, and whole fields inserted, dropped or repeated.
        let bytes = Array("<>,= []()@.:+/-0123456789adeilmorstxyz".utf8) + [0xFF]
        let fields = [", size=1", ", class=0", ", nrcpts=1", ", msgid=<m@x>", ", bodytype=8BITMIME", ", proto=ESMTP",
                      ", daemon=MTA", ", relay=[10.0.0.9]", ", relay=h.example. [10.0.0.8]", ", ctladdr=<c@d> (1/1)",
                      ", delay=00:00:01", ", xdelay=00:00:02", ", mailer=esmtp", ", pri=5", ", dsn=2.0.0",
                      ", stat=Sent", ", reply=250 ok", ", version=TLSv1.3", ", verify=OK", ", cipher=C9",
                      ", bits=128/128", ", authid=u", ", mech=PLAIN", ", discard", ", ", ",", " ", ", x=1"]
        var rng = SplitMix64(seed: 61)
        var wrong: [String] = []
        var fastKinds = 0
        for round in 0..<40_000 {
            var b = Array(Self.listed[round % Self.listed.count].utf8)
            // Keep the record's kind: edit after its first field's key.
            let start = (b.firstIndex(of: UInt8(ascii: "=")) ?? 0) + 1
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                guard b.count > start else { break }
                let at = start + Int(rng.next() % UInt64(b.count - start))
                switch rng.next() % 6 {
                case 0: b[at] = bytes[Int(rng.next() % UInt64(bytes.count))]
                case 1: b.insert(bytes[Int(rng.next() % UInt64(bytes.count))], at: at)
                case 2: b.remove(at: at)
                case 3:
                    // A whole field inserted before a `, ` (or at the end).
                    let f = Array(fields[Int(rng.next() % UInt64(fields.count))].utf8)
                    var p = at
                    while p < b.count, b[p] != UInt8(ascii: ",") { p += 1 }
                    b.insert(contentsOf: f, at: p)
                case 4:
                    // A field dropped: from a `, ` to the next one.
                    guard let c = b[at...].firstIndex(of: UInt8(ascii: ",")) else { break }
                    var e = c + 1
                    while e < b.count, b[e] != UInt8(ascii: ",") { e += 1 }
                    b.removeSubrange(c..<e)
                default: b.removeSubrange(at..<b.count)
                }
            }
            guard let (fast, general) = Self.both(String(decoding: b, as: UTF8.self)) else { continue }
            if fast.hasPrefix("from(") || fast.hasPrefix("to(") || fast.hasPrefix("tls(") || fast.hasPrefix("auth(") {
                fastKinds += 1
            }
            if fast != general {
                wrong.append("\(String(decoding: b, as: UTF8.self))\n  fast:    \(fast)\n  general: \(general)")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.count) differ: \(wrong.prefix(3).joined(separator: "\n"))")
        #expect(fastKinds > 10_000)
    }
}

@Suite struct SendmailAddressAndRelayFastPathTests {
    /// Runs `body` on a scanner over `text`.
    static func scan<R>(_ text: String, _ body: (ByteScanner) -> R) -> R {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { body(ByteScanner($0)) }
    }

    @Test func angleAgreesWithScanAddress() {
        var cases = ["<a@b>", "<a@b>, size=1", "<a@b> x", "<a@b>:", "<a@b>;", "<a@b>)", "<a@b>x, y", "<a@b>>, z",
                     "<\"a>b\"@c>, d", "<\"a@c>", "<a\"b@c>, x", "<>", "<>, x", "<", "<a", "<a@b", "<<a>>", "<a>b>, c",
                     "<a@b>\u{FF}", "<\u{FF}@b>, x", "<a\\\"@b>, x"]
        var rng = SplitMix64(seed: 71)
        let alphabet = Array("<>\"\\ ,:;)@ab".utf8) + [0xFF]
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 14)
            cases.append("<" + String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        var wrong: [String] = []
        for c in cases {
            let (fast, general) = Self.scan(c) { s in (s.smAngle(at: 0), s.scanAddress(at: 0)) }
            if fast?.content != general?.content || fast?.next != general?.next { wrong.append(c) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func quadOpenAgreesWithFindLastAndDottedQuad() {
        var cases = ["a [10.2.6.14]", "[10.2.6.14]", "a [0.0.0.0]", "a [255.255.255.255]", "a [256.1.1.1]", "a [01.2.3.4]",
                     "a [1.2.3.04]", "a [1.2.3]", "a [1.2.3.4.5]", "a [1234.1.1.1]", "a[1.1.1.1]", "[[1.1.1.1]", "a [.1.1.1]",
                     "a [1..1.1]", "a [1.1.1.1 ]", "a [ 1.1.1.1]", "a [IPv6:::1]", "a [1.1.1.a]", "1.1.1.1]", "a [100.200.250.255]",
                     "a [9.9.9.9]", "[1.1.1.1] [2.2.2.2]", "a [11.1.1.1]", "a [1.10.100.0]", "a [00.1.1.1]", "x]"]
        var rng = SplitMix64(seed: 73)
        let alphabet = Array("0123456789.0123456789.[[ a".utf8)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 18)
            cases.append(String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self) + "]")
        }
        // Near-quads: octets valid and not, separators mostly dots.
        let octets = ["0", "1", "9", "10", "99", "100", "199", "249", "250", "255", "256", "300", "01", "001", "1000", ""]
        let seps = [".", ".", ".", ".", ".", "..", "x", "[", " "]
        let heads = ["[", "[", "a [", "a.b [", "[[", "[1.", "1]", " ["]
        for _ in 0..<20_000 {
            var t = heads[Int(rng.next() % UInt64(heads.count))]
            let count = 3 + Int(rng.next() % 3)
            for k in 0..<count {
                if k > 0 { t += seps[Int(rng.next() % UInt64(seps.count))] }
                t += octets[Int(rng.next() % UInt64(octets.count))]
            }
            cases.append(t + "]")
        }
        var wrong: [String] = []
        var found = 0
        for c in cases {
            let bad: Bool = Self.scan(c) { s in
                let close = s.end - 1
                // Every start of the value, so that `lo` cuts into it too.
                for lo in 0..<close {
                    let fast = s.smQuadOpen(lo: lo, close: close)
                    let lb = s.findLast(Byte.lbracket, from: lo, to: close + 1)
                    let general: Int? = lb.flatMap { s.smIsDottedQuad(($0 + 1)..<close) ? $0 : nil }
                    if let fast { found += 1; if fast != general { return true } }
                    // A quad right before the `]` is always found (the fast path is the usual one).
                    else if let g = general, s.find(Byte.lbracket, from: g + 1, to: close) == nil { return true }
                }
                return false
            }
            if bad { wrong.append(c) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(found > 300)
    }
}
