// SendmailTLSTailMemoTests: a `STARTTLS=` line's tail (`version=`'s value to the end) seen lately
// is taken from the line buffer's `SendmailTLSTailMemo`; the line must then be exactly what the
// parser gives without the memo (a `withLine`-style buffer has none): the event (relay, version,
// cipher, bits, trust word, verify) and the `tlsKey`, on listed and seeded random tails (the usual
// forms, each byte changed, cut short, reordered fields, tails longer than the memo keeps) parsed
// three times each after random relays, and after colliding tails evicted each other; the memo
// holds a stored tail for exactly its bytes; the number a tail is given (`tlsTailID`) is the same
// for the same bytes and never given to other bytes (nor by another buffer).
// Limits: generated forms only (seeded, deterministic), not a fuzzer.

import Testing
@testable import MTAParsing
import MailTrailModel

@Suite struct SendmailTLSTailMemoTests {
    static let tails = [
        "TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384, bits=256/256",
        "TLSv1.2, verify=NO, cipher=ECDHE-RSA-AES256-GCM-SHA384, bits=256/256",
        "TLSv1.3, verify=OK, cipher=TLS_AES_256_GCM_SHA384, bits=256/256",
        "TLSv1.3, verify=FAIL, cipher=TLS_AES_128_GCM_SHA256, bits=128/128",
        "TLSv1.3, verify=TRUSTED, cipher=TLS_CHACHA20_POLY1305_SHA256, bits=256/256",
        "TLSv1, verify=NONE, cipher=AES128-SHA, bits=128",
        "TLSv1.3, verify=NO, cipher=X, bits=",
        "TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384, bits=256/256, extra=1",
        "TLSv1.3, cipher=TLS_AES_256_GCM_SHA384, verify=NO, bits=256/256",
        "TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384",
        ", verify=NO, cipher=C, bits=1/2",
        "TLSv1.3, verify=NO, cipher=" + String(repeating: "A", count: 80) + ", bits=256/256",
        "TLSv1.3, verify=NO, cipher=" + String(repeating: "B", count: 40) + ", bits=256/256",
        "T",
    ]
    static let relays = ["mbox3.example.com.", "[10.20.240.88]", "smtp.unioncapital.nl [81.4.161.218]", "x [1.2.3.4]"]

    struct Seen: Equatable {
        var event: String
        var tlsKey: Span
        var status: String
    }

    static func parse(_ body: String, _ buffer: SendmailLineBuffer) -> Seen {
        var parser = SendmailParser()
        let ctx = LineContext(time: Timestamp(seconds: 1_800_000_000), host: "h", instance: "", program: "sm-mta", pid: 7)
        let bytes = Array(body.utf8)
        return bytes.withUnsafeBufferPointer { buf -> Seen in
            let st = parser.parse(body: buf, context: ctx, into: buffer)
            let status: String
            switch st {
            case .event: status = "event"
            case .ignored(let c): status = "ignored \(c)"
            case .unparsed(let r): status = "unparsed \(r)"
            }
            let isEvent: Bool = { if case .event = st { return true } else { return false } }()
            return Seen(event: isEvent ? "\(buffer.line.event)" : "", tlsKey: isEvent ? buffer.line.f.tlsKey : .absent,
                        status: status)
        }
    }

