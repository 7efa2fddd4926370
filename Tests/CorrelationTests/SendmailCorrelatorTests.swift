// Transcript tests of the Sendmail correlator: events in, exact records out.
// Each test reads like the log it stands for; times are seconds of 2026-11-20 UTC.
import Foundation
import Testing
import MailTrailModel
@testable import Correlation

private let day: Int64 = CivilDate(year: 2026, month: 11, day: 20).daysSinceEpoch * 86_400

private func t(_ h: Int64, _ m: Int64, _ s: Int64, dayOffset: Int64 = 0) -> Timestamp {
    Timestamp(seconds: day + dayOffset * 86_400 + h * 3600 + m * 60 + s)
}

/// Feeds Sendmail events of host `mx2` and collects what each step emits.
private struct Transcript {
    var machine = HostCorrelator(host: "mx2")
    var out = CorrelatorOutput()

    mutating func feed(_ time: Timestamp, _ program: String = "sm-mta", pid: Int32, _ event: SendmailEvent) {
        let ctx = LineContext(time: time, host: "mx2", instance: "", program: program, pid: pid)
        machine.receive(ctx, event, into: &out)
    }

    mutating func take() -> CorrelatorOutput {
        let o = out
        out = CorrelatorOutput()
        return o
    }
}

private let client = Peer(name: "mail.example.org", ip: "203.0.113.5")
private let mx = Peer(name: "mx.example.net", ip: "198.51.100.25")
private let tlsIn = TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Anonymous")
private let tlsOut = TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: 256, trust: "Trusted")

private func from(_ sender: String, nrcpts: Int, msgid: String?, proto: String? = "ESMTPS",
                  relay: Peer = client) -> SendmailFrom {
    SendmailFrom(sender: sender, size: 4821, msgClass: 0, nrcpts: nrcpts, messageID: msgid, bodyType: nil,
                 proto: proto, daemon: "MTA", relay: relay)
}

