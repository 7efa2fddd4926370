// SendmailSessionReuseTests: the Sendmail correlator's shortcut that takes a `from=` line's client
// from its process's session (and lets an `AUTH=` line update the session without making a Peer)
// when the relay's bytes are the session client's: `same` must agree with String equality of the
// String the cache makes (ASCII, non-ASCII, invalid UTF-8, canonically equal but different bytes,
// small and heap strings), and transcripts with equal, renamed and moved relays give the rows
// the Peer made from the line gives; likewise a `to=` line's relay name taken from its process's
// STARTTLS=client entry, its TLS taken exactly when `sameHost` of the two peers says so; and the
// session's client taken by the parser's relay number gives the rows the byte compare gives.
// Limits: listed cases and seeded random strings, not a fuzzer.

import Testing
import MailTrailModel
@testable import Correlation

@Suite struct SendmailSessionReuseTests {
    /// `same(s, span over bytes)` and whether `s` equals the String made of the bytes.
    static func compare(_ s: String?, _ bytes: [UInt8]?) -> (same: Bool, equal: Bool) {
        let buf = bytes ?? []
        return buf.withUnsafeBufferPointer { p in
            let b = LineBytes(p)
            let span: Span = bytes == nil ? .absent : Span(0..<p.count)
            let made: String? = bytes == nil ? nil : String(decoding: p, as: UTF8.self)
            return (SendmailCorrelator.same(s, span, b), s == made)
        }
    }

