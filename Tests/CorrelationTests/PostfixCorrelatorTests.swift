// Transcript tests of the Postfix correlator: events in, exact records out.
// Each test reads like the log it stands for; times are seconds of 2026-11-20 UTC.
import Foundation
import Testing
import MailTrailModel
@testable import Correlation

private let day: Int64 = CivilDate(year: 2026, month: 11, day: 20).daysSinceEpoch * 86_400

private func t(_ h: Int64, _ m: Int64, _ s: Int64, dayOffset: Int64 = 0) -> Timestamp {
    Timestamp(seconds: day + dayOffset * 86_400 + h * 3600 + m * 60 + s)
}

/// A tiny driver: feeds events and collects what each step emits.
private struct Transcript {
    var machine = PostfixCorrelator(host: "mx1")
    var out = CorrelatorOutput()

    mutating func feed(_ time: Timestamp, _ program: String, pid: Int32, service: String = "",
                       _ event: PostfixEvent) {
        let ctx = LineContext(time: time, host: "mx1", instance: "postfix", program: program, service: service,
                              pid: pid)
        machine.receive(ctx, event, into: &out)
    }

    /// Returns and clears what was emitted since the last call.
    mutating func take() -> CorrelatorOutput {
        let o = out
        out = CorrelatorOutput()
        return o
    }
}

private let outside = Peer(name: "mail.sender.example", ip: "198.51.100.5")
private let loopback = Peer(name: "localhost", ip: "127.0.0.1")
private let amavis = Peer(name: "127.0.0.1", ip: "127.0.0.1", port: 10024)
private let hub = Peer(name: "hub1.example.com", ip: "192.0.2.20", port: 25)
private let tls13 = TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Anonymous")

@Suite struct PostfixCorrelatorTranscripts {
    @Test func reinjectionWithForwardReference() {
        var s = Transcript()
        s.feed(t(9, 0, 0), "smtpd", pid: 101, .connect(client: outside))
        s.feed(t(9, 0, 0), "smtpd", pid: 101, .tls(direction: .inbound, peer: outside, info: tls13))
        s.feed(t(9, 0, 1), "smtpd", pid: 101, .client(queueID: "AAA111", client: outside, saslMethod: nil,
                                                       saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 1), "cleanup", pid: 200, .messageID(queueID: "AAA111", messageID: "m1@sender.example"))
        s.feed(t(9, 0, 1), "qmgr", pid: 300, .queued(queueID: "AAA111", sender: "bob@sender.example",
                                                     size: 1234, nrcpt: 1))
        var o = s.take()
        #expect(o.messages.count == 1)
        #expect(o.messages[0].queueID == "AAA111")
        #expect(o.messages[0].tls == tls13)
        #expect(o.messages[0].client == outside)
        #expect(o.messages[0].msgKey == MessageKey.forMessageID("m1@sender.example"))

        // The re-injected copy shows up first (forward reference) and is held back.
        s.feed(t(9, 0, 3), "smtpd", pid: 102, service: "10025",
               .client(queueID: "BBB222", client: loopback, saslMethod: nil, saslUsername: nil,
                       origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 3), "cleanup", pid: 200, .messageID(queueID: "BBB222", messageID: "m1@sender.example"))
        s.feed(t(9, 0, 3), "qmgr", pid: 300, .queued(queueID: "BBB222", sender: "bob@sender.example",
                                                     size: 1500, nrcpt: 1))
        o = s.take()
        #expect(o.messages.isEmpty)

        // The original's delivery to the filter names the new queue ID: the link is made, the copy emitted.
        s.feed(t(9, 0, 4), "smtp", pid: 400, .delivery(queueID: "AAA111", PostfixDelivery(
            recipient: "alice@example.com", relay: amavis, delay: 3.2, delays: [0.1, 0, 0.01, 3.1], dsn: "2.0.0",
            status: .sent,
            response: "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as BBB222",
            nextQueueID: "BBB222")))
        o = s.take()
        #expect(o.deliveries.count == 1)
        #expect(o.deliveries[0].nextQueueID == "BBB222")
        #expect(o.deliveries[0].receivedAt == t(9, 0, 1))
        #expect(o.messages.count == 1)
        #expect(o.messages[0].queueID == "BBB222")
        #expect(o.messages[0].originQueueID == "AAA111")
        #expect(o.messages[0].originKind == .reinjection)
        #expect(o.messages[0].receivedAt == t(9, 0, 3))
        #expect(o.messages[0].size == 1500)
        #expect(o.messages[0].msgKey == o.deliveries[0].msgKey)
    }

