// PostfixRound11ScanTests: the Postfix parser's rarer texts after a queue ID, which round 11
// moved out of line (`parseQueuedOther`: refusals with a queue ID, bounce notifications, admin
// actions, ignored replies, unrecognised text; `parsePickup`), on exact events — and the same
// lines parsed into one reused line buffer (as the hot path does, common lines in between)
// against a fresh buffer per line, so that nothing a rare line leaves behind reaches the next.
// Limits: listed lines of the shapes the bench input and the corpus hold, not a fuzzer.

import MailTrailModel
import Testing
@testable import MTAParsing

@Suite struct PostfixRound11ScanTests {
    static let client = Peer(name: "mail.sender.example", ip: "198.51.100.5")

    /// (program, body, expected outcome's event, or the ignored category / unparsed reason).
    enum Expected { case event(PostfixEvent), ignored(String), unparsed(String) }

    static let cases: [(String, String, Expected)] = [
        ("smtpd", "4A1B2C3D4E: reject: RCPT from mail.sender.example[198.51.100.5]: 550 5.1.1 <nobody@example.com>: "
            + "Recipient address rejected: User unknown in virtual mailbox table; from=<bob@sender.example> "
            + "to=<nobody@example.com> proto=ESMTP helo=<mail.sender.example>",
         .event(.reject(queueID: "4A1B2C3D4E", PostfixReject(
            action: "reject", stage: "RCPT", client: client, code: "550", dsn: "5.1.1",
            reason: "<nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
            sender: "bob@sender.example", recipient: "nobody@example.com", proto: "ESMTP", helo: "mail.sender.example")))),
        ("cleanup", "5B2C3D4E5F: milter-reject: END-OF-MESSAGE from mail.sender.example[198.51.100.5]: 5.7.1 Spam; "
            + "from=<bob@sender.example> to=<carol@example.com> proto=ESMTP helo=<mail.sender.example>",
         .event(.reject(queueID: "5B2C3D4E5F", PostfixReject(
            action: "milter-reject", stage: "END-OF-MESSAGE", client: client, code: nil, dsn: "5.7.1", reason: "Spam",
            sender: "bob@sender.example", recipient: "carol@example.com", proto: "ESMTP", helo: "mail.sender.example")))),
        ("pickup", "6C3D4E5F60: uid=0 from=<root>",
         .event(.pickup(queueID: "6C3D4E5F60", uid: 0, sender: "root", origID: nil))),
        ("bounce", "6C3D4E5F60: sender non-delivery notification: 7D4E5F6071",
         .event(.notification(queueID: "6C3D4E5F60", kind: "sender non-delivery", newQueueID: "7D4E5F6071"))),
        ("postsuper", "8E5F607182: requeued", .event(.admin(queueID: "8E5F607182", action: "requeued"))),
        ("postsuper", "8E5F607182: placed on hold", .event(.admin(queueID: "8E5F607182", action: "placed on hold"))),
        ("smtp", "8E5F607182: host mx.example.net[192.0.2.7] said: 451 try later (in reply to RCPT TO command)",
         .ignored("smtp-reply")),
        ("smtp", "8E5F607182: lost connection with mx.example.net[192.0.2.7] while receiving the initial server greeting",
         .ignored("smtp-lost-connection")),
        ("smtp", "8E5F607182: something nobody logs", .unparsed("unrecognised text after queue ID")),
    ]

    /// Common lines, parsed between the rare ones into the reused buffer.
    static let common: [(String, String)] = [
        ("smtpd", "connect from mail.sender.example[198.51.100.5]"),
        ("smtp", "6C3D4E5F60: to=<ops@example.net>, relay=mx.example.net[192.0.2.7]:25, delay=1.5, "
            + "delays=0.1/0/0.4/1, dsn=4.4.1, status=deferred (connect to mx.example.net[192.0.2.7]:25: Connection refused)"),
        ("smtpd", "4A1B2C3D4E: client=mail.sender.example[198.51.100.5], sasl_method=PLAIN, sasl_username=bob"),
        ("qmgr", "6C3D4E5F60: from=<root@mx1.example.com>, size=420, nrcpt=2 (queue active)"),
    ]

    static func context(_ program: String) -> LineContext {
        LineContext(time: Timestamp(seconds: 1_800_000_000), host: "mx1", instance: "postfix", program: program, pid: 7)
    }

    static func check(_ outcome: ParseOutcome, _ expected: Expected, _ note: String) {
        switch (outcome, expected) {
        case (.postfix(_, let got), .event(let want)): #expect(got == want, "\(note)")
        case (.ignored(let got), .ignored(let want)): #expect(got == want, "\(note)")
        case (.unparsed(let got), .unparsed(let want)): #expect(got == want, "\(note)")
        default: Issue.record("\(note): \(outcome)")
        }
    }

    /// Each rare line gives its exact event (or category / reason) through the parser's API.
    @Test func rareLinesGiveTheirEvents() {
        var parser = PostfixParser()
        for (program, body, expected) in Self.cases {
            var text = body
            let outcome = text.withUTF8 { parser.parse(body: $0, context: Self.context(program)) }
            Self.check(outcome, expected, body)
        }
    }

    /// The rare lines parsed into one reused buffer, each after a common line of another kind,
    /// give the status and event a fresh buffer gives (nothing left behind by either).
    @Test func reusedBufferMatchesAFreshOne() {
        let buffer = PostfixLineBuffer(sharedStrings: false)
        var order: [(String, String)] = []
        for (k, c) in Self.cases.enumerated() {
            order.append(Self.common[k % Self.common.count])
            order.append((c.0, c.1))
            order.append(Self.common[(k + 1) % Self.common.count])
        }
        for (program, body) in order {
            var text = body
            text.withUTF8 { b in
                let ctx = Self.context(program)
                let kind = PostfixParser.DaemonKind(program: program)
                let status = PostfixParser.parse(body: b, context: ctx, kind: kind, into: buffer.line)
                let fresh = PostfixParser.outcome(body: b, context: ctx, kind: kind)
                switch (status, fresh) {
                case (.event, .postfix(_, let want)): #expect(buffer.line.event(disconnectPeer: Peer()) == want, "\(body)")
                case (.ignored(let a), .ignored(let b)): #expect(a == b, "\(body)")
                case (.unparsed(let a), .unparsed(let b)): #expect(a == b, "\(body)")
                default: Issue.record("\(body): \(status) against \(fresh)")
                }
            }
        }
        withExtendedLifetime(buffer) {}
    }
}
