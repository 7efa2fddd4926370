// The reader role (psql users, BI tools) against the reporting objects: every
// view granted to it (fact_*, bi_*, report_*) and every search/report_*/trace*
// function answers a reader login with exactly the owner's rows over the
// ingested samples; no table is readable (the functions read the facts
// through the owner-owned fact_* views, so SELECT on messages, deliveries,
// rejections and their partitions is refused with 42501), and nothing is
// writable. The functions stay inlinable (no SECURITY DEFINER, no SET) and a
// reader's one-day query reads only that day's partitions.
// Privileges come from mailtrail.apply_security()'s name patterns, so a new
// reporting object that breaks the naming rule, or one this test does not
// call, shows up here.
import Foundation
import Ingest
import MailTrailTestSupport
import PostgresLoading
import Testing

/// The rows of a query as text (`col|col`, NULL as "NULL"), sorted.
private func sortedRows(_ c: PGConnection, _ sql: String) throws -> [String] {
    try c.query(sql).rows.map { row in row.map { $0 ?? "NULL" }.joined(separator: "|") }.sorted()
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct ReaderRoleTests {
    /// What a call over the samples must give: this many rows, exactly these rows, or a
    /// trace document with this many hops.
    enum Expected { case rows(Int), values([String]), hops(Int) }

    /// Every reader function (name/number of arguments) with a call that reaches sample rows.
    static let calls: [(function: String, sql: String, expected: Expected)] = [
        ("search/10", "SELECT t::text FROM mailtrail.search() t", .rows(24)),
        ("search/10", "SELECT t::text FROM mailtrail.search(p_to => 'grace@example.com', p_status => 'deferred') t", .rows(1)),
        ("report_delivery_status/3", "SELECT t::text FROM mailtrail.report_delivery_status() t", .rows(4)),
        ("report_dkim/3", "SELECT t::text FROM mailtrail.report_dkim() t", .rows(2)),
        ("report_latency/3", "SELECT t::text FROM mailtrail.report_latency() t", .rows(7)),
        ("report_reasons/3", "SELECT t::text FROM mailtrail.report_reasons() t", .rows(2)),
        ("report_rejections/3", "SELECT t::text FROM mailtrail.report_rejections() t", .rows(3)),
        ("report_spam/3", "SELECT t::text FROM mailtrail.report_spam() t", .rows(3)),
        ("report_stuck/4", "SELECT t::text FROM mailtrail.report_stuck(NULL, '2026-11-20 09:40Z', NULL, 5) t", .values([
            "(\"2026-11-20 09:30:05+00\",hub1,4jW96P343Gz5Z3K,deferred-greylist.3@app1.example.com,reports@app1.example.com,"
                + "grace@example.com,1,deferred,\"2026-11-20 09:30:05+00\",\"host mbox1.example.com[192.0.2.30] said: 451 4.7.1 "
                + "greylisted, try again later (in reply to RCPT TO command)\",10)"])),
        ("report_tls/3", "SELECT t::text FROM mailtrail.report_tls() t", .rows(14)),
        ("report_tls_hops/3", "SELECT t::text FROM mailtrail.report_tls_hops() t", .rows(31)),
        ("report_tls_protocols/3", "SELECT t::text FROM mailtrail.report_tls_protocols() t", .rows(4)),
        ("report_tls_violations/3", "SELECT t::text FROM mailtrail.report_tls_violations() t", .rows(3)),
        ("report_volume/3", "SELECT t::text FROM mailtrail.report_volume() t", .values([
            "(2026-11-20,hub1,8,8,317549,8,1,0,0,0)", "(2026-11-20,mbox1,7,8,260178,7,0,1,0,1)",
            "(2026-11-20,mx1,9,11,468011,11,0,0,0,2)"])),
        ("report_tls_ok/1", "SELECT mailtrail.report_tls_ok('TLSv1.2')", .values(["t"])),
        ("report_domain/1", "SELECT mailtrail.report_domain('Bob@Sender.Example')", .values(["sender.example"])),
        ("report_reason/1", "SELECT mailtrail.report_reason('host mx.partner.example[203.0.113.50] said: 550 5.1.1 "
            + "<u@partner.example> unknown (in reply to RCPT TO command)')", .values(["550 5.1.1 <address> unknown"])),
        ("trace_normalize_msgid/1", "SELECT mailtrail.trace_normalize_msgid(' <a@b> ')", .values(["a@b"])),
        ("trace_is_loopback/1", "SELECT mailtrail.trace_is_loopback('127.0.0.1')", .values(["t"])),
        ("trace_name_is_host/2", "SELECT mailtrail.trace_name_is_host('mx1.example.com', 'mx1')", .values(["t"])),
        ("trace_rfc3339/1", "SELECT mailtrail.trace_rfc3339('2026-11-20 09:30:05Z')", .values(["2026-11-20T09:30:05Z"])),
        ("trace_hop_deliveries/4", """
            SELECT d::text FROM mailtrail.fact_messages m,
                   mailtrail.trace_hop_deliveries(m.host, m.instance, m.queue_id, m.received_at) d
            """, .rows(28)),
        ("trace_hop_deliveries/6", """
            SELECT d::text FROM mailtrail.fact_messages m,
                   mailtrail.trace_hop_deliveries(m.host, m.instance, m.queue_id, m.received_at, '2026-11-20 09:40Z', NULL) d
            """, .rows(16)),
        ("trace_core/8", """
            SELECT t.hop || ' ' || array_to_string(t.parents, ',') || ' ' || coalesce(t.link, '-') || ' '
                   || (t.msg).host || ' ' || (t.msg).queue_id || ' ' || cardinality(t.deliveries)
            FROM mailtrail.trace_core('cross-3-hops.1@sender.example', NULL, NULL, NULL, NULL, NULL, NULL, '10 minutes') t
            """, .values(["1  - mx1 5EB401C41D2 1", "2 1 reinjection mx1 CE7FC1C4229 1",
                          "3 2 queued-as hub1 4jW8Yj6gzJz5YxN 1", "4 3 queued-as mbox1 0EEBE3A1F2 1"])),
        ("trace_hops_core/8", """
            SELECT t::text FROM mailtrail.trace_hops_core('cross-3-hops.1@sender.example', NULL, NULL, NULL, NULL,
                                                          NULL, NULL, '10 minutes') t
            """, .rows(4)),
        ("trace_hops/4", "SELECT t::text FROM mailtrail.trace_hops('<cross-3-hops.1@sender.example>') t", .rows(4)),
        ("trace_start/4", "SELECT t::text FROM mailtrail.trace_start('4jW96P343Gz5Z3K', 'hub1') t", .values([
            "(hub1,postfix,4jW96P343Gz5Z3K,\"2026-11-20 09:30:05+00\",deferred-greylist.3@app1.example.com)"])),
        ("trace_hops_by_queue_id/5", "SELECT t::text FROM mailtrail.trace_hops_by_queue_id('4jW96P343Gz5Z3K', 'hub1') t", .rows(2)),
        ("trace_json_core/8", """
            SELECT mailtrail.trace_json_core('cross-3-hops.1@sender.example', NULL, NULL, NULL, NULL, NULL, NULL,
                                             '10 minutes')::text
            """, .hops(4)),
        ("trace_json/3", "SELECT mailtrail.trace_json('<cross-3-hops.1@sender.example>')::text", .hops(4)),
        ("trace_json_by_queue_id/2", "SELECT mailtrail.trace_json_by_queue_id('4jW96P343Gz5Z3K', 'hub1')::text", .hops(2)),
        // The SQL hash equals the key the loader computed in Swift for every message-id.
        ("message_key/1", """
            SELECT bool_and(mailtrail.message_key(m.message_id) = m.msg_key)::text || ' ' || count(*)
            FROM mailtrail.fact_messages m WHERE m.message_id IS NOT NULL
            """, .values(["true 24"])),
    ]

    /// Rows of each view granted to the reader, over the samples.
    static let viewRows: [String: Int] = [
        "bi_deliveries": 28, "bi_messages": 24, "bi_rejections": 3, "bi_stuck_messages": 0, "bi_tls_hops": 31,
        "fact_deliveries": 28, "fact_messages": 24, "fact_rejections": 3, "report_agent_status": 0,
    ]

    @Test func readerUsesEveryReportingObjectAndNothingElse() throws {
        try withRoles { db, roles in
            let admin = db.connection
            try keepEverything(db)
            _ = try IngestRunner.run(paths: samplePaths, settings: sampleSettings(), connection: admin)
            let reader = try roles.make("bi", on: admin)
            try admin.exec("GRANT mailtrail_reader TO \"\(reader)\"")
            let r = try connect(db, as: reader)
            defer { r.close() }

            // Every view answers the reader with exactly the owner's rows.
            let views = try admin.query("""
                SELECT c.relname AS v FROM pg_class c
                 WHERE c.relnamespace = 'mailtrail'::regnamespace AND c.relkind = 'v' ORDER BY 1
                """).rows.compactMap { $0[0] }
            #expect(views == ReaderRoleTests.viewRows.keys.sorted())
            for v in views {
                let sql = "SELECT t::text FROM mailtrail.\(v) t"
                #expect(sqlState(r, sql) == nil, "\(v)")
                let got = try sortedRows(r, sql)
                #expect(got == (try sortedRows(admin, sql)), "\(v)")
                #expect(got.count == ReaderRoleTests.viewRows[v], "\(v)")
            }
            // The fact views are plain views: with the owner's rights, pulled up by the planner.
            let options = try admin.query("""
                SELECT c.relname || ' ' || coalesce(array_to_string(c.reloptions, ','), '-') AS o FROM pg_class c
                 WHERE c.relnamespace = 'mailtrail'::regnamespace AND c.relname LIKE 'fact\\_%' ORDER BY 1
                """).rows.compactMap { $0[0] }
            #expect(options == ["fact_deliveries -", "fact_messages -", "fact_rejections -"])

            // Functions: executable exactly when they follow the reader naming rule, each one
            // called below, none SECURITY DEFINER or with SET (either would stop inlining).
            let functions = try admin.query("""
                SELECT p.proname || '/' || p.pronargs AS f, p.proname AS name,
                       has_function_privilege($1, p.oid, 'EXECUTE') AS can,
                       (p.prosecdef OR p.proconfig IS NOT NULL) AS opaque, p.prolang = (SELECT l.oid FROM pg_language l WHERE l.lanname = 'sql') AS sql
                  FROM pg_proc p WHERE p.pronamespace = 'mailtrail'::regnamespace ORDER BY 1
                """, [reader])
            var readerFunctions: Set<String> = []
            for row in functions.rows {
                let name = row[1] ?? ""
                let meant = name == "search" || name.hasPrefix("report_") || name.hasPrefix("trace")
                    || name == "message_key"
                #expect((row[2] == "t") == meant, "\(row[0] ?? "")")
                if meant {
                    readerFunctions.insert(row[0] ?? "")
                    if row[4] == "t" { #expect(row[3] == "f", "\(row[0] ?? "") is SECURITY DEFINER or has SET") }
                }
            }
            #expect(readerFunctions == Set(ReaderRoleTests.calls.map(\.function)))

            // ...and each answers the reader with exactly the owner's result.
            for call in ReaderRoleTests.calls {
                #expect(sqlState(r, call.sql) == nil, "\(call.function)")
                let got = try sortedRows(r, call.sql)
                #expect(got == (try sortedRows(admin, call.sql)), "\(call.function)")
                switch call.expected {
                case .rows(let n): #expect(got.count == n, "\(call.function): \(got.count) rows")
                case .values(let v): #expect(got == v.sorted(), "\(call.function)")
                case .hops(let n):
                    let doc = try #require(got.first.flatMap { $0.data(using: .utf8) })
                    let obj = try #require(try JSONSerialization.jsonObject(with: doc) as? [String: Any])
                    #expect((obj["hops"] as? [Any])?.count == n, "\(call.function)")
                }
            }

            // Inlined as the reader too: a one-day report reads that day's partitions only (latency
            // also the day before and the next 7 days, where the hops before and after may be).
            _ = try admin.query("SELECT count(*) FROM mailtrail.ensure_day_partitions('2026-11-10', '2026-11-30')")
            let reports = Set(ReaderRoleTests.calls.map(\.function)
                .filter { $0.hasPrefix("report_") && ($0.hasSuffix("/3") || $0 == "report_stuck/4") }
                .map { String($0.prefix { $0 != "/" }) })
            #expect(reports.count == 12)
            for f in reports.sorted() {
                let plan = try r.query("EXPLAIN SELECT count(*) FROM mailtrail.\(f)('2026-11-20', '2026-11-20 23:59:59')")
                    .rows.compactMap { $0[0] }.joined(separator: "\n")
                #expect(!plan.contains("Function Scan"), "\(f) not inlined")
                let days = Set(plan.split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "_" })
                    .filter { $0.contains("_p2026") && !$0.hasSuffix("_idx") }.compactMap { Int($0.suffix(2)) })
                switch f {
                case "report_latency": #expect(days == Set(19...27), "\(f): \(days.sorted())")
                default: #expect(days == [20], "\(f): \(days.sorted())")
                }
            }

            // No table at all: the fact parents, their partitions, bookkeeping tables and sequences
            // are refused (42501), and nothing is writable.
            let readable = try admin.query("""
                SELECT c.relname AS t FROM pg_class c
                 WHERE c.relnamespace = 'mailtrail'::regnamespace AND c.relkind IN ('r', 'p', 'S')
                   AND has_table_privilege($1, c.oid, 'SELECT') ORDER BY 1
                """, [reader])
            #expect(readable.rows.isEmpty, "\(readable.rows)")
            for t in ["messages", "deliveries", "rejections", "unparsed_lines",
                      "messages_p20261120", "deliveries_p20261120", "rejections_p20261120"] {
                #expect(sqlState(r, "SELECT count(*) FROM mailtrail.\(t)") == "42501", "\(t)")
            }
            let writable = try admin.query("""
                SELECT c.relname AS t FROM pg_class c
                 WHERE c.relnamespace = 'mailtrail'::regnamespace AND c.relkind IN ('r', 'p', 'S', 'v')
                   AND (has_table_privilege($1, c.oid, 'INSERT') OR has_table_privilege($1, c.oid, 'UPDATE')
                        OR has_table_privilege($1, c.oid, 'DELETE') OR has_table_privilege($1, c.oid, 'TRUNCATE'))
                """, [reader])
            #expect(writable.rows.isEmpty, "\(writable.rows)")
            #expect(sqlState(r, "DELETE FROM mailtrail.messages") == "42501")
            #expect(sqlState(r, "DELETE FROM mailtrail.fact_messages") == "42501")
            #expect(sqlState(r, "UPDATE mailtrail.fact_deliveries SET status = 'sent'") == "42501")
        }
    }
}
