// SendmailRelayMemoTests: `smRelay(_:into:)` takes a `relay=` value seen lately from the line
// buffer's `SendmailRelayMemo`; what it sets must be exactly what the relay grammar
// (`smRelaySpans`) gives for the same bytes — on the first sight (a miss), on later sights at other
// places in the line (hits, the spans moved), for values too long to keep, for values that had to
// be rewritten (IPv6: never kept), after colliding values evicted each other, and in a `withLine`
// buffer, which has no memo. The memo's word compare against the bytes' equality. The number a
// value is given (`RelaySpans.id`) stands for exactly its bytes.
// Limits: generated forms only (seeded, deterministic), not a fuzzer.

import Testing
@testable import MTAParsing
import MailTrailModel

@Suite struct SendmailRelayMemoTests {
    struct Seen: Equatable {
        var name: Span, ip: Span, user: Span, rewritten: Bool, forged: Bool, ipText: String?
    }

    /// What `smRelay(_:into:)` sets for `value` placed after `pad` bytes, through `line`.
    static func viaMemo(_ value: String, pad: Int, _ line: SendmailLine) -> Seen {
        let bytes = Array(String(repeating: "x", count: pad).utf8) + Array(value.utf8) + Array(", dsn=2.0.0".utf8)
        return bytes.withUnsafeBufferPointer { buf -> Seen in
            line.reset(bytes: LineBytes(buf))
            ByteScanner(buf).smRelay(pad..<(pad + value.utf8.count), into: line)
            let r = line.f.relay
            return Seen(name: r.name, ip: r.ip, user: r.user, rewritten: r.rewritten, forged: r.forged,
                        ipText: r.rewritten ? line.f.ipText : nil)
        }
    }

    /// What the relay grammar gives for `value` placed after `pad` bytes.
    static func direct(_ value: String, pad: Int) -> Seen {
        let bytes = Array(String(repeating: "x", count: pad).utf8) + Array(value.utf8) + Array(", dsn=2.0.0".utf8)
        return bytes.withUnsafeBufferPointer { buf -> Seen in
            var ipText: String?
            let r = ByteScanner(buf).smRelaySpans(pad..<(pad + value.utf8.count), ipText: &ipText)
            return Seen(name: r.name, ip: r.ip, user: r.user, rewritten: r.rewritten, forged: r.forged,
                        ipText: r.rewritten ? ipText : nil)
        }
    }

    static let values = [
        "mbox3.example.com. [10.2.6.14]", "[10.20.240.88]", "smtp.unioncapital.nl [81.4.161.218]",
        "mbox3.example.com.", "root@localhost", "user@host.example [192.0.2.1] (may be forged)",
        "host [IPv6:2001:db8:0:0:0:0:0:1]", "[IPv6:::ffff:192.0.2.7]", "x", "ab", "[1.2.3.4]",
        "a.very.long.relay.name.that.goes.on.and.on.example.org [203.0.113.200]",
        "name [300.1.1.1]", "name [1.2.3.4] ", "@", "u@", "[]", "name. [10.0.0.1] (may be forged)",
        String(repeating: "y", count: 64), String(repeating: "y", count: 65), String(repeating: "z", count: 63),
    ]

