// PostfixRound9Tests: the cheaper forms of round 9 in the Postfix correlator against the forms
// they replace, on exact values — a message row that takes its
// transaction's client (an empty client stays, so queue-ID reuse sees one) against the rows
// and reuse decisions of before, also across a saved and restored state; a `client=` line
// that makes its transaction with its values against one that changes a transaction made
// before (same rows); a link waiting for
// its transaction (the inlined "no link waiting" test) adopted by each kind of first line.
// Limits: deterministic inputs (a fixed seed and fixed transcripts).

import Foundation
import Testing
@testable import Correlation
@testable import MailTrailModel

@Suite struct PostfixRound9Tests {
    static let client = Peer(name: "mail.sender.example", ip: "198.51.100.5", port: 40000)

    static func ctx(_ s: Int64, _ program: String, _ pid: Int32) -> LineContext {
        LineContext(time: Timestamp(seconds: 1_800_000_000 + s), host: "mx1", instance: "postfix", program: program, pid: pid)
    }

    static func clientLine(_ qid: String, _ peer: Peer = client) -> PostfixEvent {
        .client(queueID: qid, client: peer, saslMethod: nil, saslUsername: nil, origQueueID: nil, origClient: nil)
    }

    /// The row carries the full client; the open transaction keeps an empty one; a second
    /// `client=` of the same ID (queue-ID reuse) still finishes the first and opens a new one,
    /// also after the state was saved and read back.
    @Test func emissionTakesTheClientAndReuseStillSeesOne() throws {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        m.receive(Self.ctx(0, "smtpd", 10), Self.clientLine("AAA111"), into: &out)
        m.receive(Self.ctx(0, "qmgr", 300), .queued(queueID: "AAA111", sender: "a@x", size: 1, nrcpt: 1), into: &out)
        #expect(out.messages.map(\.client) == [Self.client])
        let i = try #require(m.transactions.index(of: .init(instance: "postfix", queueID: QueueID("AAA111"))))
        #expect(m.transactions.values[i].client == Peer())
        #expect(m.transactions.values[i].emitted)

        // Saved and read back: the empty client is kept (`{}`), so reuse is decided alike.
        let data = try StateCoding.encode(HostCorrelator(postfix: m))
        #expect(String(decoding: data, as: UTF8.self).contains(#""client":{}"#))
        var resumed = try #require(try StateCoding.decode(data).postfix)
        for var machine in [m, resumed] {
            var o = CorrelatorOutput()
            let other = Peer(name: "other.example", ip: "203.0.113.9", port: 50000)
            machine.receive(Self.ctx(5, "smtpd", 11), Self.clientLine("AAA111", other), into: &o)
            machine.receive(Self.ctx(5, "qmgr", 300), .queued(queueID: "AAA111", sender: "b@x", size: 2, nrcpt: 1), into: &o)
            #expect(o.messages.map(\.client) == [other])
            #expect(o.messages.map(\.sender) == ["b@x"])
            #expect(o.messages.map(\.receivedAt) == [Timestamp(seconds: 1_800_000_005)])
            #expect(machine.openTransactions == 1)
        }
        resumed.receive(Self.ctx(6, "qmgr", 300), .removed(queueID: "AAA111", detail: nil), into: &out)
        #expect(resumed.openTransactions == 0)
    }

    /// A pickup line for an emitted ID that had a client opens a new transaction too (the
    /// empty client counts), and a message without a client line gets `Peer()` in its row.
    @Test func pickupAfterEmissionAndRowsWithoutAClient() {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        m.receive(Self.ctx(0, "qmgr", 300), .queued(queueID: "BBB222", sender: "a@x", size: 1, nrcpt: 1), into: &out)
        #expect(out.messages.map(\.client) == [Peer()])
        m.receive(Self.ctx(1, "smtpd", 10), Self.clientLine("CCC333"), into: &out)
        m.receive(Self.ctx(1, "qmgr", 300), .queued(queueID: "CCC333", sender: "a@x", size: 1, nrcpt: 1), into: &out)
        m.receive(Self.ctx(2, "pickup", 20), .pickup(queueID: "CCC333", uid: 1000, sender: "root", origID: nil), into: &out)
        m.receive(Self.ctx(2, "qmgr", 300), .queued(queueID: "CCC333", sender: "root@x", size: 3, nrcpt: 1), into: &out)
        #expect(out.messages.map(\.queueID) == ["BBB222", "CCC333", "CCC333"])
        #expect(out.messages.map(\.client) == [Peer(), Self.client, Peer(name: "pickup")])
        #expect(out.messages.map(\.sender) == ["a@x", "a@x", "root@x"])   // qmgr's sender, as always
    }

