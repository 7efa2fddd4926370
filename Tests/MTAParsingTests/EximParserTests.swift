// EximParserTests: field-level exact expectations for Exim lines (mainlog
// and syslog), Sophos UTM smtpd lines, and coverage of the Exim / UTM corpus;
// the literal searches by a rare anchor byte against `ByteScanner.find`.

import Foundation
import Testing
import MailTrailModel
import SyslogFraming
@testable import MTAParsing

private func exim(_ line: String) -> EximEvent? {
    if case .exim(_, let e) = parseLine(line) { return e }
    return nil
}

private func utm(_ line: String) -> UTMEvent? {
    if case .utm(_, let e) = parseLine(line) { return e }
    return nil
}

@Suite struct EximParserTests {
    @Test func arrivalWithAllFields() {
        let line = "2025-01-05 09:12:02 1tUHfW-000000004Sd-2k8P <= alice@example.org H=mail.example.org (helo.example.org) [203.0.113.5]:50122 I=[192.0.2.1]:25 P=esmtpsa X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no A=dovecot_plain:alice S=4821 M8S=0 DKIM=example.org id=<abc123@example.org> T=\"Re: \\\"hi\\\"\" for bob@example.net carol@example.net"
        #expect(exim(line) == .arrival(messageID: "1tUHfW-000000004Sd-2k8P", EximArrival(
            sender: "alice@example.org", client: Peer(name: "mail.example.org", ip: "203.0.113.5", port: 50122),
            helo: "helo.example.org", interface: Peer(ip: "192.0.2.1", port: 25), proto: "esmtpsa",
            tls: TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Untrusted"),
            authenticator: "dovecot_plain", authID: "alice", size: 4821, messageIDHeader: "abc123@example.org",
            subject: "Re: \"hi\"", dkimDomain: "example.org",
            recipients: ["bob@example.net", "carol@example.net"])))
    }

    @Test func bounceArrivalAndOldID() {
        #expect(exim("2020-06-19 04:54:02 1jmFas-0004f6-EB <= <> R=1jmFYj-00039V-QX U=Debian-exim P=local S=8656")
                == .arrival(messageID: "1jmFas-0004f6-EB", EximArrival(
                    sender: "", localUser: "Debian-exim", proto: "local", size: 8656, reference: "1jmFYj-00039V-QX")))
    }

    @Test func deliveries() {
        #expect(exim("2025-01-05 09:12:03 1tUHfW-000000004Sd-2k8P => bob@example.net <b@example.net> R=dnslookup T=remote_smtp H=mx.example.net [198.51.100.25]:25 X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C=\"250 2.0.0 Ok: queued as 4T9x2C0d3Hz1Wbq\" QT=1m2s DT=0.304s")
                == .delivery(messageID: "1tUHfW-000000004Sd-2k8P", EximDelivery(
                    flag: .delivered, recipient: "bob@example.net", origRecipient: "b@example.net", router: "dnslookup",
                    transport: "remote_smtp", relay: Peer(name: "mx.example.net", ip: "198.51.100.25", port: 25),
                    tls: TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Verified"),
                    response: "250 2.0.0 Ok: queued as 4T9x2C0d3Hz1Wbq", dsn: "2.0.0", nextQueueID: "4T9x2C0d3Hz1Wbq",
                    queueTime: 62, deliveryTime: 0.304)))
        #expect(exim("2020-06-19 04:54:02 1jmFYj-00039V-QX == bob@null.corp R=dnslookup T=remote_smtp defer (110): Connection timed out")
                == .delivery(messageID: "1jmFYj-00039V-QX", EximDelivery(
                    flag: .deferred, recipient: "bob@null.corp", router: "dnslookup", transport: "remote_smtp",
                    response: "Connection timed out", errno: 110)))
        #expect(exim("2020-06-19 04:54:02 1jmFYj-00039V-QX ** bob@null.corp: retry timeout exceeded")
                == .delivery(messageID: "1jmFYj-00039V-QX", EximDelivery(
                    flag: .failed, recipient: "bob@null.corp", response: "retry timeout exceeded")))
        #expect(exim("2020-06-20 05:13:04 1raAO5-0091Cv-IH ** dave@foo.corp R=dnslookup T=remote_smtp H=(relay.test.corp) [4.4.4.4]: SMTP error from remote mail server after end of data: 550 5.1.1 no such user")
                == .delivery(messageID: "1raAO5-0091Cv-IH", EximDelivery(
                    flag: .failed, recipient: "dave@foo.corp", router: "dnslookup", transport: "remote_smtp",
                    relay: Peer(ip: "4.4.4.4"),
                    response: "SMTP error from remote mail server after end of data: 550 5.1.1 no such user",
                    dsn: "5.1.1")))
        // Exim 4.99 ` : ` separator.
        #expect(exim("2025-02-01 10:00:00 1tUHfW-000000004Sd-2k8P ** x@example.net R=r T=t : Unrouteable address")
                == .delivery(messageID: "1tUHfW-000000004Sd-2k8P", EximDelivery(
                    flag: .failed, recipient: "x@example.net", router: "r", transport: "t",
                    response: "Unrouteable address")))
    }

    @Test func messageLines() {
        #expect(exim("2019-06-10 11:04:40 1haLqi-0002Mp-2G DKIM: d=senderdomain.tld s=dkim c=relaxed/relaxed a=rsa-sha256 [verification succeeded]")
                == .dkim(messageID: "1haLqi-0002Mp-2G", domain: "senderdomain.tld", result: "pass"))
        #expect(exim("2020-02-22 10:00:00 1j5IhX-0006pK-Rt DKIM: d=x.example s=a c=relaxed/relaxed a=rsa-sha256 b=1024 [verification failed - signature did not verify (headers probably modified in transit)]")
                == .dkim(messageID: "1j5IhX-0006pK-Rt", domain: "x.example", result: "fail"))
        #expect(exim("2019-06-10 11:04:41 1haLqi-0002Mp-2G ctasd reports 'Unknown' RefID:str=0001.0A090201")
                == .spamVerdict(messageID: "1haLqi-0002Mp-2G", verdict: "Unknown", score: nil))
        #expect(exim("2020-06-19 04:54:02 1jmFYj-00039V-QX Completed") == .completed(messageID: "1jmFYj-00039V-QX"))
        #expect(exim("2020-06-19 04:54:02 1jmFYj-00039V-QX Frozen (delivery error message)")
                == .note(messageID: "1jmFYj-00039V-QX", kind: "frozen"))
    }

    @Test func rejectsAndSessions() {
        #expect(exim("Jun 29 14:34:58 server exim[1234]: H=imfo.test.biz [1.2.3.4]:35328 X=TLS1.2:ECDHE-RSA-AES256-GCM-SHA384:256 CV=no F=<jack@test.biz> rejected RCPT <sales@toto.com.au>: No Such User Here")
                == .reject(messageID: nil, EximReject(
                    action: "rejected", stage: "RCPT", client: Peer(name: "imfo.test.biz", ip: "1.2.3.4", port: 35328),
                    sender: "jack@test.biz", recipient: "sales@toto.com.au",
                    tls: TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: 256, trust: "Untrusted"),
                    reason: "No Such User Here")))
        #expect(exim("2022-06-29 14:33:43 H=test.sa.com [1.2.3.4]:18146 temporarily rejected connection in \"connect\" ACL: \"Host is ratelimited (1.9/1h max:1.2)\"")
                == .reject(messageID: nil, EximReject(
                    action: "temporarily rejected", stage: "CONNECT",
                    client: Peer(name: "test.sa.com", ip: "1.2.3.4", port: 18146),
                    reason: "Host is ratelimited (1.9/1h max:1.2)")))
        #expect(exim("2022-06-29 16:04:05 dovecot_plain authenticator failed for (mail.test.com) [202.137.142.181]:47807: 535 Incorrect authentication data (set_id=dave)")
                == .reject(messageID: nil, EximReject(
                    action: "auth-failed", stage: "AUTH", client: Peer(ip: "202.137.142.181", port: 47807),
                    helo: "mail.test.com", code: "535",
                    reason: "535 Incorrect authentication data (set_id=dave)")))
        #expect(exim("2019:06:10-11:04:40 defense exim-in[6854]: 2019-06-10 11:04:40 SMTP connection from [192.0.2.7]:53500 (TCP/IP connection count = 1)")
                == .connection(client: Peer(ip: "192.0.2.7", port: 53500)))
        #expect(exim("2019:06:10-11:04:40 defense exim-in[9103]: 2019-06-10 11:04:40 [192.0.2.7] F=<s@x.tld> R=<t@y.tld> Accepted: from relay")
                == .sessionNote(client: Peer(ip: "192.0.2.7"), sender: "s@x.tld", recipient: "t@y.tld",
                                text: "Accepted: from relay"))
    }

    @Test func syslogSplitLinesAreJoined() {
        var p = LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2025,
                                                                 referenceDate: nil))
        func parse(_ s: String) -> ParseOutcome { Array(s.utf8).withUnsafeBufferPointer { p.parse($0, offset: 0) } }
        #expect(parse("Jan  5 09:12:02 mx3 exim[77]: [1/2] 2025-01-05 09:12:02 1tUHfW-000000004Sd-2k8P <= a@example.org H=h [192.0.2.1] P=esmtp")
                == .ignored(category: "exim:split-part"))
        guard case .exim(let ctx, let e) = parse("Jan  5 09:12:02 mx3 exim[77]: [2/2]  S=99 id=m@x") else {
            Issue.record("joined line not parsed"); return
        }
        #expect(ctx.pid == 77)
        #expect(e == .arrival(messageID: "1tUHfW-000000004Sd-2k8P", EximArrival(
            sender: "a@example.org", client: Peer(name: "h", ip: "192.0.2.1"), proto: "esmtp", size: 99,
            messageIDHeader: "m@x")))
    }

    @Test func utmLines() {
        #expect(utm("2019:06:10-11:04:43 defense smtpd[6746]: QMGR[6746]: 1haLqi-0002Mp-2G moved to work queue")
                == .movedToWorkQueue(queueID: "1haLqi-0002Mp-2G"))
        #expect(utm("2019:06:10-11:04:43 defense smtpd[9095]: SCANNER[9095]: 1haLql-0002Mh-MA <= s@x.tld R=1haLqi-0002Mp-2G P=INPUT S=63168")
                == .scanner(.arrival(messageID: "1haLql-0002Mh-MA", EximArrival(
                    sender: "s@x.tld", proto: "INPUT", size: 63168, reference: "1haLqi-0002Mp-2G"))))
        #expect(utm("2019:06:10-11:04:43 defense smtpd[9095]: SCANNER[9095]: id=\"1000\" severity=\"info\" sys=\"SecureMail\" sub=\"smtp\" name=\"email passed\" srcip=\"192.0.2.7\" from=\"s@x.tld\" to=\"t@y.tld\" subject=\"a \"quoted\" word\" queueid=\"1haLql-0002Mh-MA\" size=\"63168\"")
                == .secureMail(UTMSecureMail(eventID: 1000, severity: "info", name: "email passed", sourceIP: "192.0.2.7",
                                             sender: "s@x.tld", recipient: "t@y.tld", subject: "a \"quoted\" word",
                                             queueID: "1haLql-0002Mh-MA", size: 63168)))
        // OpenSMTPD also logs as `smtpd`: not UTM, ignored.
        #expect(parseLine("Jan  5 09:12:02 mx smtpd[1]: 5d3b1c2a smtp connected address=192.0.2.1 host=x")
                == .ignored(category: "program:smtpd"))
    }

    @Test func utmSampleFixtureIsFullyUnderstood() throws {
        let bytes = try Fixtures.bytes(Fixtures.url("sophos-utm/sophos-sg-smtp-logparser/sample.log"))
        var p = LineParser(format: .utm, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: nil,
                                                                referenceDate: nil))
        var kinds: [String] = []
        for line in bytes.split(separator: 0x0A) {
            let o = Array(line).withUnsafeBufferPointer { p.parse($0, offset: 0) }
            switch o {
            case .exim: kinds.append("exim")
            case .utm: kinds.append("utm")
            case .ignored(let c): kinds.append(c)
            default: kinds.append("UNPARSED")
            }
        }
        #expect(kinds == ["exim", "exim", "exim", "exim", "exim", "exim", "exim:session", "utm", "utm", "utm",
                          "utm", "utm", "exim", "exim", "utm", "utm"])
    }
}