@Suite struct SendmailCorrelatorTranscripts {
    @Test func inboundTLSAndSASLThenDeliveriesWithOutboundTLS() {
        var s = Transcript()
        s.feed(t(9, 12, 0), pid: 12345, .tls(direction: .inbound, peer: client, info: tlsIn, verify: "NO"))
        s.feed(t(9, 12, 1), pid: 12345, .auth(peer: client, authid: "alice", mechanism: "PLAIN"))
        s.feed(t(9, 12, 2), pid: 12345, .from(queueID: "5058C1xA012345",
                                              from("alice@example.org", nrcpts: 2, msgid: "abc123@example.org", proto: "ESMTPSA")))
        var o = s.take()
        let key = MessageKey.forMessageID("abc123@example.org")
        #expect(o.messages == [MessageRecord(
            receivedAt: t(9, 12, 2), msgKey: key, host: "mx2", mta: "sendmail", instance: "sm-mta",
            queueID: "5058C1xA012345", messageID: "abc123@example.org", sender: "alice@example.org", client: client,
            size: 4821, nrcpt: 2, proto: "ESMTPSA", tls: tlsIn, saslMethod: "PLAIN", saslUsername: "alice")])
        #expect(o.deliveries.isEmpty && o.rejections.isEmpty)
        #expect(s.machine.openTransactions == 1)

        s.feed(t(9, 12, 3), pid: 12350, .tls(direction: .outbound, peer: Peer(name: "mx.example.net"), info: tlsOut, verify: "OK"))
        s.feed(t(9, 12, 3), pid: 12350, .to(queueID: "5058C1xA012345", SendmailTo(
            recipients: ["bob@example.net", "carol@example.net"], delay: 1, xdelay: 1, mailer: "esmtp",
            priority: 124821, relay: mx, dsn: "2.0.0", stat: "Sent (Ok: queued as 4T9x2C0d3Hz1Wbq)", status: .sent,
            response: "Ok: queued as 4T9x2C0d3Hz1Wbq", nextQueueID: "4T9x2C0d3Hz1Wbq")))
        o = s.take()
        #expect(o.messages.isEmpty)
        #expect(o.deliveries == ["bob@example.net", "carol@example.net"].map {
            DeliveryRecord(at: t(9, 12, 3), msgKey: key, host: "mx2", instance: "sm-mta", queueID: "5058C1xA012345",
                           receivedAt: t(9, 12, 2), recipient: $0, status: .sent, dsn: "2.0.0", transport: "esmtp",
                           relay: mx, delay: 1, tls: tlsOut, response: "Ok: queued as 4T9x2C0d3Hz1Wbq",
                           nextQueueID: "4T9x2C0d3Hz1Wbq")
        })
        // Both recipients final: the transaction leaves the state.
        #expect(s.machine.openTransactions == 0)
    }

    /// A transaction leaves the state at the `to=` line that makes its final recipients reach
    /// `nrcpts` (deferred ones not counted), never before: the count of open transactions after
    /// every line of 300 seeded transcripts (1 to 3 recipients announced, `to=` lines of 1 or 2
    /// recipients sent, deferred or bounced) against that rule.
    @Test func aTransactionClosesWhenEveryRecipientIsFinal() {
        var rng = SplitMix64(seed: 61)
        var wrong: [String] = []
        for run in 0..<300 {
            var s = Transcript()
            let nrcpts = 1 + Int(rng.next() % 3)
            let qid = "5058C1xA0\(10_000 + run)"
            s.feed(t(9, 0, 0), pid: 100, .from(queueID: qid, from("a@example.org", nrcpts: nrcpts, msgid: "m\(run)@x")))
            var finals = 0
            for k in 0..<5 {
                let count = 1 + Int(rng.next() % 2)
                let status: DeliveryStatus = [.sent, .deferred, .bounced][Int(rng.next() % 3)]
                s.feed(t(9, 0, Int64(1 + k)), pid: 101, .to(queueID: qid, SendmailTo(
                    recipients: (0..<count).map { "r\($0)@example.net" }, delay: 1, xdelay: 1, mailer: "esmtp",
                    priority: 1, relay: mx, dsn: status == .sent ? "2.0.0" : "5.0.0", stat: "x", status: status,
                    response: nil, nextQueueID: nil)))
                let wasOpen = finals < nrcpts
                if status != .deferred { finals += count }
                let want = wasOpen && finals < nrcpts ? 1 : 0
                if s.machine.openTransactions != want {
                    wrong.append("run \(run) line \(k): \(s.machine.openTransactions) open, want \(want)")
                }
                _ = s.take()
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }

    @Test func sessionFactsNeedMatchingProtoAndAddress() {
        var s = Transcript()
        // A TLS session of pid 700 from another client, then a plain ESMTP message from the same pid (pid reuse).
        s.feed(t(10, 0, 0), pid: 700, .tls(direction: .inbound, peer: Peer(ip: "192.0.2.1"), info: tlsIn, verify: "NO"))
        s.feed(t(10, 0, 5), pid: 700, .from(queueID: "5058Ka0a000700", from("x@example.org", nrcpts: 1, msgid: nil,
                                                                           proto: "ESMTPS")))
        s.feed(t(10, 0, 9), pid: 700, .tls(direction: .inbound, peer: client, info: tlsIn, verify: "NO"))
        s.feed(t(10, 0, 9), pid: 700, .from(queueID: "5058Ka0b000700", from("y@example.org", nrcpts: 1, msgid: nil,
                                                                           proto: "ESMTP")))
        let o = s.take()
        #expect(o.messages.map(\.tls) == [nil, nil])
        #expect(o.messages.map(\.msgKey) == [MessageKey.forQueue(host: "mx2", queueID: "5058Ka0a000700"),
                                             MessageKey.forQueue(host: "mx2", queueID: "5058Ka0b000700")])
    }

    @Test func deferredThenSentDaysLaterAndUnknownTransaction() {
        var s = Transcript()
        s.feed(t(9, 0, 0), pid: 1, .from(queueID: "5058C1xA000001", from("a@example.org", nrcpts: 1, msgid: "m@x",
                                                                        proto: "ESMTP")))
        s.feed(t(9, 0, 15), pid: 2, .to(queueID: "5058C1xA000001", SendmailTo(
            recipients: ["d@example.com"], delay: 15, mailer: "esmtp", relay: Peer(ip: "93.184.216.34"), dsn: "4.3.5",
            stat: "Deferred: 451 4.3.5 Server configuration problem", status: .deferred,
            response: "451 4.3.5 Server configuration problem")))
        s.feed(t(9, 0, 20, dayOffset: 1), pid: 3, .to(queueID: "5058C1xA000001", SendmailTo(
            recipients: ["d@example.com"], delay: 86_420, mailer: "esmtp", relay: Peer(ip: "93.184.216.34"),
            dsn: "2.0.0", stat: "Sent (ok)", status: .sent, response: "ok")))
        // A delivery of a message whose from= line is not in the log.
        s.feed(t(9, 1, 0, dayOffset: 1), "sm-msp-queue", pid: 4, .to(queueID: "5057A1xA000009", SendmailTo(
            recipients: ["root"], mailer: "relay", relay: Peer(ip: "127.0.0.1"), dsn: "2.0.0",
            stat: "Sent (5058K0bQ012360 Message accepted for delivery)", status: .sent,
            response: "5058K0bQ012360 Message accepted for delivery", nextQueueID: "5058K0bQ012360")))
        let o = s.take()
        #expect(o.messages.count == 1)
        #expect(o.deliveries.map(\.status) == [.deferred, .sent, .sent])
        #expect(o.deliveries.map(\.receivedAt) == [t(9, 0, 0), t(9, 0, 0), nil])
        #expect(o.deliveries.map(\.msgKey) == [MessageKey.forMessageID("m@x"), MessageKey.forMessageID("m@x"),
                                              MessageKey.forQueue(host: "mx2", queueID: "5057A1xA000009")])
        // The MSP queue runner's deliveries belong to the MSP's instance.
        #expect(o.deliveries.map(\.instance) == ["sm-mta", "sm-mta", "sendmail"])
        #expect(o.deliveries[2].nextQueueID == "5058K0bQ012360")
        #expect(s.machine.openTransactions == 0)
    }

    @Test func bounceDSNIsHeldUntilItsFirstDelivery() {
        var s = Transcript()
        s.feed(t(9, 0, 0), pid: 31760, .from(queueID: "q5PNOMeP031760", from("u@example.org", nrcpts: 1,
                                                                             msgid: "orig@example.org", proto: "ESMTP")))
        s.feed(t(9, 0, 1), pid: 31762, .to(queueID: "q5PNOMeP031760", SendmailTo(
            recipients: ["x@example.net"], mailer: "esmtp", relay: mx, dsn: "5.1.1", stat: "User unknown",
            status: .bounced, response: "User unknown")))
        s.feed(t(9, 0, 1), pid: 31762, .notification(queueID: "q5PNOMeP031760", newQueueID: "q5PNOPeP031762",
                                                     kind: "DSN", text: "User unknown"))
        var o = s.take()
        #expect(o.messages.count == 1)
        #expect(o.deliveries.count == 1)
        s.feed(t(9, 0, 2), pid: 31762, .to(queueID: "q5PNOPeP031762", SendmailTo(
            recipients: ["u@example.org"], mailer: "esmtp", relay: client, dsn: "2.0.0", stat: "Sent (ok)",
            status: .sent, response: "ok")))
        o = s.take()
        let bounceKey = MessageKey.forQueue(host: "mx2", queueID: "q5PNOPeP031762")
        #expect(o.messages == [MessageRecord(
            receivedAt: t(9, 0, 1), msgKey: bounceKey, host: "mx2", mta: "sendmail", instance: "sm-mta",
            queueID: "q5PNOPeP031762", sender: "", originQueueID: "q5PNOMeP031760", originKind: .bounce)])
        #expect(o.deliveries.map(\.receivedAt) == [t(9, 0, 1)])
        #expect(o.deliveries.map(\.msgKey) == [bounceKey])
    }

    /// A held DSN whose own `from=` line comes (the queue runner logs one): its row at that line
    /// with the line's facts and the origin's link, once (not again when held ones are flushed);
    /// a second `from=` of an emitted transaction makes no row; nrcpts=0 of a fresh one neither.
    @Test func aHeldDSNGetsItsRowAtItsFromLine() {
        var s = Transcript()
        s.feed(t(9, 0, 0), pid: 500, .from(queueID: "q5PNOMeP000500", from("u@example.org", nrcpts: 1,
                                                                         msgid: "orig@example.org", proto: "ESMTP")))
        s.feed(t(9, 0, 1), pid: 501, .notification(queueID: "q5PNOMeP000500", newQueueID: "q5PNOPeP000501",
                                                   kind: "DSN", text: "Host unknown"))
        #expect(s.take().messages.map(\.queueID) == ["q5PNOMeP000500"])
        s.feed(t(9, 0, 2), pid: 501, .from(queueID: "q5PNOPeP000501", from("", nrcpts: 1, msgid: nil, proto: nil,
                                                                         relay: Peer(name: "localhost"))))
        var o = s.take()
        #expect(o.messages == [MessageRecord(
            receivedAt: t(9, 0, 1), msgKey: MessageKey.forQueue(host: "mx2", queueID: "q5PNOPeP000501"), host: "mx2",
            mta: "sendmail", instance: "sm-mta", queueID: "q5PNOPeP000501", sender: "", client: Peer(name: "localhost"),
            size: 4821, nrcpt: 1, originQueueID: "q5PNOMeP000500", originKind: .bounce)])
        #expect(s.machine.openTransactions == 2)
        s.machine.flushHeld(into: &s.out)
        s.feed(t(9, 20, 0), pid: 1, .reject(queueID: nil, SendmailReject(
            action: "reject", stage: "CONNECT", ruleset: "check_relay", client: Peer(ip: "192.0.2.99"), code: "421",
            dsn: "4.3.2", reason: "Connection rate limit exceeded.")))
        o = s.take()
        #expect(o.messages.isEmpty && o.rejections.count == 1)
        // A fresh transaction whose every recipient was refused: no row, not kept.
        s.feed(t(9, 21, 0), pid: 502, .from(queueID: "q5PNOQeP000502", from("v@example.org", nrcpts: 0, msgid: "r@x")))
        o = s.take()
        #expect(o.messages.isEmpty)
        #expect(s.machine.openTransactions == 2)
    }

    @Test func cloneAndSplitCopyTheOriginalAndReleaseAfterTheHoldWindow() {
        var s = Transcript()
        s.feed(t(9, 0, 0), pid: 13890, .from(queueID: "h9NL1K9M013890", from("list@example.org", nrcpts: 3,
                                                                             msgid: "post@example.org", proto: "ESMTP")))
        s.feed(t(9, 0, 1), pid: 13891, .clone(queueID: "h9NL1K9M013890", newQueueID: "h9NL1K9M013891",
                                              owner: "owner-list@example.org"))
        s.feed(t(9, 0, 1), pid: 13890, .split(queueID: "h9NL1K9M013890", newQueueIDs: ["h9NL1K9N013890"]))
        var o = s.take()
        #expect(o.messages.count == 1)
        // Nothing else for 10 minutes: the held copies are released by the next event.
        s.feed(t(9, 10, 2), pid: 1, .reject(queueID: nil, SendmailReject(
            action: "reject", stage: "CONNECT", ruleset: "check_relay", client: Peer(ip: "192.0.2.99"), code: "421",
            dsn: "4.3.2", reason: "Connection rate limit exceeded.")))
        o = s.take()
        let key = MessageKey.forMessageID("post@example.org")
        #expect(o.messages == [
            MessageRecord(receivedAt: t(9, 0, 1), msgKey: key, host: "mx2", mta: "sendmail", instance: "sm-mta",
                          queueID: "h9NL1K9M013891", messageID: "post@example.org", sender: "owner-list@example.org",
                          client: client, size: 4821, proto: "ESMTP", originQueueID: "h9NL1K9M013890",
                          originKind: .split),
            MessageRecord(receivedAt: t(9, 0, 1), msgKey: key, host: "mx2", mta: "sendmail", instance: "sm-mta",
                          queueID: "h9NL1K9N013890", messageID: "post@example.org", sender: "list@example.org",
                          client: client, size: 4821, proto: "ESMTP", originQueueID: "h9NL1K9M013890",
                          originKind: .split),
        ])
        #expect(o.rejections == [RejectionRecord(
            at: t(9, 10, 2), msgKey: MessageKey.forQueue(host: "mx2", queueID: "NOQUEUE/192.0.2.99"), host: "mx2",
            instance: "sm-mta", program: "sm-mta", action: "reject", stage: "CONNECT", client: Peer(ip: "192.0.2.99"),
            code: "421", dsn: "4.3.2", reason: "Connection rate limit exceeded.")])
    }

    @Test func allRecipientsRefusedIsNoMessage() {
        var s = Transcript()
        s.feed(t(14, 37, 39), pid: 2794, .reject(queueID: "55HIbcGI002794", SendmailReject(
            action: "reject", recipient: "baduser@yourhost.com", reason: "User unknown")))
        s.feed(t(14, 37, 39), pid: 2794, .from(queueID: "55HIbcGI002794", from("root@yourhost.com", nrcpts: 0,
                                                                               msgid: nil, proto: "ESMTP",
                                                                               relay: Peer(ip: "192.168.1.45"))))
        let o = s.take()
        #expect(o.messages.isEmpty)
        #expect(o.rejections == [RejectionRecord(
            at: t(14, 37, 39), msgKey: MessageKey.forQueue(host: "mx2", queueID: "55HIbcGI002794"), host: "mx2",
            instance: "sm-mta", queueID: "55HIbcGI002794", program: "sm-mta", action: "reject",
            recipient: "baduser@yourhost.com", reason: "User unknown")])
        #expect(s.machine.openTransactions == 0)
    }

    @Test func localSubmissionAndFlushAndStateRoundTrip() throws {
        var s = Transcript()
        s.feed(t(8, 0, 0), "sendmail", pid: 809, .from(queueID: "j061bW9V000809", SendmailFrom(
            sender: "maddingue", size: 2039, msgClass: 0, nrcpts: 1, messageID: "200501060137.j061bW9V000809@jupiter",
            relay: Peer(name: "localhost"), identUser: "maddingue")))
        s.feed(t(8, 0, 1), "sendmail", pid: 809, .notification(queueID: "j061bW9V000809", newQueueID: "j061bW9W000809",
                                                                kind: "postmaster notify", text: "Data format error"))
        var o = s.take()
        #expect(o.messages.map(\.localUser) == ["maddingue"])
        #expect(o.messages.map(\.instance) == ["sendmail"])
        #expect(o.messages.map(\.client) == [Peer(name: "localhost")])

        // The state survives a save/restore with the held DSN still in it.
        let data = try StateCoding.encode(s.machine)
        var resumed = Transcript()
        resumed.machine = try StateCoding.decode(data)
        #expect(resumed.machine.openTransactions == 2)
        resumed.machine.flushHeld(into: &resumed.out)
        o = resumed.take()
        #expect(o.messages.map(\.queueID) == ["j061bW9W000809"])
        #expect(o.messages.map(\.originKind) == [.bounce])
        resumed.machine.flushHeld(into: &resumed.out)
        #expect(resumed.take().isEmpty)
    }
}

