// SendmailSlimStateTests: what the Sendmail correlator keeps per session and per transaction.
// Contract tested: an inbound session (STARTTLS=server, AUTH=server) keeps its client's address
// alone, IPv4 and rewritten IPv6 alike, and still lends TLS and SASL to a `from=` line of the same
// address (whose row names the client from its own relay); a state saved with the client's name
// (as before) reads and lends them the same. A transaction of a `from=` line holds no Strings
// (`rare` is nil); a message made on the host keeps its origin there; copies of a transaction
// change independently; a transaction's JSON survives a round trip unchanged.
import Foundation
import Testing
import MailTrailModel
@testable import Correlation

@Suite struct SendmailSlimStateTests {
    typealias Reuse = SendmailSessionReuseTests

    static func starttls(_ m: inout SendmailCorrelator, _ out: inout CorrelatorOutput, _ peer: Peer, at s: Int64 = 0) {
        Reuse.feed(&m, &out, at: s) { line, add in
            line.beginTLS(direction: .inbound)
            Reuse.relay(line, peer, add)
            line.f.tlsProto = add("TLSv1.3"); line.f.cipher = add("TLS_AES_256_GCM_SHA384"); line.f.bits = 256
            line.f.verify = add("NO")
        }
    }

    static func auth(_ m: inout SendmailCorrelator, _ out: inout CorrelatorOutput, _ peer: Peer, at s: Int64 = 1) {
        Reuse.feed(&m, &out, at: s) { line, add in
            line.beginAuth()
            Reuse.relay(line, peer, add)
            line.f.authid = add("alice"); line.f.mechanism = add("PLAIN")
        }
    }

    static func from(_ m: inout SendmailCorrelator, _ out: inout CorrelatorOutput, _ peer: Peer, qid: String = "5058C1xA000077",
                     proto: String = "ESMTPSA", at s: Int64 = 2) {
        Reuse.feed(&m, &out, at: s) { line, add in
            line.beginFrom(queueID: add(qid))
            line.f.sender = add("alice@example.org"); line.f.size = 10; line.f.msgClass = 0; line.f.nrcpts = 1
            line.f.messageID = add("m@x"); line.f.proto = add(proto); line.f.daemon = add("MTA")
            Reuse.relay(line, peer, add)
        }
    }

    static func json<T: Encodable>(_ v: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }

    @Test(arguments: [Peer(name: "client.example.org", ip: "192.0.2.9"), Peer(name: "v6.example.org", ip: "2001:db8::9")])
    func aSessionKeepsTheAddressAlone(peer: Peer) throws {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        Self.starttls(&m, &out, peer)
        #expect(m.sessions.values.map(\.client) == [Peer(ip: peer.ip)])
        let saved = try Self.json(m.sessions)
        #expect(!saved.contains("example.org") && saved.contains(peer.ip!))
        Self.auth(&m, &out, peer)
        #expect(m.sessions.values.map(\.client) == [Peer(ip: peer.ip)])
        #expect(m.sessions.values.map(\.saslUsername) == ["alice"])
        Self.from(&m, &out, peer)
        let row = try #require(out.messages.first)
        #expect(row.client == peer)
        #expect(row.tls?.cipher == "TLS_AES_256_GCM_SHA384" && row.saslMethod == "PLAIN" && row.saslUsername == "alice")
        // An AUTH line alone makes a session of the address too.
        var a = SendmailCorrelator(host: "mx2")
        Self.auth(&a, &out, peer)
        #expect(a.sessions.values.map(\.client) == [Peer(ip: peer.ip)])
    }

    @Test func aStateSavedWithTheClientNameReadsAndLends() throws {
        let peer = Peer(name: "client.example.org", ip: "192.0.2.9")
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        Self.starttls(&m, &out, peer)
        Self.auth(&m, &out, peer)
        let saved = String(decoding: try JSONEncoder().encode(m), as: UTF8.self)
        let before = saved.replacingOccurrences(of: #""client":{"ip":"192.0.2.9"}"#,
                                                with: #""client":{"ip":"192.0.2.9","name":"client.example.org"}"#)
        #expect(before != saved)
        var r = try JSONDecoder().decode(SendmailCorrelator.self, from: Data(before.utf8))
        #expect(r.sessions.values.map(\.client) == [peer])
        var o = CorrelatorOutput()
        Self.from(&r, &o, peer)
        let row = try #require(o.messages.first)
        #expect(row.client == peer && row.tls?.cipher == "TLS_AES_256_GCM_SHA384" && row.saslUsername == "alice")
        // Another address does not borrow them.
        var r2 = try JSONDecoder().decode(SendmailCorrelator.self, from: Data(before.utf8))
        var o2 = CorrelatorOutput()
        Self.from(&r2, &o2, Peer(name: "client.example.org", ip: "192.0.2.10"))
        #expect(o2.messages.first?.tls == nil && o2.messages.first?.saslMethod == nil)
    }

    @Test func aFromLineTransactionHoldsNoStrings() throws {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        Self.from(&m, &out, Peer(name: "c.example", ip: "192.0.2.5"), proto: "ESMTP")
        let tx = try #require(m.transactions["5058C1xA000077"])
        #expect(tx.rare == nil && tx.fromText != nil)
        #expect(tx.sender == "alice@example.org" && tx.originQueueID == nil)
    }

    @Test func madeMessagesKeepTheirOriginAndCopiesChangeApart() throws {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        Self.from(&m, &out, Peer(name: "c.example", ip: "192.0.2.5"), proto: "ESMTP")
        let ctx = LineContext(time: Timestamp(seconds: 1_800_000_003), host: "mx2", instance: "", program: "sm-mta", pid: 77)
        m.receive(ctx, .clone(queueID: "5058C1xA000077", newQueueID: "5058C1xB000077", owner: "owner@example.org"), into: &out)
        let a = try #require(m.transactions["5058C1xB000077"])
        #expect(a.rare != nil)
        #expect(a.originQueueID == "5058C1xA000077" && a.originKind == .split)
        #expect(a.sender == "owner@example.org" && a.messageID == "m@x" && a.client == Peer(name: "c.example", ip: "192.0.2.5"))
        var b = a
        b.sender = "other@example.org"
        b.originQueueID = "5058C1xC000077"
        b.client = Peer(ip: "192.0.2.6")
        #expect(a.sender == "owner@example.org" && a.originQueueID == "5058C1xA000077" && a.client.ip == "192.0.2.5")
        #expect(b.sender == "other@example.org" && b.originQueueID == "5058C1xC000077" && b.messageID == "m@x")
        // A round trip keeps every value (the JSON of before: the same keys).
        let j = try Self.json(a)
        #expect(j.contains(#""originQueueID":"5058C1xA000077""#) && j.contains(#""sender":"owner@example.org""#))
        let back = try JSONDecoder().decode(SendmailCorrelator.Transaction.self, from: Data(j.utf8))
        #expect(try Self.json(back) == j)
        // Setting nil on a transaction without Strings makes no box.
        var c = try #require(m.transactions["5058C1xA000077"])
        c.originQueueID = nil
        #expect(c.rare == nil)
    }
}