    @Test func givesWhatTheParserGivesWithoutIt() {
        var all = Self.tails
        // Each byte of the usual tail changed, and the tail cut short at every length.
        let usual = Array(Self.tails[0].utf8)
        for k in 0..<usual.count {
            for v: UInt8 in [0x2C, 0x20, 0x3D, 0x2F, 0x41, 0xFF] {
                var b = usual
                b[k] = v
                all.append(String(decoding: b, as: UTF8.self))
            }
        }
        for cut in 0..<usual.count { all.append(String(decoding: usual[0..<cut], as: UTF8.self)) }
        var rng = SplitMix64(seed: 71)
        let alphabet = Array("TLSv1.3, =/0256verifyciphbtsNOK".utf8)
        for _ in 0..<800 {
            let n = 1 + Int(rng.next() % 90)
            all.append(String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }, as: UTF8.self))
        }
        let memoBuffer = SendmailLineBuffer()
        let plainBuffer = SendmailLineBuffer(sharedStrings: false)
        #expect(memoBuffer.line.f.tlsTailMemo.isAllocated)
        #expect(!plainBuffer.line.f.tlsTailMemo.isAllocated)
        var wrong: [String] = []
        for round in 0..<3 {
            for (k, tail) in all.enumerated() {
                for dir in ["server", "client"] {
                    let relay = Self.relays[(k + round) % Self.relays.count]
                    let body = "STARTTLS=\(dir), relay=\(relay), version=\(tail)"
                    let got = Self.parse(body, memoBuffer), want = Self.parse(body, plainBuffer)
                    if got != want { wrong.append("round \(round): \(body): \(got) != \(want)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }

    /// The number a line's tail is given (`tlsTailID`): nonzero exactly when the fast path read the
    /// tail through the memo (then the `tlsKey` is the tail), the same for the same bytes while the
    /// memo keeps them, different for different bytes, never shared between two buffers (nor with
    /// an evicted tail stored again), 0 in a buffer without the memo.
    @Test func numbersFollowTheTailBytes() {
        let a = SendmailLineBuffer(), c = SendmailLineBuffer(), plain = SendmailLineBuffer(sharedStrings: false)
        func id(_ tail: String, _ buffer: SendmailLineBuffer, dir: String = "server") -> (UInt64, Span, String) {
            let body = "STARTTLS=\(dir), relay=[10.0.0.1], version=\(tail)"
            let seen = Self.parse(body, buffer)
            let prefix = "STARTTLS=\(dir), relay=[10.0.0.1], version=".utf8.count
            let key = seen.tlsKey
            let keyText = key.isPresent ? String(decoding: Array(body.utf8)[Int(key.lo)..<Int(key.hi)], as: UTF8.self) : ""
            #expect(!key.isPresent || key.lo == prefix || buffer.line.f.tlsTailID == 0, "\(tail)")
            return (buffer.line.f.tlsTailID, key, keyText)
        }
        var byTail: [String: UInt64] = [:]
        var seenIDs: [UInt64: String] = [:]
        var wrong: [String] = []
        for round in 0..<3 {
            for (k, tail) in Self.tails.enumerated() {
                for dir in ["server", "client"] {
                    let (n, _, keyText) = id(tail, a, dir: dir)
                    let (m, _, _) = id(tail, plain, dir: dir)
                    if m != 0 { wrong.append("plain buffer gave \(m) for \(tail)") }
                    // The tails the fast path reads through the memo get a number: not a reordered
                    // or extra field, a missing `bits=`, a tail over `maxKey` bytes, nor `T`.
                    let numbered = [0, 1, 2, 3, 4, 5, 6, 10, 12].contains(k)
                    if numbered != (n != 0) { wrong.append("round \(round) \(dir): \(tail): \(n)") }
                    guard n != 0 else { continue }
                    if keyText != tail { wrong.append("key \(keyText) for \(tail)") }
                    if let old = byTail[tail], old != n { wrong.append("\(tail): \(old) then \(n)") }
                    if let t = seenIDs[n], t != tail { wrong.append("\(n) for \(t) and \(tail)") }
                    byTail[tail] = n; seenIDs[n] = tail
                    // Another buffer: its own numbers.
                    let (o, _, _) = id(tail, c, dir: dir)
                    if o == 0 || seenIDs[o] != nil && o == n { wrong.append("buffers share \(o) for \(tail)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
        #expect(byTail.count == 9)
        // Tails that evict each other: a tail stored again gets a new number, never an old one.
        var rng = SplitMix64(seed: 97)
        var all: Set<UInt64> = Set(seenIDs.keys)
        var last: [String: UInt64] = [:]
        for _ in 0..<2_000 {
            let tail = "TLSv1.3, verify=NO, cipher=C\(rng.next() % 400), bits=256/256"
            let (n, _, _) = id(tail, a)
            #expect(n != 0)
            if last[tail] != n {
                if all.contains(n) { wrong.append("\(n) given again for \(tail)") }
                all.insert(n)
            }
            last[tail] = n
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }

    @Test func keepsAParsedTailForExactlyItsBytes() {
        let buffer = SendmailLineBuffer()
        for tail in Self.tails.prefix(5) {
            _ = Self.parse("STARTTLS=server, relay=[10.0.0.1], version=\(tail)", buffer)
            let bytes = Array(tail.utf8)
            bytes.withUnsafeBufferPointer { b in
                let p = b.baseAddress!
                let memo = buffer.line.f.tlsTailMemo
                #expect(memo.lookup(p, b.count, hash: SendmailTLSTailMemo.hash(p, b.count)) != nil, "\(tail)")
                // One byte more or less, or another byte: not the stored tail.
                #expect(memo.lookup(p, b.count - 1, hash: SendmailTLSTailMemo.hash(p, b.count - 1)) == nil)
                var other = bytes
                other[other.count / 2] ^= 1
                other.withUnsafeBufferPointer { o in
                    #expect(memo.lookup(o.baseAddress!, o.count, hash: SendmailTLSTailMemo.hash(p, b.count)) == nil)
                }
            }
        }
    }
}