    @Test func givesWhatTheGrammarGives() {
        let buffer = SendmailLineBuffer()
        var wrong: [String] = []
        var rng = SplitMix64(seed: 29)
        var all = Self.values
        let alphabet = Array("ab.[]1 @:9(".utf8)
        for _ in 0..<3_000 {
            let n = 1 + Int(rng.next() % 40)
            all.append(String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        for _ in 0..<3 {
            for v in all {
                let pad = Int(rng.next() % 50)
                let got = Self.viaMemo(v, pad: pad, buffer.line), want = Self.direct(v, pad: pad)
                if got != want { wrong.append("\(v) at \(pad): \(got) vs \(want)") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        withExtendedLifetime(buffer) {}
    }

    /// The number a relay value is given (`RelaySpans.id`): the same for the same bytes while the
    /// memo keeps them, never the same for other bytes nor given again after an eviction, never
    /// shared by two buffers; 0 for values not kept (rewritten IPv6, too long) and in a buffer
    /// without the memo.
    @Test func numbersFollowTheValueBytes() {
        let a = SendmailLineBuffer(), c = SendmailLineBuffer(), plain = SendmailLineBuffer(sharedStrings: false)
        func id(_ v: String, _ buffer: SendmailLineBuffer) -> UInt64 {
            _ = Self.viaMemo(v, pad: 5, buffer.line)
            return buffer.line.f.relay.id
        }
        var wrong: [String] = []
        var owner: [UInt64: String] = [:]
        var last: [String: UInt64] = [:]
        var rng = SplitMix64(seed: 31)
        var all = Self.values
        for _ in 0..<3_000 { all.append("host\(rng.next() % 700).example [10.0.\(rng.next() % 3).\(rng.next() % 9)]") }
        for v in all {
            let n = id(v, a)
            let kept = !v.contains(":") && v.utf8.count <= SendmailRelayMemo.maxKey
            if kept != (n != 0) { wrong.append("\(v): \(n)") }
            if id(v, plain) != 0 { wrong.append("plain buffer numbered \(v)") }
            guard n != 0 else { continue }
            if let o = owner[n], o != v { wrong.append("\(n) for \(o) and \(v)") }
            if let l = last[v], l != n, owner[n] != nil { wrong.append("\(n) given again for \(v)") }
            owner[n] = v; last[v] = n
            // Seen again at once: the same number; in another buffer: another one.
            if id(v, a) != n { wrong.append("\(v) renumbered") }
            let o = id(v, c)
            if o == n || owner[o] != nil && owner[o] != v { wrong.append("buffers share \(o) for \(v)") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }

    /// Rewritten addresses' texts from the line buffer's `SendmailIPTextMemo` against `smIP` of the
    /// same bytes (listed IPv6 forms, seeded random ones seen several times in random order, more
    /// than the memo keeps, over 48 bytes, not addresses), through the relay reader and alone.
    @Test func rewrittenAddressesAreWhatSmIPGives() {
        var addrs = ["IPv6:2001:db8:0:0:0:0:0:1", "IPv6:::ffff:192.0.2.7", "2a01:111:f403:2dd6::7f4", "::1", "::",
                     "IPv6:0:0:0:0:0:0:0:0", "ipv6:fe80:0:0:0:0:0:0:1", "2001:db8::zz", "IPv6:", "1:2:3:4:5:6:7:8:9",
                     "IPv6:2001:0db8:0000:0000:0000:ff00:0042:8329", "IPv6:1111:2222:3333:4444:5555:6666:7777:8888"]
        var rng = SplitMix64(seed: 41)
        for _ in 0..<150 {
            let groups = (0..<8).map { _ in rng.next() % 3 == 0 ? "0" : String(rng.next() % 65_536, radix: 16) }
            addrs.append((rng.next() % 2 == 0 ? "IPv6:" : "") + groups.joined(separator: ":"))
        }
        let buffer = SendmailLineBuffer()
        var wrong: [String] = []
        for _ in 0..<4 {
            for _ in addrs.indices {
                let a = addrs[Int(rng.next() % UInt64(addrs.count))]
                let bytes = Array(a.utf8)
                bytes.withUnsafeBufferPointer { b in
                    let s = ByteScanner(b)
                    let want = s.smIP(0..<b.count)
                    let got = buffer.line.f.ipTextMemo.text(b.baseAddress!, b.count) { s.smIP(0..<b.count) }
                    if got != want { wrong.append("\(a): \(String(describing: got)) vs \(String(describing: want))") }
                }
                let v = "mx.example [\(a)]"
                let pad = Int(rng.next() % 9)
                let got = Self.viaMemo(v, pad: pad, buffer.line), direct = Self.direct(v, pad: pad)
                if got != direct { wrong.append("\(v): \(got) vs \(direct)") }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
        #expect(buffer.line.f.ipTextMemo.isAllocated && !SendmailLineBuffer(sharedStrings: false).line.f.ipTextMemo.isAllocated)
    }

    @Test func aRepeatedValueIsAHitAtAnyPlace() {
        let buffer = SendmailLineBuffer()
        let v = "mbox3.example.com. [10.2.6.14]"
        #expect(Self.viaMemo(v, pad: 3, buffer.line) == Self.direct(v, pad: 3))
        let bytes = Array(v.utf8)
        bytes.withUnsafeBufferPointer { buf in
            let memo = buffer.line.f.relayMemo
            var kept = RelaySpans()
            #expect(memo.lookup(buf.baseAddress!, buf.count, hash: SendmailRelayMemo.hash(buf.baseAddress!, buf.count), into: &kept))
            #expect(kept.name == Span(0..<17) && kept.ip == Span(20..<29) && kept.user == .absent)
        }
        for pad in [0, 1, 17, 200] { #expect(Self.viaMemo(v, pad: pad, buffer.line) == Self.direct(v, pad: pad)) }
        // A rewritten address is never kept.
        let v6 = "host [IPv6:2001:db8:0:0:0:0:0:1]"
        #expect(Self.viaMemo(v6, pad: 0, buffer.line) == Self.direct(v6, pad: 0))
        Array(v6.utf8).withUnsafeBufferPointer { buf in
            var kept = RelaySpans()
            #expect(!buffer.line.f.relayMemo.lookup(buf.baseAddress!, buf.count,
                                                    hash: SendmailRelayMemo.hash(buf.baseAddress!, buf.count), into: &kept))
        }
        withExtendedLifetime(buffer) {}
    }

    @Test func aOneOffBufferHasNoMemoAndStillReadsRelays() {
        let parserBuffer = SendmailLineBuffer()
        withExtendedLifetime(parserBuffer) { #expect(parserBuffer.line.f.relayMemo.isAllocated) }
        let oneOff = SendmailLineBuffer(sharedStrings: false)
        #expect(!oneOff.line.f.relayMemo.isAllocated)
        for v in Self.values {
            for pad in [0, 5] { #expect(Self.viaMemo(v, pad: pad, oneOff.line) == Self.direct(v, pad: pad), "\(v)") }
        }
        #expect(!oneOff.line.f.relayMemo.isAllocated)
        withExtendedLifetime(oneOff) {}
    }

    @Test func equalIsByteEquality() {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<5_000 {
            let n = 1 + Int(rng.next() % UInt64(SendmailRelayMemo.maxKey))
            let a = (0..<n).map { _ in UInt8(rng.next() % 3) }
            var b = a
            if rng.next() % 2 == 0 { b[Int(rng.next() % UInt64(n))] = UInt8(rng.next() % 3) }
            let same = a.withUnsafeBytes { x in b.withUnsafeBytes { y in SendmailRelayMemo.equal(x.baseAddress!, y.baseAddress!, n) } }
            #expect(same == (a == b))
        }
    }

    @Test func spansMoveAndAbsentOnesStay() {
        #expect(Span(3..<9).shifted(by: 10) == Span(13..<19))
        #expect(Span(13..<19).shifted(by: -13) == Span(0..<6))
        #expect(Span.absent.shifted(by: 10) == .absent)
        #expect(Span.absent.shifted(by: -10) == .absent)
    }
}
