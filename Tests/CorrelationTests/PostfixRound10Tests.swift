// PostfixRound10Tests: the cheaper forms of round 10 in the Postfix correlator against the
// forms they replace, on exact values — the TLS memo (`PostfixTLSMemo`: a line's `TLSInfo` from
// the facts of recent lines with the same protocol, cipher, trust and bits) against making it
// from the line's spans every time, on texts of every length the key holds and beyond, texts
// one byte apart at every position, absent and empty fields, non-ASCII and invalid UTF-8, in an
// order that hits, misses and replaces entries; a copy of a memo that stores (its own entries)
// against the original; TLS facts of sessions and outbound connections in rows through the
// correlator against the facts of the lines; the `forwarded as` test of a delivery's response
// (its length and first byte before the prefix compare) against `String.hasPrefix`; values of
// up to 15 ASCII bytes made in place by the correlator (`short`, `text`) against the cache's
// Strings and `LineBytes.string`.
// Limits: deterministic inputs (fixed cases and a fixed seed).

import Foundation
import Testing
@testable import Correlation
@testable import MailTrailModel

@Suite struct PostfixRound10Tests {
    /// Texts of a TLS line as bytes; nil fields are absent spans.
    struct TLSCase {
        var proto: [UInt8]?
        var cipher: [UInt8]?
        var trust: [UInt8]?
        var bits: Int?
    }

    /// Calls `body` with the case's spans over one buffer holding its texts.
    static func withSpans<R>(_ c: TLSCase, _ body: (TLSSpans, LineBytes) -> R) -> R {
        var buf: [UInt8] = [0x2A]       // texts do not start at 0
        func add(_ t: [UInt8]?) -> Span {
            guard let t else { return .absent }
            let lo = buf.count
            buf += t
            buf.append(0x20)
            return Span(lo..<(lo + t.count))
        }
        var s = TLSSpans()
        s.proto = add(c.proto); s.cipher = add(c.cipher); s.trust = add(c.trust); s.bits = c.bits
        return buf.withUnsafeBufferPointer { body(s, LineBytes($0)) }
    }

    /// The facts as made before the memo, from a fresh cache.
    static func made(_ c: TLSCase) -> TLSInfo {
        var strings = StringCache()
        return withSpans(c) { PostfixTLSMemo.make($0, in: $1, strings: &strings) }
    }

    static func expectSame(_ a: TLSInfo, _ b: TLSInfo, _ note: String) {
        #expect(a.proto == b.proto, "\(note)")
        #expect(a.cipher == b.cipher, "\(note)")
        #expect(a.bits == b.bits, "\(note)")
        #expect(a.trust == b.trust, "\(note)")
        #expect(a == b, "\(note)")
    }

    static func ascii(_ n: Int, _ seed: UInt8) -> [UInt8] {
        (0..<n).map { UInt8(0x41 + (Int(seed) + $0 * 7) % 26) }
    }

    /// Every case, asked three times in a shuffled order through one memo (hits, misses and
    /// replaced entries), gives the facts made from its spans.
    @Test func memoGivesTheFactsOfTheLine() {
        var cases: [TLSCase] = []
        let protos: [[UInt8]?] = [nil, Array("TLSv1.3".utf8), Array("TLSv1".utf8), Array("T".utf8)]
            + (1...18).map { Self.ascii($0, 3) }
        let ciphers: [[UInt8]?] = [nil, Array("TLS_AES_256_GCM_SHA384".utf8), Array("ECDHE-RSA-AES256-GCM-SHA384".utf8)]
            + (1...34).map { Self.ascii($0, 5) }
        let trusts: [[UInt8]?] = [nil, Array("Anonymous".utf8), Array("Untrusted".utf8), Array("Trusted".utf8),
                                  Array("Verified".utf8), Self.ascii(16, 1), Self.ascii(17, 1)]
        for p in protos { cases.append(TLSCase(proto: p, cipher: ciphers[1], trust: trusts[1], bits: 256)) }
        for c in ciphers { cases.append(TLSCase(proto: protos[1], cipher: c, trust: trusts[2], bits: 128)) }
        for t in trusts { cases.append(TLSCase(proto: protos[1], cipher: ciphers[2], trust: t, bits: nil)) }
        for bits in [nil, 0, 1, 128, 256, -1, Int.max] {
            cases.append(TLSCase(proto: protos[1], cipher: ciphers[1], trust: trusts[3], bits: bits))
        }
        // Present but empty texts, non-ASCII and invalid UTF-8, no field at all.
        cases.append(TLSCase(proto: [], cipher: ciphers[1], trust: nil, bits: 1))
        cases.append(TLSCase(proto: protos[1], cipher: [], trust: nil, bits: 1))
        cases.append(TLSCase(proto: protos[1], cipher: ciphers[1], trust: [], bits: 1))
        cases.append(TLSCase(proto: Array("TLSv1.3é".utf8), cipher: Array("AES_ü_256".utf8), trust: nil, bits: 2))
        cases.append(TLSCase(proto: [0xFF, 0x41], cipher: [0xC3], trust: [0x80, 0x80, 0x80, 0x80, 0x80], bits: 3))
        cases.append(TLSCase(proto: [0xFE, 0x41], cipher: [0xC3], trust: [0x80, 0x80, 0x80, 0x80, 0x80], bits: 3))
        cases.append(TLSCase(proto: nil, cipher: nil, trust: nil, bits: nil))
        let expected = cases.map(Self.made)

        var order = Array(cases.indices) + Array(cases.indices) + Array(cases.indices)
        var rng = SplitMix64(seed: 10)
        for i in stride(from: order.count - 1, to: 0, by: -1) {
            order.swapAt(i, Int(rng.next() % UInt64(i + 1)))
        }
        var memo = PostfixTLSMemo()
        var strings = StringCache()
        for k in order {
            let got = Self.withSpans(cases[k]) { memo.info($0, in: $1, strings: &strings) }
            Self.expectSame(got, expected[k], "case \(k)")
        }
    }

