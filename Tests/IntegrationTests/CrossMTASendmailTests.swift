/// CrossMTASendmailTests: a Postfix relay hands a message to a Sendmail host
/// (Fixtures/cross-postfix-sendmail); both logs go through the real pipeline
/// into PostgreSQL, and the trace must cross from Postfix to Sendmail by the
/// Sendmail queue ID in Postfix's `250 2.0.0 QID Message accepted for
/// delivery`, with exact rows and the golden trace document
/// Expected/cross-postfix-sendmail.json. Set MAILTRAIL_WRITE_GOLDEN=1 to
/// rewrite the golden file (then check every field by hand). Also: MSP → MTA
/// on one Sendmail host (smhost-msp.log) traced as a same-host re-injection.
import Foundation
import Ingest
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Query
import Testing

private func fixture(_ name: String) -> String {
    repositoryRoot.appendingPathComponent("Tests/IntegrationTests/Fixtures/cross-postfix-sendmail/" + name).path
}

private let crossPaths = [fixture("gw1.log"), fixture("smhost.log")]

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct CrossMTASendmailTests {
    @Test func postfixToSendmailRowsAndTrace() throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            let r = try IngestRunner.run(paths: crossPaths, settings: sampleSettings(), connection: db.connection)
            #expect(r.lines.read == 21)
            #expect(r.lines.unparsed == 0)
            #expect(r.messages == 3)
            #expect(r.deliveries == 5)
            #expect(r.rejections == 1)

            #expect(try rows(db, """
                SELECT host, mta, instance, queue_id, coalesce(message_id, '-'), sender, coalesce(client_name, '-'),
                       host(client_ip), coalesce(proto, '-'), coalesce(tls_proto || ' ' || tls_cipher || ' ' || tls_bits, '-'),
                       coalesce(sasl_method || ' ' || sasl_username, '-'), size, nrcpt,
                       msg_key = mailtrail.message_key(message_id)
                FROM mailtrail.messages ORDER BY received_at, 1
                """) == [
                    "gw1|postfix|postfix|4jW9Rk1Hq2z5ZkP|cross-pf-sm.1@sender.example|bob@sender.example|mail.sender.example|198.51.100.25|-|TLSv1.3 TLS_AES_256_GCM_SHA384 256|-|6120|2|t",
                    "smhost|sendmail|sm-mta|6AK95ExA004711|cross-pf-sm.1@sender.example|bob@sender.example|gw1.example.com|192.0.2.10|ESMTPS|TLSv1.3 TLS_AES_256_GCM_SHA384 256|-|6598|2|t",
                    "smhost|sendmail|sm-mta|6AK97fxC004731|reply-1@laptop.example.com|alice@example.com|laptop.example.com|198.51.100.80|ESMTPA|-|PLAIN alice|912|1|t",
                ])
            #expect(try rows(db, """
                SELECT host, queue_id, recipient, status, coalesce(transport, '-'), coalesce(relay_name, '-'),
                       coalesce(host(relay_ip), '-'), coalesce(tls_proto || ' ' || tls_trust, '-'),
                       coalesce(next_queue_id, '-'), coalesce(delay::text, '-'), received_at IS NOT NULL
                FROM mailtrail.deliveries ORDER BY at, 1, 3
                """) == [
                    "gw1|4jW9Rk1Hq2z5ZkP|alice@example.com|sent|smtp|smhost.example.com|192.0.2.30|TLSv1.3 Verified|6AK95ExA004711|1.2|t",
                    "gw1|4jW9Rk1Hq2z5ZkP|carol@partner.example|sent|smtp|smhost.example.com|192.0.2.30|TLSv1.3 Verified|6AK95ExA004711|1.2|t",
                    "smhost|6AK95ExA004711|alice@example.com|sent|local|-|-|-|-|1|t",
                    "smhost|6AK95ExA004711|carol@partner.example|sent|esmtp|mx.partner.example|2001:db8::25|TLSv1.3 Trusted|4jW9Rm0Xyz7Q|2|t",
                    "smhost|6AK97fxC004731|bob@sender.example|sent|esmtp|mail.sender.example|198.51.100.25|-|4jW9Tq2Lmnz7Rb|1|t",
                ])
            #expect(try rows(db, """
                SELECT host, instance, queue_id, program, action, stage, host(client_ip), recipient, code, dsn, reason
                FROM mailtrail.rejections
                """) == [
                    "smhost|sm-mta|6AK962xB004720|sm-mta|reject|RCPT|203.0.113.77|someone@elsewhere.example|550|5.7.1|<someone@elsewhere.example>... Relaying denied",
                ])

            // The trace crosses from Postfix to Sendmail by the queue ID in the 250 reply.
            #expect(try rows(db, """
                SELECT hop, parents::text, coalesce(link, '-'), host, queue_id
                FROM mailtrail.trace_hops('<cross-pf-sm.1@sender.example>') ORDER BY hop
                """) == ["1|{}|-|gw1|4jW9Rk1Hq2z5ZkP", "2|{1}|queued-as|smhost|6AK95ExA004711"])
            let byQueue = try #require(try TraceQuery(connection: db.connection).trace(queueID: "4jW9Rk1Hq2z5ZkP", host: "gw1"))
            #expect(byQueue.hops.map(\.queueID) == ["4jW9Rk1Hq2z5ZkP", "6AK95ExA004711"])

            let doc = try #require(try TraceQuery(connection: db.connection).trace(messageID: "cross-pf-sm.1@sender.example"))
            let json = TraceRenderer().json(doc)
            let url = repositoryRoot.appendingPathComponent("Tests/IntegrationTests/Expected/cross-postfix-sendmail.json")
            if ProcessInfo.processInfo.environment["MAILTRAIL_WRITE_GOLDEN"] == "1" {
                try Data(json.utf8).write(to: url)
            }
            let actual = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary
            let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? NSDictionary
            #expect(actual != nil)
            #expect(actual == expected, "trace differs from cross-postfix-sendmail.json:\n\(json)")
        }
    }

    /// MSP → MTA on one host: the MSP's `Sent (NEW Message accepted for delivery)` links its
    /// transaction to the MTA's; the trace shows it as a same-host re-injection.
    @Test func mspToMTAOnOneHost() throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            let r = try IngestRunner.run(paths: [fixture("smhost-msp.log")], settings: sampleSettings(),
                                         connection: db.connection)
            #expect(r.lines.read == 4 && r.lines.unparsed == 0)
            #expect(try rows(db, """
                SELECT instance, queue_id, sender, coalesce(client_name, '-'), coalesce(host(client_ip), '-'),
                       coalesce(local_user, '-'), coalesce(proto, '-')
                FROM mailtrail.messages ORDER BY received_at, instance
                """) == [
                    "sendmail|6AKA01xA005001|alice|localhost|-|alice|-",
                    "sm-mta|6AKA01xB005002|alice@smhost.example.com|localhost|127.0.0.1|-|ESMTP",
                ])
            #expect(try rows(db, """
                SELECT hop, parents::text, coalesce(link, '-'), host, instance, queue_id
                FROM mailtrail.trace_hops('202611201000.6AKA01xA005001@smhost.example.com') ORDER BY hop
                """) == ["1|{}|-|smhost|sendmail|6AKA01xA005001", "2|{1}|reinjection|smhost|sm-mta|6AKA01xB005002"])
        }
    }
}
