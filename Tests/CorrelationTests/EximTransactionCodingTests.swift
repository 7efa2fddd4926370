// EximTransactionCodingTests: `EximCorrelator.Transaction` keeps the facts only its message row
// takes in `facts` (on the heap, copy-on-write; nil once emitted) behind flat accessors: copies
// stay independent values (checked on every accessor); its hand-written Codable must give
// the bytes of the former synthesized form (every field flat, in declaration order), here
// `Flat`, the old struct verbatim: compared on listed and seeded random transactions (every
// optional present or absent), both ways (encode, and decode of the flat form).
// Limits: compared as JSON with sorted keys (this Foundation writes unsorted keys in no fixed
// order, so the default output is compared after decoding).
import Foundation
import Testing
import MailTrailModel
@testable import Correlation

@Suite struct EximTransactionCodingTests {
    /// The former `Transaction` (synthesized Codable).
    struct Flat: Codable {
        var instance: String
        var queueID: String
        var receivedAt: Timestamp
        var lastSeen: Timestamp
        var arrived = false
        var emitted = false
        var heldSince: Timestamp?
        var msgKey: Int64?
        var messageID: String?
        var sender: String?
        var client = Peer()
        var helo: String?
        var size: Int64?
        var nrcpt: Int?
        var proto: String?
        var tls: TLSInfo?
        var saslMethod: String?
        var saslUsername: String?
        var localUser: String?
        var subject: String?
        var originQueueID: String?
        var originKind: OriginKind?
        var dkimResult: String?
        var dkimDomain: String?
        var spamVerdict: String?
        var spamScore: Double?
    }

    /// A random pair (the same facts in both forms).
    static func pair(_ rng: inout SplitMix64) -> (EximCorrelator.Transaction, Flat) {
        func maybe<T>(_ v: T) -> T? { rng.next() % 2 == 0 ? v : nil }
        let at = Timestamp(seconds: 1_760_000_000 + Int64(rng.next() % 1000))
        var t = EximCorrelator.Transaction(instance: "exim", queueID: "1rfqKL-00059H-U4", at: at)
        var f = Flat(instance: "exim", queueID: "1rfqKL-00059H-U4", receivedAt: at, lastSeen: at)
        let arrived = rng.next() % 2 == 0, emitted = rng.next() % 2 == 0
        t.arrived = arrived; f.arrived = arrived; t.emitted = emitted; f.emitted = emitted
        let held = maybe(at); t.heldSince = held; f.heldSince = held
        let mk = maybe(Int64(-42)); t.msgKey = mk; f.msgKey = mk
        let mid = maybe("a@b"); t.messageID = mid; f.messageID = mid
        let sender = maybe(""); t.sender = sender; f.sender = sender
        if rng.next() % 3 != 0 {
            let c = Peer(name: maybe("mx.example.com"), ip: maybe("192.0.2.7"), port: maybe(25))
            t.client = c; f.client = c
        }
        let helo = maybe("h"); t.helo = helo; f.helo = helo
        let size = maybe(Int64(10)); t.size = size; f.size = size
        let nrcpt = maybe(2); t.nrcpt = nrcpt; f.nrcpt = nrcpt
        let proto = maybe("esmtps"); t.proto = proto; f.proto = proto
        let tls = maybe(TLSInfo(proto: "TLSv1.3", cipher: "C", bits: maybe(256), trust: maybe("Verified")))
        t.tls = tls; f.tls = tls
        let sm = maybe("plain"); t.saslMethod = sm; f.saslMethod = sm
        let su = maybe("u"); t.saslUsername = su; f.saslUsername = su
        let lu = maybe("root"); t.localUser = lu; f.localUser = lu
        let subject = maybe("Hi \"x\""); t.subject = subject; f.subject = subject
        let oq = maybe("1rfqKM-0003Wv-GQ"); t.originQueueID = oq; f.originQueueID = oq
        let ok = maybe(OriginKind.bounce); t.originKind = ok; f.originKind = ok
        let dr = maybe("pass"); t.dkimResult = dr; f.dkimResult = dr
        let dd = maybe("example.com"); t.dkimDomain = dd; f.dkimDomain = dd
        let sv = maybe("clean"); t.spamVerdict = sv; f.spamVerdict = sv
        let ss = maybe(1.5); t.spamScore = ss; f.spamScore = ss
        return (t, f)
    }

    static func check(_ t: EximCorrelator.Transaction, _ f: Flat) throws {
        // Sorted keys: this Foundation writes an unsorted object's keys in no fixed order.
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        let flat = try e.encode(f)
        #expect(try e.encode(t) == flat)
        #expect(try e.encode(JSONDecoder().decode(EximCorrelator.Transaction.self, from: flat)) == flat)
        #expect(try JSONDecoder().decode(Flat.self, from: JSONEncoder().encode(t)).encodedSorted() == flat)
    }

    @Test func codingAgreesWithFlatFormOnListedCases() throws {
        let at = Timestamp(seconds: 1_760_000_000)
        let empty = EximCorrelator.Transaction(instance: "exim", queueID: "Q", at: at)
        try Self.check(empty, Flat(instance: "exim", queueID: "Q", receivedAt: at, lastSeen: at))
        var emitted = empty
        emitted.client = Peer(name: "x")
        emitted.facts = nil                    // as `emit` leaves it
        try Self.check(emitted, Flat(instance: "exim", queueID: "Q", receivedAt: at, lastSeen: at))
    }

    @Test func copiesOfATransactionAreIndependentValues() {
        let at = Timestamp(seconds: 1_760_000_000)
        var a = EximCorrelator.Transaction(instance: "exim", queueID: "Q", at: at)
        a.helo = "h"
        let writes: [(inout EximCorrelator.Transaction) -> Void] = [
            { $0.client = Peer(name: "n") }, { $0.client.ip = "192.0.2.7" }, { $0.helo = "x" }, { $0.proto = "p" },
            { $0.tls = TLSInfo(proto: "t") }, { $0.saslMethod = "m" }, { $0.saslUsername = "u" },
            { $0.localUser = "l" }, { $0.subject = "s" }, { $0.originQueueID = "o" }, { $0.dkimResult = "pass" },
            { $0.dkimDomain = "d" }, { $0.spamVerdict = "v" }, { $0.facts = nil },
        ]
        for write in writes {
            var b = a
            write(&b)
            #expect(a.helo == "h" && a.client == Peer() && a.proto == nil && a.tls == nil && a.saslMethod == nil
                    && a.saslUsername == nil && a.localUser == nil && a.subject == nil && a.originQueueID == nil
                    && a.dkimResult == nil && a.dkimDomain == nil && a.spamVerdict == nil)
        }
        var c = a
        c.helo = "other"
        #expect(a.helo == "h" && c.helo == "other")
    }

    @Test func codingAgreesWithFlatFormOnRandomTransactions() throws {
        var rng = SplitMix64(seed: 5)
        for _ in 0..<500 {
            let (t, f) = Self.pair(&rng)
            try Self.check(t, f)
        }
    }
}

extension EximTransactionCodingTests.Flat {
    func encodedSorted() throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return try e.encode(self)
    }
}
