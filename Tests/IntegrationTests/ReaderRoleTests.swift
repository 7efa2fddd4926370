// The reader role (psql users, BI tools) against the reporting objects of
// issue 5: every bi_* view and every search/report_*/trace* function is
// usable by a reader login, with data in the tables behind them, and no other
// relation or function of the schema is. Privileges come from
// mailtrail.apply_security()'s name patterns, so a new reporting object that
// breaks the naming rule shows up here.
import Foundation
import Ingest
import MailTrailTestSupport
import PostgresLoading
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct ReaderRoleTests {
    @Test func readerUsesEveryReportingObjectAndNothingElse() throws {
        try withRoles { db, roles in
            let admin = db.connection
            try keepEverything(db)
            _ = try IngestRunner.run(paths: samplePaths, settings: sampleSettings(), connection: admin)
            let reader = try roles.make("bi", on: admin)
            try admin.exec("GRANT mailtrail_reader TO \"\(reader)\"")
            let r = try connect(db, as: reader)
            defer { r.close() }

            // Every BI view answers with the sample rows behind it.
            let views = try admin.query("""
                SELECT c.relname AS v FROM pg_class c
                 WHERE c.relnamespace = 'mailtrail'::regnamespace AND c.relkind = 'v' ORDER BY 1
                """).rows.compactMap { $0[0] }
            #expect(views == ["bi_deliveries", "bi_messages", "bi_rejections", "bi_stuck_messages", "bi_tls_hops",
                            "report_agent_status"])
            for v in views {
                #expect(sqlState(r, "SELECT count(*) FROM mailtrail.\(v)") == nil, "\(v)")
            }
            #expect(try r.query("SELECT count(*) AS n FROM mailtrail.bi_messages").int(0, "n") == 24)
            #expect(try r.query("SELECT count(*) AS n FROM mailtrail.bi_deliveries").int(0, "n") == 28)

            // Functions: executable exactly when they follow the reader naming rule.
            let functions = try admin.query("""
                SELECT p.oid::regprocedure::text AS f, p.proname AS name,
                       has_function_privilege($1, p.oid, 'EXECUTE') AS can
                  FROM pg_proc p WHERE p.pronamespace = 'mailtrail'::regnamespace ORDER BY 1
                """, [reader])
            var readerFunctions: [String] = []
            for row in functions.rows {
                let name = row[1] ?? ""
                let meant = name == "search" || name.hasPrefix("report_") || name.hasPrefix("trace")
                #expect((row[2] == "t") == meant, "\(row[0] ?? "")")
                if meant { readerFunctions.append(name) }
            }
            #expect(readerFunctions.contains("search") && readerFunctions.contains("report_volume")
                    && readerFunctions.contains("trace_json"))
            // ...and they answer, as the reader, from the sample rows.
            #expect(try r.query("SELECT count(*) AS n FROM mailtrail.search()").int(0, "n") == 24)
            #expect(try r.query("SELECT sum(messages) AS n FROM mailtrail.report_volume()").int(0, "n") == 24)

            // No table, sequence or partition is readable directly.
            let readable = try admin.query("""
                SELECT c.relname AS t FROM pg_class c
                 WHERE c.relnamespace = 'mailtrail'::regnamespace AND c.relkind IN ('r', 'p', 'S')
                   AND (has_table_privilege($1, c.oid, 'SELECT') OR has_table_privilege($1, c.oid, 'INSERT'))
                """, [reader])
            #expect(readable.rows.isEmpty, "\(readable.rows)")
            #expect(sqlState(r, "SELECT count(*) FROM mailtrail.messages") == "42501")
        }
    }
}
