// SendmailRulesetRowTests: a `ruleset=` refusal read as a span line (kind `ruleset`, Strings
// made by the correlator, repeated ones through its cache, the NOQUEUE key hashed from the
// relay address's bytes) gives exactly the row the String path gives for the line's event
// (`receive(_:_: SendmailEvent:into:)`, through `other`): with and without a queue ID, with an
// open transaction of that ID or none, IPv6 relays carried as text, non-ASCII bytes, every
// action and stage; listed cases and seeded random combinations.
// Limits: lines built by hand from field values (the parser's side is SendmailRulesetTests).

import Testing
import MailTrailModel
@testable import Correlation

@Suite struct SendmailRulesetRowTests {
    struct Case {
        var qid: String?
        var ruleset = "check_rcpt"
        var arg1: String?
        var arg2: String?
        var name: String?
        /// The address as logged (a span); with `ipText`, the rewritten address instead.
        var ip: [UInt8]?
        var ipText: String?
        /// An address that had to be rewritten but is none (`ipText` nil: the row's IP is nil).
        var rewritten = false
        var action = SendmailRulesetAction.reject
        var stage = SendmailStage.rcpt
        var sender: String?
        var recipient: String?
        var code: String?
        var dsn: String?
        var reason: String?
    }

    static let ctx = LineContext(time: Timestamp(seconds: 1_763_600_000), host: "mx2", instance: "", program: "sm-mta",
                                 pid: 4720)

    /// Calls `body` with `c` as a `ruleset` line.
    static func withLine<R>(_ c: Case, _ body: (SendmailLine) -> R) -> R {
        var buf: [UInt8] = []
        func add(_ b: [UInt8]?) -> Span {
            guard let b else { return .absent }
            let lo = buf.count
            buf.append(contentsOf: b)
            return Span(lo..<buf.count)
        }
        func add(_ s: String?) -> Span { add(s.map { Array($0.utf8) }) }
        let q = add(c.qid), rs = add(c.ruleset), a1 = add(c.arg1), a2 = add(c.arg2), name = add(c.name)
        let ip = c.ipText == nil ? add(c.ip) : .absent
        let sender = add(c.sender), recipient = add(c.recipient), code = add(c.code), dsn = add(c.dsn)
        let reason = add(c.reason)
        let holder = SendmailLineBuffer()
        return buf.withUnsafeBufferPointer { b in
            let line = holder.line
            line.reset(bytes: LineBytes(b))
            line.beginRuleset(queueID: q)
            var r = RelaySpans()
            r.name = name; r.ip = ip; r.rewritten = c.rewritten || c.ipText != nil
            line.setRelay(r, ipText: c.ipText)
            line.f.ruleset = rs; line.f.arg1 = a1; line.f.arg2 = a2; line.f.sender = sender; line.f.recipient = recipient
            line.f.code = code; line.f.dsn = dsn; line.f.reason = reason
            line.f.rulesetAction = c.action; line.f.stage = c.stage
            return withExtendedLifetime(holder) { body(line) }
        }
    }

    /// The output of `c` as a span line and as its event, each fed to a fresh correlator (after a
    /// `from=` of `openQID` when given).
    static func outputs(_ c: Case, openQID: String?) -> (CorrelatorOutput, CorrelatorOutput, Int, Int) {
        func fresh() -> (SendmailCorrelator, CorrelatorOutput) {
            var m = SendmailCorrelator(host: "mx2")
            var out = CorrelatorOutput()
            if let q = openQID {
                m.receive(ctx, .from(queueID: q, SendmailFrom(sender: "a@b.example", nrcpts: 2,
                                                             messageID: "m1@b.example", relay: Peer(ip: "192.0.2.9"))),
                          into: &out)
            }
            return (m, out)
        }
        var (m1, o1) = fresh()
        var (m2, o2) = fresh()
        let event = withLine(c) { line -> SendmailEvent in
            m1.receive(ctx, line, into: &o1)
            return line.event
        }
        m2.receive(ctx, event, into: &o2)
        return (o1, o2, m1.openTransactions, m2.openTransactions)
    }

    static func agree(_ c: Case, openQID: String?) -> Bool {
        let (a, b, n1, n2) = outputs(c, openQID: openQID)
        return a.rejections == b.rejections && a.messages == b.messages && a.deliveries == b.deliveries && n1 == n2
            && a.rejections.count == 1
    }

