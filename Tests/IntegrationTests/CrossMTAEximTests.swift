/// CrossMTAEximTests: traces that cross between Postfix and Exim, and the
/// three stages of a Sophos UTM, each ingested through the real pipeline into
/// PostgreSQL and compared with exact hop lists and golden trace documents
/// (Tests/IntegrationTests/Expected/cross-postfix-exim.json,
/// cross-exim-postfix.json, utm-chain.json; MAILTRAIL_WRITE_GOLDEN=1 rewrites
/// them, then check every field by hand):
/// - Postfix → Exim (Fixtures/cross-postfix-exim): the relay logs Exim's
///   `250 OK id=<exim id>`; the Exim host writes its own mainlog (no host
///   name: ingested with --host ex1, millisecond stamps, new-style IDs).
/// - Exim → Postfix (Fixtures/cross-exim-postfix): Exim through syslog logs
///   Postfix's `queued as` in C="..."; SASL user, subject, TLS both ways.
/// - Sophos UTM (Fixtures/utm-chain, a real log): exim-in → smtpd →
///   exim-out on one host with TLS in and out, DKIM result and spam verdict.
import Foundation
import Ingest
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Query
import Testing

private func fixture(_ path: String) -> String {
    repositoryRoot.appendingPathComponent("Tests/IntegrationTests/Fixtures/" + path).path
}

/// Ingests `paths` (Exim mainlogs get `host`) and returns the trace of `messageID` as JSON,
/// compared with (or, with MAILTRAIL_WRITE_GOLDEN=1, written to) Expected/`golden`.
private func traceMatchesGolden(_ db: TestDatabase, _ messageID: String, golden: String) throws {
    let doc = try #require(try TraceQuery(connection: db.connection).trace(messageID: messageID))
    let json = TraceRenderer().json(doc)
    let url = repositoryRoot.appendingPathComponent("Tests/IntegrationTests/Expected/" + golden)
    if ProcessInfo.processInfo.environment["MAILTRAIL_WRITE_GOLDEN"] == "1" { try Data(json.utf8).write(to: url) }
    let actual = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? NSDictionary
    let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? NSDictionary
    #expect(actual != nil)
    #expect(actual == expected, "trace differs from \(golden):\n\(json)")
}

