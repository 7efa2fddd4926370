/// MigratorTests: `Migrator` on a real database.
///
/// Contract: an empty database is migrated to the newest version with every
/// table, function and the default settings; a second run is a no-op that
/// still refreshes the functions; a database newer than the binary is refused
/// untouched; migrations apply in order and each is recorded.
import MailTrailTestSupport
import PostgresLoading
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct MigratorTests {
    @Test func migratesEmptyDatabaseThenIsANoOp() throws {
        try TestDatabase.with(migrated: false) { db in
            let m = Migrator(connection: db.connection)
            #expect(try m.currentVersion() == 0)
            let first = try m.migrate()
            #expect(first.fromVersion == 0)
            #expect(first.toVersion == Migrator.newestVersion)
            #expect(first.applied == EmbeddedSQL.migrations.map(\.name))
            #expect(first.functions == EmbeddedSQL.functions.map(\.name))
            #expect(first.views == EmbeddedSQL.views.map(\.name))
            #expect(try m.currentVersion() == Migrator.newestVersion)

            let tables = try db.connection.query("""
                SELECT string_agg(relname, ',' ORDER BY relname) AS t FROM pg_class c
                JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'mailtrail' AND c.relkind IN ('r', 'p')
                """).string(0, "t")
            #expect(tables == "agent_files,agent_hosts,correlator_state,deliveries,ingest_counts,ingest_sources,messages,rejections,schema_version,settings,unparsed_lines")
            let settings = try db.connection.query(
                "SELECT string_agg(key || '=' || value, ',' ORDER BY key) AS s FROM mailtrail.settings").string(0, "s")
            #expect(settings == "premake_days=7,retention_days=90,roles_prefix=mailtrail")
            let row = try db.connection.query("SELECT version, description FROM mailtrail.schema_version ORDER BY version")
            #expect(row.string(0, "version") == "1")
            #expect(row.string(0, "description") == "initial")

            // Second run: nothing to migrate, functions refreshed.
            try db.connection.exec("DROP FUNCTION mailtrail.partition_name(text, date)")
            let second = try m.migrate()
            #expect(second.applied.isEmpty)
            #expect(second.summary.hasPrefix("schema is at version \(Migrator.newestVersion), nothing to do"))
            let name = try db.connection.query("SELECT mailtrail.partition_name('messages', '2024-03-01') AS n").string(0, "n")
            #expect(name == "messages_p20240301")
            let count = try db.connection.query("SELECT count(*) AS n FROM mailtrail.schema_version").int(0, "n")
            #expect(count == Int64(EmbeddedSQL.migrations.count))
        }
    }

    @Test func refusesANewerDatabase() throws {
        try TestDatabase.with { db in
            try db.connection.exec("INSERT INTO mailtrail.schema_version (version, description) VALUES (99, 'from the future')")
            let error = #expect(throws: PostgresError.self) { try Migrator(connection: db.connection).migrate() }
            #expect(error?.code == .migration)
            let text = error.map { String(describing: $0) } ?? ""
            #expect(text.contains("schema is at version 99, newer than this mailtrail knows (\(Migrator.newestVersion))"))
            let version = try Migrator(connection: db.connection).currentVersion()
            #expect(version == 99)
        }
    }

    @Test func appliesLaterMigrationsInOrder() throws {
        try TestDatabase.with(migrated: false) { db in
            let base = EmbeddedSQL.migrations
            let extra: [Migrator.Script] = [
                (name: "9003_third.sql", sql: "ALTER TABLE mailtrail.t2 ADD COLUMN c int;"),
                (name: "9002_second_step.sql", sql: "CREATE TABLE mailtrail.t2 (v int);"),
            ]
            let m = Migrator(connection: db.connection, migrations: base + extra, functions: EmbeddedSQL.functions)
            let report = try m.migrate()
            #expect(report.applied == base.map(\.name).sorted() + ["9002_second_step.sql", "9003_third.sql"])
            #expect(report.toVersion == 9003)
            let d = try db.connection.query("SELECT description FROM mailtrail.schema_version WHERE version = 9002").string(0, "description")
            #expect(d == "second step")
            // A failing migration rolls back alone and is not recorded.
            let broken = Migrator(connection: db.connection,
                                  migrations: base + extra + [(name: "9004_broken.sql", sql: "CREATE TABLE mailtrail.t4 (v int); SELECT no_such_column FROM mailtrail.t2;")],
                                  functions: EmbeddedSQL.functions)
            let error = #expect(throws: PostgresError.self) { try broken.migrate() }
            #expect(error?.sqlState == "42703")
            #expect(error?.operation == "migration 9004_broken.sql")
            #expect(try m.currentVersion() == 9003)
            let t4 = try db.connection.query("SELECT to_regclass('mailtrail.t4') IS NULL AS gone").bool(0, "gone")
            #expect(t4 == true)
        }
    }
}
