// SendmailFromTextTests: a Sendmail transaction keeps its `from=` line's sender, client, proto,
// local user and Message-ID as bytes (`FromText`, in slabs shared by transactions), and its rows
// are packed from the line's bytes.
// Contract tested: the values read back as the Strings the line stands for; the state saves
// exactly what the Strings saved (so states written before and after read in either), and a
// resumed state gives clones the same values; setting one value keeps the others; a value too
// long for `FromText` falls back to Strings with the same rows; the rows are packed, none a record;
// slabs are shared, a large entry gets its own, and no line overwrites another's bytes.
import Foundation
import Testing
import MailTrailModel
@testable import Correlation

@Suite struct SendmailFromTextTests {
    static let t0 = Timestamp(seconds: 1_763_600_000)

    static func ctx(_ s: Int64, pid: Int32 = 100) -> LineContext {
        LineContext(time: Timestamp(seconds: t0.seconds + s), host: "mx2", instance: "", program: "sm-mta", pid: pid)
    }

    static func from(_ sender: String, relay: Peer, user: String? = nil, proto: String? = "ESMTP") -> SendmailFrom {
        SendmailFrom(sender: sender, size: 100, msgClass: 0, nrcpts: 2, messageID: "m1@example.org", bodyType: nil,
                     proto: proto, daemon: "MTA", relay: relay, identUser: user)
    }

    static func json<T: Encodable>(_ v: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }

    @Test func valuesReadBackAndSaveAsTheStrings() throws {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        m.receive(Self.ctx(0), .from(queueID: "5058C1xA012345", Self.from("alice@example.org",
                                                                        relay: Peer(name: "c.example", ip: "192.0.2.5"))),
                  into: &out)
        let tx = try #require(m.transactions["5058C1xA012345"])
        #expect(tx.fromText != nil)
        #expect(tx.sender == "alice@example.org")
        #expect(tx.client == Peer(name: "c.example", ip: "192.0.2.5"))
        #expect(tx.proto == "ESMTP")
        #expect(tx.localUser == nil)
        #expect(tx.messageID == "m1@example.org" && tx._messageID == nil)
        #expect(tx.msgKey == MessageKey.forMessageID("m1@example.org"))
        // The same transaction with the values set as Strings saves the same JSON.
        var plain = tx
        plain.materialize()
        #expect(plain.fromText == nil && plain._sender == "alice@example.org" && plain._messageID == "m1@example.org")
        #expect(try Self.json(tx) == Self.json(plain))
        let back = try JSONDecoder().decode(SendmailCorrelator.Transaction.self, from: Data(try Self.json(tx).utf8))
        #expect(try Self.json(back) == Self.json(tx))
        // Setting one value keeps the others.
        var changed = tx
        changed.proto = "SMTP"
        #expect(changed.sender == "alice@example.org" && changed.client == tx.client && changed.proto == "SMTP")
        #expect(changed.messageID == "m1@example.org")
        var otherID = tx
        otherID.messageID = "m2@example.org"
        #expect(otherID.messageID == "m2@example.org" && otherID.sender == "alice@example.org")
        // Rows: packed, none a record.
        #expect(out.messages.records.isEmpty && out.messages.packed.count == 1)
        #expect(out.messages.map(\.sender) == ["alice@example.org"])
    }

