// PostfixPackedDeliveryTests: a Postfix delivery line's row is packed from the line's bytes
// (`PostfixCorrelator.delivery`: queue ID, recipient, original recipient, dsn, relay, TLS
// feature, reply and next queue ID copied into the batch's `RowText`, the transport from the
// tag's bytes, no String made for the row), and qmgr's `status=expired` rows are packed too, so
// a Postfix batch holds packed delivery rows only (no order array kept).
// Contract tested: real lines through the real parser and a shared parser buffer give exact
// rows: a TLS delivery with port and `conn_use`, a local delivery with `orig_to`, a deferral, a
// bounce, the expiry of the deferred recipient, a second instance's transport, a filter's
// loopback relay and a `forwarded as` delivery (their links still made), a non-ASCII recipient
// and invalid UTF-8 in a recipient and a reply (the repaired String, as `LineBytes.string`);
// an event whose queue ID is longer than 32 bytes (kept as a hash in the key) gives a row with
// the whole ID.
// Limits: listed lines, not generated ones; the COPY bytes of packed rows are PackedRowsTests'.
import Testing
@testable import MailTrailModel
import SyslogFraming
import MTAParsing
@testable import Correlation

@Suite struct PostfixPackedDeliveryTests {
    static let lines: [[UInt8]] = [
        "Nov 20 10:00:00 mx1 postfix/smtpd[101]: connect from mail.sender.example[198.51.100.5]",
        "Nov 20 10:00:01 mx1 postfix/smtpd[101]: 4A1B2C3D4E: client=mail.sender.example[198.51.100.5]",
        "Nov 20 10:00:01 mx1 postfix/cleanup[200]: 4A1B2C3D4E: message-id=<m1@sender.example>",
        "Nov 20 10:00:02 mx1 postfix/qmgr[300]: 4A1B2C3D4E: from=<bob@sender.example>, size=2048, nrcpt=4 (queue active)",
        "Nov 20 10:00:03 mx1 postfix/smtp[400]: Trusted TLS connection established to mx.example.net[192.0.2.7]:25: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
        "Nov 20 10:00:04 mx1 postfix/smtp[400]: 4A1B2C3D4E: to=<ann@example.net>, relay=mx.example.net[192.0.2.7]:25, conn_use=2, delay=2.5, delays=0.1/0.02/1.2/1.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F8E7D6C5B)",
        "Nov 20 10:00:04 mx1 postfix/local[500]: 4A1B2C3D4E: to=<root@mx1.example.com>, orig_to=<postmaster>, relay=local, delay=2.6, delays=0.1/0/0/2.5, dsn=2.0.0, status=sent (delivered to mailbox)",
        "Nov 20 10:00:05 mx1 postfix/smtp[401]: 4A1B2C3D4E: to=<j\u{FC}rgen@example.de>, relay=none, delay=3, delays=0.1/0/2.9/0, dsn=4.4.1, status=deferred (connect to mx.example.de[192.0.2.77]:25: Connection timed out)",
        "Nov 20 10:00:06 mx1 postfix/smtp[402]: 4A1B2C3D4E: to=<nobody@example.org>, relay=mx.example.org[192.0.2.8]:25, delay=4, delays=0.1/0/0.5/3.4, dsn=5.1.1, status=bounced (host mx.example.org[192.0.2.8] said: 550 5.1.1 <nobody@example.org>: Recipient address rejected (in reply to RCPT TO command))",
        "Nov 20 10:00:07 mx1 postfix/qmgr[300]: 4A1B2C3D4E: from=<bob@sender.example>, status=expired, returned to sender",
        "Nov 20 10:00:08 mx1 postfix/qmgr[300]: 4A1B2C3D4E: removed",
        // A second instance: its transport is the tag's last part.
        "Nov 20 10:01:00 mx1 postfix-out/qmgr[600]: 5B2C3D4E5F: from=<carol@example.com>, size=512, nrcpt=1 (queue active)",
        "Nov 20 10:01:01 mx1 postfix-out/lmtp[601]: 5B2C3D4E5F: to=<dan@example.com>, relay=mbox1.example.com[10.0.0.5]:24, delay=0.4, delays=0/0/0.1/0.3, dsn=2.0.0, status=sent (250 2.0.0 <dan@example.com> Saved)",
        // A content filter on loopback: the re-injected copy is linked to the original.
        "Nov 20 10:02:00 mx1 postfix/qmgr[300]: 6C3D4E5F60: from=<eve@example.com>, size=900, nrcpt=1 (queue active)",
        "Nov 20 10:02:01 mx1 postfix/smtp[403]: 6C3D4E5F60: to=<fay@example.net>, relay=127.0.0.1[127.0.0.1]:10025, delay=0.5, delays=0/0/0/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 7D4E5F6071)",
        "Nov 20 10:02:01 mx1 postfix/qmgr[300]: 7D4E5F6071: from=<eve@example.com>, size=1100, nrcpt=1 (queue active)",
        // local(8) forwarding: the new queue file is linked as a forward.
        "Nov 20 10:03:00 mx1 postfix/qmgr[300]: 8E5F607182: from=<gus@example.com>, size=700, nrcpt=1 (queue active)",
        "Nov 20 10:03:01 mx1 postfix/local[501]: 8E5F607182: to=<hal@mx1.example.com>, relay=local, delay=0.2, delays=0/0/0/0.2, dsn=2.0.0, status=sent (forwarded as 9F60718293)",
        "Nov 20 10:03:01 mx1 postfix/qmgr[300]: 9F60718293: from=<gus@example.com>, size=800, nrcpt=1 (queue active)",
    ].map { Array($0.utf8) } + [
        // Invalid UTF-8 in a recipient and in a reply: rows carry the repaired Strings.
        Array("Nov 20 10:04:00 mx1 postfix/smtp[404]: 4A1B2C3D4E: to=<i".utf8) + [0xFF, 0xC3]
            + Array("@example.com>, relay=mx.example.com[192.0.2.99]:25, delay=1, delays=0/0/0.5/0.5, dsn=2.0.0, status=sent (250 ".utf8)
            + [0xE2, 0x82] + Array(" ok)".utf8),
    ]