/// Coverage of the shared Exim and Sophos UTM corpus: share understood and every class not understood.
@Suite struct EximCoverageTests {
    static let corpus: URL = Fixtures.sharedPostfix.deletingLastPathComponent()

    /// Lines that are not log lines in the corpus files: blanks, `#` comments (fail2ban), test-suite
    /// harness output (`******** SERVER ********`, `<<<`/`>>>` dialogues are in log/ files of some tests).
    static func isLogLine(_ l: ArraySlice<UInt8>) -> Bool {
        guard let f = l.first else { return false }
        return f != 0x23 && f != 0x2A && l.count >= 19 && (f == 0x3C ? l.dropFirst().first != 0x3C : true)
    }

    @Test(.enabled(if: FileManager.default.fileExists(atPath: corpus.appendingPathComponent("exim").path)))
    func eximCorpus() throws {
        var total = 0, understood = 0
        var classes: [String: (Int, String)] = [:]
        var perSet: [String: (Int, Int)] = [:]
        let dirs = ["exim", "sophos-utm"]
        for d in dirs {
            for url in Fixtures.files(under: EximCoverageTests.corpus.appendingPathComponent(d), suffix: "") {
                let name = url.lastPathComponent
                if name.hasSuffix(".md") || name.hasSuffix(".assert") || name.hasSuffix(".json") || name.hasSuffix(".ini")
                    || name.hasSuffix(".metrics") { continue }
                var isDir: ObjCBool = false
                if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDir), isDir.boolValue { continue }
                let set = url.path.contains("exim-testsuite") ? "exim-testsuite" : url.deletingLastPathComponent().lastPathComponent
                var p = LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2020,
                                                                         referenceDate: nil, defaultHost: "h"))
                for line in try Fixtures.bytes(url).split(separator: 0x0A) where EximCoverageTests.isLogLine(line) {
                    total += 1
                    let o = Array(line).withUnsafeBufferPointer { p.parse($0, offset: 0) }
                    var s = perSet[set] ?? (0, 0)
                    s.0 += 1
                    if case .unparsed(let reason) = o {
                        let c = classes[reason] ?? (0, String(decoding: line.prefix(140), as: UTF8.self))
                        classes[reason] = (c.0 + 1, c.1)
                    } else { understood += 1; s.1 += 1 }
                    perSet[set] = s
                }
            }
        }
        for (set, (n, u)) in perSet.sorted(by: { $0.key < $1.key }) {
            print("coverage[exim] \(set): lines=\(n) understood=\(u) (\(String(format: "%.2f", Double(u) * 100 / Double(max(n, 1))))%)")
        }
        print("coverage[exim] TOTAL lines=\(total) understood=\(understood) (\(String(format: "%.2f", Double(understood) * 100 / Double(max(total, 1))))%)")
        for (reason, (n, example)) in classes.sorted(by: { $0.value.0 > $1.value.0 }) {
            print("coverage[exim] UNPARSED \(n)x \(reason): \(example)")
        }
        // Real logs (everything but the test suite) must be understood almost completely.
        let real = perSet.filter { $0.key != "exim-testsuite" }.values.reduce((0, 0)) { ($0.0 + $1.0, $0.1 + $1.1) }
        #expect(Double(real.1) / Double(real.0) >= 0.99)
        #expect(perSet["sophos-sg-smtp-logparser"].map { $0.0 == $0.1 } == true)
    }

    @Test func transportOutputIsANoteOfItsMessage() {
        // From the real-MTA lab (Exim 4.96, a pipe transport's own output before the failure line).
        let line = "2026-11-21 19:42:56 1xUqzA-0002d3-1l <unknown-frank@b.lab>: lab_deliver transport output: lab: no such user: unknown-frank"
        var p = LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), defaultHost: "ex4"))
        let o = Array(line.utf8).withUnsafeBufferPointer { p.parse($0, offset: 0) }
        guard case .exim(_, let e) = o else { Issue.record("not an Exim event: \(o)"); return }
        #expect(e == .note(messageID: "1xUqzA-0002d3-1l", kind: "transport-output"))
    }

    /// `H=` values as `nextField` cuts them and `hostSpans` splits them, with the port read in
    /// one pass (no digits or more than 18: none), also for malformed values.
    @Test func hostValuesSplitIntoPeerAndHelo() {
        let cases: [(String, String?, String?, Int?, String?)] = [
            // line, name, ip, port, helo
            ("H=mx.example.org (helo.example) [192.0.2.1]:25 X=a", "mx.example.org", "192.0.2.1", 25, "helo.example"),
            ("H=[192.0.2.1] X=a", nil, "192.0.2.1", nil, nil),
            ("H=(helo) [2001:db8::1]:587* X=a", nil, "2001:db8::1", 587, "helo"),
            ("H=[192.0.2.1]:65535", nil, "192.0.2.1", 65535, nil),
            ("H=[192.0.2.1]:1234567890123456789 X=a", nil, "192.0.2.1", nil, nil),   // 19 digits
            ("H=[192.0.2.1]:x X=a", nil, "192.0.2.1", nil, nil),
            ("H=name [[192.0.2.1] X=a", "name [[192.0.2.1]", nil, nil, nil),           // second `[` in the group
            ("H=(he [x]) [192.0.2.1] X=a", nil, "192.0.2.1", nil, "he [x]"),
            ("H=(he [x]) X=a", "(he", nil, nil, nil),                                  // `[` only inside the HELO
            ("H=name [192.0.2.1 X=a", "name", "192.0.2.1", nil, nil),                  // no `]`
            ("H=name: rest", "name", nil, nil, nil),
            ("H=n[1.2.3.4] X=a", "n[1.2.3.4]", nil, nil, nil),
        ]
        for (line, name, ip, port, helo) in cases {
            let bytes = Array(line.utf8)
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                var i = 0
                guard let f = EximFields.nextField(s, &i) else { Issue.record("no field: \(line)"); return }
                let (p, h) = EximFields.hostSpans(s, f.value)
                func str(_ sp: Span) -> String? { sp.isPresent ? s.string(Int(sp.lo)..<Int(sp.hi)) : nil }
                #expect(str(p.name) == name, "\(line)")
                #expect(str(p.ip) == ip, "\(line)")
                #expect(p.port == port, "\(line)")
                #expect(str(h) == helo, "\(line)")
            }
        }
    }

    /// `EximParser.find(_:_:anchor:from:)` (a literal searched by a rarer byte) finds what
    /// `ByteScanner.find(_:from:)` finds: the first whole match at or after `from`.
    @Test func literalSearchByRareAnchor() {
        let cases: [(String, Int, Int?)] = [
            // line, from, index of "rejected "
            ("H=x rejected RCPT <a@b>: no", 0, 4),
            ("rejected x", 0, 0),
            ("rejected x", 1, nil),
            ("jjj rejected ", 0, 4),
            ("rejrejected ", 0, 3),
            ("xx rejected", 0, nil),                  // no space after: no whole match
            ("ej", 0, nil),
            ("", 0, nil),
            ("a rejected b rejected c", 3, 13),
        ]
        for (line, from, want) in cases {
            Array(line.utf8).withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                #expect(EximParser.find(s, "rejected ", anchor: 2, from: from) == want, "\(line)")
                #expect(s.find("rejected ", from: from) == want, "\(line)")
            }
        }
        Array("login authenticator failed for H: 535".utf8).withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            #expect(EximParser.find(s, " authenticator failed for ", anchor: 15, from: 0) == 5)
            #expect(EximParser.find(s, " dropped by ", anchor: 10, from: 0) == nil)
        }
    }

    /// The literals the line classifiers search by an anchor (each with its anchor) give the
    /// index `ByteScanner.find` gives, from every start, on seeded random joins of their pieces
    /// (whole, without their first or last byte: candidates that fail at either end of the
    /// `memcmp` after the first byte).
    @Test func classifierLiteralsByAnchorAgreeWithPlainSearch() {
        let literals: [(StaticString, Int)] = [
            ("(TCP/IP connection count", 4), (": discarded by ", 13), (" daemon started", 4), ("lookup of host", 3),
            ("sender verify", 7), ("Warning:", 0), ("Warning: ", 0), ("warning:", 0), (" verify fail", 1),
            (" verify defer", 1), ("incomplete transaction", 5), ("connection from", 11), ("Connection from", 0),
            (" lost", 1), ("SMTP", 1), ("synchronization error", 8), ("too many", 7), ("frozen", 3),
            ("retry time not reached", 4), ("retry timeout exceeded", 4), ("SMTP error from remote mail server", 1),
            (" transport output: ", 6), ("Connection timed out", 0), ("Connection refused", 0), ("error ignored", 8),
            ("OK id=", 5), ("d as ", 3), ("accepted for delivery", 20), (" rejected ", 3), ("rejected ", 2),
            (" authenticator failed for ", 15), (" dropped by ", 10),
        ]
        var pieces = ["", " ", "x", ":", "(", "y", "SM", "TP", "/", "é"]
        for (lit, _) in literals {
            let text = lit.description
            pieces.append(text)
            pieces.append(String(text.dropLast()))
            pieces.append(String(text.dropFirst()))
        }
        var rng = SplitMix64(seed: 31)
        var wrong: [String] = []
        for _ in 0..<3_000 {
            let line = (0..<Int(rng.next() % 6)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            Array(line.utf8).withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for (lit, anchor) in literals {
                    for from in 0...buf.count where EximParser.find(s, lit, anchor: anchor, from: from) != s.find(lit, from: from) {
                        wrong.append("\(lit) in \(line) from \(from)")
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
