// TLSInfo keeps its facts in one shared immutable object; these tests hold it
// to the plain struct it replaced: the same JSON (saved states, `parse`
// output), the same equality and hashing, and value semantics under setters.
import Foundation
import Testing
import MailTrailModel

@Suite struct TLSInfoTests {
    /// The former definition, with the coding and hashing the compiler synthesised for it.
    struct Plain: Hashable, Codable {
        var proto: String?
        var cipher: String?
        var bits: Int?
        var trust: String?
    }

    static let cases: [Plain] = {
        var out: [Plain] = []
        for proto in [nil, "TLSv1.3", "TLSv1.2"] as [String?] {
            for cipher in [nil, "TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384\u{e9}"] as [String?] {
                for bits in [nil, 0, 256] as [Int?] {
                    for trust in [nil, "Anonymous", "Verified"] as [String?] {
                        out.append(Plain(proto: proto, cipher: cipher, bits: bits, trust: trust))
                    }
                }
            }
        }
        return out
    }()

    static func info(_ p: Plain) -> TLSInfo { TLSInfo(proto: p.proto, cipher: p.cipher, bits: p.bits, trust: p.trust) }

    @Test func codesAsThePlainStructDid() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        for p in Self.cases {
            let a = try encoder.encode(Self.info(p)), b = try encoder.encode(p)
            #expect(a == b, "\(p)")
            let back = try JSONDecoder().decode(TLSInfo.self, from: b)
            #expect(back == Self.info(p) && back.proto == p.proto && back.cipher == p.cipher
                    && back.bits == p.bits && back.trust == p.trust)
        }
    }

    @Test func equalityAndHashingFollowTheFields() {
        for p in Self.cases {
            for q in Self.cases {
                #expect((Self.info(p) == Self.info(q)) == (p == q))
            }
            #expect(Self.info(p).hashValue == Self.info(p).hashValue)
            var h1 = Hasher(), h2 = Hasher()
            h1.combine(Self.info(p)); h2.combine(p)
            #expect(h1.finalize() == h2.finalize(), "\(p)")
        }
    }

    @Test func settersChangeOnlyTheirCopy() {
        let original = TLSInfo(proto: "TLSv1.2", cipher: "C", bits: 128, trust: "Trusted")
        var copy = original
        copy.proto = "TLSv1.3"; copy.cipher = nil; copy.bits = 256; copy.trust = "Verified"
        #expect(original.proto == "TLSv1.2" && original.cipher == "C" && original.bits == 128 && original.trust == "Trusted")
        #expect(copy == TLSInfo(proto: "TLSv1.3", cipher: nil, bits: 256, trust: "Verified"))
        #expect(copy != original)
        var records = [MessageRecord](repeating: MessageRecord(receivedAt: Timestamp(micros: 0), msgKey: 1, host: "h",
                                                               mta: "postfix", instance: "postfix", queueID: "Q", tls: original),
                                                count: 2)
        records[1].tls?.trust = "Untrusted"
        #expect(records[0].tls?.trust == "Trusted" && records[1].tls?.trust == "Untrusted")
    }
}
