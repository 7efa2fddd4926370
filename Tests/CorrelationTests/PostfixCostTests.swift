// PostfixCostTests: the cheaper forms of round 8 in the Postfix correlator against the forms
// they replace, on exact values — lookup keys that borrow the line's tag (`ProcessKey`) against
// keys that hold it; TLS lines that find their session or outbound entry (updated in place) and
// those that add one; sessions ended by a disconnect (kept for reuse) against removed ones:
// absent to every reader and to the saved state, and outbound TLS entries a delivery did not
// match (kept for reuse) likewise; the Strings cache a parser's line buffer
// shares among all hosts' correlators against each correlator's own cache, and the shared
// Message-ID cache (`MessageKey.Cache`) against `String(decoding:)` and `forMessageID`;
// `isLoopback` of a span (whose first two bytes decide most addresses) against `isLoopback` of
// its String; the last delivery's identity held as an index into the recipients (saved with
// the recipient's text, as before); values moved (not copied) into a transaction.
// Limits: fixed cases (deterministic).

import Foundation
import Testing
@testable import Correlation
@testable import MailTrailModel

@Suite struct PostfixCostTests {
    typealias ProcessKey = PostfixCorrelator.ProcessKey

    /// A borrowing key finds exactly what a holding key of the same tag parts and pid finds,
    /// whether the tag is the stored object or another object with the same parts.
    @Test func borrowedProcessKeysFindWhatHoldingKeysFind() {
        let smtpd = LineTag(instance: "postfix", program: "smtpd")
        let sameParts = LineTag(instance: "postfix", program: "smtpd")
        let submission = LineTag(instance: "postfix", service: "submission", program: "smtpd")
        let other = LineTag(instance: "postfix-out", program: "smtpd")
        var map = FastMap<ProcessKey, Int>()
        map[ProcessKey(tag: smtpd, pid: 10)] = 1
        map[ProcessKey(tag: submission, pid: 10)] = 2
        map[ProcessKey(tag: other, pid: 11)] = 3
        for tag in [smtpd, sameParts, submission, other] {
            for pid: Int32 in [10, 11, 12] {
                let holding = map.index(of: ProcessKey(tag: tag, pid: pid)).map { map.values[$0] }
                let borrowed = map.index(of: ProcessKey(borrowing: tag, pid: pid)).map { map.values[$0] }
                #expect(borrowed == holding, "tag \(tag.instance)/\(tag.service)/\(tag.program) pid \(pid)")
            }
        }
        #expect(map.index(of: ProcessKey(borrowing: sameParts, pid: 10)).map { map.values[$0] } == 1)
        #expect(map.index(of: ProcessKey(borrowing: submission, pid: 10)).map { map.values[$0] } == 2)
        #expect(map.index(of: ProcessKey(borrowing: other, pid: 10)) == nil)
        #expect(ProcessKey(borrowing: smtpd, pid: 10) == ProcessKey(tag: sameParts, pid: 10))
        #expect(ProcessKey(borrowing: smtpd, pid: 10).fastHash == ProcessKey(tag: sameParts, pid: 10).fastHash)
        #expect(ProcessKey(borrowing: smtpd, pid: 10) != ProcessKey(tag: smtpd, pid: 11))
    }

    /// A stored key keeps its tag alive after the line's reference is gone, and is saved with
    /// the tag's parts.
    @Test func storedProcessKeyHoldsItsTag() throws {
        var map = FastMap<ProcessKey, Int>()
        do {
            let tag = LineTag(instance: "postfix", service: "submission", program: "smtpd")
            map[ProcessKey(tag: tag, pid: 42)] = 7
        }
        let probe = LineTag(instance: "postfix", service: "submission", program: "smtpd")
        #expect(map.index(of: ProcessKey(borrowing: probe, pid: 42)).map { map.values[$0] } == 7)
        #expect(map.keys[0].tag.instance == "postfix")
        #expect(map.keys[0].tag.service == "submission")
        #expect(map.keys[0].tag.program == "smtpd")
    }