    @Test func sameAgreesWithTheMadeString() {
        let e1 = "caf\u{E9}.example", e2 = "cafe\u{301}.example"       // canonically equal, other bytes
        var cases: [(String?, [UInt8]?)] = [
            (nil, nil), ("", []), (nil, []), ("", nil), ("10.0.0.1", Array("10.0.0.1".utf8)),
            ("10.0.0.1", Array("10.0.0.2".utf8)), ("10.0.0.1", Array("10.0.0.10".utf8)), ("a", nil), (nil, [0x61]),
            ("mail.example.org.relay.host", Array("mail.example.org.relay.host".utf8)),
            ("mail.example.org.relay.host", Array("mail.example.org.relay.hosT".utf8)),
            (e1, Array(e1.utf8)), (e1, Array(e2.utf8)), (e2, Array(e1.utf8)),
            ("\u{FFFD}", [0xFF]), ("a\u{FFFD}b", [0x61, 0xFF, 0x62]), ("x", [0x78, 0x00]),
        ]
        var rng = SplitMix64(seed: 83)
        let alphabet: [UInt8] = Array("ab.1".utf8) + [0xC3, 0xA9, 0xFF]
        for _ in 0..<20_000 {
            let x = (0..<Int(rng.next() % 20)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            var y = x
            if rng.next() % 2 == 0, !y.isEmpty { y[Int(rng.next() % UInt64(y.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))] }
            cases.append((String(decoding: x, as: UTF8.self), y))
        }
        var wrong: [String] = []
        for (s, bytes) in cases {
            let (same, equal) = Self.compare(s, bytes)
            // Same bytes must mean the equal String; for valid UTF-8 (no repair) equal bytes are
            // exactly what `same` tests, so a false answer is only a missed shortcut.
            if same && !equal { wrong.append("\(String(describing: s)) / \(String(describing: bytes))") }
            if let s, let bytes, String(validating: bytes, as: UTF8.self) != nil, same != (Array(s.utf8) == bytes) {
                wrong.append("bytes: \(s) / \(bytes)")
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    static let tlsIn = TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Anonymous")

    /// Feeds one line in its span form (as the parser hands it on): `fill` sets the fields, its
    /// second argument places a value in the line's bytes and returns its span. `sharedStrings`:
    /// the buffer hands the correlator its shared caches (as a parser's does).
    static func feed(_ m: inout SendmailCorrelator, _ out: inout CorrelatorOutput, at s: Int64, pid: Int32 = 77,
                     sharedStrings: Bool = true, _ fill: (SendmailLine, (String?) -> Span) -> Void) {
        let buffer = SendmailLineBuffer(sharedStrings: sharedStrings)
        let line = buffer.line
        var buf: [UInt8] = []
        fill(line) { v in
            guard let v else { return .absent }
            let lo = buf.count
            buf.append(contentsOf: v.utf8)
            return Span(lo..<buf.count)
        }
        let ctx = LineContext(time: Timestamp(seconds: 1_800_000_000 + s), host: "mx2", instance: "", program: "sm-mta", pid: pid)
        buf.withUnsafeBufferPointer { p in
            line.f.bytes = LineBytes(base: p.baseAddress ?? LineBytes.emptyBase, count: p.count)
            m.receive(ctx, line, into: &out)
        }
        withExtendedLifetime(buffer) {}
    }

    /// Sets a relay: its name and address as spans, or (IPv6) the address as rewritten text. With
    /// `numbered`, the number a parser's relay memo would give the value (one per distinct
    /// name and address; none for a rewritten address, which the memo never keeps).
    static func relay(_ line: SendmailLine, _ p: Peer, _ add: (String?) -> Span, numbered: Bool = false) {
        var r = RelaySpans()
        r.name = add(p.name)
        if let ip = p.ip, ip.contains(":") { r.rewritten = true; line.setRelay(r, ipText: ip) }
        else {
            r.ip = add(p.ip)
            if numbered { r.id = number(p) }
            line.setRelay(r, ipText: nil)
        }
    }

    /// A number per distinct relay value (as `RelaySpans.id`: equal numbers, equal bytes).
    static func number(_ p: Peer) -> UInt64 {
        var h: UInt64 = 1469598103934665603
        for b in "\(p.name ?? "-")|\(p.ip ?? "-")".utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        return h | 1
    }

    /// The message row of: STARTTLS=server from `tlsPeer`, an optional AUTH from `authPeer`, a
    /// `from=` line from `fromPeer` with `proto`, all of one process, fed as span lines (with the
    /// parser's relay numbers when `numbered`).
    static func row(tlsPeer: Peer, authPeer: Peer?, fromPeer: Peer, proto: String, numbered: Bool = false) -> MessageRecord? {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        feed(&m, &out, at: 0) { line, add in
            line.beginTLS(direction: .inbound)
            relay(line, tlsPeer, add, numbered: numbered)
            line.f.tlsProto = add("TLSv1.3"); line.f.cipher = add("TLS_AES_256_GCM_SHA384"); line.f.bits = 256
            line.f.verify = add("NO")
        }
        if let authPeer {
            feed(&m, &out, at: 1) { line, add in
                line.beginAuth()
                relay(line, authPeer, add, numbered: numbered)
                line.f.authid = add("alice"); line.f.mechanism = add("PLAIN")
            }
        }
        feed(&m, &out, at: 2) { line, add in
            line.beginFrom(queueID: add("5058C1xA000077"))
            line.f.sender = add("alice@example.org"); line.f.size = 10; line.f.msgClass = 0; line.f.nrcpts = 1
            line.f.messageID = add("m@x"); line.f.proto = add(proto); line.f.daemon = add("MTA")
            relay(line, fromPeer, add, numbered: numbered)
        }
        return out.messages.first
    }

    /// A `from=` line's client taken from its process's session by the parser's relay number
    /// (`Session.relayID`) against the rows of the same lines without numbers (the byte compare),
    /// for every combination of listed STARTTLS, AUTH and `from=` relays (same, renamed, moved,
    /// bare, IPv6) and protos.
    @Test func rowsWithRelayNumbersAreRowsWithout() {
        let peers = [Peer(name: "a.example", ip: "10.0.0.1"), Peer(name: "other.example", ip: "10.0.0.1"),
                     Peer(name: "b.example", ip: "10.0.0.2"), Peer(name: nil, ip: "10.0.0.1"),
                     Peer(name: "a.example", ip: nil), Peer(name: "a.example", ip: "2001:db8::1")]
        var wrong: [String] = []
        var rows = 0
        for t in peers {
            for a in [nil] + peers {
                for f in peers {
                    for proto in ["ESMTPSA", "ESMTPS", "ESMTP"] {
                        let x = Self.row(tlsPeer: t, authPeer: a, fromPeer: f, proto: proto, numbered: true)
                        let y = Self.row(tlsPeer: t, authPeer: a, fromPeer: f, proto: proto)
                        if x != nil { rows += 1 }
                        if x != y { wrong.append("\(t) \(String(describing: a)) \(f) \(proto)") }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
        #expect(rows == 6 * 7 * 6 * 3)
    }

    @Test func clientsAndSessionFactsFollowTheLines() {
        let a = Peer(name: "a.example", ip: "10.0.0.1"), a2 = Peer(name: "other.example", ip: "10.0.0.1")
        let b = Peer(name: "b.example", ip: "10.0.0.2"), bare = Peer(name: nil, ip: "10.0.0.1")
        let v6 = Peer(name: "a.example", ip: "2001:db8::1")

        // Same bytes: the session's client; TLS and SASL taken.
        var r = Self.row(tlsPeer: a, authPeer: a, fromPeer: a, proto: "ESMTPSA")
        #expect(r?.client == a && r?.tls == Self.tlsIn && r?.saslMethod == "PLAIN" && r?.saslUsername == "alice")
        // Same address, another name: the from= line's name; TLS and SASL still the session's.
        r = Self.row(tlsPeer: a, authPeer: a2, fromPeer: a2, proto: "ESMTPSA")
        #expect(r?.client == a2 && r?.tls == Self.tlsIn && r?.saslMethod == "PLAIN")
        r = Self.row(tlsPeer: a, authPeer: nil, fromPeer: bare, proto: "ESMTPS")
        #expect(r?.client == bare && r?.tls == Self.tlsIn)
        // AUTH from another address starts a session without TLS.
        r = Self.row(tlsPeer: a, authPeer: b, fromPeer: b, proto: "ESMTPSA")
        #expect(r?.client == b && r?.tls == nil && r?.saslMethod == "PLAIN")
        // The from= line from another address than the session's: neither TLS nor SASL.
        r = Self.row(tlsPeer: a, authPeer: a, fromPeer: b, proto: "ESMTPSA")
        #expect(r?.client == b && r?.tls == nil && r?.saslMethod == nil)
        // A rewritten (IPv6) address is compared as Strings, as before.
        r = Self.row(tlsPeer: v6, authPeer: v6, fromPeer: v6, proto: "ESMTPSA")
        #expect(r?.client == v6 && r?.tls == Self.tlsIn && r?.saslUsername == "alice")
    }

    static let tlsOut = TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: 256, trust: "Trusted")

    /// The delivery row of: STARTTLS=client to `tlsPeer`, then a `to=` line to `relay`, one process.
    static func delivery(tlsPeer: Peer, relay toRelay: Peer) -> DeliveryRecord? {
        var m = SendmailCorrelator(host: "mx2")
        var out = CorrelatorOutput()
        feed(&m, &out, at: 0) { line, add in
            line.beginTLS(direction: .outbound)
            relay(line, tlsPeer, add)
            line.f.tlsProto = add("TLSv1.2"); line.f.cipher = add("ECDHE-RSA-AES256-GCM-SHA384"); line.f.bits = 256
            line.f.verify = add("OK")
        }
        feed(&m, &out, at: 1) { line, add in
            line.beginTo(queueID: add("5058C1xA000077"))
            line.f.recipients.append(add("bob@example.net"))
            line.f.mailer = add("esmtp"); line.f.dsn = add("2.0.0"); line.f.stat = add("Sent"); line.f.status = .sent
            relay(line, toRelay, add)
        }
        return out.deliveries.first
    }

    @Test func deliveryRelayNamesFollowTheLines() {
        let named = Peer(name: "mx.example.net", ip: nil)
        let full = Peer(name: "mx.example.net", ip: "192.0.2.9"), upper = Peer(name: "MX.example.net", ip: "192.0.2.9")
        var d = Self.delivery(tlsPeer: named, relay: full)
        #expect(d?.relay == full && d?.tls == Self.tlsOut)
        // Another case: the same host for TLS, but the to= line's own name.
        d = Self.delivery(tlsPeer: named, relay: upper)
        #expect(d?.relay == upper && d?.tls == Self.tlsOut)
        d = Self.delivery(tlsPeer: named, relay: Peer(name: "other.example.net", ip: "192.0.2.9"))
        #expect(d?.relay == Peer(name: "other.example.net", ip: "192.0.2.9") && d?.tls == nil)
        d = Self.delivery(tlsPeer: named, relay: Peer(name: nil, ip: "192.0.2.9"))
        #expect(d?.relay == Peer(name: nil, ip: "192.0.2.9") && d?.tls == nil)
        d = Self.delivery(tlsPeer: Peer(name: "mx.example.net", ip: "2001:db8::9"), relay: Peer(name: "mx.example.net", ip: "2001:db8::9"))
        #expect(d?.relay == Peer(name: "mx.example.net", ip: "2001:db8::9") && d?.tls == Self.tlsOut)
    }

    /// The to= line's decision when the entry's name has the relay's bytes (taken without
    /// `sameHost`: the addresses when both have one, else true) against `sameHost` of the two
    /// peers, for every pair of listed STARTTLS=client peers and relays (names equal, in another
    /// case, other, absent; addresses equal, other, absent, IPv6): the row's relay is the
    /// to= line's and its TLS the entry's exactly when `sameHost` says so.
    @Test func deliveryTLSAgreesWithSameHost() {
        let names: [String?] = ["mx.example.net", "MX.example.net", "other.example.net", nil]
        let ips: [String?] = ["192.0.2.9", "192.0.2.10", nil, "2001:db8::9", "2001:db8::a"]
        var peers: [Peer] = []
        for n in names { for i in ips where n != nil || i != nil { peers.append(Peer(name: n, ip: i)) } }
        var wrong: [String] = []
        var taken = 0
        for t in peers {
            for r in peers {
                let d = Self.delivery(tlsPeer: t, relay: r)
                let want = SendmailCorrelator.sameHost(t, r) ? Self.tlsOut : nil
                if want != nil { taken += 1 }
                if d?.relay != r || d?.tls != want { wrong.append("\(t) -> \(r): \(String(describing: d?.relay)) \(String(describing: d?.tls))") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
        #expect(peers.count == 19 && taken == 109)
    }
}
