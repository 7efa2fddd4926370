// SendmailTLSBoxTests: the Sendmail correlator holds a connection's TLS facts as a `TLSBox` (a
// reference to an immutable `TLSInfo`) in its sessions, outbound entries and transactions. The
// box gives back exactly the `TLSInfo` it was made of, and saves and loads exactly as that
// `TLSInfo` does — alone and inside a session, an outbound entry and a transaction, compared with
// the same structs written with a plain `TLSInfo` (the form before the box), so saved states
// keep their layout.
// Limits: JSON only (the state's only encoding).

import Foundation
import Testing
@testable import Correlation
import MailTrailModel

@Suite struct SendmailTLSBoxTests {
    static let infos: [TLSInfo] = [
        TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Anonymous"),
        TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: nil, trust: nil),
        TLSInfo(proto: nil, cipher: "X", bits: 0, trust: "Untrusted"),
        TLSInfo(),
    ]

    /// The structs as they were written before the box (a plain `TLSInfo`).
    struct PlainSession: Codable {
        var client: Peer
        var started: Timestamp
        var tls: TLSInfo?
        var saslMethod: String?
        var saslUsername: String?
    }

    struct PlainOutbound: Codable {
        var peer: Peer
        var info: TLSInfo
        var at: Timestamp
    }

    static func json<T: Encodable>(_ v: T) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys]
        return String(decoding: try e.encode(v), as: UTF8.self)
    }

    @Test func givesBackTheInfoItHolds() {
        for info in Self.infos {
            let box = SendmailCorrelator.TLSBox(info)
            #expect(box.info == info)
            #expect(box.stored == info)
        }
    }

    @Test func savesAndLoadsAsThePlainInfo() throws {
        for info in Self.infos {
            let box = SendmailCorrelator.TLSBox(info)
            #expect(try Self.json(box) == Self.json(info))
            let back = try JSONDecoder().decode(SendmailCorrelator.TLSBox.self, from: Data(Self.json(info).utf8))
            #expect(back.info == info)
        }
    }

    @Test func sessionsAndOutboundEntriesSaveAsBefore() throws {
        let peer = Peer(name: "mx.example.org", ip: "192.0.2.7")
        let t = Timestamp(micros: 1_772_323_200_000_000)
        for info in Self.infos + [nil] as [TLSInfo?] {
            let s = SendmailCorrelator.Session(client: peer, started: t, tls: info.map(SendmailCorrelator.TLSBox.init),
                                               saslMethod: "PLAIN", saslUsername: nil)
            let plain = PlainSession(client: peer, started: t, tls: info, saslMethod: "PLAIN", saslUsername: nil)
            #expect(try Self.json(s) == Self.json(plain))
            let back = try JSONDecoder().decode(SendmailCorrelator.Session.self, from: Data(Self.json(plain).utf8))
            #expect(back.tls?.info == info)
        }
        for info in Self.infos {
            let o = SendmailCorrelator.OutboundTLS(peer: peer, info: SendmailCorrelator.TLSBox(info), at: t)
            let plain = PlainOutbound(peer: peer, info: info, at: t)
            #expect(try Self.json(o) == Self.json(plain))
            let back = try JSONDecoder().decode(SendmailCorrelator.OutboundTLS.self, from: Data(Self.json(plain).utf8))
            #expect(back.info.info == info)
        }
    }

    @Test func aTransactionSavesItsTLSAsBefore() throws {
        var tx = SendmailCorrelator.Transaction(instance: "sm-mta", queueID: "42100bwA020177",
                                                receivedAt: Timestamp(micros: 1), lastSeen: Timestamp(micros: 2))
        tx.tls = SendmailCorrelator.TLSBox(Self.infos[0])
        let text = try Self.json(tx)
        #expect(text.contains("\"tls\":" + (try Self.json(Self.infos[0]))))
        let back = try JSONDecoder().decode(SendmailCorrelator.Transaction.self, from: Data(text.utf8))
        #expect(back.tls?.info == Self.infos[0])
        #expect(try Self.json(back) == text)
    }
}