    static let tlsA = TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Anonymous")
    static let tlsB = TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: 256, trust: "Trusted")
    static let client = Peer(name: "mail.sender.example", ip: "198.51.100.5", port: 40000)
    static let hub = Peer(name: "hub1.example.com", ip: "192.0.2.20", port: 25)

    static func ctx(_ s: Int64, _ program: String, _ pid: Int32) -> LineContext {
        LineContext(time: Timestamp(seconds: 1_800_000_000 + s), host: "mx1", instance: "postfix", program: program, pid: pid)
    }

    /// An inbound TLS line with a session (from `connect`) and without one (the TLS line makes
    /// it, with the TLS line's port): the message rows carry the TLS and the client's port.
    @Test func inboundTLSWithAndWithoutASession() {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        m.receive(Self.ctx(0, "smtpd", 10), .connect(client: Self.client), into: &out)
        m.receive(Self.ctx(0, "smtpd", 10), .tls(direction: .inbound, peer: Self.client, info: Self.tlsA), into: &out)
        m.receive(Self.ctx(0, "smtpd", 11), .tls(direction: .inbound, peer: Self.client, info: Self.tlsB), into: &out)
        for (qid, pid) in [("AAA111", Int32(10)), ("BBB222", Int32(11))] {
            m.receive(Self.ctx(1, "smtpd", pid), .client(queueID: qid, client: Peer(name: Self.client.name, ip: Self.client.ip),
                                                         saslMethod: nil, saslUsername: nil, origQueueID: nil,
                                                         origClient: nil), into: &out)
            m.receive(Self.ctx(1, "qmgr", 300), .queued(queueID: qid, sender: "a@x", size: 1, nrcpt: 1), into: &out)
        }
        #expect(out.messages.map(\.queueID) == ["AAA111", "BBB222"])
        #expect(out.messages.map(\.tls) == [Self.tlsA, Self.tlsB])
        #expect(out.messages.map(\.client) == [Self.client, Self.client])
    }

    /// A second outbound TLS line of one process replaces the first: the next delivery over it
    /// carries the second's TLS; another process's entry is its own.
    @Test func outboundTLSReplacedInPlace() {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        for q in ["J1", "J2", "J3"] {
            m.receive(Self.ctx(0, "qmgr", 300), .queued(queueID: q, sender: "a@x", size: 1, nrcpt: 1), into: &out)
        }
        m.receive(Self.ctx(1, "smtp", 400), .tls(direction: .outbound, peer: Self.hub, info: Self.tlsA), into: &out)
        m.receive(Self.ctx(1, "smtp", 401), .tls(direction: .outbound, peer: Self.hub, info: Self.tlsA), into: &out)
        m.receive(Self.ctx(1, "smtp", 400), .delivery(queueID: "J1", PostfixDelivery(recipient: "r@y", relay: Self.hub,
                                                                                      status: .sent)), into: &out)
        m.receive(Self.ctx(2, "smtp", 400), .tls(direction: .outbound, peer: Self.hub, info: Self.tlsB), into: &out)
        m.receive(Self.ctx(2, "smtp", 400), .delivery(queueID: "J2", PostfixDelivery(recipient: "s@y", relay: Self.hub,
                                                                                      status: .sent)), into: &out)
        m.receive(Self.ctx(2, "smtp", 401), .delivery(queueID: "J3", PostfixDelivery(recipient: "t@y", relay: Self.hub,
                                                                                      status: .sent)), into: &out)
        #expect(out.deliveries.map(\.recipient) == ["r@y", "s@y", "t@y"])
        #expect(out.deliveries.map(\.tls) == [Self.tlsA, Self.tlsB, Self.tlsA])
    }

    /// After a disconnect the process's session is gone for every reader: a `client=` of that
    /// process gets neither its TLS nor its port; a new connect starts a fresh session (no TLS
    /// of the old one); the saved state holds only live sessions.
    @Test func endedSessionsAreAbsent() throws {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        let other = Peer(name: "other.example", ip: "203.0.113.9", port: 50000)
        m.receive(Self.ctx(0, "smtpd", 10), .connect(client: Self.client), into: &out)
        m.receive(Self.ctx(0, "smtpd", 10), .tls(direction: .inbound, peer: Self.client, info: Self.tlsA), into: &out)
        m.receive(Self.ctx(0, "smtpd", 11), .connect(client: other), into: &out)
        m.receive(Self.ctx(1, "smtpd", 10), .disconnect(client: Self.client), into: &out)
        // A client= of the ended session's process (damaged or reordered log): no session.
        m.receive(Self.ctx(2, "smtpd", 10), .client(queueID: "AAA111", client: Peer(name: Self.client.name, ip: Self.client.ip),
                                                    saslMethod: nil, saslUsername: nil, origQueueID: nil,
                                                    origClient: nil), into: &out)
        m.receive(Self.ctx(2, "qmgr", 300), .queued(queueID: "AAA111", sender: "a@x", size: 1, nrcpt: 1), into: &out)
        // The saved state: only the live session of pid 11.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let saved = try encoder.encode(m.sessions)
        let live = try encoder.encode({ () -> FastMap<PostfixCorrelator.ProcessKey, PostfixCorrelator.Session> in
            var f = FastMap<PostfixCorrelator.ProcessKey, PostfixCorrelator.Session>()
            f[PostfixCorrelator.ProcessKey(tag: LineTag(instance: "postfix", program: "smtpd"), pid: 11)] =
                PostfixCorrelator.Session(client: Peer(ip: other.ip, port: other.port), started: Self.ctx(0, "smtpd", 11).time, tls: nil)
            return f
        }())
        #expect(String(decoding: saved, as: UTF8.self) == String(decoding: live, as: UTF8.self))
        // A new session of pid 10 (no TLS line): a fresh session, not the ended one's TLS.
        m.receive(Self.ctx(3, "smtpd", 10), .connect(client: other), into: &out)
        m.receive(Self.ctx(3, "smtpd", 10), .client(queueID: "BBB222", client: Peer(name: other.name, ip: other.ip),
                                                    saslMethod: nil, saslUsername: nil, origQueueID: nil,
                                                    origClient: nil), into: &out)
        m.receive(Self.ctx(3, "qmgr", 300), .queued(queueID: "BBB222", sender: "a@x", size: 1, nrcpt: 1), into: &out)
        #expect(out.messages.map(\.queueID) == ["AAA111", "BBB222"])
        #expect(out.messages.map(\.tls) == [nil, nil])
        #expect(out.messages.map(\.client) == [Peer(name: Self.client.name, ip: Self.client.ip), other])
        // A restored state reads the saved live session.
        let restored = try JSONDecoder().decode(PostfixCorrelator.ProcessTable<PostfixCorrelator.Session>.self, from: saved)
        #expect(restored.map.count == 1)
        let smtpd = LineTag(instance: "postfix", program: "smtpd")     // held while the borrowing key is used
        #expect(restored.live(PostfixCorrelator.ProcessKey(borrowing: smtpd, pid: 11)) == 0)
        withExtendedLifetime(smtpd) {}
        #expect(restored.map.values[0].client == Peer(ip: other.ip, port: other.port))
    }

    /// Feeds `event` to `m` through `buffer`'s line (its shared cache kept across lines), as a
    /// parser's buffer hands lines over.
    static func feedShared(_ m: inout PostfixCorrelator, _ buffer: PostfixLineBuffer, _ ctx: LineContext,
                           _ event: PostfixEvent, _ out: inout CorrelatorOutput) {
        PostfixLine.withLine(event) { one in
            let shared = buffer.line.storage
            var cache: StringCache? = nil, ids: MessageKey.Cache? = nil
            swap(&cache, &shared.pointee.strings)
            swap(&ids, &shared.pointee.messageIDs)
            shared.pointee = one.storage.pointee
            shared.pointee.sharesStrings = true
            swap(&cache, &shared.pointee.strings)
            swap(&ids, &shared.pointee.messageIDs)
            m.receive(ctx, buffer.line, into: &out)
        }
    }

    /// Two hosts' correlators fed the same lines through one shared buffer and through the
    /// String API (each its own cache) give the same records; the second host's long values
    /// come from the first host's lines (the same String storage).
    @Test func sharedStringsCacheGivesTheSameRecords() {
        let sender = "long.sender.name@example.org", rcpt = "recipient.number.one@example.net"
        let relay = Peer(name: "mailbox-store-01.example.net", ip: "10.2.6.14", port: 25)
        func events(_ qid: String) -> [(String, Int32, PostfixEvent)] {
            [("cleanup", 200, .messageID(queueID: qid, messageID: "20261122065100.\(qid).long-message-id@sender.example.org")),
             ("qmgr", 300, .queued(queueID: qid, sender: sender, size: 10, nrcpt: 1)),
             ("smtp", 400, .delivery(queueID: qid, PostfixDelivery(recipient: rcpt, relay: relay, dsn: "2.0.0", status: .sent,
                                                                  response: "delivered via dovecot service"))),
             ("qmgr", 300, .removed(queueID: qid, detail: nil))]
        }
        let hosts = ["mx1", "mbox1"]
        var shared = hosts.map { PostfixCorrelator(host: $0) }, own = shared
        var sharedOut = hosts.map { _ in CorrelatorOutput() }, ownOut = sharedOut
        let buffer = PostfixLineBuffer()
        for (k, qid) in ["AAA111", "BBB222", "CCC333"].enumerated() {
            for h in hosts.indices {
                for (program, pid, e) in events(qid) {
                    let ctx = LineContext(time: Timestamp(seconds: 1_800_000_000 + Int64(k)), host: hosts[h],
                                          instance: "postfix", program: program, pid: pid)
                    Self.feedShared(&shared[h], buffer, ctx, e, &sharedOut[h])
                    own[h].receive(ctx, e, into: &ownOut[h])
                }
            }
        }
        for h in hosts.indices {
            #expect(sharedOut[h].messages == ownOut[h].messages)
            #expect(sharedOut[h].deliveries == ownOut[h].deliveries)
            #expect(sharedOut[h].messages.map(\.sender) == [sender, sender, sender])
            #expect(sharedOut[h].deliveries.map(\.recipient) == [rcpt, rcpt, rcpt])
        }
        func bits(_ s: String?) -> (UInt64, UInt64) { unsafeBitCast(s!, to: (UInt64, UInt64).self) }
        #expect(bits(sharedOut[1].deliveries[0].recipient) == bits(sharedOut[0].deliveries[0].recipient))
        #expect(bits(sharedOut[1].messages[0].sender) == bits(sharedOut[0].messages[0].sender))
        #expect(bits(sharedOut[1].deliveries[0].relay.name) == bits(sharedOut[0].deliveries[0].relay.name))
        #expect(bits(sharedOut[1].messages[0].messageID) == bits(sharedOut[0].messages[0].messageID))
        #expect(sharedOut[1].messages.map(\.msgKey) == ownOut[0].messages.map(\.msgKey))
        #expect(sharedOut[0].messages[0].msgKey == MessageKey.forMessageID("20261122065100.AAA111.long-message-id@sender.example.org"))
        #expect(buffer.line.storage.pointee.strings?.mask == PostfixCorrelator.sharedCacheEntries - 1)
    }

    /// A cache of any size gives `String(decoding:)` of the bytes asked for, on hits and misses.
    @Test func cachesOfEverySizeGiveTheDecodedString() {
        for entries in [1, 2, 512, 4096] {
            var cache = StringCache(entries: entries)
            var wrong: [String] = []
            for n in 1...40 {
                let base = (0..<n).map { UInt8(ascii: "a") &+ UInt8($0 % 26) }
                for k in 0..<n {
                    var variant = base
                    variant[k] = k % 3 == 0 ? 0xC3 : UInt8(ascii: "Z")
                    for bytes in [base, variant, base, variant] {
                        let s = bytes.withUnsafeBufferPointer { cache.string(Span(0..<$0.count), in: LineBytes($0)) }
                        if s != String(decoding: bytes, as: UTF8.self) { wrong.append("entries=\(entries) n=\(n) k=\(k)") }
                    }
                }
            }
            #expect(wrong == [])
            #expect(cache.mask == entries - 1)
        }
    }

    /// `MessageKey.Cache.value` is `String(decoding:)` of the bytes and `forMessageID` of it, on
    /// misses, hits and entries another value took (any bytes, invalid UTF-8 included).
    @Test func messageIDCacheGivesTheDecodedStringAndItsKey() {
        var rng = SplitMix64(seed: 8)
        var texts: [[UInt8]] = [[], Array("a".utf8), Array("caf\u{E9}@x".utf8), [0x61, 0xFF, 0x62], [0xC3], [0xE2, 0x82]]
        for _ in 0..<3000 {
            let n = Int(rng.next() % 90)
            texts.append((0..<n).map { _ in
                let r = rng.next() % 100
                return r < 90 ? UInt8(0x21 + rng.next() % 90) : r < 95 ? 0xC3 : UInt8(0x80 + rng.next() % 0x40)
            })
        }
        var cache = MessageKey.Cache()
        var wrong: [String] = []
        for round in 0..<2 {
            for (k, t) in texts.enumerated() {
                let (v, key) = t.withUnsafeBufferPointer { cache.value($0) }
                let expected = String(decoding: t, as: UTF8.self)
                if v != expected || key != MessageKey.forMessageID(expected) { wrong.append("round \(round) text \(k)") }
            }
        }
        #expect(wrong == [])
    }

    /// `isLoopback` of a span is `isLoopback` of its String on addresses, near misses and texts
    /// whose first two bytes are or are not ASCII.
    @Test func spanLoopbackDecidedByTwoBytesIsStringLoopback() {
        var cases: [[UInt8]] = ["10.1.9.15", "127.0.0.1", "127.1", "127", "12", "1", "", "::1", "::2", "::ffff:127.0.0.1",
                                "::ffff:10.0.0.1", ":", "192.0.2.1", "1\u{301}27.0.0.1", "1\u{E9}", "\u{E9}127.0.0.1",
                                "a", "\r\n127.0.0.1", "\u{212A}", "2001:db8::1", "fe80::1", "17.0.0.1"].map { Array($0.utf8) }
        cases += [[0x31, 0xFF, 0x32], [0xFF, 0x31], [0x31, 0x32, 0x37, 0x2E, 0xFF], [0x3A, 0x3A, 0x31], [0x31, 0xCC, 0x81]]
        for c0: UInt8 in [0x20, 0x30, 0x31, 0x32, 0x3A, 0x61, 0xC3, 0xE2, 0xFF] {
            for c1: UInt8 in [0x20, 0x2E, 0x31, 0x32, 0x3A, 0x80, 0xA9, 0xCC] {
                cases.append([c0, c1] + Array("7.0.0.1".utf8))
                cases.append([c0, c1])
            }
        }
        for bytes in cases {
            let span = bytes.withUnsafeBufferPointer { isLoopback(Span(0..<$0.count), in: LineBytes($0)) }
            #expect(span == isLoopback(String(decoding: bytes, as: UTF8.self)), "\(bytes)")
        }
    }

    /// An outbound TLS entry that a delivery does not match (another relay) is gone: the next
    /// delivery of that process gets no TLS, the saved state does not hold it, and the
    /// process's next TLS line makes a live entry again.
    @Test func endedOutboundTLSIsAbsent() throws {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        let elsewhere = Peer(name: "other.example", ip: "192.0.2.99", port: 25)
        for q in ["J1", "J2", "J3"] {
            m.receive(Self.ctx(0, "qmgr", 300), .queued(queueID: q, sender: "a@x", size: 1, nrcpt: 1), into: &out)
        }
        m.receive(Self.ctx(1, "smtp", 400), .tls(direction: .outbound, peer: Self.hub, info: Self.tlsA), into: &out)
        m.receive(Self.ctx(1, "smtp", 400), .delivery(queueID: "J1", PostfixDelivery(recipient: "r@y", relay: elsewhere,
                                                                                      status: .sent)), into: &out)
        m.receive(Self.ctx(1, "smtp", 400), .delivery(queueID: "J2", PostfixDelivery(recipient: "s@y", relay: Self.hub,
                                                                                      connUse: 2, status: .sent)), into: &out)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        #expect(String(decoding: try encoder.encode(m.outboundTLS), as: UTF8.self) == "[]")
        #expect(m.outboundTLS.map.count == 1)
        m.receive(Self.ctx(2, "smtp", 400), .tls(direction: .outbound, peer: Self.hub, info: Self.tlsB), into: &out)
        m.receive(Self.ctx(2, "smtp", 400), .delivery(queueID: "J3", PostfixDelivery(recipient: "t@y", relay: Self.hub,
                                                                                      status: .sent)), into: &out)
        #expect(out.deliveries.map(\.recipient) == ["r@y", "s@y", "t@y"])
        #expect(out.deliveries.map(\.tls) == [nil, nil, Self.tlsB])
        #expect(m.outboundTLS.map.count == 1)
        #expect(String(decoding: try encoder.encode(m.outboundTLS), as: UTF8.self).contains("\"pid\":400"))
    }

    /// An exact repeat of the last delivery line is dropped, before and after a save and
    /// restore; the saved identity names the recipient by its text; a line that differs in
    /// recipient, status, time or process is not a repeat.
    @Test func lastDeliveryByIndexDropsRepeatsAcrossARestart() throws {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        m.receive(Self.ctx(0, "qmgr", 300), .queued(queueID: "J1", sender: "a@x", size: 1, nrcpt: 2), into: &out)
        func deliver(_ m: inout PostfixCorrelator, _ s: Int64, _ pid: Int32, _ r: String, _ st: DeliveryStatus) {
            m.receive(Self.ctx(s, "smtp", pid), .delivery(queueID: "J1", PostfixDelivery(recipient: r, relay: Self.hub,
                                                                                          status: st)), into: &out)
        }
        deliver(&m, 1, 400, "first.recipient@example.net", .deferred)
        deliver(&m, 1, 400, "second.recipient@example.net", .deferred)
        deliver(&m, 1, 400, "second.recipient@example.net", .deferred)        // repeat: dropped
        deliver(&m, 2, 400, "first.recipient@example.net", .sent)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let saved = try encoder.encode(m)
        let text = String(decoding: saved, as: UTF8.self)
        #expect(text.contains("\"lastDelivery\":{\"at\":{\"micros\":1800000002000000},\"pid\":400,\"recipient\":\"first.recipient@example.net\",\"status\":\"sent\"}"))
        var restored = try JSONDecoder().decode(PostfixCorrelator.self, from: saved)
        #expect(String(decoding: try encoder.encode(restored), as: UTF8.self) == text)
        deliver(&restored, 2, 400, "first.recipient@example.net", .sent)      // repeat after the restore: dropped
        deliver(&m, 2, 400, "first.recipient@example.net", .sent)             // and without it
        deliver(&m, 2, 401, "first.recipient@example.net", .sent)             // another process: kept
        deliver(&m, 3, 401, "first.recipient@example.net", .sent)             // another second: kept
        deliver(&m, 3, 401, "first.recipient@example.net", .bounced)          // another status: kept
        deliver(&m, 3, 401, "second.recipient@example.net", .bounced)         // another recipient: kept
        #expect(out.deliveries.map(\.recipient) == ["first.recipient@example.net", "second.recipient@example.net",
                                                     "first.recipient@example.net", "first.recipient@example.net",
                                                     "first.recipient@example.net", "first.recipient@example.net",
                                                     "second.recipient@example.net"])
        #expect(out.deliveries.map(\.status) == [.deferred, .deferred, .sent, .sent, .sent, .bounced, .bounced])
    }

    /// The client, SASL values and sender moved into a transaction reach the message row
    /// exactly; a second `client=` of the queue ID (reuse) ends the first transaction with its
    /// own values; a qmgr line after a pickup's sender replaces it.
    @Test func valuesMovedIntoTheTransaction() {
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        let first = Peer(name: "submission-client.example.org", ip: "198.51.100.7", port: 41000)
        let second = Peer(name: "other-client.example.org", ip: "198.51.100.8", port: 42000)
        m.receive(Self.ctx(0, "smtpd", 10), .client(queueID: "AAA111", client: first, saslMethod: "PLAIN",
                                                    saslUsername: "someone.with.a.long.name@example.org",
                                                    origQueueID: nil, origClient: nil), into: &out)
        m.receive(Self.ctx(0, "qmgr", 300), .queued(queueID: "AAA111", sender: "someone.with.a.long.name@example.org",
                                                    size: 5, nrcpt: 1), into: &out)
        m.receive(Self.ctx(1, "smtpd", 11), .client(queueID: "AAA111", client: second, saslMethod: nil,
                                                    saslUsername: nil, origQueueID: nil, origClient: nil), into: &out)
        m.receive(Self.ctx(1, "qmgr", 300), .queued(queueID: "AAA111", sender: "", size: 6, nrcpt: 1), into: &out)
        m.receive(Self.ctx(2, "pickup", 20), .pickup(queueID: "BBB222", uid: 1000, sender: "local.user", origID: nil),
                  into: &out)
        m.receive(Self.ctx(2, "qmgr", 300), .queued(queueID: "BBB222", sender: "local.user@host.example.org",
                                                    size: 7, nrcpt: 1), into: &out)
        #expect(out.messages.map(\.queueID) == ["AAA111", "AAA111", "BBB222"])
        #expect(out.messages.map(\.client) == [first, second, Peer(name: "pickup")])
        #expect(out.messages.map(\.saslMethod) == ["PLAIN", nil, nil])
        #expect(out.messages.map(\.saslUsername) == ["someone.with.a.long.name@example.org", nil, nil])
        #expect(out.messages.map(\.sender) == ["someone.with.a.long.name@example.org", "", "local.user@host.example.org"])
        #expect(out.messages.map(\.size) == [5, 6, 7])
    }
}
