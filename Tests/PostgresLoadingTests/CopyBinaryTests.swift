/// CopyBinaryTests: the binary COPY encoder, without a database.
///
/// Contract: exact bytes for the header, trailer, NULL and every field type
/// (text unescaped with the NUL rule, bigint, integer with out-of-range as
/// NULL, real, timestamptz in microseconds since 2000, inet, bytea), inet
/// validation, each row encoder writes as many fields as its column list
/// names with the values in place, and the sink sends in chunks.
/// (CopyRoundTripTests loads the same encodings into PostgreSQL.)
import MailTrailModel
import Testing
@testable import PostgresLoading

/// The fields of binary COPY rows: nil for NULL; fails the test on malformed data.
private func rows(_ bytes: [UInt8]) -> [[[UInt8]?]] {
    var out: [[[UInt8]?]] = []
    var i = 0
    func int(_ n: Int) -> Int64 {
        var v: Int64 = 0
        for k in 0..<n { v = v << 8 | Int64(bytes[i + k]) }
        i += n
        return n == 2 ? Int64(Int16(truncatingIfNeeded: v)) : Int64(Int32(truncatingIfNeeded: v))
    }
    while i < bytes.count {
        let fields = int(2)
        if fields == -1 { break }
        var row: [[UInt8]?] = []
        for _ in 0..<fields {
            let len = int(4)
            if len < 0 { row.append(nil); continue }
            row.append(Array(bytes[i..<i + Int(len)]))
            i += Int(len)
        }
        out.append(row)
    }
    #expect(i <= bytes.count)
    return out
}

private func be(_ v: Int64, _ n: Int) -> [UInt8] { (0..<n).map { UInt8(truncatingIfNeeded: v >> (8 * (n - 1 - $0))) } }

@Suite struct CopyBinaryTests {
    @Test func headerAndTrailer() {
        #expect(CopyBinary.header == [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00, 0, 0, 0, 0, 0, 0, 0, 0])
        #expect(CopyBinary.trailer == [0xFF, 0xFF])
    }