    /// The rows of `lines` through the hot path (`LineParser.next`, the parser's `PostfixLine`
    /// and its shared buffer), and the count of lines taken as Postfix.
    static func rows(_ lines: [[UInt8]]) -> (CorrelatorOutput, Int) {
        var p = LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2026))
        var c = HostCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        var n = 0
        for bytes in lines {
            bytes.withUnsafeBufferPointer { buf in
                if case .postfix = p.next(buf, offset: 0, truncated: false) {
                    n += 1
                    let line = p.postfixLine
                    p.framer.withContext { c.receive($0, line, into: &out) }
                }
            }
        }
        c.flushHeld(into: &out)
        return (out, n)
    }

    static func at(_ minute: Int64, _ second: Int64) -> Timestamp {
        Timestamp(seconds: CivilDate(year: 2026, month: 11, day: 20).daysSinceEpoch * 86_400 + 36_000 + minute * 60 + second)
    }

    @Test func deliveryRowsArePackedAndExact() {
        let (out, n) = Self.rows(Self.lines)
        #expect(n == Self.lines.count)
        let d = out.deliveries
        #expect(d.records.isEmpty && d.packed.count == 9)
        #expect(d.order.isEmpty)
        let rows = Array(d)
        #expect(rows.map(\.queueID) == ["4A1B2C3D4E", "4A1B2C3D4E", "4A1B2C3D4E", "4A1B2C3D4E", "4A1B2C3D4E",
                                        "5B2C3D4E5F", "6C3D4E5F60", "8E5F607182", "4A1B2C3D4E"])
        #expect(rows.map(\.recipient) == ["ann@example.net", "root@mx1.example.com", "j\u{FC}rgen@example.de",
                                          "nobody@example.org", "j\u{FC}rgen@example.de", "dan@example.com",
                                          "fay@example.net", "hal@mx1.example.com", "i\u{FFFD}\u{FFFD}@example.com"])
        #expect(rows.map(\.status) == [.sent, .sent, .deferred, .bounced, .expired, .sent, .sent, .sent, .sent])
        #expect(rows.map(\.transport) == ["smtp", "local", "smtp", "smtp", "qmgr", "lmtp", "smtp", "local", "smtp"])
        #expect(rows.map(\.instance) == ["postfix", "postfix", "postfix", "postfix", "postfix", "postfix-out",
                                         "postfix", "postfix", "postfix"])
        #expect(rows.map(\.host) == Array(repeating: "mx1", count: 9))
        #expect(rows.map(\.at) == [Self.at(0, 4), Self.at(0, 4), Self.at(0, 5), Self.at(0, 6), Self.at(0, 7),
                                   Self.at(1, 1), Self.at(2, 1), Self.at(3, 1), Self.at(4, 0)])

        // The TLS delivery: relay with port, conn_use, delays, the reply and its next queue ID.
        #expect(rows[0].relay == Peer(name: "mx.example.net", ip: "192.0.2.7", port: 25))
        #expect(rows[0].connUse == 2 && rows[0].delay == 2.5 && rows[0].dsn == "2.0.0")
        #expect(rows[0].delays == Delays(0.1, 0.02, 1.2, 1.2))
        #expect(rows[0].response == "250 2.0.0 Ok: queued as 9F8E7D6C5B" && rows[0].nextQueueID == "9F8E7D6C5B")
        #expect(rows[0].tls?.proto == "TLSv1.3" && rows[0].tls?.cipher == "TLS_AES_256_GCM_SHA384")
        #expect(rows[0].receivedAt == Self.at(0, 1) && rows[0].origRecipient == nil && rows[0].tlsFeature == nil)
        // local(8): the original recipient, a relay name without an address, no next queue ID.
        #expect(rows[1].origRecipient == "postmaster" && rows[1].relay == Peer(name: "local"))
        #expect(rows[1].response == "delivered to mailbox" && rows[1].nextQueueID == nil && rows[1].tls == nil)
        // The deferral and the bounce.
        #expect(rows[2].relay == Peer(name: "none") && rows[2].dsn == "4.4.1")
        #expect(rows[2].response == "connect to mx.example.de[192.0.2.77]:25: Connection timed out")
        #expect(rows[3].dsn == "5.1.1" && rows[3].relay == Peer(name: "mx.example.org", ip: "192.0.2.8", port: 25))
        // qmgr's expiry: only the recipient whose last attempt was not final.
        #expect(rows[4].relay == Peer(name: "none") && rows[4].response == "returned to sender")
        #expect(rows[4].dsn == nil && rows[4].delay == nil && rows[4].receivedAt == Self.at(0, 1))
        // The second instance's row, the filter's and the forward's.
        #expect(rows[5].relay == Peer(name: "mbox1.example.com", ip: "10.0.0.5", port: 24))
        #expect(rows[5].response == "250 2.0.0 <dan@example.com> Saved" && rows[5].receivedAt == Self.at(1, 0))
        #expect(rows[6].nextQueueID == "7D4E5F6071" && rows[6].relay == Peer(name: "127.0.0.1", ip: "127.0.0.1", port: 10025))
        #expect(rows[7].response == "forwarded as 9F60718293" && rows[7].nextQueueID == "9F60718293")
        // Invalid UTF-8: repaired as a String made of the same bytes.
        #expect(rows[8].response == "250 \u{FFFD} ok")

        // The links the delivery lines make still reach the new messages.
        let m = Dictionary(uniqueKeysWithValues: out.messages.map { ($0.queueID, $0) })
        #expect(m["7D4E5F6071"]?.originQueueID == "6C3D4E5F60" && m["7D4E5F6071"]?.originKind == .reinjection)
        #expect(m["9F60718293"]?.originQueueID == "8E5F607182" && m["9F60718293"]?.originKind == .forward)
        #expect(m["4A1B2C3D4E"]?.originQueueID == nil)
    }

    /// A queue ID over 32 bytes is only hashed in the transaction's key, so the row takes the
    /// transaction's String, not the line's bytes (the parser refuses such IDs; events need not):
    /// the row carries the whole ID. (Telling the two sources apart would take two IDs whose keys
    /// collide; this checks the long path's row.)
    @Test func aLongQueueIDComesFromTheTransaction() {
        let id = String(repeating: "A", count: 40)
        var m = PostfixCorrelator(host: "mx1")
        var out = CorrelatorOutput()
        let ctx = { (s: Int64, program: String) in
            LineContext(time: Timestamp(seconds: 1_800_000_000 + s), host: "mx1", instance: "postfix", program: program, pid: 7)
        }
        m.receive(ctx(0, "qmgr"), .queued(queueID: id, sender: "a@x", size: 1, nrcpt: 1), into: &out)
        m.receive(ctx(1, "smtp"), .delivery(queueID: id, PostfixDelivery(
            recipient: "b@y", origRecipient: nil, relay: Peer(name: "mx.y", ip: "192.0.2.1", port: 25), connUse: nil,
            delay: 1, delays: nil, tlsFeature: nil, dsn: "2.0.0", status: .sent, response: "250 ok", nextQueueID: nil)),
                  into: &out)
        #expect(out.deliveries.packed.count == 1)
        #expect(out.deliveries.map(\.queueID) == [id])
        #expect(out.deliveries.map(\.transport) == ["smtp"])
    }
}