/// `HostCorrelator` stores each family's machine with a "seen" flag instead of an optional; its
/// saved state must stay the layout the synthesised coding wrote: families never seen absent.
@Suite struct HostCorrelatorCodingTests {
    @Test func onlyTheFamiliesSeenAreSavedAndRestored() throws {
        var s = Transcript()
        #expect(s.machine.postfix == nil && s.machine.sendmail == nil && s.machine.exim == nil)
        s.feed(t(9, 12, 2), pid: 12345, .from(queueID: "5058C1xA012345",
                                              from("alice@example.org", nrcpts: 2, msgid: "abc123@example.org", proto: "ESMTPSA")))
        #expect(s.machine.postfix == nil && s.machine.sendmail?.openTransactions == 1 && s.machine.exim == nil)
        let data = try StateCoding.encode(s.machine)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(data)) as? [String: Any])
        let host = try #require(object["host"] as? [String: Any])
        #expect(host.keys.sorted() == ["config", "host", "sendmail"])
        #expect(host["host"] as? String == "mx2")
        let back = try StateCoding.decode(data)
        #expect(back.postfix == nil && back.exim == nil && back.sendmail?.openTransactions == 1)
        #expect(try StateCoding.encode(back) == data)
        // A state without any family (a host whose lines were all noise) reads back empty.
        let empty = try StateCoding.decode(try StateCoding.encode(HostCorrelator(host: "quiet")))
        #expect(empty.host == "quiet" && empty.openTransactions == 0)
        #expect(empty.postfix == nil && empty.sendmail == nil && empty.exim == nil)
    }
}