    @Test func fieldsAndNulls() {
        var c = CopyBinary()
        c.beginRow(9)
        c.text("a"); c.null(); c.int8(-42); c.int8(Int64.min); c.int4(25); c.int4(Int(Int32.max) + 1); c.int4(nil)
        c.float4(1.5); c.text(nil)
        #expect(c.bytes == [0, 9] + be(1, 4) + [0x61] + be(-1, 4) + be(8, 4) + be(-42, 8) + be(8, 4) + be(Int64.min, 8)
                + be(4, 4) + be(25, 4) + be(-1, 4) + be(-1, 4) + be(4, 4) + [0x3F, 0xC0, 0, 0] + be(-1, 4))
        c.removeAll()
        #expect(c.bytes.isEmpty)
    }

    @Test func textIsLengthAndBytes() {
        let nulBytes: [UInt8] = Array("nul".utf8) + [0xEF, 0xBF, 0xBD] + Array("byte".utf8) + [0xEF, 0xBF, 0xBD]
        let cases: [(String, [UInt8])] = [
            ("plain", Array("plain".utf8)),
            ("tab\tback\\slash\nline\rcr \"q\" 'q'", Array("tab\tback\\slash\nline\rcr \"q\" 'q'".utf8)),
            ("nul\u{0}byte\u{0}", nulBytes),
            ("emoji 😀 ü", Array("emoji 😀 ü".utf8)),
            ("\\N", [0x5C, 0x4E]),
            ("", []),
        ]
        for (input, expected) in cases {
            var c = CopyBinary()
            c.text(input)
            #expect(c.bytes == be(Int64(expected.count), 4) + expected, "\(input)")
        }
    }

    @Test func byteaAndTimestamps() {
        var c = CopyBinary()
        c.bytea(Array(0...255))
        #expect(c.bytes == be(256, 4) + Array(0...255))
        c.removeAll()
        c.timestamptz(Timestamp(seconds: 946_684_800)); c.timestamptz(Timestamp(micros: 1)); c.timestamptz(nil)
        #expect(c.bytes == be(8, 4) + be(0, 8) + be(8, 4) + be(1 - 946_684_800_000_000, 8) + be(-1, 4))
        #expect(PGResult.decodeByteaHex("\\x000aff5c") == [0x00, 0x0a, 0xff, 0x5c])
        #expect(PGResult.encodeByteaHex([0x00, 0xab] as [UInt8]) == "\\x00ab")
        #expect(PGResult.decodeByteaHex("\\x0") == nil)
    }

    @Test func inetValidation() {
        #expect(CopyBinary.validIP("192.0.2.1") == "192.0.2.1")
        #expect(CopyBinary.validIP("2001:db8::1") == "2001:db8::1")
        #expect(CopyBinary.validIP("IPv6:2001:db8::1") == "2001:db8::1")
        #expect(CopyBinary.validIP("ipv6:::1") == "::1")
        #expect(CopyBinary.validIP("::ffff:192.0.2.1") == "::ffff:192.0.2.1")
        #expect(CopyBinary.validIP("0000:0000:0000:0000:0000:ffff:192.168.100.228") == "0000:0000:0000:0000:0000:ffff:192.168.100.228")
        for bad in ["unknown", "fe80::1%eth0", "", "IPv6:", "1.2.3.4; DROP", "10.0.0.1\u{0}junk", "1.2.3", "256.1.1.1",
                    String(repeating: "1", count: 46)] {
            #expect(CopyBinary.validIP(bad) == nil, "\(bad)")
        }
        var c = CopyBinary()
        c.inet("unknown"); c.inet("192.0.2.1"); c.inet("IPv6:2001:db8::1")
        #expect(c.bytes == be(-1, 4) + be(8, 4) + [2, 32, 0, 4, 192, 0, 2, 1]
                + be(20, 4) + [3, 128, 0, 16, 0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1])
    }

    @Test func rowEncodersMatchColumnLists() {
        let t = Timestamp(seconds: 1_709_294_400)
        var c = CopyBinary()
        c.append(MessageRecord(receivedAt: t, msgKey: 1, host: "h", mta: "postfix", instance: "postfix", queueID: "Q"))
        c.append(DeliveryRecord(at: t, msgKey: 1, host: "h", instance: "postfix", queueID: "Q", recipient: "r",
                                status: .sent, delays: [0.1, 0.2, 0, 0]))
        c.append(RejectionRecord(at: t, msgKey: 1, host: "h", instance: "postfix", program: "smtpd", action: "reject"))
        c.append(UnparsedLine(at: t, host: nil, lineNumber: 1, offset: 0, reason: "x", raw: [0x09, 0x0a]), sourceID: 42)
        let r = rows(c.bytes)
        #expect(r.map(\.count) == [CopyBinary.messageColumns.count, CopyBinary.deliveryColumns.count,
                                   CopyBinary.rejectionColumns.count, CopyBinary.unparsedColumns.count])
        #expect(r[3] == [be(1_709_294_400_000_000 - 946_684_800_000_000, 8), be(42, 8), nil, be(1, 8), be(0, 8), [0x78], [0x09, 0x0a]])
    }

    @Test func deliveryRowExact() {
        var c = CopyBinary()
        c.append(DeliveryRecord(at: Timestamp(seconds: 1_709_294_400), msgKey: -5, host: "mx1", instance: "postfix",
                                queueID: "4AB", receivedAt: nil, recipient: "a@b", status: .deferred,
                                dsn: "4.4.1", transport: "smtp",
                                relay: Peer(name: "mx.example", ip: "192.0.2.9", port: 25),
                                delay: 1.5, delays: [0.01, 0, 1.2, 0.25], connUse: 2,
                                tls: TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256),
                                response: "host said:\tno", nextQueueID: nil))
        let f = rows(c.bytes)[0]
        func text(_ s: String) -> [UInt8]? { Array(s.utf8) }
        func real(_ v: Float) -> [UInt8]? { be(Int64(v.bitPattern), 4) }
        #expect(f == [be(1_709_294_400_000_000 - 946_684_800_000_000, 8), be(-5, 8), text("mx1"), text("postfix"), text("4AB"),
                      nil, text("a@b"), nil, text("deferred"), text("4.4.1"), text("smtp"), text("mx.example"),
                      [2, 32, 0, 4, 192, 0, 2, 9], be(25, 4), real(1.5), real(0.01), real(0), real(1.2), real(0.25),
                      be(2, 4), nil, text("TLSv1.3"), text("TLS_AES_256_GCM_SHA384"), be(256, 4), text("host said:\tno"),
                      nil, nil, nil])
    }

    @Test func sinkFlushesInChunks() throws {
        var sent: [[UInt8]] = []
        var sink = CopySink(chunkSize: 1024) { sent.append(Array($0)) }
        for _ in 0..<100 { try sink.write(raw: Array(repeating: UInt8(ascii: "x"), count: 99) + [0x0A]) }
        try sink.flush()
        #expect(sent.count == 10)
        #expect(sent.allSatisfy { $0.count <= 1100 })
        #expect(sent.reduce(0) { $0 + $1.count } == 10_000)
        // Pre-encoded data goes out in slices of at most chunkSize bytes, after the buffer.
        sent.removeAll()
        try sink.write(raw: [1, 2, 3])
        try sink.send(encoded: Array(repeating: 7, count: 2500))
        #expect(sent.map(\.count) == [3, 1024, 1024, 452])
        #expect(sink.bytesSent == 12_503)
    }
}