    @Test func aResumedStateGivesClonesTheOriginalsValues() throws {
        var h = HostCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        h.receive(Self.ctx(0), .from(queueID: "5058C1xA012345", Self.from("alice@example.org", relay: Peer(name: "localhost"),
                                                                        user: "alice", proto: nil)), into: &out)
        let resumedState = try StateCoding.decode(try StateCoding.encode(h))
        var r = resumedState
        var o2 = CorrelatorOutput()
        r.receive(Self.ctx(1), .clone(queueID: "5058C1xA012345", newQueueID: "5058C1xB012345", owner: nil), into: &o2)
        r.flushHeld(into: &o2)
        #expect(o2.messages.count == 1)
        let clone = try #require(o2.messages.first)
        #expect(clone.sender == "alice@example.org")
        #expect(clone.client == Peer(name: "localhost"))
        #expect(clone.localUser == "alice")
        #expect(clone.proto == nil)
        #expect(clone.originQueueID == "5058C1xA012345")
        #expect(clone.messageID == "m1@example.org")
        #expect(clone.msgKey == MessageKey.forMessageID("m1@example.org"))
        #expect(out.messages.map(\.localUser) == ["alice"])
        // A clone of the live (not resumed) transaction copies the same values from its bytes.
        var o3 = CorrelatorOutput()
        h.receive(Self.ctx(1), .clone(queueID: "5058C1xA012345", newQueueID: "5058C1xB012345", owner: nil), into: &o3)
        h.flushHeld(into: &o3)
        #expect(o3.messages == o2.messages)
    }