private func ingest(_ db: TestDatabase, _ paths: [String], host: String? = nil) throws -> RunSummary {
    try keepEverything(db)
    var settings = sampleSettings()
    settings.pipeline.host = host
    return try IngestRunner.run(paths: paths, settings: settings, connection: db.connection)
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct CrossMTAEximTests {
    @Test func postfixToExim() throws {
        try TestDatabase.with { db in
            let r = try ingest(db, [fixture("cross-postfix-exim/gw2.log"), fixture("cross-postfix-exim/ex1.mainlog")],
                               host: "ex1")
            #expect(r.lines.read == 12 && r.lines.unparsed == 0)
            #expect(try rows(db, """
                SELECT hop, parents::text, coalesce(link, '-'), host, queue_id
                FROM mailtrail.trace_hops('<cross-pf-ex.1@sender.example>') ORDER BY hop
                """) == ["1|{}|-|gw2|4jW9Z11Kx3z6ZmQ", "2|{1}|queued-as|ex1|1tUHfW-000000004Sd-2k8P"])
            #expect(try rows(db, """
                SELECT host, mta, instance, queue_id, received_at, sender, size, coalesce(nrcpt::text, '-'),
                       tls_proto || ' ' || tls_cipher || ' ' || tls_bits || ' ' || tls_trust, coalesce(subject, '-')
                FROM mailtrail.messages ORDER BY received_at
                """) == [
                    "gw2|postfix|postfix|4jW9Z11Kx3z6ZmQ|2026-11-20 09:20:01+00|bob@sender.example|6230|1|TLSv1.3 TLS_AES_256_GCM_SHA384 256 Anonymous|-",
                    "ex1|exim|exim|1tUHfW-000000004Sd-2k8P|2026-11-20 09:20:02.118+00|bob@sender.example|6412|1|TLSv1.3 TLS_AES_256_GCM_SHA384 256 Untrusted|Quarterly figures",
                ])
            #expect(try rows(db, """
                SELECT host, queue_id, recipient, coalesce(orig_recipient, '-'), status, coalesce(router, '-'),
                       coalesce(transport, '-'), coalesce(next_queue_id, '-'), delay
                FROM mailtrail.deliveries ORDER BY at
                """) == [
                    "gw2|4jW9Z11Kx3z6ZmQ|alice@example.com|-|sent|-|smtp|1tUHfW-000000004Sd-2k8P|0.9",
                    "ex1|1tUHfW-000000004Sd-2k8P|alice@example.com|alice|sent|local_user|maildir_home|-|0.2",
                ])
            try traceMatchesGolden(db, "cross-pf-ex.1@sender.example", golden: "cross-postfix-exim.json")
        }
    }

    @Test func eximToPostfix() throws {
        try TestDatabase.with { db in
            let r = try ingest(db, [fixture("cross-exim-postfix/ex2.log"), fixture("cross-exim-postfix/mbox2.log")])
            #expect(r.lines.read == 11 && r.lines.unparsed == 0)
            #expect(try rows(db, """
                SELECT hop, parents::text, coalesce(link, '-'), host, queue_id
                FROM mailtrail.trace_hops('<cross-ex-pf.1@example.org>') ORDER BY hop
                """) == ["1|{}|-|ex2|1tUI2l-000000005aB-3x9Q", "2|{1}|queued-as|mbox2|4F2A31C0A2B"])
            #expect(try rows(db, """
                SELECT host, queue_id, coalesce(sasl_method || ' ' || sasl_username, '-'), coalesce(subject, '-'),
                       tls_proto || ' ' || tls_bits
                FROM mailtrail.messages ORDER BY received_at
                """) == ["ex2|1tUI2l-000000005aB-3x9Q|dovecot_plain carol|Lunch?|TLSv1.3 128",
                         "mbox2|4F2A31C0A2B|-|-|TLSv1.3 256"])
            #expect(try rows(db, """
                SELECT host, recipient, status, coalesce(relay_name, '-'), coalesce(tls_proto || ' ' || tls_trust, '-'),
                       coalesce(next_queue_id, '-')
                FROM mailtrail.deliveries ORDER BY at, host
                """) == ["ex2|dave@example.net|sent|mbox2.example.net|TLSv1.3 Verified|4F2A31C0A2B",
                         "mbox2|dave@example.net|sent|mbox2.example.net[private/dovecot-lmtp]|-|-"])
            try traceMatchesGolden(db, "cross-ex-pf.1@example.org", golden: "cross-exim-postfix.json")
        }
    }

    @Test func sophosUTMThreeStages() throws {
        try TestDatabase.with { db in
            let r = try ingest(db, [fixture("utm-chain/smtp.log")])
            #expect(r.lines.read == 15 && r.lines.unparsed == 0)
            #expect(r.pendingTailBytes > 0)  // the sample's last line has no newline
            let id = "02ec01d51f9d$d1192430$734b6c90$@senderdomain.tld"
            #expect(try rows(db, """
                SELECT hop, parents::text, coalesce(link, '-'), host, instance, queue_id
                FROM mailtrail.trace_hops($1) ORDER BY hop
                """.replacingOccurrences(of: "$1", with: "'<\(id)>'")) == [
                    "1|{}|-|defense|exim-in|1haLqi-0002Mp-2G",
                    "2|{1}|reinjection|defense|smtpd|1haLqi-0002Mp-2G",
                    "3|{2}|reinjection|defense|exim-out|1haLql-0002Mh-MA",
                ])
            #expect(try rows(db, """
                SELECT instance, coalesce(tls_proto || ' ' || tls_cipher || ' ' || tls_bits, '-'),
                       coalesce(dkim_result || ' ' || dkim_domain, '-'), coalesce(spam_verdict, '-'),
                       coalesce(subject, '-')
                FROM mailtrail.messages ORDER BY received_at, instance
                """) == [
                    "exim-in|TLSv1.2 DHE-RSA-AES256-GCM-SHA384 256|pass senderdomain.tld|Unknown|-",
                    "exim-out|-|-|-|Statement",
                    "smtpd|-|-|email passed|Statement",
                ])
            #expect(try rows(db, """
                SELECT instance, recipient, status, coalesce(tls_proto || ' ' || tls_cipher, '-'), coalesce(next_queue_id, '-')
                FROM mailtrail.deliveries ORDER BY at
                """) == ["smtpd|work|sent|-|1haLql-0002Mh-MA",
                         "exim-out|targetuser@targetdomain.tld|sent|TLSv1.2 AES128-SHA256|-"])
            try traceMatchesGolden(db, id, golden: "utm-chain.json")
        }
    }
}