    /// Texts one byte apart (at every position, for every length the key holds) are told apart.
    @Test func textsOneByteApartAreToldApart() {
        var memo = PostfixTLSMemo()
        var strings = StringCache()
        for n in 1...32 {
            let base = Self.ascii(n, UInt8(n))
            for pos in 0..<n {
                var other = base
                other[pos] = other[pos] == 0x5A ? 0x41 : other[pos] + 1
                for cipher in [base, other, base] {
                    let c = TLSCase(proto: Array("TLSv1.2".utf8), cipher: cipher, trust: nil, bits: 256)
                    let got = Self.withSpans(c) { memo.info($0, in: $1, strings: &strings) }
                    Self.expectSame(got, Self.made(c), "cipher length \(n) byte \(pos)")
                }
                if n <= 16 {
                    for proto in [base, other, base] {
                        let c = TLSCase(proto: proto, cipher: Array("X".utf8), trust: proto, bits: 1)
                        let got = Self.withSpans(c) { memo.info($0, in: $1, strings: &strings) }
                        Self.expectSame(got, Self.made(c), "proto/trust length \(n) byte \(pos)")
                    }
                }
            }
        }
    }

    /// A copy of a memo that stores an entry starts its own: the original still answers as before.
    @Test func aCopyThatStoresDoesNotChangeTheOriginal() {
        let a = TLSCase(proto: Array("TLSv1.3".utf8), cipher: Array("TLS_AES_256_GCM_SHA384".utf8),
                        trust: Array("Anonymous".utf8), bits: 256)
        let b = TLSCase(proto: Array("TLSv1.2".utf8), cipher: Array("ECDHE-RSA-AES256-GCM-SHA384".utf8),
                        trust: Array("Trusted".utf8), bits: 256)
        var memo = PostfixTLSMemo()
        var strings = StringCache()
        _ = Self.withSpans(a) { memo.info($0, in: $1, strings: &strings) }
        var copy = memo
        for _ in 0..<2 {
            Self.expectSame(Self.withSpans(b) { copy.info($0, in: $1, strings: &strings) }, Self.made(b), "copy")
            Self.expectSame(Self.withSpans(a) { memo.info($0, in: $1, strings: &strings) }, Self.made(a), "original")
            Self.expectSame(Self.withSpans(a) { copy.info($0, in: $1, strings: &strings) }, Self.made(a), "copy a")
        }
        #expect(memo.storage !== copy.storage)
    }

    static func ctx(_ s: Int64, _ program: String, _ pid: Int32) -> LineContext {
        LineContext(time: Timestamp(seconds: 1_800_000_000 + s), host: "mx1", instance: "postfix", program: program, pid: pid)
    }

