// EximPackedDeliveryTests: an Exim delivery line's row is packed from the line's bytes
// (`EximCorrelator.receiveDelivery`: recipient, original, router, transport, relay, dsn and
// reply copied into the batch's `RowText`, no String made) and must equal the row the String
// path makes of the same line's `EximEvent` (`receive(_:EximEvent:)`, a `DeliveryRecord`).
// Contract tested: listed mainlog lines through the real parser both ways give the same
// delivery and message rows in the same order, every hot-path delivery row packed: remote with
// TLS and port, local part with its original address, additional (`->`), deferred, bounced with
// and without a host, an escaped and an escape-free reply, an IPv6 relay, a HELO-only relay, a
// delivery whose arrival was never seen, a non-ASCII recipient and invalid UTF-8 in a recipient
// and a reply (then the repaired String, as the record's).
// Limits: listed lines, not generated ones; the COPY bytes of packed rows are PackedRowsTests'.
import Testing
import MailTrailModel
import SyslogFraming
import MTAParsing
@testable import Correlation

@Suite struct EximPackedDeliveryTests {
    static let id = "1tUHfW-000000004Sd-2k8P"
    static let lines: [[UInt8]] = [
        "2025-01-05 09:12:02 \(id) <= alice@example.org H=mail.example.org [192.0.2.10]:52000 P=esmtps X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=no S=2345 id=m1@example.org T=\"Hello\"",
        "2025-01-05 09:12:03 \(id) => bob@example.net <b@example.net> R=dnslookup T=remote_smtp H=mx.example.net [198.51.100.25]:25 X=TLS1.3:TLS_AES_256_GCM_SHA384:256 CV=yes C=\"250 2.0.0 Ok: queued as 4T9x2C0d3Hz1Wbq\" QT=1m2s DT=0.304s",
        "2025-01-05 09:12:03 \(id) => carol <carol@example.org> R=localuser T=local_delivery",
        "2025-01-05 09:12:03 \(id) -> dave@example.net R=dnslookup T=remote_smtp H=mx.example.net [198.51.100.25] C=\"250 OK \\\"quoted\\\" id=7\"",
        "2025-01-05 09:12:04 \(id) == erin@null.example R=dnslookup T=remote_smtp defer (110): Connection timed out",
        "2025-01-05 09:12:04 \(id) ** frank@foo.example R=dnslookup T=remote_smtp H=(relay.foo.example) [203.0.113.4]: SMTP error from remote mail server after end of data: 550 5.1.1 no such user",
        "2025-01-05 09:12:04 \(id) ** x@example.net R=r T=t : Unrouteable address",
        "2025-01-05 09:12:05 \(id) => gina@example.net R=dnslookup T=remote_smtp H=mx6.example.net [2001:db8::25]:25 C=\"250 ok\"",
        "2025-01-05 09:12:05 \(id) => j\u{FC}rgen@example.de R=dnslookup T=remote_smtp H=mx.example.de [192.0.2.77] C=\"250 gr\u{FC}\u{DF} dich\"",
        "2025-01-05 09:12:06 \(id) Completed",
        "2025-01-05 09:13:00 1tUHzz-000000005Aa-3b4C => hank@example.com R=dnslookup T=remote_smtp H=mx.example.com [192.0.2.99] C=\"250 queued\"",
    ].map { Array($0.utf8) } + [
        // Invalid UTF-8 in a recipient and in a reply: rows carry the repaired Strings.
        Array("2025-01-05 09:14:00 1tUHzz-000000005Aa-3b4C => i".utf8) + [0xFF, 0xC3] + Array("@example.com R=r T=t H=mx.example.com [192.0.2.99] C=\"250 ".utf8) + [0xE2, 0x82] + Array(" ok\"".utf8),
    ]

    static func parser() -> LineParser {
        LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: nil,
                                                         referenceDate: CivilDate(year: 2025, month: 1, day: 31)))
    }

    /// The rows of `lines` through the hot path (`LineParser.next`, `EximLine`) and through the
    /// String path (`LineParser.parse`, `EximEvent`); the count of lines each took as Exim.
    static func rows(_ lines: [[UInt8]]) -> (line: CorrelatorOutput, event: CorrelatorOutput, counts: (Int, Int)) {
        var pa = parser(), pb = parser()
        var ca = HostCorrelator(host: "mx"), cb = HostCorrelator(host: "mx")
        var oa = CorrelatorOutput(), ob = CorrelatorOutput()
        var na = 0, nb = 0
        for bytes in lines {
            bytes.withUnsafeBufferPointer { buf in
                if case .exim = pa.next(buf, offset: 0, truncated: false) {
                    na += 1
                    let line = pa.eximLine
                    pa.framer.withContext { ca.receive($0, line, into: &oa) }
                }
                if case .exim(let ctx, let e) = pb.parse(buf, offset: 0) {
                    nb += 1
                    cb.receive(ctx, e, into: &ob)
                }
            }
        }
        ca.flushHeld(into: &oa); cb.flushHeld(into: &ob)
        return (oa, ob, (na, nb))
    }

    @Test func packedRowsEqualTheEventPathsRecords() {
        let (a, b, counts) = Self.rows(Self.lines)
        #expect(counts.0 == Self.lines.count && counts.1 == Self.lines.count)
        #expect(a.deliveries.count == 10)
        #expect(Array(a.deliveries) == Array(b.deliveries))
        #expect(Array(a.messages) == Array(b.messages))
        // Every delivery row of the hot path is packed; the String path's are records.
        #expect(a.deliveries.records.isEmpty && a.deliveries.packed.count == 10)
        #expect(b.deliveries.packed.isEmpty)
        // Exact values where the packing differs from a plain copy of one span.
        let rows = Array(a.deliveries)
        #expect(rows[1].recipient == "carol@example.org" && rows[1].origRecipient == "carol")
        #expect(rows[0].recipient == "bob@example.net" && rows[0].origRecipient == "b@example.net")
        #expect(rows[0].relay == Peer(name: "mx.example.net", ip: "198.51.100.25", port: 25))
        #expect(rows[2].response == "250 OK \"quoted\" id=7")
        #expect(rows[4].relay == Peer(ip: "203.0.113.4"))                 // a HELO name is not the relay's name
        #expect(rows[6].relay == Peer(name: "mx6.example.net", ip: "2001:db8::25", port: 25))
        #expect(rows[7].recipient == "j\u{FC}rgen@example.de" && rows[7].response == "250 gr\u{FC}\u{DF} dich")
        #expect(rows[8].receivedAt == nil && rows[8].queueID == "1tUHzz-000000005Aa-3b4C")
        #expect(rows[9].recipient == "i\u{FFFD}\u{FFFD}@example.com" && rows[9].response == "250 \u{FFFD} ok")
        #expect(rows[0].router == "dnslookup" && rows[0].transport == "remote_smtp")
        #expect(rows.map(\.status) == [.sent, .sent, .sent, .deferred, .bounced, .bounced, .sent, .sent, .sent, .sent])
    }
}
