// PostfixRound11Tests: the Postfix correlator's rarer lines, which round 11 moved out of
// `receive` (pickup, queue-file expiry, refusals with a known queue ID, an unknown one and
// NOQUEUE), on exact rows — fed through the String API (the correlator's own cache) and through
// a parser's shared line buffer (`PostfixCostTests.feedShared`, the hot path's cache swap), which
// must give the same rows; common lines come in between, so a rare line's call returns to a
// correlator whose state the next common line uses.
// Limits: one listed transcript; the row values are the ones of the build before the round.

import Foundation
import Testing
@testable import Correlation
@testable import MailTrailModel

@Suite struct PostfixRound11Tests {
    static let client = Peer(name: "mail.sender.example", ip: "198.51.100.5")
    static let relay = Peer(name: "mx.example.net", ip: "192.0.2.7", port: 25)

    /// The transcript: (second, program, pid, event).
    static let lines: [(Int64, String, Int32, PostfixEvent)] = [
        (0, "smtpd", 101, .connect(client: client)),
        (1, "smtpd", 101, .client(queueID: "4A1B2C3D4E", client: client, saslMethod: nil, saslUsername: nil,
                                   origQueueID: nil, origClient: nil)),
        (2, "smtpd", 101, .reject(queueID: "4A1B2C3D4E", PostfixReject(
            action: "reject", stage: "RCPT", client: client, code: "550", dsn: "5.1.1",
            reason: "<nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
            sender: "bob@sender.example", recipient: "nobody@example.com", proto: "ESMTP", helo: "mail.sender.example"))),
        (3, "cleanup", 200, .reject(queueID: "5B2C3D4E5F", PostfixReject(
            action: "milter-reject", stage: "END-OF-MESSAGE", client: client, dsn: "5.7.1", reason: "Spam",
            sender: "bob@sender.example", recipient: "carol@example.com", proto: "ESMTP", helo: "mail.sender.example"))),
        (4, "smtpd", 102, .reject(queueID: nil, PostfixReject(
            action: "reject", stage: "RCPT", client: Peer(name: "unknown", ip: "203.0.113.9"), code: "554", dsn: "5.7.1",
            reason: "<spam@example.com>: Relay access denied", sender: "x@spam.example", recipient: "spam@example.com",
            proto: "SMTP", helo: "spam"))),
        (5, "pickup", 300, .pickup(queueID: "6C3D4E5F60", uid: 0, sender: "root", origID: nil)),
        (5, "cleanup", 200, .messageID(queueID: "6C3D4E5F60", messageID: "20261120090005.6C3D4E5F60@mx1.example.com")),
        (5, "qmgr", 400, .queued(queueID: "6C3D4E5F60", sender: "root@mx1.example.com", size: 420, nrcpt: 2)),
        (6, "local", 500, .delivery(queueID: "6C3D4E5F60", PostfixDelivery(
            recipient: "root@mx1.example.com", origRecipient: "root", relay: Peer(name: "local"), delay: 1.2,
            delays: [0.1, 0, 0, 1.1], dsn: "2.0.0", status: .sent, response: "delivered to mailbox"))),
        (6, "smtp", 501, .delivery(queueID: "6C3D4E5F60", PostfixDelivery(
            recipient: "ops@example.net", relay: relay, delay: 1.5, delays: [0.1, 0, 0.4, 1], dsn: "4.4.1",
            status: .deferred, response: "connect to mx.example.net[192.0.2.7]:25: Connection refused"))),
        (8, "qmgr", 400, .expired(queueID: "6C3D4E5F60", sender: "root@mx1.example.com", status: "expired")),
        (9, "qmgr", 400, .removed(queueID: "6C3D4E5F60", detail: nil)),
    ]

    static func context(_ second: Int64, _ program: String, _ pid: Int32) -> LineContext {
        LineContext(time: Timestamp(seconds: 1_800_000_000 + second), host: "mx1", instance: "postfix",
                    program: program, pid: pid)
    }