    @Test func listedCasesGiveTheStringPathsRow() {
        let cases: [Case] = [
            Case(qid: "6AK962xB004720", arg1: "<a@b.example>", name: "h.example", ip: Array("192.0.2.1".utf8),
                 recipient: "a@b.example", code: "550", dsn: "5.7.1", reason: "<a@b.example>... Relaying denied"),
            Case(ruleset: "check_relay", arg1: "[192.0.2.1]", arg2: "127.0.0.2", ip: Array("192.0.2.1".utf8),
                 stage: .connect, code: "554", dsn: "5.7.1", reason: "Rejected 192.0.2.1 found in zen.spamhaus.org"),
            Case(ruleset: "check_relay", name: "v6.example", ipText: "2001:db8::1", stage: .connect, code: "421", reason: ""),
            Case(ruleset: "check_relay", stage: .connect, reason: "no relay"),
            Case(ruleset: "check_relay", name: "bad.v6", rewritten: true, stage: .connect),
            Case(ruleset: "check_relay", ip: [0x31, 0xC3, 0xA9, 0xFF], stage: .connect, reason: "non-ASCII address bytes"),
            Case(qid: "6AK962xB004720", ruleset: "check_mail", arg1: "<s@x>", ip: Array("10.0.0.1".utf8),
                 action: .discard, stage: .mail, sender: "s@x"),
            Case(qid: "6AK962xC004721", ruleset: "Local_check_rcpt", arg1: "<a@b>", action: .quarantine, stage: .ruleset,
                 reason: "held"),
            Case(ruleset: "my_own_ruleset", stage: .ruleset, code: "550"),
            Case(qid: "6AK962xB004720", ruleset: "tls_server", arg1: "SOFTWARE", name: "mäil.example", stage: .starttls,
                 code: "403", dsn: "4.7.0", reason: "TLS handshake failed."),
        ]
        var wrong: [Int] = []
        for (k, c) in cases.enumerated() {
            for open in [nil, "6AK962xB004720"] where !Self.agree(c, openQID: open) { wrong.append(k) }
        }
        #expect(wrong.isEmpty, "\(wrong)")
        // One row in full: the NOQUEUE key is `host/NOQUEUE/ip`'s.
        let (o, _, _, _) = Self.outputs(cases[1], openQID: nil)
        #expect(o.rejections == [RejectionRecord(
            at: Self.ctx.time, msgKey: MessageKey.forQueue(host: "mx2", queueID: "NOQUEUE/192.0.2.1"), host: "mx2",
            instance: "sm-mta", queueID: nil, program: "sm-mta", action: "reject", stage: "CONNECT",
            client: Peer(ip: "192.0.2.1"), code: "554", dsn: "5.7.1", reason: "Rejected 192.0.2.1 found in zen.spamhaus.org")])
        // With its transaction open, the row takes the transaction's key (its Message-ID's).
        let (o2, _, _, _) = Self.outputs(cases[0], openQID: "6AK962xB004720")
        #expect(o2.rejections.first?.msgKey == MessageKey.forMessageID("m1@b.example"))
    }

    @Test func randomCasesGiveTheStringPathsRow() {
        var rng = SplitMix64(seed: 88)
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        let strings: [String?] = [nil, "", "a@b.example", "<a@b.example>", "check_rcpt", "ü@x", "x y, z=1", "550"]
        let ips: [[UInt8]?] = [nil, Array("192.0.2.1".utf8), Array("10.0.0.255".utf8), [], [0xFF, 0x2E]]
        var wrong: [String] = []
        for _ in 0..<3_000 {
            var c = Case()
            c.qid = pick([nil, "6AK962xB004720", "6AK962xD004722"])
            c.ruleset = pick(["check_rcpt", "check_mail", "check_relay", "x", "", "rüle"])
            c.arg1 = pick(strings); c.arg2 = pick(strings); c.name = pick(strings)
            switch rng.next() % 8 {
            case 0: c.ipText = pick(["2001:db8::1", "1.2.3.4"])
            case 1: c.rewritten = true
            default: c.ip = pick(ips)
            }
            c.action = pick([.reject, .discard, .quarantine])
            c.stage = pick([.connect, .mail, .rcpt, .endOfMessage, .data, .starttls, .helo, .etrn, .expn, .vrfy, .ruleset])
            c.sender = pick(strings); c.recipient = pick(strings); c.code = pick(strings); c.dsn = pick(strings)
            c.reason = pick(strings + ["a reason longer than the thirty-two bytes the string cache keeps"])
            let open = pick([nil, "6AK962xB004720"])
            if !Self.agree(c, openQID: open) { wrong.append("\(c) open \(String(describing: open))") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }
}
