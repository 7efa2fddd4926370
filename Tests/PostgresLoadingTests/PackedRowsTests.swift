/// PackedRowsTests: `RowText`, `MessageRows` / `DeliveryRows` and the COPY encoding of packed rows.
///
/// Contract tested: text copied in comes back byte for byte at every length (the copy has
/// separate paths under 4, under 8, up to 64 and over 64 bytes); a copy of a `RowText` keeps its
/// bytes when either side appends; a packed row reads back as the record made of the same
/// values, with invalid UTF-8 repaired as `String(decoding:as:)` repairs it; mixed batches keep
/// the order rows were appended in; and `CopyBinary` writes a packed row exactly as it writes the
/// record it stands for (the NUL rule, the UTF-8 repair, inet from bytes).
import MailTrailModel
import Testing
@testable import PostgresLoading

@Suite struct PackedRowsTests {
    static let t = Timestamp(seconds: 1_709_294_400)

    @Test func textComesBackAtEveryLength() {
        var text = RowText(capacity: 16)   // small: the buffer grows several times
        var refs: [(TextRef, [UInt8])] = []
        for n in 0...200 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ n) }
            refs.append((bytes.withUnsafeBufferPointer { text.add($0) }, bytes))
        }
        for (ref, bytes) in refs {
            #expect(Array(text.bytes(ref)) == bytes)
            #expect(ref.count == UInt32(bytes.count))
        }
        #expect(text.count == (0...200).reduce(0, +))
        #expect(text.string(.none) == nil)
        #expect(text.add(nil as String?) == .none)
        let e = text.add("")
        #expect(e.isPresent && text.string(e) == "")
    }

    @Test func aCopyKeepsItsBytesWhenEitherSideAppends() {
        var a = RowText(capacity: 16)
        let x = a.add("first value")
        var b = a
        let ya = a.add("written by a")
        let yb = b.add("written by b, longer")
        #expect(a.string(x) == "first value" && b.string(x) == "first value")
        #expect(a.string(ya) == "written by a")
        #expect(b.string(yb) == "written by b, longer")
        var c = a
        a.reset()
        _ = a.add("after reset")
        #expect(c.string(ya) == "written by a")
        c.claim()
        #expect(c.string(x) == "first value")
    }

    @Test func invalidUTF8ReadsAsTheRepairedString() {
        var text = RowText()
        let bad: [UInt8] = [0x61, 0xFF, 0x62, 0xC3]   // "a", a stray byte, "b", a truncated sequence
        let r = bad.withUnsafeBufferPointer { text.add($0) }
        #expect(text.string(r) == String(decoding: bad, as: UTF8.self))
        #expect(!bad.withUnsafeBufferPointer { RowText.isValidUTF8($0) })
        let good = Array("año €".utf8)
        #expect(good.withUnsafeBufferPointer { RowText.isValidUTF8($0) })
        #expect(Array("plain ascii, more than eight".utf8).withUnsafeBufferPointer { RowText.isValidUTF8($0) })
    }

    static func message(_ q: String, sender: String?) -> MessageRecord {
        MessageRecord(receivedAt: t, msgKey: 7, host: "mx1", mta: "sendmail", instance: "sm-mta", queueID: q,
                      messageID: "id@example.org", sender: sender, client: Peer(name: "c.example", ip: "192.0.2.1"),
                      size: 10, nrcpt: 1, proto: "ESMTPS",
                      tls: TLSInfo(proto: "TLSv1.3", cipher: "C", bits: 256), saslMethod: "PLAIN",
                      originQueueID: "O1", originKind: .split, localUser: "u", spamScore: 1.5)
    }

    static func delivery(_ r: String) -> DeliveryRecord {
        DeliveryRecord(at: t, msgKey: 7, host: "mx1", instance: "sm-mta", queueID: "Q1", receivedAt: t, recipient: r,
                       origRecipient: "o", status: .sent, dsn: "2.0.0", transport: "esmtp",
                       relay: Peer(name: "mx.example", ip: "192.0.2.9", port: 25), delay: 1, delays: [0.1, 0.2, 0.3, 0.4],
                       connUse: 2, tlsFeature: "f", tls: TLSInfo(proto: "TLSv1.2"), response: "250 ok",
                       nextQueueID: "N", router: "dnslookup")
    }

    /// The packed row of a record, its text copied (as a correlator copies it from the line).
    static func packed(_ d: DeliveryRecord, _ text: inout RowText) -> PackedDelivery {
        PackedDelivery(at: d.at, msgKey: d.msgKey, host: d.host, instance: d.instance, queueID: text.add(d.queueID),
                       receivedAt: d.receivedAt, recipient: text.add(d.recipient),
                       origRecipient: text.add(d.origRecipient), status: d.status, dsn: text.add(d.dsn),
                       transport: text.add(d.transport), relayName: text.add(d.relay.name),
                       relayIP: text.add(d.relay.ip), relayPort: d.relay.port, delay: d.delay, delays: d.delays,
                       connUse: d.connUse, tlsFeature: text.add(d.tlsFeature), tls: d.tls,
                       response: text.add(d.response), nextQueueID: text.add(d.nextQueueID), router: text.add(d.router))
    }

    @Test func packedRowsReadAsTheirRecords() {
        var m = MessageRows()
        let records = [Self.message("A", sender: "s@x"), Self.message("B", sender: nil), Self.message("C", sender: "")]
        for r in records { m.appendPacked(PackedMessage(r, text: &m.text)) }
        #expect(m == records)
        #expect(m.records.isEmpty && m.packed.count == 3)
        var d = DeliveryRows()
        let ds = [Self.delivery("a@x"), Self.delivery("b@x")]
        for r in ds { d.appendPacked(Self.packed(r, &d.text)) }
        #expect(d == ds)
        #expect(d[1].at == Self.t)
    }

    @Test func mixedBatchesKeepTheirOrder() {
        var d = DeliveryRows()
        d.append(Self.delivery("1"))
        d.appendPacked(Self.packed(Self.delivery("2"), &d.text))
        d.append(Self.delivery("3"))
        d.appendPacked(Self.packed(Self.delivery("4"), &d.text))
        #expect(d.map(\.recipient) == ["1", "2", "3", "4"])
        var kinds: [Bool] = []
        d.walkIndices { packed, _ in kinds.append(packed) }
        #expect(kinds == [false, true, false, true])
        var seen: [String] = []
        d.forEachRow { row in
            switch row {
            case .record(let r): seen.append("r" + r.recipient)
            case .packed(let p): seen.append("p" + (d.text.string(p.recipient) ?? "?"))
            }
        }
        #expect(seen == ["r1", "p2", "r3", "p4"])
        // Appended to another batch: the packed rows' text moves behind that batch's.
        var e = DeliveryRows()
        e.appendPacked(Self.packed(Self.delivery("0"), &e.text))
        e.append(contentsOf: d)
        #expect(e.map(\.recipient) == ["0", "1", "2", "3", "4"])
        d.removeAll()
        #expect(d.isEmpty)
        d.append(Self.delivery("5"))
        #expect(d.map(\.recipient) == ["5"])
        var m = MessageRows()
        m.appendPacked(PackedMessage(Self.message("P", sender: "x"), text: &m.text))
        m.append(Self.message("R", sender: "y"))
        #expect(m.map(\.queueID) == ["P", "R"])
        #expect(m[1].receivedAt == Self.t)
    }

    @Test func copyWritesAPackedRowAsItsRecord() {
        // Hostile text: NUL (becomes U+FFFD), invalid UTF-8 (repaired as the String would be), an
        // address with an `IPv6:` prefix and one that is not an address.
        let values: [[UInt8]] = [Array("plain".utf8), [0x61, 0x00, 0x62], [0x61, 0xFF, 0x62], Array("IPv6:2001:db8::1".utf8),
                                 Array("unknown".utf8), [], Array(String(repeating: "long text ", count: 20).utf8)]
        for v in values {
            let s = String(decoding: v, as: UTF8.self)
            let d = DeliveryRecord(at: Self.t, msgKey: 1, host: "h", instance: "i", queueID: s, recipient: s,
                                   status: .bounced, dsn: s, relay: Peer(name: s, ip: s), response: s)
            var text = RowText()
            let ref = v.withUnsafeBufferPointer { text.add($0) }
            let p = PackedDelivery(at: Self.t, msgKey: 1, host: "h", instance: "i", queueID: ref, receivedAt: nil,
                                   recipient: ref, status: .bounced, dsn: ref, relayName: ref, relayIP: ref,
                                   response: ref)
            var a = CopyBinary(), b = CopyBinary()
            a.append(d)
            b.append(p, text: text)
            #expect(a.bytes == b.bytes, "\(v)")
            let m = MessageRecord(receivedAt: Self.t, msgKey: 1, host: "h", mta: "sendmail", instance: "i", queueID: s,
                                  messageID: s, sender: s, client: Peer(name: s, ip: s), proto: s, localUser: s)
            let pm = PackedMessage(receivedAt: Self.t, msgKey: 1, host: "h", mta: "sendmail", instance: "i", queueID: ref,
                                   messageID: ref, sender: ref, clientName: ref, clientIP: ref, proto: ref, localUser: ref)
            var c = CopyBinary(), e = CopyBinary()
            c.append(m)
            e.append(pm, text: text)
            #expect(c.bytes == e.bytes, "\(v)")
        }
    }

    @Test func anEncodedBatchKeepsRowsInTheirDayParts() {
        var d = DeliveryRows()
        d.append(Self.delivery("r"))
        d.appendPacked(Self.packed(Self.delivery("p"), &d.text))
        var m = MessageRows()
        m.appendPacked(PackedMessage(Self.message("P", sender: "x"), text: &m.text))
        let e = EncodedBatch(Batch(sourceID: 1, fromOffset: 0, toOffset: 1, toLine: 1, messages: m, deliveries: d))
        #expect(e.parts.map(\.rows) == [1, 2])
        var expected = CopyBinary()
        expected.appendRaw(CopyBinary.header)
        expected.append(Self.delivery("r"))
        expected.append(Self.delivery("p"))
        expected.appendRaw(CopyBinary.trailer)
        #expect(e.parts[1].data.bytes == expected.bytes)
    }
}