    @Test func reinjectionLinkedBeforeTheCopyAppears() {
        var s = Transcript()
        s.feed(t(9, 0, 1), "smtpd", pid: 101, .client(queueID: "AAA111", client: outside, saslMethod: nil,
                                                       saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 1), "qmgr", pid: 300, .queued(queueID: "AAA111", sender: "b@x", size: 1, nrcpt: 1))
        s.feed(t(9, 0, 4), "smtp", pid: 400, .delivery(queueID: "AAA111", PostfixDelivery(
            recipient: "a@y", relay: amavis, status: .sent, response: "250 Ok: queued as BBB222",
            nextQueueID: "BBB222")))
        _ = s.take()
        s.feed(t(9, 0, 5), "smtpd", pid: 102, .client(queueID: "BBB222", client: loopback, saslMethod: nil,
                                                       saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 5), "qmgr", pid: 300, .queued(queueID: "BBB222", sender: "b@x", size: 2, nrcpt: 1))
        let o = s.take()
        #expect(o.messages.map(\.queueID) == ["BBB222"])
        #expect(o.messages[0].originQueueID == "AAA111")
        #expect(o.messages[0].originKind == .reinjection)
    }

    @Test func heldCopyIsReleasedAfterTheHoldWindow() {
        var s = Transcript()
        s.feed(t(9, 0, 5), "smtpd", pid: 102, .client(queueID: "BBB222", client: loopback, saslMethod: nil,
                                                       saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 5), "qmgr", pid: 300, .queued(queueID: "BBB222", sender: "b@x", size: 2, nrcpt: 1))
        #expect(s.take().messages.isEmpty)
        s.feed(t(9, 10, 4), "anvil", pid: 9, .admin(queueID: "X", action: "noop"))
        #expect(s.take().messages.isEmpty)
        s.feed(t(9, 10, 6), "anvil", pid: 9, .admin(queueID: "X", action: "noop"))
        let o = s.take()
        #expect(o.messages.map(\.queueID) == ["BBB222"])
        #expect(o.messages[0].originQueueID == nil)
    }

    @Test func queueIDReusedDaysLater() {
        var s = Transcript()
        s.feed(t(9, 0, 0), "smtpd", pid: 101, .client(queueID: "C0FFEE1", client: outside, saslMethod: nil,
                                                       saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 0), "cleanup", pid: 200, .messageID(queueID: "C0FFEE1", messageID: "first@x"))
        s.feed(t(9, 0, 0), "qmgr", pid: 300, .queued(queueID: "C0FFEE1", sender: "a@x", size: 10, nrcpt: 1))
        s.feed(t(9, 0, 1), "smtp", pid: 400, .delivery(queueID: "C0FFEE1", PostfixDelivery(
            recipient: "r@y", relay: hub, status: .sent)))
        s.feed(t(9, 0, 1), "qmgr", pid: 300, .removed(queueID: "C0FFEE1", detail: nil))
        // Three days later the same short queue ID names another message (inode reuse).
        s.feed(t(9, 0, 0, dayOffset: 3), "smtpd", pid: 101,
               .client(queueID: "C0FFEE1", client: outside, saslMethod: nil, saslUsername: nil,
                       origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 0, dayOffset: 3), "cleanup", pid: 200, .messageID(queueID: "C0FFEE1", messageID: "second@x"))
        s.feed(t(9, 0, 0, dayOffset: 3), "qmgr", pid: 300,
               .queued(queueID: "C0FFEE1", sender: "c@x", size: 20, nrcpt: 1))
        s.feed(t(9, 0, 2, dayOffset: 3), "smtp", pid: 400, .delivery(queueID: "C0FFEE1", PostfixDelivery(
            recipient: "s@y", relay: hub, status: .sent)))
        let o = s.take()
        #expect(o.messages.map(\.messageID) == ["first@x", "second@x"])
        #expect(o.messages.map(\.receivedAt) == [t(9, 0, 0), t(9, 0, 0, dayOffset: 3)])
        #expect(o.deliveries.map(\.receivedAt) == [t(9, 0, 0), t(9, 0, 0, dayOffset: 3)])
        #expect(o.deliveries.map(\.msgKey) == [MessageKey.forMessageID("first@x"), MessageKey.forMessageID("second@x")])
        #expect(s.machine.openTransactions == 1)
    }