    static func runStrings() -> CorrelatorOutput {
        var m = PostfixCorrelator(host: "mx1"), out = CorrelatorOutput()
        for (t, program, pid, e) in lines { m.receive(context(t, program, pid), e, into: &out) }
        return out
    }

    static func runShared() -> CorrelatorOutput {
        var m = PostfixCorrelator(host: "mx1"), out = CorrelatorOutput()
        let buffer = PostfixLineBuffer()
        for (t, program, pid, e) in lines { PostfixCostTests.feedShared(&m, buffer, context(t, program, pid), e, &out) }
        return out
    }

    @Test func rareLinesGiveTheirRows() {
        let o = Self.runStrings()
        let at = { (s: Int64) in Timestamp(seconds: 1_800_000_000 + s) }
        #expect(o.rejections.count == 3)
        #expect(o.rejections.map(\.queueID) == ["4A1B2C3D4E", "5B2C3D4E5F", nil])
        #expect(o.rejections.map(\.action) == ["reject", "milter-reject", "reject"])
        #expect(o.rejections.map(\.stage) == ["RCPT", "END-OF-MESSAGE", "RCPT"])
        #expect(o.rejections.map(\.program) == ["smtpd", "cleanup", "smtpd"])
        #expect(o.rejections.map(\.code) == ["550", nil, "554"])
        #expect(o.rejections.map(\.dsn) == ["5.1.1", "5.7.1", "5.7.1"])
        #expect(o.rejections.map(\.client) == [Self.client, Self.client, Peer(name: "unknown", ip: "203.0.113.9")])
        #expect(o.rejections.map(\.recipient) == ["nobody@example.com", "carol@example.com", "spam@example.com"])
        #expect(o.rejections.map(\.reason) == ["<nobody@example.com>: Recipient address rejected: User unknown in virtual mailbox table",
                                                "Spam", "<spam@example.com>: Relay access denied"])
        #expect(o.rejections.map(\.at) == [at(2), at(3), at(4)])
        // Keys: the open transaction's queue key, an unknown queue ID's, NOQUEUE's by client address.
        #expect(o.rejections[0].msgKey == MessageKey.forQueue(host: "mx1", queueID: "4A1B2C3D4E"))
        #expect(o.rejections[1].msgKey == MessageKey.forQueue(host: "mx1", queueID: "5B2C3D4E5F"))
        #expect(o.rejections[2].msgKey == MessageKey.forQueue(host: "mx1", queueID: "NOQUEUE/203.0.113.9"))

        let mk = MessageKey.forMessageID("20261120090005.6C3D4E5F60@mx1.example.com")
        #expect(o.messages.count == 1)
        #expect(o.messages[0].queueID == "6C3D4E5F60")
        #expect(o.messages[0].client == Peer(name: "pickup"))
        #expect(o.messages[0].sender == "root@mx1.example.com")
        #expect(o.messages[0].msgKey == mk)
        #expect(o.messages[0].receivedAt == at(5))

        #expect(o.deliveries.map(\.recipient) == ["root@mx1.example.com", "ops@example.net", "ops@example.net"])
        #expect(o.deliveries.map(\.status) == [.sent, .deferred, .expired])
        #expect(o.deliveries.map(\.msgKey) == [mk, mk, mk])
        let expired = o.deliveries[2]
        #expect(expired.at == at(8))
        #expect(expired.transport == "qmgr")
        #expect(expired.relay == Peer(name: "none"))
        #expect(expired.response == "returned to sender")
        #expect(expired.receivedAt == at(5))
        #expect(expired.queueID == "6C3D4E5F60")
    }

    /// The shared buffer's path (the parser's) gives the String API's rows, value for value.
    @Test func sharedBufferGivesTheSameRows() {
        let a = Self.runStrings(), b = Self.runShared()
        #expect(a.messages == b.messages)
        #expect(a.deliveries == b.deliveries)
        #expect(a.rejections == b.rejections)
        #expect(!a.rejections.isEmpty && !a.deliveries.isEmpty && !a.messages.isEmpty)
    }
}
