/// CopyRoundTripTests: hostile values through BatchLoader into the real tables.
///
/// Contract: every text field comes back byte for byte, except NUL which
/// comes back as U+FFFD (the documented rule); `raw` comes back exactly for
/// all 256 byte values; timestamps keep their microseconds; addresses that
/// are not IPs become NULL instead of failing the batch; one batch with all
/// of it commits.
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
                messages: messages, deliveries: deliveries, rejections: rejections,
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
}