    @Test func queueIDReusedWithoutRemovedLine() {
        var s = Transcript()
        s.feed(t(9, 0, 0), "smtpd", pid: 101, .client(queueID: "D1", client: outside, saslMethod: nil,
                                                       saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 0), "qmgr", pid: 300, .queued(queueID: "D1", sender: "a@x", size: 10, nrcpt: 1))
        s.feed(t(10, 0, 0), "smtpd", pid: 101, .client(queueID: "D1", client: outside, saslMethod: nil,
                                                        saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(10, 0, 0), "qmgr", pid: 300, .queued(queueID: "D1", sender: "b@x", size: 11, nrcpt: 1))
        let o = s.take()
        #expect(o.messages.map(\.sender) == ["a@x", "b@x"])
    }

    @Test func deferredThenDelivered() {
        var s = Transcript()
        s.feed(t(9, 0, 0), "smtpd", pid: 101, .client(queueID: "E1", client: outside, saslMethod: nil,
                                                       saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 0), "cleanup", pid: 200, .messageID(queueID: "E1", messageID: "grey@x"))
        s.feed(t(9, 0, 0), "qmgr", pid: 300, .queued(queueID: "E1", sender: "a@x", size: 10, nrcpt: 1))
        s.feed(t(9, 0, 1), "smtp", pid: 400, .delivery(queueID: "E1", PostfixDelivery(
            recipient: "r@y", relay: hub, delay: 1, dsn: "4.7.1", status: .deferred,
            response: "host hub1.example.com[192.0.2.20] said: 451 4.7.1 greylisted")))
        // qmgr logs the message again at the retry: not a new message.
        s.feed(t(9, 17, 0), "qmgr", pid: 300, .queued(queueID: "E1", sender: "a@x", size: 10, nrcpt: 1))
        s.feed(t(9, 17, 1), "smtp", pid: 401, .delivery(queueID: "E1", PostfixDelivery(
            recipient: "r@y", relay: hub, delay: 1021, dsn: "2.0.0", status: .sent,
            response: "250 2.0.0 Ok: queued as 4dQxZf3bKNz5Rtq", nextQueueID: "4dQxZf3bKNz5Rtq")))
        s.feed(t(9, 17, 1), "qmgr", pid: 300, .removed(queueID: "E1", detail: nil))
        let o = s.take()
        #expect(o.messages.count == 1)
        #expect(o.deliveries.map(\.status) == [.deferred, .sent])
        #expect(o.deliveries.map(\.at) == [t(9, 0, 1), t(9, 17, 1)])
        #expect(o.deliveries[1].nextQueueID == "4dQxZf3bKNz5Rtq")
        #expect(s.machine.openTransactions == 0)
    }

    @Test func expiredEmitsPendingRecipients() {
        var s = Transcript()
        s.feed(t(9, 0, 0), "qmgr", pid: 300, .queued(queueID: "F1", sender: "a@x", size: 10, nrcpt: 2))
        s.feed(t(9, 0, 1), "smtp", pid: 400, .delivery(queueID: "F1", PostfixDelivery(
            recipient: "ok@y", relay: hub, status: .sent)))
        s.feed(t(9, 0, 1), "smtp", pid: 400, .delivery(queueID: "F1", PostfixDelivery(
            recipient: "late@z", relay: Peer(name: "none"), status: .deferred)))
        s.feed(t(9, 0, 0, dayOffset: 5), "qmgr", pid: 300,
               .expired(queueID: "F1", sender: "a@x", status: "expired"))
        let o = s.take()
        #expect(o.deliveries.map(\.status) == [.sent, .deferred, .expired])
        #expect(o.deliveries[2].recipient == "late@z")
        #expect(o.deliveries[2].response == "returned to sender")
    }

    @Test func bounceLinkedToItsDSN() {
        var s = Transcript()
        s.feed(t(10, 0, 0), "smtpd", pid: 101, .client(queueID: "G1", client: outside, saslMethod: nil,
                                                        saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(10, 0, 0), "cleanup", pid: 200, .messageID(queueID: "G1", messageID: "orig@x"))
        s.feed(t(10, 0, 0), "qmgr", pid: 300, .queued(queueID: "G1", sender: "a@x", size: 10, nrcpt: 1))
        s.feed(t(10, 0, 1), "local", pid: 500, .delivery(queueID: "G1", PostfixDelivery(
            recipient: "nobody@example.com", relay: Peer(name: "local"), dsn: "5.1.1", status: .bounced,
            response: "unknown user: \"nobody\"")))
        // The DSN's cleanup line precedes the bounce daemon's line; its qmgr line follows.
        s.feed(t(10, 0, 1), "cleanup", pid: 200, .messageID(queueID: "H2", messageID: "20261120100001.H2@mx1"))
        s.feed(t(10, 0, 1), "bounce", pid: 600,
               .notification(queueID: "G1", kind: "sender non-delivery notification", newQueueID: "H2"))
        s.feed(t(10, 0, 1), "qmgr", pid: 300, .queued(queueID: "H2", sender: "", size: 2000, nrcpt: 1))
        s.feed(t(10, 0, 1), "qmgr", pid: 300, .removed(queueID: "G1", detail: nil))
        let o = s.take()
        #expect(o.messages.map(\.queueID) == ["G1", "H2"])
        #expect(o.messages[1].sender == "")
        #expect(o.messages[1].originQueueID == "G1")
        #expect(o.messages[1].originKind == .bounce)
        #expect(o.messages[1].receivedAt == t(10, 0, 1))
        #expect(o.deliveries.map(\.status) == [.bounced])
    }

    @Test func noqueueRejectBecomesARejection() {
        var s = Transcript()
        let bad = Peer(name: "unknown", ip: "198.51.100.77")
        s.feed(t(9, 30, 0), "smtpd", pid: 101, .reject(queueID: nil, PostfixReject(
            action: "reject", stage: "RCPT", client: bad, code: "554", dsn: "5.7.1",
            reason: "<x@example.com>: Relay access denied", sender: "spam@bad.example",
            recipient: "x@example.com", proto: "ESMTP", helo: "bad")))
        let o = s.take()
        #expect(o.rejections.count == 1)
        #expect(o.rejections[0].queueID == nil)
        #expect(o.rejections[0].client == bad)
        #expect(o.rejections[0].program == "smtpd")
        #expect(o.rejections[0].code == "554")
        #expect(o.messages.isEmpty)
        // Every field, as the record is built straight from the line's spans.
        #expect(o.rejections == [RejectionRecord(
            at: t(9, 30, 0), msgKey: MessageKey.forQueue(host: "mx1", queueID: "NOQUEUE/198.51.100.77"),
            host: "mx1", instance: "postfix", queueID: nil, program: "smtpd", action: "reject", stage: "RCPT",
            client: bad, helo: "bad", sender: "spam@bad.example", recipient: "x@example.com", proto: "ESMTP",
            code: "554", dsn: "5.7.1", reason: "<x@example.com>: Relay access denied")])
    }

    @Test func noqueueKeysHashThePrefixAndTheBytesAsTheStringWould() {
        func key(_ bytes: [UInt8]) -> Int64 {
            bytes.withUnsafeBufferPointer { MessageKey.forQueue(host: "mx1", prefix: "NOQUEUE/", bytes: $0) }
        }
        #expect(key(Array("198.51.100.77".utf8)) == MessageKey.forQueue(host: "mx1", queueID: "NOQUEUE/198.51.100.77"))
        #expect(key([]) == MessageKey.forQueue(host: "mx1", queueID: "NOQUEUE/"))
        // Invalid UTF-8 goes through the String and its repair (U+FFFD), as before.
        #expect(key([0x31, 0xFF, 0x32]) == MessageKey.forQueue(host: "mx1", queueID: "NOQUEUE/1\u{FFFD}2"))
        #expect(key([0x31, 0xFF, 0x32]) != MessageKey.forQueue(host: "mx1", queueID: "NOQUEUE/12"))
    }

    @Test func noqueueRejectWithoutAnAddressKeysOnTheBarePrefix() {
        var s = Transcript()
        s.feed(t(9, 31, 0), "smtpd", pid: 101, .reject(queueID: nil, PostfixReject(
            action: "warning", stage: "header", reason: "Subject: x: spam")))
        let o = s.take()
        #expect(o.rejections == [RejectionRecord(
            at: t(9, 31, 0), msgKey: MessageKey.forQueue(host: "mx1", queueID: "NOQUEUE/"),
            host: "mx1", instance: "postfix", queueID: nil, program: "smtpd", action: "warning", stage: "header",
            reason: "Subject: x: spam")])
    }

    @Test func outboundTLSAttachesToTheSameProcessAndRelay() {
        var s = Transcript()
        s.feed(t(9, 0, 0), "qmgr", pid: 300, .queued(queueID: "J1", sender: "a@x", size: 1, nrcpt: 1))
        s.feed(t(9, 0, 0), "qmgr", pid: 300, .queued(queueID: "J2", sender: "a@x", size: 1, nrcpt: 1))
        s.feed(t(9, 0, 1), "smtp", pid: 400, .tls(direction: .outbound, peer: hub, info: tls13))
        s.feed(t(9, 0, 1), "smtp", pid: 400, .delivery(queueID: "J1", PostfixDelivery(
            recipient: "r@y", relay: hub, status: .sent)))
        // Next transaction by the same process without conn_use: a new, plaintext connection.
        s.feed(t(9, 0, 2), "smtp", pid: 400, .delivery(queueID: "J2", PostfixDelivery(
            recipient: "s@y", relay: hub, status: .sent)))
        let o = s.take()
        #expect(o.deliveries.map(\.tls) == [tls13, nil])
    }

    @Test func stateSurvivesARestart() throws {
        var s = Transcript()
        s.feed(t(9, 0, 5), "smtpd", pid: 102, .client(queueID: "BBB222", client: loopback, saslMethod: nil,
                                                       saslUsername: nil, origQueueID: nil, origClient: nil))
        s.feed(t(9, 0, 5), "qmgr", pid: 300, .queued(queueID: "BBB222", sender: "b@x", size: 2, nrcpt: 1))
        #expect(s.take().messages.isEmpty)
        // Round-trip the state through Codable (the loader stores it as JSON with the checkpoint).
        let data = try StateCoding.encode(HostCorrelator(postfix: s.machine))
        var resumed = Transcript()
        resumed.machine = try #require(try StateCoding.decode(data).postfix)
        resumed.feed(t(9, 0, 6), "smtp", pid: 400, .delivery(queueID: "AAA111", PostfixDelivery(
            recipient: "a@y", relay: amavis, status: .sent, response: "250 Ok: queued as BBB222",
            nextQueueID: "BBB222")))
        let o = resumed.take()
        #expect(o.messages.map(\.queueID) == ["BBB222"])
        #expect(o.messages[0].originQueueID == "AAA111")
    }

    @Test func versionOneStateIsStillRead() throws {
        var s = Transcript()
        s.feed(t(9, 0, 5), "smtpd", pid: 102, .client(queueID: "BBB222", client: loopback, saslMethod: nil,
                                                       saslUsername: nil, origQueueID: nil, origClient: nil))
        // The layout mailtrail 0.1 saved: {"version":1,"postfix":{...}}.
        struct V1: Encodable { var version = 1; var postfix: PostfixCorrelator }
        let data = try JSONEncoder().encode(V1(postfix: s.machine))
        let host = try StateCoding.decode(Array(data))
        #expect(host.host == "mx1")
        #expect(host.postfix?.openTransactions == 1)
        #expect(host.sendmail == nil)
        #expect(throws: StateCoding.IncompatibleState.self) {
            try StateCoding.decode(Array(#"{"version":99}"#.utf8))
        }
    }

    @Test func anExactRepeatOfADeliveryLineCountsOnce() {
        // A damaged copy of a delivery line (same time, pid, recipient, status; junk after the
        // response) followed by the line itself: one attempt, not two.
        var s = Transcript()
        s.feed(t(9, 0, 1), "qmgr", pid: 300, .queued(queueID: "CCC333", sender: "c@x", size: 5, nrcpt: 1))
        let d = PostfixDelivery(recipient: "k@y", relay: Peer(name: "dovecot"), status: .sent,
                                response: "delivered via dovecot service")
        s.feed(t(9, 0, 2), "pipe", pid: 401, .delivery(queueID: "CCC333", d))
        s.feed(t(9, 0, 2), "pipe", pid: 401, .delivery(queueID: "CCC333", d))
        #expect(s.take().deliveries.count == 1)
        // A later attempt of the same recipient (a retry) is a new row.
        var deferred = d
        deferred.status = .deferred
        s.feed(t(9, 5, 2), "pipe", pid: 402, .delivery(queueID: "CCC333", deferred))
        s.feed(t(9, 10, 2), "pipe", pid: 402, .delivery(queueID: "CCC333", deferred))
        #expect(s.take().deliveries.map(\.at) == [t(9, 5, 2), t(9, 10, 2)])
    }
}
