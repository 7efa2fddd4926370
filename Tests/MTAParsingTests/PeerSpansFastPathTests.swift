// PeerSpansFastPathTests: `peerSpans`'s one-pass reading of `NAME[a.b.c.d][:PORT]`
// (`dottedQuadEnd`) against the general form (last `[`, first `]`, port, `isIPAddress`),
// written out here as it was before the fast path, on listed peers and on seeded random
// ones built from digits, dots, brackets, colons, letters, slashes and high bytes; and
// `dottedQuadEnd` followed by `]` against `isIPAddress` of the bytes before the `]`
// (IPv4 without a NUL: the general path keeps those).
// Limits: peers of up to 40 bytes.

import Testing
import MailTrailModel
@testable import MTAParsing

@Suite struct PeerSpansFastPathTests {
    /// The general form of `peerSpans` (the code before the fast path).
    static func general(_ s: ByteScanner, _ r: Range<Int>) -> PeerSpans {
        guard !r.isEmpty else { return PeerSpans() }
        guard let lb = s.findLast(Byte.lbracket, from: r.lowerBound, to: r.upperBound),
              let rb = s.find(Byte.rbracket, from: lb + 1, to: r.upperBound) else {
            return PeerSpans(name: Span(r))
        }
        var port: Int?
        var tailOK = rb + 1 == r.upperBound
        if !tailOK, s[rb + 1] == Byte.colon, let p = s.int((rb + 2)..<r.upperBound) {
            port = p; tailOK = true
        }
        let addr = (lb + 1)..<rb
        if tailOK, s.isIPAddress(addr) {
            return PeerSpans(name: lb > r.lowerBound ? Span(r.lowerBound..<lb) : .absent, ip: Span(addr), port: port)
        }
        if s.find(Byte.slash, from: addr.lowerBound, to: addr.upperBound) != nil || !tailOK {
            return PeerSpans(name: Span(r.lowerBound..<(tailOK && port == nil ? rb + 1 : r.upperBound)), port: port)
        }
        return PeerSpans(name: lb > r.lowerBound ? Span(r.lowerBound..<lb) : .absent, port: port)
    }

    static func same(_ a: PeerSpans, _ b: PeerSpans) -> Bool { a.name == b.name && a.ip == b.ip && a.port == b.port }

    /// Both forms on the whole of `bytes` (a copy without slack after it, so a read past the end would be caught
    /// by the address sanitizer, and is at least never needed for the answer).
    static func both(_ bytes: [UInt8]) -> (PeerSpans, PeerSpans) {
        bytes.withUnsafeBufferPointer { b in
            let s = ByteScanner(b)
            return (s.peerSpans(0..<b.count), general(s, 0..<b.count))
        }
    }

    @Test func listedPeers() {
        let cases = [
            "mail.example.org[192.0.2.1]", "unknown[10.20.240.88]", "mbox3.example.com[10.2.6.14]:25", "[10.0.0.1]:587",
            "x[0.0.0.0]", "x[255.255.255.255]", "x[256.1.1.1]", "x[1.2.3]", "x[1.2.3.4.5]", "x[01.2.3.4]", "x[1.2.3.04]",
            "x[1.2.3.4]:", "x[1.2.3.4]:x", "x[1.2.3.4]x", "x[1.2.3.4", "x[1.2.3.]", "x[.1.2.3]", "x[1..2.3]",
            "x[1.2.3.4]]", "a[b]c[1.2.3.4]", "x[2001:db8::1]", "x[::ffff:1.2.3.4]:25", "host[private/dovecot-lmtp]",
            "dovecot", "x[1.2.3.1000]", "x[1.2.3.255]:65535", "x[1.2.3.4]:99999999999999999999", "[1.2.3.4]",
            "x[300.1.1.1]", "x[1.2.3.4\u{0}]", "x[]", "[", "]", "x[1.2.3.4][5.6.7.8]", "x[1.22.333.4]", "x[9.99.199.249]",
        ]
        for text in cases {
            let (fast, general) = Self.both(Array(text.utf8))
            #expect(Self.same(fast, general), "\(text): \(fast) vs \(general)")
        }
        let (p, _) = Self.both(Array("mbox3.example.com[10.2.6.14]:25".utf8))
        #expect(p.name == Span(0..<17) && p.ip == Span(18..<27) && p.port == 25)
    }

    @Test func randomPeersMatchTheGeneralForm() {
        var rng = SplitMix64(seed: 0x9EE2_5BA7)
        let alphabet = Array("0123456789012345678901234567890123456789....[]]:/abz".utf8) + [0x00, 0x80, 0xFF, 0x20]
        var wrong: [String] = []
        for _ in 0..<200_000 {
            var bytes: [UInt8] = []
            if rng.next() % 2 == 0 {
                // A likely shape: name, `[`, a near-quad, `]`, maybe a port, with mutations.
                bytes += Array("h.example".utf8).prefix(Int(rng.next() % 10))
                bytes.append(Byte.lbracket)
                for k in 0..<4 {
                    let digits = 1 + Int(rng.next() % 4)
                    for _ in 0..<digits { bytes.append(Byte.zero + UInt8(rng.next() % 10)) }
                    if k < 3 { bytes.append(Byte.dot) }
                }
                bytes.append(Byte.rbracket)
                if rng.next() % 3 == 0 { bytes += Array(":25".utf8).prefix(1 + Int(rng.next() % 3)) }
                if rng.next() % 3 == 0, !bytes.isEmpty {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            } else {
                let n = Int(rng.next() % 41)
                for _ in 0..<n { bytes.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            }
            let (fast, general) = Self.both(bytes)
            if !Self.same(fast, general) { wrong.append("\(bytes)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func dottedQuadEndAgreesWithIsIPAddress() {
        var rng = SplitMix64(seed: 0x0D07_7ED)
        var wrong: [String] = []
        for _ in 0..<200_000 {
            var bytes: [UInt8] = []
            let n = 1 + Int(rng.next() % 17)
            for _ in 0..<n {
                let r = rng.next() % 10
                bytes.append(r < 6 ? Byte.zero + UInt8(rng.next() % 10) : r < 9 ? Byte.dot : UInt8(truncatingIfNeeded: rng.next()))
            }
            bytes.append(Byte.rbracket)
            let (end, valid): (Int?, Bool) = bytes.withUnsafeBufferPointer { b in
                let s = ByteScanner(b)
                return (s.dottedQuadEnd(from: 0, to: b.count), s.isIPAddress(0..<(b.count - 1)))
            }
            // Where the fast reading ends at the `]`, the address before it is valid, and every valid
            // IPv4 address (no `:`, no NUL: inet_pton4 also stops at a NUL) is read there.
            let fastValid = end == bytes.count - 1
            let plainIPv4 = valid && !bytes.contains(Byte.colon) && !bytes.contains(0)
            if fastValid && !valid || plainIPv4 != fastValid { wrong.append("\(bytes)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
