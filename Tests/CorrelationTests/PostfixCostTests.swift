// PostfixCostTests: the cheaper forms of round 8 in the Postfix correlator against the forms
// they replace, on exact values — lookup keys that borrow the line's tag (`ProcessKey`) against
// keys that hold it; TLS lines that find their session or outbound entry (updated in place) and
// those that add one; sessions ended by a disconnect (kept for reuse) against removed ones:
// absent to every reader and to the saved state.
// Limits: fixed cases (deterministic).

import Foundation
import Testing
@testable import Correlation
import MailTrailModel

@Suite struct PostfixCostTests {
    typealias ProcessKey = PostfixCorrelator.ProcessKey

    /// A borrowing key finds exactly what a holding key of the same tag parts and pid finds,
    /// whether the tag is the stored object or another object with the same parts.
    @Test func borrowedProcessKeysFindWhatHoldingKeysFind() {
        let smtpd = LineTag(instance: "postfix", program: "smtpd")
        let sameParts = LineTag(instance: "postfix", program: "smtpd")
        let submission = LineTag(instance: "postfix", service: "submission", program: "smtpd")
        let other = LineTag(instance: "postfix-out", program: "smtpd")
        var map = FastMap<ProcessKey, Int>()
        map[ProcessKey(tag: smtpd, pid: 10)] = 1
        map[ProcessKey(tag: submission, pid: 10)] = 2
        map[ProcessKey(tag: other, pid: 11)] = 3
        for tag in [smtpd, sameParts, submission, other] {
            for pid: Int32 in [10, 11, 12] {
                let holding = map.index(of: ProcessKey(tag: tag, pid: pid)).map { map.values[$0] }
                let borrowed = map.index(of: ProcessKey(borrowing: tag, pid: pid)).map { map.values[$0] }
                #expect(borrowed == holding, "tag \(tag.instance)/\(tag.service)/\(tag.program) pid \(pid)")
            }
        }
        #expect(map.index(of: ProcessKey(borrowing: sameParts, pid: 10)).map { map.values[$0] } == 1)
        #expect(map.index(of: ProcessKey(borrowing: submission, pid: 10)).map { map.values[$0] } == 2)
        #expect(map.index(of: ProcessKey(borrowing: other, pid: 10)) == nil)
        #expect(ProcessKey(borrowing: smtpd, pid: 10) == ProcessKey(tag: sameParts, pid: 10))
        #expect(ProcessKey(borrowing: smtpd, pid: 10).fastHash == ProcessKey(tag: sameParts, pid: 10).fastHash)
        #expect(ProcessKey(borrowing: smtpd, pid: 10) != ProcessKey(tag: smtpd, pid: 11))
    }

    /// A stored key keeps its tag alive after the line's reference is gone, and is saved with
    /// the tag's parts.
    @Test func storedProcessKeyHoldsItsTag() throws {
        var map = FastMap<ProcessKey, Int>()
        do {
            let tag = LineTag(instance: "postfix", service: "submission", program: "smtpd")
            map[ProcessKey(tag: tag, pid: 42)] = 7
        }
        let probe = LineTag(instance: "postfix", service: "submission", program: "smtpd")
        #expect(map.index(of: ProcessKey(borrowing: probe, pid: 42)).map { map.values[$0] } == 7)
        #expect(map.keys[0].tag.instance == "postfix")
        #expect(map.keys[0].tag.service == "submission")
        #expect(map.keys[0].tag.program == "smtpd")
    }

