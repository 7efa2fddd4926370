/// CopyTextTests: the COPY text encoder, without a database.
///
/// Contract: exact expected bytes for escaping (tab, backslash, newline, CR,
/// quote, NUL, emoji, SQL-injection text, the other control characters),
/// NULL, bytea, timestamps (identical to `Timestamp.rfc3339`), doubles,
/// inet validation, and that each row encoder writes as many fields as its
/// column list names.
import MailTrailModel
import Testing
@testable import PostgresLoading

@Suite struct CopyTextTests {
    @Test(arguments: [
        ("plain", "plain"),
        ("a\tb", "a\\tb"),
        ("back\\slash", "back\\\\slash"),
        ("line\nbreak", "line\\nbreak"),
        ("cr\rhere", "cr\\rhere"),
        ("it's \"quoted\"", "it's \"quoted\""),
        ("nul\u{0}byte", "nul\u{FFFD}byte"),
        ("emoji 😀 ü", "emoji 😀 ü"),
        ("'); DROP TABLE x; --", "'); DROP TABLE x; --"),
        ("\u{8}\u{c}\u{b}", "\\b\\f\\v"),
        ("\\.", "\\\\."),
        ("\u{1}\u{7f}", "\u{1}\u{7f}"),
        ("", ""),
    ])
    func escaping(input: String, expected: String) {
        #expect(CopyText.escape(input) == expected)
    }

    @Test func fieldsNullsAndRows() {
        var c = CopyText()
        c.text("a"); c.null(); c.int(-42); c.int(Int64.min); c.bool(true); c.text(nil as String?); c.endRow()
        c.int(0); c.endRow()
        #expect(String(decoding: c.bytes, as: UTF8.self) == "a\t\\N\t-42\t-9223372036854775808\tt\t\\N\n0\n")
        c.removeAll()
        #expect(c.bytes.isEmpty)
    }

    @Test func bytea() {
        var c = CopyText()
        c.bytea([0x00, 0x0a, 0xff, 0x5c] as [UInt8]); c.bytea([] as [UInt8]); c.endRow()
        #expect(String(decoding: c.bytes, as: UTF8.self) == "\\\\x000aff5c\t\\\\x\n")
        #expect(PGResult.decodeByteaHex("\\x000aff5c") == [0x00, 0x0a, 0xff, 0x5c])
        #expect(PGResult.encodeByteaHex([0x00, 0xab] as [UInt8]) == "\\x00ab")
        #expect(PGResult.decodeByteaHex("\\x0") == nil)
    }

    @Test(arguments: [Int64(0), 1_709_294_400_000_000, 1_709_294_400_123_456, 1_709_294_400_000_001,
                      -1, -86_400_000_000, 951_782_400_500_000, 253_402_300_799_999_999])
    func timestampsMatchRFC3339(micros: Int64) {
        let t = Timestamp(micros: micros)
        var c = CopyText()
        c.timestamp(t)
        #expect(String(decoding: c.bytes, as: UTF8.self) == t.rfc3339)
    }

    @Test func timestampExact() {
        var c = CopyText()
        c.timestamp(Timestamp(micros: 1_709_294_400_123_456)); c.timestamp(Timestamp(seconds: 1_709_294_400))
        #expect(String(decoding: c.bytes, as: UTF8.self) == "2024-03-01T12:00:00.123456Z\t2024-03-01T12:00:00Z")
    }

    @Test func doubles() {
        var c = CopyText()
        c.double(0.12); c.double(3); c.double(.infinity); c.double(-.infinity); c.double(.nan); c.double(nil)
        #expect(String(decoding: c.bytes, as: UTF8.self) == "0.12\t3.0\tInfinity\t-Infinity\tNaN\t\\N")
    }

