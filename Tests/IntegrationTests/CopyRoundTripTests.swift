/// CopyRoundTripTests: hostile values through BatchLoader into the real tables.
///
/// Contract: every text field comes back byte for byte, except NUL which
/// comes back as U+FFFD (the documented rule); `raw` comes back exactly for
/// all 256 byte values; timestamps keep their microseconds; addresses that
/// are not IPs, and integers outside a 32-bit column's range, become NULL
/// instead of failing the batch; numbers keep their values; one batch with
/// all of it commits.
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Testing

private let hostileValues: [String] = [
    "tab\there", "back\\slash", "new\nline", "cr\rreturn", "quote' \"double\"", "nul\u{0}byte",
    "emoji 😀 and ü and 日本", "'); DROP TABLE x; --", "\\N", "\\.", "", " padded ", "\u{1}\u{8}\u{b}\u{c}\u{1f}\u{7f}",
    "replacement \u{FFFD} char", "\r\n", "\\x00ff", String(repeating: "long\t", count: 20_000),
]

private func nulRule(_ s: String) -> String {
    String(String.UnicodeScalarView(s.unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }))
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct CopyRoundTripTests {
    @Test func hostileValuesRoundTrip() throws {
        try TestDatabase.with { db in
            let c = db.connection
            let loader = BatchLoader(connection: c)
            loader.chunkSize = 4096   // force many PQputCopyData chunks
            let today = try c.serverToday()
            let base = TestDays.noon(today).micros
            var messages: [MessageRecord] = []
            var deliveries: [DeliveryRecord] = []
            var rejections: [RejectionRecord] = []
            for (i, v) in hostileValues.enumerated() {
                let at = Timestamp(micros: base + Int64(i) * 1_000_001)
                let q = "Q\(i)"
                messages.append(MessageRecord(
                    receivedAt: at, msgKey: MessageKey.forMessageID(v), host: v, mta: v, instance: v, queueID: q,
                    messageID: v, sender: v, client: Peer(name: v, ip: v, port: 25), size: Int64(i), nrcpt: i,
                    proto: v, helo: v, tls: TLSInfo(proto: v, cipher: v, bits: 256, trust: v), saslMethod: v,
                    saslUsername: v, originQueueID: v, originKind: .bounce))
                deliveries.append(DeliveryRecord(
                    at: at, msgKey: 1, host: v, instance: v, queueID: q, receivedAt: at, recipient: v, origRecipient: v,
                    status: .bounced, dsn: v, transport: v, relay: Peer(name: v, ip: "2001:db8::\(i + 1)", port: 2525),
                    delay: 1.25, delays: [0.01, 0.02, 0.5, 0.72], connUse: 3, tlsFeature: v,
                    tls: TLSInfo(proto: v, cipher: v, bits: 128), response: v, nextQueueID: v))
                rejections.append(RejectionRecord(
                    at: at, msgKey: 2, host: v, instance: v, queueID: q, program: v, action: v, stage: v,
                    client: Peer(name: v, ip: "unknown", port: nil), helo: v, sender: v, recipient: v, proto: v,
                    code: v, dsn: v, reason: v))
            }
            let raw: [UInt8] = Array(0...255) + Array("\\.\n\\N\t".utf8)
            let src = try loader.openSource(fingerprint: "fp-hostile", path: nil, format: nil, hostHint: nil)
            let r = try loader.commit(Batch(
                sourceID: src.sourceID, fromOffset: 0, toOffset: 1, toLine: 1,
                counters: [hostileValues[7]: IngestCounters(linesRead: 1)],
                messages: MessageRows(messages), deliveries: DeliveryRows(deliveries), rejections: rejections,
                unparsed: [UnparsedLine(at: TestDays.noon(today), host: hostileValues[5], lineNumber: 1, offset: 0,
                                        reason: hostileValues[3], raw: raw)]))
            let n = Int64(hostileValues.count)
            #expect(r == CommitResult(messages: n, deliveries: n, rejections: n, unparsed: 1, tooOld: 0))

            let m = try c.query("""
                SELECT queue_id, host, mta, instance, message_id, sender, client_name, host(client_ip) AS ip, proto, helo,
                       tls_proto, tls_cipher, tls_trust, sasl_method, sasl_username, origin_queue_id, origin_kind,
                       (extract(epoch FROM received_at) * 1000000)::bigint AS micros, msg_key
                  FROM mailtrail.messages ORDER BY received_at
                """)
            #expect(m.count == hostileValues.count)
            for (i, v) in hostileValues.enumerated() {
                let want = nulRule(v)
                for col in ["host", "mta", "instance", "message_id", "sender", "client_name", "proto", "helo",
                            "tls_proto", "tls_cipher", "tls_trust", "sasl_method", "sasl_username", "origin_queue_id"] {
                    #expect(m.string(i, col) == want, "messages.\(col) of value \(i)")
                }
                #expect(m.string(i, "queue_id") == "Q\(i)")
                #expect(m.string(i, "ip") == nil)
                #expect(m.string(i, "origin_kind") == "bounce")
                #expect(m.int(i, "micros") == base + Int64(i) * 1_000_001)
                #expect(m.int(i, "msg_key") == MessageKey.forMessageID(v))
            }

            let d = try c.query("""
                SELECT recipient, orig_recipient, dsn, transport, relay_name, host(relay_ip) AS ip, response,
                       next_queue_id, tls_feature, delay::text AS delay, delay_xmit::text AS xmit, status
                  FROM mailtrail.deliveries ORDER BY at
                """)
            for (i, v) in hostileValues.enumerated() {
                let want = nulRule(v)
                for col in ["recipient", "orig_recipient", "dsn", "transport", "relay_name", "response", "next_queue_id", "tls_feature"] {
                    #expect(d.string(i, col) == want, "deliveries.\(col) of value \(i)")
                }
                #expect(d.string(i, "ip") == "2001:db8::\(i + 1)")
                #expect(d.string(i, "delay") == "1.25" && d.string(i, "xmit") == "0.72" && d.string(i, "status") == "bounced")
            }

            let rj = try c.query("""
                SELECT program, action, stage, client_name, client_ip, helo, sender, recipient, proto, code, dsn, reason
                  FROM mailtrail.rejections ORDER BY at
                """)
            for (i, v) in hostileValues.enumerated() {
                let want = nulRule(v)
                for col in ["program", "action", "stage", "client_name", "helo", "sender", "recipient", "proto", "code", "dsn", "reason"] {
                    #expect(rj.string(i, col) == want, "rejections.\(col) of value \(i)")
                }
                #expect(rj.string(i, "client_ip") == nil)
            }

            let u = try c.query("SELECT raw, host, reason, source_id FROM mailtrail.unparsed_lines")
            #expect(u.bytes(0, "raw") == raw)
            #expect(u.string(0, "host") == nulRule(hostileValues[5]))
            #expect(u.string(0, "reason") == hostileValues[3])
            #expect(u.int(0, "source_id") == src.sourceID)
            let counted = try c.query("SELECT host FROM mailtrail.ingest_counts").string(0, "host")
            #expect(counted == hostileValues[7])
        }
    }

    @Test func valuesAColumnCannotHoldBecomeNullAndNumbersKeepTheirValues() throws {
        try TestDatabase.with { db in
            let c = db.connection
            let loader = BatchLoader(connection: c)
            let noon = TestDays.noon(try c.serverToday())
            let src = try loader.openSource(fingerprint: "fp-range", path: nil, format: nil, hostHint: nil)
            let r = try loader.commit(Batch(
                sourceID: src.sourceID, fromOffset: 0, toOffset: 1, toLine: 1,
                messages: [MessageRecord(receivedAt: Timestamp(micros: noon.micros + 999_999), msgKey: Int64.min, host: "mx1",
                                         mta: "postfix", instance: "postfix", queueID: "Q1",
                                         client: Peer(name: "c", ip: "IPv6:2001:db8::5", port: 99_999_999_999),
                                         size: Int64.max, nrcpt: Int(Int32.min) - 1,
                                         tls: TLSInfo(proto: "TLSv1.3", cipher: "X", bits: Int(Int32.max)), spamScore: -5.5)],
                deliveries: [DeliveryRecord(at: noon, msgKey: 1, host: "mx1", instance: "postfix", queueID: "Q1",
                                            recipient: "r@x", status: .sent, relay: Peer(name: "r", ip: "192.0.2.7", port: 25),
                                            delay: 3600.5, delays: [0, 0.001, 1e-7, .infinity], connUse: -1)]))
            #expect(r.messages == 1 && r.deliveries == 1)
            let m = try c.query("""
                SELECT client_port, nrcpt, size, tls_bits, host(client_ip) AS ip, family(client_ip) AS fam,
                       spam_score::text AS score, msg_key, to_char(received_at AT TIME ZONE 'UTC', 'HH24:MI:SS.US') AS t
                  FROM mailtrail.messages
                """)
            #expect(m.string(0, "client_port") == nil && m.string(0, "nrcpt") == nil)
            #expect(m.int(0, "size") == Int64.max && m.int(0, "tls_bits") == Int64(Int32.max) && m.int(0, "msg_key") == Int64.min)
            #expect(m.string(0, "ip") == "2001:db8::5" && m.int(0, "fam") == 6 && m.string(0, "score") == "-5.5")
            #expect(m.string(0, "t") == "12:00:00.999999")
            let d = try c.query("""
                SELECT host(relay_ip) AS ip, masklen(relay_ip) AS bits, relay_port, delay::text AS d,
                       delay_before_qmgr::text AS a, delay_in_qmgr::text AS b, delay_conn::text AS c,
                       delay_xmit::text AS x, conn_use
                  FROM mailtrail.deliveries
                """)
            #expect(d.string(0, "ip") == "192.0.2.7" && d.int(0, "bits") == 32 && d.int(0, "relay_port") == 25)
            #expect([d.string(0, "d"), d.string(0, "a"), d.string(0, "b"), d.string(0, "c"), d.string(0, "x")]
                    == ["3600.5", "0", "0.001", "1e-07", "Infinity"])
            #expect(d.int(0, "conn_use") == -1)
        }
    }
}
