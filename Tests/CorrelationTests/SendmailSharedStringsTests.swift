// SendmailSharedStringsTests: the parser's line buffer carries one `StringCache` that every
// Sendmail correlator its lines reach uses for the line (swapped with its own): the rows must be
// those of correlators each using their own cache (the String API path, `withLine`'s buffers carry
// none), on seeded random transcripts over three hosts whose values repeat across hosts
// (senders, recipients, relays, authids, ciphers: short and long, ASCII and not); and the shared
// cache must come back to the line after each line.
// Limits: generated transcripts (seeded, deterministic), not a fuzzer.

import Testing
import MailTrailModel
@testable import Correlation

@Suite struct SendmailSharedStringsTests {
    static let hosts = ["mx1", "mx2", "mbox3"]
    static let addrs = ["a@example.org", "brandon.garcia@example.com", "ingrid.williams@example.org",
                        "caf\u{E9}.owner@example.net", "sales@unioncapital.nl", "x", "postmaster",
                        "a.very.long.address.beyond.32.bytes@example.org"]
    static let names = ["mbox3.example.com", "smtp.unioncapital.nl", "mout.gmx.net", "mx1.example.com",
                        "h\u{F6}st.example.org"]
    static let ips = ["10.2.6.14", "81.4.161.218", "212.227.15.23", "10.0.8.10"]
    static let ciphers = ["TLS_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384", "TLS_AES_128_GCM_SHA256"]

    /// A seeded transcript: (host index, pid, event).
    static func transcript(seed: UInt64, count: Int) -> [(Int, Int32, SendmailEvent)] {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        var out: [(Int, Int32, SendmailEvent)] = []
        var qids: [String] = []
        for k in 0..<count {
            let host = Int(rng.next() % 3)
            let pid = Int32(100 + rng.next() % 6)
            let peer = Peer(name: pick(names), ip: pick(ips))
            switch rng.next() % 5 {
            case 0:
                let info = TLSInfo(proto: pick(["TLSv1.3", "TLSv1.2"]), cipher: pick(ciphers), bits: 256, trust: nil)
                out.append((host, pid, .tls(direction: rng.next() % 2 == 0 ? .inbound : .outbound, peer: peer, info: info,
                                             verify: pick(["NO", "OK", "FAIL"]))))
            case 1:
                out.append((host, pid, .auth(peer: peer, authid: pick(addrs), mechanism: pick(["PLAIN", "LOGIN"]))))
            case 2, 3:
                let q = "4210\(k)A\(String(pid))"
                qids.append(q)
                out.append((host, pid, .from(queueID: q, SendmailFrom(
                    sender: pick(addrs), size: 1000, nrcpts: Int(1 + rng.next() % 2), messageID: "<m\(k)@\(pick(names))>",
                    proto: pick(["ESMTP", "ESMTPS", "ESMTPSA", "ESMTPA"]), relay: peer))))
            default:
                let q = qids.isEmpty ? "4210ZZZ\(k)" : pick(qids)
                out.append((host, pid, .to(queueID: q, SendmailTo(
                    recipients: [pick(addrs)] + (rng.next() % 4 == 0 ? [pick(addrs)] : []),
                    ctladdr: rng.next() % 3 == 0 ? pick(addrs) : nil, mailer: pick(["esmtp", "local", "relay"]),
                    relay: peer, dsn: "2.0.0", stat: "Sent", status: pick([.sent, .deferred, .bounced])))))
            }
        }
        return out
    }

    static func ctx(_ host: Int, _ pid: Int32, _ k: Int) -> LineContext {
        LineContext(time: Timestamp(seconds: 1_800_000_000 + Int64(k)), host: hosts[host], instance: "",
                    program: "sm-mta", pid: pid)
    }

    @Test func sharedCacheGivesTheRowsOfOwnCaches() {
        for seed in UInt64(1)...20 {
            let events = Self.transcript(seed: seed, count: 600)
            var own = Self.hosts.map { SendmailCorrelator(host: $0) }
            var shared = Self.hosts.map { SendmailCorrelator(host: $0) }
            var ownOut = CorrelatorOutput(), sharedOut = CorrelatorOutput()
            var cache: SharedStringCache? = SharedStringCache(bits: 12)
            var lost = 0
            for (k, (h, pid, e)) in events.enumerated() {
                own[h].receive(Self.ctx(h, pid, k), e, into: &ownOut)
                switch e {
                case .from, .to, .tls, .auth:
                    // As the parser's buffer hands the line on: with the shared cache in its fields.
                    SendmailLine.withLine(e) { line in
                        line.f.sharesStrings = true
                        line.f.strings = cache.take()
                        shared[h].receive(Self.ctx(h, pid, k), line, into: &sharedOut)
                        cache = line.f.strings.take()
                    }
                default:
                    shared[h].receive(Self.ctx(h, pid, k), e, into: &sharedOut)
                }
                if cache == nil { lost += 1; cache = SharedStringCache(bits: 12) }
            }
            for h in 0..<3 { own[h].flushHeld(into: &ownOut); shared[h].flushHeld(into: &sharedOut) }
            #expect(lost == 0)
            #expect(ownOut.messages.count > 50 && ownOut.deliveries.count > 50)
            #expect(sharedOut.messages == ownOut.messages, "seed \(seed)")
            #expect(sharedOut.deliveries == ownOut.deliveries, "seed \(seed)")
            #expect(sharedOut.rejections == ownOut.rejections, "seed \(seed)")
        }
    }

    @Test func parserBuffersShareACacheMadeAtFirstUseAndOneOffLinesDoNot() {
        let buffer = SendmailLineBuffer()
        #expect(buffer.line.f.sharesStrings && buffer.line.f.strings == nil)
        #expect(!SendmailLineBuffer(sharedStrings: false).line.f.sharesStrings)
        SendmailLine.withLine(.auth(peer: Peer(ip: "10.0.0.1"), authid: "u", mechanism: "PLAIN")) { line in
            #expect(!line.f.sharesStrings && line.f.strings == nil)
        }
        // The first line a correlator receives makes the cache; it stays with the buffer.
        let bytes = Array("x".utf8)
        bytes.withUnsafeBufferPointer { p in
            let line = buffer.line
            line.reset(bytes: LineBytes(p))
            line.beginAuth()
            var m = SendmailCorrelator(host: "mx1")
            var out = CorrelatorOutput()
            m.receive(Self.ctx(0, 1, 0), line, into: &out)
        }
        #expect(buffer.line.f.strings != nil)
    }
}