    /// `FromText`s share slabs: entries follow each other in a slab until it is full, a large one
    /// gets a slab of its own (the current one goes on), every value reads back after later lines
    /// and after other transactions left, and a copied correlator appends after the bytes its
    /// transactions share with the original (neither overwrites the other's).
    @Test func transactionsShareSlabsAndKeepTheirBytes() throws {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        func sender(_ k: Int) -> String { k == 7 ? String(repeating: "l", count: 2_000) + "@example.org" : "user\(k)@example.org" }
        func qid(_ k: Int) -> String { "5058C1xA" + String(100_000 + k) }
        for k in 0..<60 {
            m.receive(Self.ctx(Int64(k), pid: Int32(100 + k)),
                      .from(queueID: qid(k), Self.from(sender(k), relay: Peer(name: "c\(k).example", ip: "192.0.2.\(k)"))),
                      into: &out)
        }
        var slabs: [ObjectIdentifier: [Int]] = [:]
        for k in 0..<60 {
            let tx = try #require(m.transactions[qid(k)])
            let t = try #require(tx.fromText)
            #expect(tx.sender == sender(k) && tx.client == Peer(name: "c\(k).example", ip: "192.0.2.\(k)"))
            #expect(tx.messageID == "m1@example.org" && tx.proto == "ESMTP")
            #expect(Int(t.at) % 8 == 0 && Int(t.at) + SendmailCorrelator.FromText.headerSize + sender(k).utf8.count <= (k == 7 ? 2_100 : 4_096))
            slabs[ObjectIdentifier(t.slab), default: []].append(k)
        }
        // The large sender alone in its slab, at 0; the others in order, several to a slab.
        let large = try #require(m.transactions[qid(7)]?.fromText)
        #expect(large.at == 0 && slabs[ObjectIdentifier(large.slab)] == [7])
        let shared = slabs.values.filter { $0 != [7] }
        #expect(shared.count >= 2 && shared.count < 20 && shared.allSatisfy { $0.count > 1 && $0 == $0.sorted() })
        #expect(shared.flatMap { $0 }.sorted() == (0..<60).filter { $0 != 7 })
        // A copy appends after the shared bytes: both keep their values.
        var copy = m
        m.receive(Self.ctx(100), .from(queueID: qid(100), Self.from("first@example.org", relay: Peer(ip: "192.0.2.200"))), into: &out)
        copy.receive(Self.ctx(100), .from(queueID: qid(100), Self.from("second@example.org", relay: Peer(ip: "192.0.2.201"))), into: &out)
        #expect(m.transactions[qid(100)]?.sender == "first@example.org")
        #expect(copy.transactions[qid(100)]?.sender == "second@example.org")
        #expect(copy.transactions[qid(100)]?.client == Peer(ip: "192.0.2.201"))
        for k in 0..<60 { #expect(copy.transactions[qid(k)]?.sender == sender(k) && m.transactions[qid(k)]?.sender == sender(k)) }
        // Transactions leave (all recipients delivered); the others still read their bytes.
        for k in stride(from: 0, to: 60, by: 2) {
            m.receive(Self.ctx(200, pid: 999), .to(queueID: qid(k), SendmailTo(
                recipients: ["b@example.net", "c@example.net"], delay: 1, xdelay: 1, mailer: "esmtp", priority: 1,
                relay: Peer(name: "mx.example.net", ip: "198.51.100.25"), dsn: "2.0.0", stat: "Sent (ok)", status: .sent,
                response: "ok", nextQueueID: nil)), into: &out)
        }
        #expect(m.openTransactions == 31)
        for k in stride(from: 1, to: 60, by: 2) { #expect(m.transactions[qid(k)]?.sender == sender(k)) }
    }

    @Test func aValueTooLongForFromTextKeepsStrings() {
        let long = String(repeating: "x", count: 70_000) + "@example.org"
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        m.receive(Self.ctx(0), .from(queueID: "5058C1xA012345", Self.from(long, relay: Peer(name: "c.example", ip: "192.0.2.5"))),
                  into: &out)
        let tx = m.transactions["5058C1xA012345"]
        #expect(tx?.fromText == nil)
        #expect(tx?.sender == long)
        #expect(tx?.messageID == "m1@example.org")
        #expect(tx?.client == Peer(name: "c.example", ip: "192.0.2.5"))
        #expect(out.messages.map(\.sender) == [long])
        #expect(out.messages.map(\.proto) == ["ESMTP"])
    }

    @Test func deliveryRowsArePackedFromTheLine() {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        m.receive(Self.ctx(0), .from(queueID: "5058C1xA012345", Self.from("a@example.org", relay: Peer(ip: "192.0.2.5"))),
                  into: &out)
        m.receive(Self.ctx(1, pid: 101), .to(queueID: "5058C1xA012345", SendmailTo(
            recipients: ["b@example.net", "c@example.net"], delay: 1, xdelay: 1, mailer: "esmtp", priority: 1,
            relay: Peer(name: "mx.example.net", ip: "198.51.100.25"), dsn: "2.0.0", stat: "Sent (ok)", status: .sent,
            response: "ok", nextQueueID: nil)), into: &out)
        #expect(out.deliveries.records.isEmpty && out.deliveries.packed.count == 2)
        #expect(out.deliveries.map(\.recipient) == ["b@example.net", "c@example.net"])
        #expect(out.deliveries.map(\.relay) == Array(repeating: Peer(name: "mx.example.net", ip: "198.51.100.25"), count: 2))
        #expect(out.deliveries.map(\.queueID) == ["5058C1xA012345", "5058C1xA012345"])
        #expect(out.deliveries.map(\.response) == ["ok", "ok"])
        #expect(m.openTransactions == 0)
    }

    /// `equalText` (a relay's address or name against a session's or STARTTLS entry's String)
    /// answers as String equality does: equal bytes, canonically equivalent forms, invalid UTF-8
    /// against its repaired String; different ASCII is different.
    @Test func equalTextIsStringEquality() {
        let cases: [(String, [UInt8], Bool)] = [
            ("192.0.2.5", Array("192.0.2.5".utf8), true),
            ("192.0.2.5", Array("192.0.2.6".utf8), false),
            ("192.0.2.5", Array("192.0.2.50".utf8), false),
            ("caf\u{E9}.example", Array("cafe\u{301}.example".utf8), true),    // NFC against NFD
            ("a\u{FFFD}b", [0x61, 0xFF, 0x62], true),                           // invalid byte, repaired
            ("a\u{FFFD}b", Array("a?b".utf8), false),
        ]
        for (s, bytes, want) in cases {
            let got = bytes.withUnsafeBufferPointer { buf in
                SendmailCorrelator.equalText(s, Span(lo: 0, hi: Int32(buf.count)), LineBytes(buf))
            }
            #expect(got == want, "\(s) vs \(bytes)")
            #expect(want == (s == String(decoding: bytes, as: UTF8.self)))
        }
    }
}