    @Test func inetValidation() {
        #expect(CopyText.validIP("192.0.2.1") == "192.0.2.1")
        #expect(CopyText.validIP("2001:db8::1") == "2001:db8::1")
        #expect(CopyText.validIP("IPv6:2001:db8::1") == "2001:db8::1")
        #expect(CopyText.validIP("::ffff:192.0.2.1") == "::ffff:192.0.2.1")
        #expect(CopyText.validIP("unknown") == nil)
        #expect(CopyText.validIP("fe80::1%eth0") == nil)
        #expect(CopyText.validIP("") == nil)
        #expect(CopyText.validIP("1.2.3.4; DROP") == nil)
        var c = CopyText()
        c.inet("unknown"); c.inet("10.0.0.1")
        #expect(String(decoding: c.bytes, as: UTF8.self) == "\\N\t10.0.0.1")
    }

    private func fieldCount(_ c: CopyText) -> Int {
        #expect(c.bytes.last == 0x0A)
        return c.bytes.filter { $0 == 0x09 }.count + 1
    }

    @Test func rowEncodersMatchColumnLists() {
        let t = Timestamp(seconds: 1_709_294_400)
        var c = CopyText()
        c.append(MessageRecord(receivedAt: t, msgKey: 1, host: "h", mta: "postfix", instance: "postfix", queueID: "Q"))
        #expect(fieldCount(c) == CopyText.messageColumns.count)
        c.removeAll()
        c.append(DeliveryRecord(at: t, msgKey: 1, host: "h", instance: "postfix", queueID: "Q", recipient: "r",
                                status: .sent, delays: [0.1, 0.2]))
        #expect(fieldCount(c) == CopyText.deliveryColumns.count)
        c.removeAll()
        c.append(RejectionRecord(at: t, msgKey: 1, host: "h", instance: "postfix", program: "smtpd", action: "reject"))
        #expect(fieldCount(c) == CopyText.rejectionColumns.count)
        c.removeAll()
        c.append(UnparsedLine(at: t, host: nil, lineNumber: 1, offset: 0, reason: "x", raw: [0x09, 0x0a]))
        #expect(fieldCount(c) == CopyText.unparsedColumns.count)
        #expect(String(decoding: c.bytes, as: UTF8.self) == "2024-03-01T12:00:00Z\t\\N\t1\t0\tx\t\\\\x090a\n")
    }

    @Test func deliveryRowExact() {
        var c = CopyText()
        c.append(DeliveryRecord(at: Timestamp(seconds: 1_709_294_400), msgKey: -5, host: "mx1", instance: "postfix",
                                queueID: "4AB", receivedAt: nil, recipient: "a@b", status: .deferred,
                                dsn: "4.4.1", transport: "smtp",
                                relay: Peer(name: "mx.example", ip: "192.0.2.9", port: 25),
                                delay: 1.5, delays: [0.01, 0, 1.2, 0.29], connUse: 2,
                                tls: TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256),
                                response: "host said:\tno", nextQueueID: nil))
        #expect(String(decoding: c.bytes, as: UTF8.self) ==
            "2024-03-01T12:00:00Z\t-5\tmx1\tpostfix\t4AB\t\\N\ta@b\t\\N\tdeferred\t4.4.1\tsmtp\tmx.example\t192.0.2.9\t25\t1.5\t0.01\t0.0\t1.2\t0.29\t2\t\\N\tTLSv1.3\tTLS_AES_256_GCM_SHA384\t256\thost said:\\tno\t\\N\t\\N\t\\N\n")
    }

    @Test func sinkFlushesInChunks() throws {
        var sent: [[UInt8]] = []
        var sink = CopySink(chunkSize: 1024) { sent.append($0) }
        for _ in 0..<100 { try sink.write(raw: Array(repeating: UInt8(ascii: "x"), count: 99) + [0x0A]) }
        try sink.flush()
        #expect(sent.count == 10)
        #expect(sent.allSatisfy { $0.count <= 1100 })
        #expect(sent.reduce(0) { $0 + $1.count } == 10_000)
        #expect(sink.bytesSent == 10_000)
    }
}
