// SendmailSlabStringTests: the Sendmail correlator keeps an `AUTH=server` line's login name as
// bytes (`SlabString`) — in its `authSlab` for the session, copied into the `from=` line's slab
// for the transaction — instead of a String from the shared cache.
// Contract tested: the name reads back as the String the cache gave (`String(decoding:as:)` of
// the bytes; "" for a line without `authid=`), and the message row carries it; the transaction's
// copy is not in the session's slab; sessions and transactions save and load exactly as with a
// String (the JSON of before); names written past a slab's end are not overwritten; invalid
// UTF-8 reads as the cache's repaired String while a row gets the line's bytes.
import Foundation
import Testing
import MailTrailModel
@testable import Correlation

@Suite struct SendmailSlabStringTests {
    typealias Reuse = SendmailSessionReuseTests
    typealias Slim = SendmailSlimStateTests

    static let peer = Peer(name: "client.example.org", ip: "192.0.2.9")

    static func auth(_ m: inout SendmailCorrelator, _ out: inout CorrelatorOutput, authid: String?, pid: Int32 = 77, at s: Int64 = 1) {
        Reuse.feed(&m, &out, at: s, pid: pid) { line, add in
            line.beginAuth()
            Reuse.relay(line, peer, add)
            line.f.authid = add(authid); line.f.mechanism = add("LOGIN")
        }
    }

    @Test func theSessionAndTheTransactionHoldTheNameAsBytes() throws {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        Slim.starttls(&m, &out, Self.peer)
        Self.auth(&m, &out, authid: "janet.ward@example.com")
        let name = try #require(m.sessions.values.first?.saslUser)
        #expect(name.string == "janet.ward@example.com" && name.count == 22)
        #expect(name.slab === m.authSlab.slab)
        Slim.from(&m, &out, Self.peer)
        let tx = try #require(m.transactions["5058C1xA000077"])
        let copy = try #require(tx.saslUser)
        #expect(copy.string == "janet.ward@example.com")
        #expect(copy.slab !== name.slab && copy.slab === m.fromSlab.slab)
        let row = try #require(out.messages.first)
        #expect(row.saslMethod == "LOGIN" && row.saslUsername == "janet.ward@example.com")
    }

    @Test func aLineWithoutAuthidGivesTheEmptyName() throws {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        Slim.starttls(&m, &out, Self.peer)
        Self.auth(&m, &out, authid: nil)
        #expect(m.sessions.values.map(\.saslUsername) == [""])
        Slim.from(&m, &out, Self.peer)
        #expect(out.messages.first?.saslUsername == "")
    }

    @Test func sessionsAndTransactionsSaveAsWithAString() throws {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        Slim.starttls(&m, &out, Self.peer)
        Self.auth(&m, &out, authid: "li.chen25@example.org")
        let s = try #require(m.sessions.values.first)
        let plain = SendmailTLSBoxTests.PlainSession(client: s.client, started: s.started, tls: s.tls?.info,
                                                     saslMethod: "LOGIN", saslUsername: "li.chen25@example.org")
        #expect(try Slim.json(s) == Slim.json(plain))
        let back = try JSONDecoder().decode(SendmailCorrelator.Session.self, from: Data(Slim.json(plain).utf8))
        #expect(back.saslUsername == "li.chen25@example.org" && back.saslMethod == "LOGIN")
        #expect(try Slim.json(back) == Slim.json(plain))

        // A transaction that is not complete yet (nrcpts 1, no `to=`): its name is saved as the String.
        Slim.from(&m, &out, Self.peer)
        let tx = try #require(m.transactions["5058C1xA000077"])
        let text = try Slim.json(tx)
        #expect(text.contains(#""saslUsername":"li.chen25@example.org""#))
        let txBack = try JSONDecoder().decode(SendmailCorrelator.Transaction.self, from: Data(text.utf8))
        #expect(txBack.saslUsername == "li.chen25@example.org")
        #expect(try Slim.json(txBack) == text)

        // The whole correlator: saved, restored, and saved again, the same text.
        let saved = try Slim.json(m)
        let restored = try JSONDecoder().decode(SendmailCorrelator.self, from: Data(saved.utf8))
        #expect(try Slim.json(restored) == saved)
    }

    @Test func namesPastASlabsEndAreNotOverwritten() throws {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        // 400 sessions of 32-byte names: about three slabs of 4,096 bytes.
        let names = (0..<400).map { "user\(String(format: "%04d", $0))@mail.example.org.invalid" }
        for (i, n) in names.enumerated() { Self.auth(&m, &out, authid: n, pid: Int32(1000 + i)) }
        #expect(m.sessions.count == 400)
        let got = Set(m.sessions.values.compactMap(\.saslUsername))
        #expect(got == Set(names))
        #expect(Set(m.sessions.values.map { ObjectIdentifier($0.saslUser!.slab) }).count >= 3)
    }

    @Test func invalidUTF8ReadsAsTheRepairedStringAndPutsTheBytes() throws {
        let bytes: [UInt8] = [0x61, 0xFF, 0x62]
        var slab: SendmailCorrelator.FromText.Slab? = nil
        try bytes.withUnsafeBufferPointer { p in
            let b = LineBytes(base: p.baseAddress!, count: p.count)
            let v = SendmailCorrelator.SlabString(b, Span(0..<3), slab: &slab)
            #expect(v.string == String(decoding: bytes, as: UTF8.self))
            #expect(v.string == "a\u{FFFD}b")
            var text = RowText()
            text.claim()
            let ref = v.put(into: &text)
            #expect(Array(text.bytes(ref)) == bytes)
            let empty = SendmailCorrelator.SlabString(b, .absent, slab: &slab)
            #expect(empty.string == "" && text.bytes(empty.put(into: &text)).count == 0)
            let own = SendmailCorrelator.SlabString("ü@example.org")
            #expect(own.string == "ü@example.org" && own.count == 14)
            let copied = own.copy(into: &slab)
            #expect(copied.string == "ü@example.org" && copied.slab === slab)
            _ = try #require(slab)
        }
    }
}
