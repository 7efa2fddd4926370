/// MaintenanceTests: retention drops whole day partitions and premakes future ones.
///
/// Contract: with partitions for today-100 … today and retention 90, a run
/// drops exactly the days before today-90 (4 tables each), keeps the rest
/// with their rows, creates today+1 … today+premake, deletes no tuple, and a
/// second run has nothing to do. NULL arguments read mailtrail.settings.
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct MaintenanceTests {
    @Test func dropsExpiredPartitionsAndPremakes() throws {
        try TestDatabase.with { db in
            let c = db.connection
            let m = Maintenance(connection: c)
            let today = try c.serverToday()
            let created = try m.ensurePartitions(from: TestDays.day(today, -100), to: today)
            #expect(created.count == 101 * 4)
            for (offset, q) in [(Int64(-100), "OLD"), (-91, "OLD2"), (-90, "EDGE"), (-50, "KEEP")] {
                try c.query("""
                    INSERT INTO mailtrail.messages (received_at, msg_key, host, mta, instance, queue_id)
                    VALUES ($1::timestamptz, 1, 'mx1', 'postfix', 'postfix', $2)
                    """, [TestDays.noon(TestDays.day(today, offset)).rfc3339, q])
            }

            try c.exec("BEGIN")
            let report = try m.run(retentionDays: 90, premakeDays: 7)
            let deleted = try c.query(
                "SELECT coalesce(sum(n_tup_del), 0) AS n FROM pg_stat_xact_user_tables WHERE schemaname = 'mailtrail'").int(0, "n")
            try c.exec("COMMIT")
            #expect(deleted == 0)

            let dropped = report.filter { $0.action == "dropped" }
            #expect(dropped.count == 10 * 4)
            #expect(Set(dropped.compactMap(\.day)) == Set((91...100).map { TestDays.day(today, -Int64($0)) }))
            #expect(dropped.contains { $0.partitionTable == TestDays.partitionName("messages", TestDays.day(today, -100)) && $0.parentTable == "messages" })
            let premade = report.filter { $0.action == "created" }
            #expect(premade.count == 7 * 4)
            #expect(Set(premade.compactMap(\.day)) == Set((1...7).map { TestDays.day(today, Int64($0)) }))

            for table in ["messages", "deliveries", "rejections", "unparsed_lines"] {
                let names = try c.partitions(of: table)
                #expect(names.count == 91 + 7)
                #expect(names.first == TestDays.partitionName(table, TestDays.day(today, -90)))
                #expect(names.last == TestDays.partitionName(table, TestDays.day(today, 7)))
            }
            let left = try c.query("SELECT string_agg(queue_id, ',' ORDER BY queue_id) AS q FROM mailtrail.messages").string(0, "q")
            #expect(left == "EDGE,KEEP")

            let again = try m.run(retentionDays: 90, premakeDays: 7)
            #expect(again.count == 1)
            #expect(again.first?.action == "ok")
        }
    }

    @Test func settingsAreTheDefaults() throws {
        try TestDatabase.with { db in
            let c = db.connection
            let m = Maintenance(connection: c)
            let today = try c.serverToday()
            _ = try m.ensurePartitions(from: TestDays.day(today, -10), to: TestDays.day(today, -10))
            try m.setSetting("retention_days", "5")
            try m.setSetting("premake_days", "2")
            #expect(try m.setting("retention_days") == "5")
            let report = try m.run()
            #expect(report.filter { $0.action == "dropped" }.count == 4)
            #expect(report.filter { $0.action == "created" }.count == 3 * 4)   // today, +1, +2
            let keepAll = try m.run(retentionDays: 0, premakeDays: 0)
            #expect(keepAll.map(\.action) == ["ok"])
        }
    }
}