    /// A `client=` line that opens its transaction (the values moved into the new one) and one
    /// whose transaction a cleanup line opened first (the values swapped in): the same row, with
    /// the session's TLS and port, the SASL values, the origin and the loopback hold.
    @Test func clientLineOnANewAndAKnownTransaction() {
        let tls = TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Anonymous")
        let filter = Peer(name: "localhost", ip: "127.0.0.1", port: 10025)
        var rows: [[MessageRecord]] = []
        for cleanupFirst in [false, true] {
            var m = PostfixCorrelator(host: "mx1")
            var out = CorrelatorOutput()
            m.receive(Self.ctx(0, "smtpd", 10), .connect(client: Self.client), into: &out)
            m.receive(Self.ctx(0, "smtpd", 10), .tls(direction: .inbound, peer: Self.client, info: tls), into: &out)
            m.receive(Self.ctx(0, "smtpd", 11), .connect(client: filter), into: &out)
            if cleanupFirst {
                m.receive(Self.ctx(1, "cleanup", 30), .messageID(queueID: "AAA111", messageID: "a1@x"), into: &out)
                m.receive(Self.ctx(1, "cleanup", 30), .messageID(queueID: "BBB222", messageID: "b2@x"), into: &out)
            }
            m.receive(Self.ctx(1, "smtpd", 10), .client(queueID: "AAA111", client: Peer(name: Self.client.name, ip: Self.client.ip),
                                                       saslMethod: "PLAIN", saslUsername: "ann@example.com",
                                                       origQueueID: nil, origClient: nil), into: &out)
            m.receive(Self.ctx(1, "smtpd", 11), .client(queueID: "BBB222", client: Peer(name: filter.name, ip: filter.ip),
                                                       saslMethod: nil, saslUsername: nil,
                                                       origQueueID: "ZZZ999", origClient: nil), into: &out)
            if !cleanupFirst {
                m.receive(Self.ctx(1, "cleanup", 30), .messageID(queueID: "AAA111", messageID: "a1@x"), into: &out)
                m.receive(Self.ctx(1, "cleanup", 30), .messageID(queueID: "BBB222", messageID: "b2@x"), into: &out)
            }
            for q in ["AAA111", "BBB222"] {
                m.receive(Self.ctx(2, "qmgr", 300), .queued(queueID: q, sender: "a@x", size: 1, nrcpt: 1), into: &out)
            }
            #expect(m.transactions.values.map(\.loopbackClient) == [false, true], "\(cleanupFirst)")
            rows.append(Array(out.messages))
        }
        #expect(rows[0] == rows[1])
        #expect(rows[0].map(\.queueID) == ["AAA111", "BBB222"])
        #expect(rows[0].map(\.client) == [Self.client, filter])
        #expect(rows[0].map(\.tls) == [tls, nil])
        #expect(rows[0].map(\.saslMethod) == ["PLAIN", nil])
        #expect(rows[0].map(\.saslUsername) == ["ann@example.com", nil])
        #expect(rows[0].map(\.originQueueID) == [nil, "ZZZ999"])
        #expect(rows[0].map(\.originKind) == [nil, .reinjection])
        #expect(rows[0].map(\.receivedAt) == [Timestamp(seconds: 1_800_000_001), Timestamp(seconds: 1_800_000_001)])
    }

    /// A bounce notification seen before the new message's first line waits for it; each kind
    /// of first line (client, pickup, message-id, qmgr) adopts it; with no link waiting nothing
    /// is adopted.
    @Test func waitingLinksAreAdoptedByEveryFirstLine() {
        let firsts: [(String, String, Int32, PostfixEvent)] = [
            ("N1", "smtpd", 10, Self.clientLine("N1")),
            ("N2", "pickup", 20, .pickup(queueID: "N2", uid: 0, sender: "root", origID: nil)),
            ("N3", "cleanup", 30, .messageID(queueID: "N3", messageID: "n3@x")),
            ("N4", "qmgr", 300, .queued(queueID: "N4", sender: "", size: 5, nrcpt: 1)),
        ]
        for (qid, program, pid, first) in firsts {
            for linked in [true, false] {
                var m = PostfixCorrelator(host: "mx1")
                var out = CorrelatorOutput()
                if linked {
                    m.receive(Self.ctx(0, "bounce", 600),
                              .notification(queueID: "OLD1", kind: "sender non-delivery notification", newQueueID: qid),
                              into: &out)
                }
                m.receive(Self.ctx(1, program, pid), first, into: &out)
                if program != "qmgr" {
                    m.receive(Self.ctx(1, "qmgr", 300), .queued(queueID: qid, sender: "", size: 5, nrcpt: 1), into: &out)
                }
                #expect(out.messages.map(\.queueID) == [qid])
                #expect(out.messages.map(\.originQueueID) == [linked ? "OLD1" : nil], "\(qid) \(linked)")
                #expect(out.messages.map(\.originKind) == [linked ? .bounce : nil], "\(qid) \(linked)")
                #expect(m.pendingOrigins.isEmpty)
            }
        }
    }
}
