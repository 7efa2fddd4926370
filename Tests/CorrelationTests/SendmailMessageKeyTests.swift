// SendmailMessageKeyTests: a `from=` line's Message-ID is kept as its bytes (`FromText`) and its
// message key hashed from them (`MessageKey.forMessageID(bytes:)`), no String made: every
// message row must carry exactly `String(decoding:)` of the ID's bytes and
// `MessageKey.forMessageID` of that String, on seeded transcripts over three hosts whose IDs
// repeat across hosts (short and long, ASCII, other UTF-8 and invalid UTF-8, whose repaired
// String differs from the bytes); lines that share the parser's String cache give the rows of
// lines that do not; and the key from bytes equals the key of the String for every length and
// for bytes that are not valid UTF-8.
// Limits: generated transcripts (seeded, deterministic), not a fuzzer.

import Testing
import MailTrailModel
@testable import Correlation

@Suite struct SendmailMessageKeyTests {
    static let hosts = ["mx1", "mx2", "mbox3"]
    /// Message-ID contents as bytes: short, long (over 32 bytes), non-ASCII, invalid UTF-8.
    static let ids: [[UInt8]] = [
        Array("a@b".utf8),
        Array("000001c294c6011e$2a567ce4$854f86db$@example.com".utf8),
        Array("7498294f-df03-ee7f-9493-06f976125c0d@unioncapital.nl".utf8),
        Array("trinity-13499631-1b7b-6968-4e7c-8579d95b9b6c-1713774522383@3c-app-gmx-bap21".utf8),
        Array("298484226d2621d9.9cddb476@example.com".utf8),
        Array("caf\u{E9}-\u{1F600}@exampl\u{E9}.org".utf8),
        [0x6D, 0xFF, 0x40, 0x78, 0xC3],                         // invalid UTF-8
        Array("long-invalid-".utf8) + [0xE2, 0x82] + Array("-beyond-thirty-two-bytes@example.org".utf8),
        Array(String(repeating: "x", count: 140).utf8),         // over SharedStringCache.maxLong
    ]

    /// One `from=` line's bytes and spans: `QID <sender> <msgid> relay-name`.
    struct Line {
        var bytes: [UInt8] = []
        var qid = Span.absent, sender = Span.absent, msgid = Span.absent, relay = Span.absent
        init(qid: String, sender: String, msgid: [UInt8], relay: String) {
            func add(_ b: [UInt8]) -> Span {
                let lo = bytes.count
                bytes += b
                bytes.append(0x20)
                return Span(lo..<(lo + b.count))
            }
            self.qid = add(Array(qid.utf8)); self.sender = add(Array(sender.utf8))
            self.msgid = add(msgid); self.relay = add(Array(relay.utf8))
        }
    }

    /// Feeds `line` to `c` through `buffer`'s line (as the parser fills it).
    static func feed(_ c: inout SendmailCorrelator, _ buffer: SendmailLineBuffer, _ line: Line, _ ctx: LineContext,
                     shares: Bool, into out: inout CorrelatorOutput) {
        line.bytes.withUnsafeBufferPointer { b in
            let l = buffer.line
            l.reset(bytes: LineBytes(b))
            l.beginFrom(queueID: line.qid)
            l.f.sender = line.sender
            l.f.messageID = line.msgid
            l.f.nrcpts = 1
            l.f.size = 100
            var r = RelaySpans()
            r.name = line.relay
            l.setRelay(r, ipText: nil)
            l.f.sharesStrings = shares
            c.receive(ctx, l, into: &out)
        }
    }

    static func run(seed: UInt64, shares: Bool) -> CorrelatorOutput {
        var rng = SplitMix64(seed: seed)
        var cs = hosts.map { SendmailCorrelator(host: $0) }
        let buffer = SendmailLineBuffer(sharedStrings: shares)
        var out = CorrelatorOutput()
        for k in 0..<500 {
            let h = Int(rng.next() % 3)
            let id = ids[Int(rng.next() % UInt64(ids.count))]
            let line = Line(qid: "4210\(k)A000\(100 + h)", sender: "s\(rng.next() % 7)@example.org", msgid: id,
                            relay: "mx\(h).example.com")
            let ctx = LineContext(time: Timestamp(seconds: 1_800_000_000 + Int64(k)), host: hosts[h], instance: "",
                                  program: "sm-mta", pid: Int32(200 + k))
            feed(&cs[h], buffer, line, ctx, shares: shares, into: &out)
        }
        return out
    }

    @Test func rowsCarryTheIDsStringAndItsKey() {
        for seed in UInt64(1)...10 {
            let out = Self.run(seed: seed, shares: true)
            #expect(out.messages.count == 500)
            let valid = Set(Self.ids.map { String(decoding: $0, as: UTF8.self) })
            for m in out.messages {
                guard let id = m.messageID else { Issue.record("row without a Message-ID"); continue }
                #expect(valid.contains(id))
                #expect(m.msgKey == MessageKey.forMessageID(id), "\(id)")
            }
        }
    }

    @Test func sharedLinesGiveTheRowsOfOwnLines() {
        for seed in UInt64(11)...20 {
            let shared = Self.run(seed: seed, shares: true)
            let own = Self.run(seed: seed, shares: false)
            #expect(shared.messages == own.messages)
            #expect(shared.messages.count == 500)
        }
    }

    /// The key from the bytes is `forMessageID` of their String: every length from 0 to 40 (the
    /// four-byte steps and the tail), other UTF-8, invalid UTF-8 at the start, middle and end
    /// (then the repaired String's key, not the bytes').
    @Test func keyFromBytesIsTheKeyOfTheString() {
        var cases: [[UInt8]] = (0...40).map { n in (0..<n).map { UInt8(ascii: "a") + UInt8($0 % 26) } }
        cases += Self.ids
        cases += [[0xFF], [0xC3], Array("caf\u{E9}".utf8), [0xE2, 0x82] + Array("abcdefgh".utf8),
                  Array("abcdefgh".utf8) + [0xF0, 0x9F, 0x98], Array("cafe\u{301}@x".utf8)]
        for bytes in cases {
            let fromBytes = bytes.withUnsafeBufferPointer { MessageKey.forMessageID(bytes: $0) }
            #expect(fromBytes == MessageKey.forMessageID(String(decoding: bytes, as: UTF8.self)), "\(bytes)")
        }
        // Valid UTF-8 hashes as its bytes (FNV-1a 64, the SQL function's rule); invalid does not.
        #expect(Array("a@b".utf8).withUnsafeBufferPointer { MessageKey.forMessageID(bytes: $0) }
                == MessageKey.hash(bytes: Array("a@b".utf8)))
        #expect([0x61, 0xFF].withUnsafeBufferPointer { MessageKey.forMessageID(bytes: $0) }
                != MessageKey.hash(bytes: [0x61, 0xFF] as [UInt8]))
    }
}
