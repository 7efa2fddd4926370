// PostfixRound9ScanTests: the cheaper scans of round 9 against the simple forms, on exact
// values — `peerSpansQuadAtEnd` (`NAME[a.b.c.d]` and `NAME[a.b.c.d]:PORT` read from the end)
// against `peerSpansGeneral` on listed and 300,000 generated peers; `RemoteQueueID.postfixReplyRange` (the usual Postfix
// reply read from its end, then `mayHoldID`'s negative) against `extractRange` on the form
// tables, generated combinations and their sub-ranges; the forward word searches
// (`firstIndex(of:)`, `firstOf`) with the cheaper first-zero-byte test against byte loops on every
// sub-range of generated buffers; the usual delivery keys read by their literal
// (`usualDeliveryItem`) against the first `=` and the key chain at every position of delivery lines;
// the disconnect peer found by the String API against the former span.
// Limits: deterministic generated inputs (a fixed seed), not a fuzzer.

import MailTrailModel
import Testing
@testable import MTAParsing

@Suite struct PostfixRound9ScanTests {
    static func naiveFirst(_ b: UInt8, _ p: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int {
        var i = from
        while i < to { if p[i] == b { return i }; i += 1 }
        return to
    }

    static func naiveFirstOf(_ a: UInt8, _ b: UInt8, _ p: UnsafeBufferPointer<UInt8>, _ from: Int, _ to: Int) -> Int {
        var i = from
        while i < to { if p[i] == a || p[i] == b { return i }; i += 1 }
        return to
    }

    /// Every sub-range of buffers of 0 to 40 bytes over an alphabet holding the searched bytes,
    /// bytes one above them (a borrow's false flag lands there) and 0x00/0x80/0xFF: the word
    /// searches with `firstZeroByte` give the byte loops' index.
    @Test func forwardWordSearchesAgreeWithByteLoops() {
        var rng = SplitMix64(seed: 0xF125_7000)
        let alphabet: [UInt8] = Array("[\\ !,->?\"#a".utf8) + [0x00, 0x01, 0x80, 0xFF]
        var checked = 0
        var diffs: [String] = []
        for n in 0...40 {
            for _ in 0..<6 {
                let bytes = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
                bytes.withUnsafeBufferPointer { p in
                    guard let base = p.baseAddress else { return }
                    for from in 0...n {
                        for to in from...n {
                            for b in [UInt8(ascii: "["), Byte.space, Byte.comma, 0x00, 0xFF] {
                                if ByteScanner.firstIndex(of: b, base, from, to) != Self.naiveFirst(b, p, from, to) {
                                    diffs.append("first \(b) \(bytes) \(from)..<\(to)")
                                }
                                checked += 1
                            }
                            if ByteScanner.firstOf(Byte.gt, Byte.quote, base, from, to)
                                != Self.naiveFirstOf(Byte.gt, Byte.quote, p, from, to) {
                                diffs.append("firstOf \(bytes) \(from)..<\(to)")
                            }
                        }
                    }
                }
            }
        }
        #expect(checked == 370_230)   // 6 buffers of each length 0...40: 6 × C(43, 3) ranges, 5 bytes
        #expect(diffs == [])
        // The borrow case itself: `b` then `b + 1` (flagged too); the first is answered.
        var two: [UInt8] = [0x61, 0x61, 0x61, 0x20, 0x21, 0x61, 0x61, 0x61]
        two.withUnsafeBufferPointer { p in
            #expect(ByteScanner.firstIndex(of: 0x20, p.baseAddress!, 0, 8) == 3)
            #expect(ByteScanner.firstIndex(of: 0x20, p.baseAddress!, 4, 8) == 8)
        }
        two[3] = 0x61
        two.withUnsafeBufferPointer { p in #expect(ByteScanner.firstIndex(of: 0x20, p.baseAddress!, 0, 8) == 8) }
    }

    /// Wherever `usualDeliveryItem` answers, its `=` is the first within 16 bytes and its item
    /// is `deliveryItem` of the key before it: at every position of delivery lines (usual,
    /// old, unusual keys, cut and mutated ones).
    @Test func usualDeliveryItemsAgreeWithTheGeneralReading() {
        var lines = [
            "to=<eric@example.com>, relay=mbox3.example.com[10.2.6.14]:25, delay=0.24, delays=0.06/0.03/0.06/0.1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 39E0117FDDB)",
            "to=<a@b>, orig_to=<c@d>, relay=local, conn_use=2, delay=1, delays=0/0/0/1, tls=none, dsn=5.1.1, status=bounced (unknown user)",
            "to=<a@b>, relay=none, delay=0, status=deferred", "relayx=1, delay==2, delaysy=3, dsn=, status=, relay=",
            "relay", "delays", "dsn", "status", "d", "s", "r", "delay=", "dsn=x", "statu=sent", "=relay=x",
        ]
        var rng = SplitMix64(seed: 0xDE11_7E90)
        let pieces = ["relay=", "delay=", "delays=", "dsn=", "status=", "orig_to=", "conn_use=", "tls=", "x=", ", ", "=",
                      "d", "s", "r", "0.1", "<a@b>"]
        for _ in 0..<3_000 {
            lines.append((0..<Int(rng.next() % 8)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined())
        }
        var answered = 0
        var wrong: [String] = []
        for line in lines {
            let bytes = Array(line.utf8)
            bytes.withUnsafeBufferPointer { b in
                for end in [b.count, max(0, b.count - 1), max(0, b.count - 3)] {
                    let s = ByteScanner(UnsafeBufferPointer(rebasing: b[0..<end]))
                    for j in 0...end {
                        guard let (item, eq) = PostfixParser.usualDeliveryItem(s, at: j) else { continue }
                        answered += 1
                        let general = s.find(Byte.equals, from: j, to: min(s.end, j + 16))
                        if general != eq || PostfixParser.deliveryItem(s, j..<eq) != item {
                            wrong.append("\(line) [..<\(end)] at \(j)")
                        }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(answered > 3_000)
    }

    /// A disconnect line's hot-path form keeps only where the peer starts; the String API's
    /// event has the peer of the token up to the next space (the former span), exactly.
    @Test func disconnectPeerReadByTheStringAPI() {
        let cases: [(String, Peer)] = [
            ("disconnect from unknown[10.20.240.88] ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
             Peer(name: "unknown", ip: "10.20.240.88")),
            ("disconnect from smtp1.example.com[10.1.9.15] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=6",
             Peer(name: "smtp1.example.com", ip: "10.1.9.15")),
            ("disconnect from mail.example.org[2001:db8::1]", Peer(name: "mail.example.org", ip: "2001:db8::1")),
            ("disconnect from localhost[127.0.0.1]:10025 commands=0/0", Peer(name: "localhost", ip: "127.0.0.1", port: 10025)),
            ("disconnect from ", Peer()),
            ("disconnect from  x", Peer()),
        ]
        let ctx = LineContext(time: Timestamp(seconds: 0), host: "mx1", instance: "postfix", program: "smtpd", pid: 1)
        for (text, peer) in cases {
            var copy = text
            copy.withUTF8 { b in
                let buffer = PostfixLineBuffer(sharedStrings: false)
                let status = PostfixParser.parse(body: b, context: ctx, kind: .generic, into: buffer.line)
                #expect(buffer.line.kind == .disconnect, "\(text)")
                #expect(buffer.line.rawPeer == Span(16..<16), "\(text)")
                if case .event = status {} else { Issue.record("\(text): \(status)") }
                let s = ByteScanner(b)
                let former = s.parsePeer(16..<s.scan(from: 16, until: Byte.space, Byte.space))
                #expect(former == peer, "\(text)")
                guard case .postfix(_, .disconnect(let got)) = PostfixParser.outcome(body: b, context: ctx, kind: .generic) else {
                    Issue.record("\(text): no disconnect event"); return
                }
                #expect(got == peer, "\(text)")
                withExtendedLifetime(buffer) {}
            }
        }
    }

    /// The searches a connect line takes, on a line of the sample: exact indices.
    @Test func scannerSearchesOnALine() {
        var line = "connect from mbox3.example.com[10.2.6.14]"
        line.withUTF8 { b in
            let s = ByteScanner(b)
            #expect(s.scan(from: 13, until: Byte.space, Byte.space) == 41)
            #expect(s.findLast(Byte.lbracket, from: 13, to: 41) == 30)
            #expect(s.find(Byte.rbracket, from: 31) == 40)
            #expect(s.find(Byte.rbracket, from: 41) == nil)
            #expect(s.findLast(Byte.lbracket, from: 31, to: 41) == nil)
            #expect(s.peerSpans(13..<41).name == Span(13..<30))
            #expect(s.peerSpans(13..<41).ip == Span(31..<40))
        }
    }

    static func same(_ a: PeerSpans, _ b: PeerSpans) -> Bool { a.name == b.name && a.ip == b.ip && a.port == b.port }

    /// Where the shortcut answers, its answer is the general reader's, on every sub-range that
    /// ends at the text's end; the listed usual peers are answered by it, with exact spans.
    @Test func quadAtEndAgreesWithTheGeneralReader() {
        let usual: [(String, Span, Span, Int?)] = [
            ("smtp1.example.com[10.1.9.15]", Span(0..<17), Span(18..<27), nil),
            ("mbox3.example.com[10.2.6.14]:25", Span(0..<17), Span(18..<27), 25),
            ("unknown[10.20.240.88]", Span(0..<7), Span(8..<20), nil),
            ("[10.0.0.1]:587", .absent, Span(1..<9), 587),
            ("localhost[127.0.0.1]:10025", Span(0..<9), Span(10..<19), 10025),
            ("x[255.255.255.255]", Span(0..<1), Span(2..<17), nil),
            ("x[0.0.0.0]:0", Span(0..<1), Span(2..<9), 0),
        ]
        for (text, name, ip, port) in usual {
            var copy = text
            copy.withUTF8 { b in
                let s = ByteScanner(b)
                let q = s.peerSpansQuadAtEnd(0..<s.end)
                #expect(q != nil, "\(text)")
                if let q {
                    #expect(q.name == name && q.ip == ip && q.port == port, "\(text)")
                    #expect(Self.same(q, s.peerSpansGeneral(0..<s.end)), "\(text)")
                }
            }
        }
        var rng = SplitMix64(seed: 0x5EED_0009)
        let alphabet = Array("0123456789012345678901234567890123456789....[]]::/abz".utf8) + [0x00, 0x80, 0xFF, 0x20]
        var wrong: [String] = []
        var answered = 0
        for _ in 0..<300_000 {
            var bytes: [UInt8] = []
            if rng.next() % 4 != 0 {
                bytes += Array("h.example".utf8).prefix(Int(rng.next() % 10))
                bytes.append(Byte.lbracket)
                for k in 0..<4 {
                    let digits = 1 + Int(rng.next() % 4)
                    for _ in 0..<digits { bytes.append(Byte.zero + UInt8(rng.next() % (rng.next() % 3 == 0 ? 3 : 10))) }
                    if k < 3 { bytes.append(Byte.dot) }
                }
                bytes.append(Byte.rbracket)
                if rng.next() % 2 == 0 {
                    bytes.append(Byte.colon)
                    for _ in 0..<Int(rng.next() % 21) { bytes.append(Byte.zero + UInt8(rng.next() % 10)) }
                }
                if rng.next() % 3 == 0, !bytes.isEmpty {
                    bytes[Int(rng.next() % UInt64(bytes.count))] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                }
            } else {
                let n = Int(rng.next() % 41)
                for _ in 0..<n { bytes.append(alphabet[Int(rng.next() % UInt64(alphabet.count))]) }
            }
            bytes.withUnsafeBufferPointer { b in
                let s = ByteScanner(b)
                for lo in 0...min(2, b.count) {
                    let general = s.peerSpansGeneral(lo..<b.count)
                    if let q = s.peerSpansQuadAtEnd(lo..<b.count) {
                        answered += 1
                        if !Self.same(q, general) { wrong.append("\(bytes) from \(lo)") }
                    }
                    if !Self.same(s.peerSpans(lo..<b.count), general) { wrong.append("composite \(bytes) from \(lo)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        #expect(answered > 30_000)
    }

    static func both(_ text: String, _ r: Range<Int>? = nil) -> (Range<Int>?, Range<Int>?, Bool) {
        var copy = text
        return copy.withUTF8 { b in
            let s = ByteScanner(b)
            let r = r ?? 0..<s.end
            return (RemoteQueueID.postfixReplyRange(s, r), RemoteQueueID.extractRange(s, r), RemoteQueueID.mayHoldID(s, r))
        }
    }

    /// The replies of the sample and their near relatives: exact answers of both forms.
    @Test func usualRepliesExactly() {
        let cases: [(String, String?, Bool)] = [
            ("delivered to maildir", nil, false),
            ("delivered via dovecot service", nil, false),
            ("delivered to mailbox", nil, false),
            ("250 ok dirdel", nil, false),
            ("delivered to command: procmail -a \"$EXTENSION\"", nil, false),
            ("250 2.0.0 Ok: queued as 39E0117FDDB", "39E0117FDDB", true),
            ("250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4XyZ1", "4XyZ1", true),
            ("250 2.0.0 Ok: queued as 4XyZ1 (extra)", "4XyZ1", true),
            ("250 OK id=1tUHfW-0004Sd-2k", "1tUHfW-0004Sd-2k", true),
            ("250 2.0.0 t5UI2nBt018923 Message accepted for delivery", "t5UI2nBt018923", true),
            ("connect to mbox2.example.com[10.2.6.13]:25: Connection refused", nil, false),
            ("250 2.6.0 <a@b> [InternalId=1, Hostname=EXCH1.corp.local] Queued mail for delivery", nil, false),
            ("250 2.6.0 <a@b> [InternalId=1, Hostname=X.outlook.com] 4061 bytes in 0.123, 32.2 KB/sec Queued mail for delivery -> 250 2.1.5",
             nil, false),
            ("250 OK id=", nil, true),
            ("message accepted for delivery x", nil, true),
            ("forwarded as 3mLQ", "3mLQ", true),
        ]
        for (text, id, may) in cases {
            let (fast, simple, m) = Self.both(text)
            #expect(fast == simple, "\(text)")
            #expect(m == may, "\(text)")
            var copy = text
            let got = copy.withUTF8 { b in fast.map { String(decoding: UnsafeBufferPointer(rebasing: b[$0]), as: UTF8.self) } }
            #expect(got == id, "\(text)")
        }
    }

    /// The form tables and generated combinations of the forms' pieces with the bytes the
    /// negative test reads (`s`, `e`, `K` before a space), on every sub-range near the ends.
    @Test func postfixReplyRangeAgreesWithExtractRange() {
        var texts = remoteIDForms.map(\.response) + remoteIDCases.map(\.response)
        let pieces = ["queued as ", "forwarded as ", "OK id=", " Message accepted for delivery", " message accepted",
                      "X", "as ", "es ", "K ", "s", "e", " ", "delivered to maildir", "d as", "Q1.", "ge ", "O", "a",
                      " bytes in"]
        for p in pieces { for q in pieces { for r in pieces { texts.append(p + q + r) } } }
        var diffs: [String] = []
        var checked = 0
        for t in texts {
            let n = t.utf8.count
            for a in 0...min(3, n) {
                for b in max(a, n - 3)...n {
                    let (fast, simple, _) = Self.both(t, a..<b)
                    if fast != simple { diffs.append("\(t) [\(a)..<\(b)]") }
                    checked += 1
                }
            }
        }
        #expect(checked > 40_000)
        #expect(diffs == [])
    }
}