    static let tlsA = TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Anonymous")
    static let tlsB = TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: 256, trust: "Trusted")
    static let client = Peer(name: "mail.sender.example", ip: "198.51.100.5", port: 40000)
    static let hub = Peer(name: "hub1.example.com", ip: "192.0.2.20", port: 25)

    static func ctx(_ s: Int64, _ program: String, _ pid: Int32) -> LineContext {
        LineContext(time: Timestamp(seconds: 1_800_000_000 + s), host: "mx1", instance: "postfix", program: program, pid: pid)
    }

    /// An inbound TLS line with a session (from `connect`) and without one (the TLS line makes
    /// it, with the TLS line's port): the message rows carry the TLS and the client's port.
    @Test func inboundTLSWithAndWithoutASession() {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        m.receive(Self.ctx(0, "smtpd", 10), .connect(client: Self.client), into: &out)
        m.receive(Self.ctx(0, "smtpd", 10), .tls(direction: .inbound, peer: Self.client, info: Self.tlsA), into: &out)
        m.receive(Self.ctx(0, "smtpd", 11), .tls(direction: .inbound, peer: Self.client, info: Self.tlsB), into: &out)
        for (qid, pid) in [("AAA111", Int32(10)), ("BBB222", Int32(11))] {
            m.receive(Self.ctx(1, "smtpd", pid), .client(queueID: qid, client: Peer(name: Self.client.name, ip: Self.client.ip),
                                                         saslMethod: nil, saslUsername: nil, origQueueID: nil,
                                                         origClient: nil), into: &out)
            m.receive(Self.ctx(1, "qmgr", 300), .queued(queueID: qid, sender: "a@x", size: 1, nrcpt: 1), into: &out)
        }
        #expect(out.messages.map(\.queueID) == ["AAA111", "BBB222"])
        #expect(out.messages.map(\.tls) == [Self.tlsA, Self.tlsB])
        #expect(out.messages.map(\.client) == [Self.client, Self.client])
    }

    /// A second outbound TLS line of one process replaces the first: the next delivery over it
    /// carries the second's TLS; another process's entry is its own.
    @Test func outboundTLSReplacedInPlace() {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        for q in ["J1", "J2", "J3"] {
            m.receive(Self.ctx(0, "qmgr", 300), .queued(queueID: q, sender: "a@x", size: 1, nrcpt: 1), into: &out)
        }
        m.receive(Self.ctx(1, "smtp", 400), .tls(direction: .outbound, peer: Self.hub, info: Self.tlsA), into: &out)
        m.receive(Self.ctx(1, "smtp", 401), .tls(direction: .outbound, peer: Self.hub, info: Self.tlsA), into: &out)
        m.receive(Self.ctx(1, "smtp", 400), .delivery(queueID: "J1", PostfixDelivery(recipient: "r@y", relay: Self.hub,
                                                                                      status: .sent)), into: &out)
        m.receive(Self.ctx(2, "smtp", 400), .tls(direction: .outbound, peer: Self.hub, info: Self.tlsB), into: &out)
        m.receive(Self.ctx(2, "smtp", 400), .delivery(queueID: "J2", PostfixDelivery(recipient: "s@y", relay: Self.hub,
                                                                                      status: .sent)), into: &out)
        m.receive(Self.ctx(2, "smtp", 401), .delivery(queueID: "J3", PostfixDelivery(recipient: "t@y", relay: Self.hub,
                                                                                      status: .sent)), into: &out)
        #expect(out.deliveries.map(\.recipient) == ["r@y", "s@y", "t@y"])
        #expect(out.deliveries.map(\.tls) == [Self.tlsA, Self.tlsB, Self.tlsA])
    }

    /// After a disconnect the process's session is gone for every reader: a `client=` of that
    /// process gets neither its TLS nor its port; a new connect starts a fresh session (no TLS
    /// of the old one); the saved state holds only live sessions.
    @Test func endedSessionsAreAbsent() throws {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        let other = Peer(name: "other.example", ip: "203.0.113.9", port: 50000)
        m.receive(Self.ctx(0, "smtpd", 10), .connect(client: Self.client), into: &out)
        m.receive(Self.ctx(0, "smtpd", 10), .tls(direction: .inbound, peer: Self.client, info: Self.tlsA), into: &out)
        m.receive(Self.ctx(0, "smtpd", 11), .connect(client: other), into: &out)
        m.receive(Self.ctx(1, "smtpd", 10), .disconnect(client: Self.client), into: &out)
        // A client= of the ended session's process (damaged or reordered log): no session.
        m.receive(Self.ctx(2, "smtpd", 10), .client(queueID: "AAA111", client: Peer(name: Self.client.name, ip: Self.client.ip),
                                                    saslMethod: nil, saslUsername: nil, origQueueID: nil,
                                                    origClient: nil), into: &out)
        m.receive(Self.ctx(2, "qmgr", 300), .queued(queueID: "AAA111", sender: "a@x", size: 1, nrcpt: 1), into: &out)
        // The saved state: only the live session of pid 11.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let saved = try encoder.encode(m.sessions)
        let live = try encoder.encode({ () -> FastMap<PostfixCorrelator.ProcessKey, PostfixCorrelator.Session> in
            var f = FastMap<PostfixCorrelator.ProcessKey, PostfixCorrelator.Session>()
            f[PostfixCorrelator.ProcessKey(tag: LineTag(instance: "postfix", program: "smtpd"), pid: 11)] =
                PostfixCorrelator.Session(client: Peer(ip: other.ip, port: other.port), started: Self.ctx(0, "smtpd", 11).time, tls: nil)
            return f
        }())
        #expect(String(decoding: saved, as: UTF8.self) == String(decoding: live, as: UTF8.self))
        // A new session of pid 10 (no TLS line): a fresh session, not the ended one's TLS.
        m.receive(Self.ctx(3, "smtpd", 10), .connect(client: other), into: &out)
        m.receive(Self.ctx(3, "smtpd", 10), .client(queueID: "BBB222", client: Peer(name: other.name, ip: other.ip),
                                                    saslMethod: nil, saslUsername: nil, origQueueID: nil,
                                                    origClient: nil), into: &out)
        m.receive(Self.ctx(3, "qmgr", 300), .queued(queueID: "BBB222", sender: "a@x", size: 1, nrcpt: 1), into: &out)
        #expect(out.messages.map(\.queueID) == ["AAA111", "BBB222"])
        #expect(out.messages.map(\.tls) == [nil, nil])
        #expect(out.messages.map(\.client) == [Peer(name: Self.client.name, ip: Self.client.ip), other])
        // A restored state reads the saved live session.
        let restored = try JSONDecoder().decode(PostfixCorrelator.SessionTable.self, from: saved)
        #expect(restored.map.count == 1)
        #expect(restored.live(PostfixCorrelator.ProcessKey(borrowing: LineTag(instance: "postfix", program: "smtpd"), pid: 11)) == 0)
        #expect(restored.map.values[0].client == Peer(ip: other.ip, port: other.port))
    }
}