    /// Through the correlator: sessions and outbound connections with the same and with other
    /// TLS facts give rows with the facts of their own lines (a repeated line's facts are the
    /// memo's), also after the state was saved and read back (the memo is not saved).
    @Test func rowsCarryTheFactsOfTheirLines() throws {
        let infos = [
            TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Anonymous"),
            TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: 256, trust: "Untrusted"),
            TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Untrusted"),
            TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 128, trust: "Anonymous"),
            TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: nil, trust: nil),
        ]
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        var expectedMessages: [TLSInfo?] = [], expectedDeliveries: [TLSInfo?] = []
        for round in 0..<2 {
            if round == 1 {
                m = try #require(try StateCoding.decode(try StateCoding.encode(HostCorrelator(postfix: m))).postfix)
            }
            for (k, info) in (infos + infos.reversed()).enumerated() {
                let t = Int64(round * 100 + k * 2)
                let qid = String(format: "A%05X", round * 100 + k)
                let peer = Peer(name: "c.example", ip: "192.0.2.\(k + 1)", port: 1000 + k)
                let relay = Peer(name: "r.example", ip: "198.51.100.\(k + 1)", port: 25)
                m.receive(Self.ctx(t, "smtpd", 10), .connect(client: peer), into: &out)
                m.receive(Self.ctx(t, "smtpd", 10), .tls(direction: .inbound, peer: peer, info: info), into: &out)
                m.receive(Self.ctx(t, "smtpd", 10), .client(queueID: qid, client: peer, saslMethod: nil, saslUsername: nil,
                                                           origQueueID: nil, origClient: nil), into: &out)
                m.receive(Self.ctx(t, "qmgr", 300), .queued(queueID: qid, sender: "a@x", size: 1, nrcpt: 1), into: &out)
                m.receive(Self.ctx(t + 1, "smtp", 20), .tls(direction: .outbound, peer: relay, info: infos[(k + 1) % infos.count]),
                          into: &out)
                m.receive(Self.ctx(t + 1, "smtp", 20), .delivery(queueID: qid, PostfixDelivery(
                    recipient: "b@y", origRecipient: nil, relay: relay, connUse: nil, delay: 1, delays: nil,
                    tlsFeature: nil, dsn: "2.0.0", status: .sent, response: "250 ok", nextQueueID: nil)), into: &out)
                m.receive(Self.ctx(t + 1, "smtpd", 10), .disconnect(client: peer), into: &out)
                expectedMessages.append(info)
                expectedDeliveries.append(infos[(k + 1) % infos.count])
            }
        }
        #expect(out.messages.map(\.tls) == expectedMessages)
        #expect(out.deliveries.map(\.tls) == expectedDeliveries)
        #expect(out.messages.map { $0.tls?.bits } == expectedMessages.map { $0?.bits })
        #expect(out.messages.map { $0.tls?.trust } == expectedMessages.map { $0?.trust })
    }

    /// A sent delivery with a next queue ID links its message as forwarded exactly when the
    /// response's String has the prefix `forwarded as ` (the inline length and first-byte test
    /// only skips responses that cannot).
    @Test func forwardedAsIsTheStringPrefix() {
        let responses = ["forwarded as B2B2B2", "forwarded as ", "forwarded as", "forwarded a B2B2B2", "Forwarded as B2B2B2",
                         "f", "", "fo", "forwarded  as B2B2B2", "forwarded as\u{0}", "delivered to maildir",
                         "250 2.0.0 Ok: queued as B2B2B2", "forwarded as é", "ﬀorwarded as B2B2B2", "f\u{301}orwarded as B2B2B2",
                         "forwarded as \u{301}B2B2B2"]
        for (k, response) in responses.enumerated() {
            var m = PostfixCorrelator(host: "mx1")
            var out = CorrelatorOutput()
            m.receive(Self.ctx(0, "qmgr", 300), .queued(queueID: "A1A1A1", sender: "a@x", size: 1, nrcpt: 1), into: &out)
            m.receive(Self.ctx(1, "local", 40), .delivery(queueID: "A1A1A1", PostfixDelivery(
                recipient: "b@y", origRecipient: nil, relay: Peer(name: "local"), connUse: nil, delay: 1, delays: nil,
                tlsFeature: nil, dsn: "2.0.0", status: .sent, response: response, nextQueueID: "B2B2B2")), into: &out)
            m.receive(Self.ctx(2, "qmgr", 300), .queued(queueID: "B2B2B2", sender: "a@x", size: 1, nrcpt: 1), into: &out)
            let forwarded = response.hasPrefix("forwarded as ")
            #expect(out.messages.map(\.queueID) == ["A1A1A1", "B2B2B2"], "case \(k)")
            #expect(out.messages.last?.originKind == (forwarded ? .forward : nil), "case \(k): \(response)")
            #expect(out.messages.last?.originQueueID == (forwarded ? "A1A1A1" : nil), "case \(k)")
        }
    }

    /// `short` gives what `StringCache.optionalString` gives and `text` what `LineBytes.string`
    /// gives, for absent, empty, short, long,
    /// non-ASCII and invalid texts (each asked twice: the cache's hits too).
    @Test func shortEqualsTheCache() {
        var texts: [[UInt8]?] = [nil, [], Array("unknown".utf8), Array("PLAIN".utf8), Array("10.1.9.15".utf8),
                                 Array("255.255.255.255".utf8), Array("2001:db8::1".utf8),
                                 Array("2001:db8:0:0:0:0:0:1".utf8), Array("smtp1.example.com".utf8),
                                 Array("é".utf8), Array("10.1.9.1é".utf8), [0xFF], [0x41, 0xC3], [0x80, 0x41, 0x42]]
        for n in 1...17 { texts.append(Self.ascii(n, UInt8(n))) }
        var m = PostfixCorrelator(host: "mx1")
        var cache = StringCache()
        for round in 0..<2 {
            for (k, t) in texts.enumerated() {
                var buf: [UInt8] = [0x20, 0x20]
                let span: Span
                if let t { span = Span(2..<(2 + t.count)); buf += t } else { span = .absent }
                buf += [0x20]
                buf.withUnsafeBufferPointer { p in
                    let b = LineBytes(p)
                    let got = m.short(span, b)
                    let want = cache.optionalString(span, in: b)
                    #expect(got == want, "case \(k) round \(round)")
                    #expect(got.map { Array($0.utf8) } == want.map { Array($0.utf8) }, "case \(k) round \(round)")
                    let text = PostfixCorrelator.text(span, b), plain = b.string(span)
                    #expect(text == plain && Array(text.utf8) == Array(plain.utf8), "text case \(k)")
                }
            }
        }
    }
}
