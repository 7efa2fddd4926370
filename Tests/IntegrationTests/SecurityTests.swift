/// SecurityTests: the roles of docs/security.md against a real PostgreSQL with
/// real login roles (the throwaway cluster trusts local logins, so a test
/// connects as any role it created).
///
/// Contract: an ingest login role writes only rows of its assigned hosts
/// (another host's rows — through the loader, a direct COPY or INSERT into
/// a day partition — rows older than the retention window, another agent's
/// source, update, delete, truncate, drop, selecting anything and writing
/// through the parents are refused, and a refused batch writes nothing); it
/// cannot switch the check off (disable the trigger, replica mode, shadow
/// the transition table); sources and correlator states are private per
/// agent; the reader reaches the trace functions and the fact_* views but
/// no table, partition or write; the maintenance role runs maintenance only; grant-agent/
/// revoke-agent work from the CLI.
/// Limits: login roles are cluster-wide; each test creates its own
/// randomly named roles and drops them after the database.
import Foundation
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Testing

/// Login roles for one test, dropped (after the test database) by `drop`.
final class LoginRoles {
    let prefix = "mt_sec_" + String(UInt32.random(in: 0...UInt32.max), radix: 16) + "_"
    var names: [String] = []

    func make(_ suffix: String, on c: PGConnection) throws -> String {
        let name = prefix + suffix
        try c.exec("CREATE ROLE \"\(name)\" LOGIN")
        names.append(name)
        return name
    }

    func drop() {
        guard let admin = try? PGConnection(conninfo: "dbname=postgres") else { return }
        for n in names { _ = try? admin.exec("DROP ROLE IF EXISTS \"\(n)\"") }
        admin.close()
    }
}

/// Runs `body` with a migrated database and login roles, cleaning both up.
func withRoles(_ body: (TestDatabase, LoginRoles) throws -> Void) throws {
    let roles = LoginRoles()
    defer { roles.drop() }
    try TestDatabase.with { db in try body(db, roles) }
}

func connect(_ db: TestDatabase, as role: String) throws -> PGConnection {
    try PGConnection(conninfo: "dbname=\(db.name) user=\(role)")
}

/// The SQLSTATE a statement fails with (nil when it succeeds).
func sqlState(_ c: PGConnection, _ sql: String, _ params: [String?] = []) -> String? {
    do {
        _ = try c.query(sql, params)
        return nil
    } catch let e as PostgresError {
        return e.sqlState ?? "no sqlstate"
    } catch {
        return "other error"
    }
}

private func secMessage(_ at: Timestamp, host: String, queueID: String) -> MessageRecord {
    MessageRecord(receivedAt: at, msgKey: MessageKey.forQueue(host: host, queueID: queueID), host: host,
                  mta: "postfix", instance: "postfix", queueID: queueID, messageID: "\(queueID)@example.org",
                  sender: "a@example.com", client: Peer(name: "c.example", ip: "192.0.2.1", port: 25))
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct SecurityTests {
    @Test func ingestRoleWritesOnlyItsHosts() throws {
        try withRoles { db, roles in
            let admin = db.connection
            let relayA = try roles.make("relay_a", on: admin)
            let relayB = try roles.make("relay_b", on: admin)
            let granted = try admin.query("SELECT host_pattern FROM mailtrail.grant_agent($1, '{mx1,edge*}')", [relayA])
            #expect(granted.rows.compactMap { $0[0] } == ["edge*", "mx1"])
            _ = try admin.query("SELECT * FROM mailtrail.grant_agent($1, '{mx2}')", [relayB])
            let today = try admin.serverToday()
            let noon = TestDays.noon(today)

            let a = try connect(db, as: relayA)
            defer { a.close() }
            let loaderA = BatchLoader(connection: a)
            let srcA = try loaderA.openSource(fingerprint: "fp-shared", path: "/var/log/mail.log", format: nil, hostHint: nil)
            let ok = try loaderA.commit(Batch(
                sourceID: srcA.sourceID, fromOffset: 0, toOffset: 100, toLine: 2,
                counters: ["mx1": IngestCounters(linesRead: 1, parsed: 1), "edge7": IngestCounters(linesRead: 1, parsed: 1)],
                messages: [secMessage(noon, host: "mx1", queueID: "QA1"), secMessage(noon, host: "edge7", queueID: "QA2")],
                correlatorStates: ["mx1": (0, [1, 2, 3])]))
            #expect(ok.messages == 2)
            #expect(ok.correlatorVersions == ["mx1": 1])

            // Another host's row: refused by the database, nothing of the batch is written.
            let refused = #expect(throws: PostgresError.self) {
                try loaderA.commit(Batch(sourceID: srcA.sourceID, fromOffset: 100, toOffset: 200, toLine: 4,
                                         messages: [secMessage(noon, host: "mx1", queueID: "QA3"),
                                                    secMessage(noon, host: "mx2", queueID: "QB1")]))
            }
            #expect(refused?.sqlState == "42501")
            #expect(refused?.message.contains("may not write rows for host 'mx2'") == true)
            #expect(!a.inTransaction)
            #expect(try admin.scalarInt("SELECT count(*) FROM mailtrail.messages") == 2)
            #expect(try admin.scalarInt("SELECT committed_offset FROM mailtrail.ingest_sources WHERE agent = $1", [relayA]) == 100)
            // ... also through counters, unparsed lines and correlator states.
            #expect(throws: PostgresError.self) {
                try loaderA.commit(Batch(sourceID: srcA.sourceID, fromOffset: 100, toOffset: 200, toLine: 4,
                                         counters: ["mx2": IngestCounters(linesRead: 1, unparsed: 1)]))
            }
            #expect(throws: PostgresError.self) {
                try loaderA.commit(Batch(sourceID: srcA.sourceID, fromOffset: 100, toOffset: 200, toLine: 4,
                                         unparsed: [UnparsedLine(at: noon, host: "mx2", lineNumber: 3, offset: 100,
                                                                 reason: "x", raw: [0x41])]))
            }
            #expect(sqlState(a, "SELECT mailtrail.ingest_save_state('mx2', 0, '\\x00'::bytea)") == "42501")
            #expect(sqlState(a, "SELECT * FROM mailtrail.ingest_open_source('fp-x', NULL, NULL, 'mx2')") == "42501")

            // The login may COPY straight into a day partition (that is how the loader loads), but a
            // statement with one foreign row is refused whole, and its transaction with it.
            let partition = "mailtrail." + TestDays.partitionName("messages", today)
            let copySQL = "COPY \(partition) (\(CopyBinary.messageColumns.joined(separator: ", "))) FROM STDIN (FORMAT binary)"
            func copyData(_ messages: [MessageRecord]) -> [UInt8] {
                EncodedBatch(Batch(sourceID: srcA.sourceID, fromOffset: 0, toOffset: 0, toLine: 0, messages: MessageRows(messages))).parts[0].data.bytes
            }
            try a.exec("BEGIN")
            #expect(try a.copyIn(copySQL) { try $0.send(encoded: copyData([secMessage(noon, host: "mx1", queueID: "QC1")])) } == 1)
            let copied = #expect(throws: PostgresError.self) {
                try a.copyIn(copySQL) { sink in
                    try sink.send(encoded: copyData([secMessage(noon, host: "edge1", queueID: "QC2"),
                                                     secMessage(noon, host: "mx2", queueID: "QC3")]))
                }
            }
            #expect(copied?.sqlState == "42501")
            #expect(copied?.message.contains("may not write rows for host 'mx2'") == true)
            try a.exec("ROLLBACK")
            #expect(try admin.scalarInt("SELECT count(*) FROM mailtrail.messages") == 2)
            #expect(sqlState(a, "INSERT INTO \(partition) (received_at, msg_key, host, mta, instance, queue_id) VALUES (now(), 1, 'mx2', 'p', 'p', 'Q')") == "42501")
            // Unparsed lines: no host is fine, but only with its own source id.
            let unparsedPartition = "mailtrail." + TestDays.partitionName("unparsed_lines", today)
            let srcOther = try BatchLoader(connection: admin).openSource(fingerprint: "fp-admin", path: nil, format: nil, hostHint: nil)
            #expect(sqlState(a, "INSERT INTO \(unparsedPartition) (at, source_id, host, line_number, byte_offset, reason, raw) VALUES (now(), $1, NULL, 1, 0, 'x', '\\x00')",
                             [String(srcOther.sourceID)]) == "42501")
            // Rows older than the retention window, even where a partition still exists.
            let old = TestDays.day(today, -200)
            _ = try admin.query("SELECT * FROM mailtrail.ensure_day_partitions($1::date, $1::date)", [old.iso])
            #expect(sqlState(a, "INSERT INTO mailtrail.\(TestDays.partitionName("messages", old)) (received_at, msg_key, host, mta, instance, queue_id) VALUES ($1::timestamptz, 1, 'mx1', 'p', 'p', 'Q')",
                             [TestDays.noon(old).rfc3339]) == "42501")
            // ... which is also why a restricted login's retention argument is ignored.
            let window = try a.query("SELECT (mailtrail.ingest_batch_begin($1::bigint, 100, '{}', 0) - DATE '1970-01-01') AS d", [String(srcA.sourceID)])
            #expect(window.int(0, "d") == TestDays.day(today, -90).daysSinceEpoch)
            #expect(try admin.scalarInt("SELECT count(*) FROM mailtrail.messages") == 2)
            #expect(try admin.scalarInt("SELECT count(*) FROM mailtrail.unparsed_lines") == 0)

            // Reads, updates, deletes, truncates, drops, writes through the parents: all refused.
            for sql in ["SELECT count(*) FROM mailtrail.messages",
                        "SELECT count(*) FROM \(partition)",
                        "SELECT count(*) FROM mailtrail.correlator_state",
                        "SELECT count(*) FROM mailtrail.ingest_sources",
                        "SELECT count(*) FROM mailtrail.fact_messages",
                        "DELETE FROM mailtrail.fact_messages",
                        "UPDATE mailtrail.messages SET sender = 'x' WHERE host = 'mx2'",
                        "UPDATE \(partition) SET sender = 'x'",
                        "DELETE FROM mailtrail.messages WHERE host = 'mx2'",
                        "DELETE FROM \(partition)",
                        "TRUNCATE mailtrail.messages",
                        "TRUNCATE \(partition)",
                        "DROP TABLE \(partition)",
                        "DROP TABLE mailtrail.messages",
                        "ALTER TABLE mailtrail.messages DETACH PARTITION \(partition)",
                        "INSERT INTO mailtrail.messages (received_at, msg_key, host, mta, instance, queue_id) VALUES (now(), 1, 'mx1', 'p', 'p', 'Q')",
                        "COPY mailtrail.messages (received_at, msg_key, host, mta, instance, queue_id) FROM STDIN",
                        "INSERT INTO mailtrail.ingest_sources (fingerprint) VALUES ('x')",
                        "SELECT mailtrail.ingest_partition_access('\(partition)'::regclass)",
                        "UPDATE mailtrail.agent_hosts SET host_pattern = '*'",
                        "SELECT * FROM mailtrail.grant_agent(current_user, '{*}')",
                        "SELECT * FROM mailtrail.run_maintenance()",
                        "SELECT * FROM mailtrail.ensure_day_partitions('2030-01-01', '2030-01-01')",
                        "SELECT * FROM mailtrail.apply_security()",
                        "SELECT mailtrail.trace_json('QA1@example.org')"] {
                #expect(sqlState(a, sql) == "42501", "\(sql)")
            }

            // Sources and correlator states are private per agent.
            let b = try connect(db, as: relayB)
            defer { b.close() }
            let loaderB = BatchLoader(connection: b)
            let srcB = try loaderB.openSource(fingerprint: "fp-shared", path: "/var/log/other", format: nil, hostHint: nil)
            #expect(srcB.isNew && srcB.sourceID != srcA.sourceID && srcB.committedOffset == 0)
            #expect(try loaderB.loadCorrelatorStates().isEmpty)
            #expect(try loaderA.loadCorrelatorStates().keys.sorted() == ["mx1"])
            // B cannot commit into A's source (it does not exist for B).
            let foreign = #expect(throws: PostgresError.self) {
                try loaderB.commit(Batch(sourceID: srcA.sourceID, fromOffset: 100, toOffset: 200, toLine: 4,
                                         messages: [secMessage(noon, host: "mx2", queueID: "QB2")]))
            }
            #expect(foreign?.sqlState == "MT002")
            let okB = try loaderB.commit(Batch(sourceID: srcB.sourceID, fromOffset: 0, toOffset: 10, toLine: 1,
                                               messages: [secMessage(noon, host: "mx2", queueID: "QB3")]))
            #expect(okB.messages == 1)

            // A day without a partition: the agent's batch creates it, owned by the
            // owner role, with INSERT (and nothing else) for the ingest role, behind the trigger.
            let backfill = TestDays.day(today, -3)
            _ = try loaderA.commit(Batch(sourceID: srcA.sourceID, fromOffset: 100, toOffset: 300, toLine: 5,
                                         messages: [secMessage(TestDays.noon(backfill), host: "mx1", queueID: "QA9")]))
            let newPartition = TestDays.partitionName("messages", backfill)
            let acl = try admin.query("""
                SELECT pg_get_userbyid(relowner) AS owner, coalesce(relacl::text, '') AS acl
                  FROM pg_class WHERE oid = $1::regclass
                """, ["mailtrail." + newPartition])
            #expect(acl.string(0, "owner") == "mailtrail_owner")
            #expect(acl.string(0, "acl").map { $0.contains("mailtrail_ingest=a/mailtrail_owner") } == true)
            let privileges = try admin.query("""
                SELECT has_table_privilege('mailtrail_ingest', $1, 'INSERT') AS ins,
                       has_table_privilege('mailtrail_ingest', $1, 'SELECT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') AS other,
                       has_table_privilege('mailtrail_reader', $1, 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE') AS reader
                """, ["mailtrail." + newPartition])
            #expect(privileges.bool(0, "ins") == true && privileges.bool(0, "other") == false && privileges.bool(0, "reader") == false)
            #expect(try admin.scalarInt("SELECT count(*) FROM pg_trigger WHERE tgrelid = $1::regclass AND tgname = 'ingest_check_rows'",
                                        ["mailtrail." + newPartition]) == 1)
            #expect(sqlState(a, "SELECT count(*) FROM mailtrail.\(newPartition)") == "42501")
        }
    }

    @Test func ingestRoleCannotSwitchTheCheckOff() throws {
        try withRoles { db, roles in
            let admin = db.connection
            let relay = try roles.make("relay", on: admin)
            _ = try admin.query("SELECT * FROM mailtrail.grant_agent($1, '{mx1}')", [relay])
            let today = try admin.serverToday()
            _ = try admin.query("SELECT * FROM mailtrail.ensure_day_partitions($1::date, $1::date)", [today.iso])
            let partition = "mailtrail." + TestDays.partitionName("deliveries", today)
            let c = try connect(db, as: relay)
            defer { c.close() }
            let foreign = "INSERT INTO \(partition) (at, msg_key, host, instance, queue_id, recipient, status) VALUES (now(), 1, 'mx2', 'p', 'Q', 'r@x', 'sent')"
            for sql in ["ALTER TABLE \(partition) DISABLE TRIGGER ingest_check_rows",
                        "ALTER TABLE \(partition) DISABLE TRIGGER ALL",
                        "DROP TRIGGER ingest_check_rows ON \(partition)",
                        "SET session_replication_role = replica",
                        "ALTER FUNCTION mailtrail.ingest_check_rows() SECURITY INVOKER",
                        "CREATE OR REPLACE FUNCTION mailtrail.ingest_check_rows() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NULL; END'"] {
                #expect(sqlState(c, sql) == "42501", "\(sql)")
            }
            // A temporary relation named like the transition table does not shadow it.
            try c.exec("CREATE TEMP VIEW new_rows AS SELECT 'mx1'::text AS host, now() AS at")
            #expect(sqlState(c, foreign) == "42501")
            // The login's own hosts go in.
            #expect(sqlState(c, foreign.replacingOccurrences(of: "'mx2'", with: "'mx1'")) == nil)
            #expect(try admin.scalarInt("SELECT count(*) FROM mailtrail.deliveries") == 1)
        }
    }

    @Test func readerReadsOnlyThroughItsFunctions() throws {
        try withRoles { db, roles in
            let admin = db.connection
            let today = try admin.serverToday()
            let loader = BatchLoader(connection: admin)
            let src = try loader.openSource(fingerprint: "fp-r", path: nil, format: nil, hostHint: nil)
            _ = try loader.commit(Batch(sourceID: src.sourceID, fromOffset: 0, toOffset: 10, toLine: 1,
                                        messages: [secMessage(TestDays.noon(today), host: "mx1", queueID: "QR1")]))
            let reader = try roles.make("reader", on: admin)
            try admin.exec("GRANT mailtrail_reader TO \"\(reader)\"")
            let maint = try roles.make("maint", on: admin)
            try admin.exec("GRANT mailtrail_maintenance TO \"\(maint)\"")

            let r = try connect(db, as: reader)
            defer { r.close() }
            let doc = try r.query("SELECT mailtrail.trace_json('<QR1@example.org>')::text AS d").string(0, "d")
            #expect(doc?.contains("\"queue_id\": \"QR1\"") == true)
            #expect(try r.query("SELECT count(*) AS n FROM mailtrail.trace_hops_by_queue_id('QR1', 'mx1')").int(0, "n") == 1)
            let partition = "mailtrail." + TestDays.partitionName("messages", today)
            // The facts are readable through the fact_* views only (the reader's functions read
            // them, with the reader's rights, so that they can be inlined and prune partitions);
            // no table is: not the fact parents, not a partition, nothing else.
            #expect(try r.query("SELECT count(*) AS n FROM mailtrail.fact_messages").int(0, "n") == 1)
            for sql in ["SELECT count(*) FROM mailtrail.messages",
                        "SELECT count(*) FROM mailtrail.deliveries",
                        "SELECT count(*) FROM mailtrail.rejections",
                        "SELECT count(*) FROM \(partition)",
                        "SELECT count(*) FROM mailtrail.unparsed_lines",
                        "SELECT count(*) FROM mailtrail.ingest_sources",
                        "SELECT count(*) FROM mailtrail.correlator_state",
                        "INSERT INTO mailtrail.messages (received_at, msg_key, host, mta, instance, queue_id) VALUES (now(), 1, 'mx1', 'p', 'p', 'Q')",
                        "INSERT INTO \(partition) (received_at, msg_key, host, mta, instance, queue_id) VALUES (now(), 1, 'mx1', 'p', 'p', 'Q')",
                        "UPDATE mailtrail.messages SET sender = 'x'",
                        "DELETE FROM mailtrail.messages",
                        "TRUNCATE mailtrail.messages",
                        "UPDATE mailtrail.settings SET value = '1' WHERE key = 'retention_days'",
                        "SELECT mailtrail.ingest_batch_begin(1, 0, '{}')",
                        "SELECT * FROM mailtrail.ingest_open_source('fp')",
                        "SELECT * FROM mailtrail.run_maintenance()"] {
                #expect(sqlState(r, sql) == "42501", "\(sql)")
            }

            let m = try connect(db, as: maint)
            defer { m.close() }
            let ran = try m.query("SELECT action FROM mailtrail.run_maintenance(30, 1)")
            #expect(ran.count >= 1)
            #expect(sqlState(m, "UPDATE mailtrail.settings SET value = '60' WHERE key = 'retention_days'") == nil)
            #expect(sqlState(m, "SELECT count(*) FROM mailtrail.messages") == "42501")
            #expect(sqlState(m, "DELETE FROM mailtrail.settings") == "42501")
            let owner = try admin.query("""
                SELECT DISTINCT pg_get_userbyid(c.relowner) AS o FROM pg_class c
                 WHERE c.relnamespace = 'mailtrail'::regnamespace AND c.relkind IN ('r', 'p')
                """)
            #expect(owner.rows.compactMap { $0[0] } == ["mailtrail_owner"])
        }
    }

    @Test func grantAndRevokeAgentFromTheCLI() throws {
        try withRoles { db, roles in
            let relay = try roles.make("cli", on: db.connection)
            let env = ["PGDATABASE": db.name]
            let g = try runMailtrail(["db", "grant-agent", "--role", relay, "--hosts", "mx1", "edge*"], environment: env)
            #expect(g.status == 0, "\(g.err)")
            #expect(g.out == "edge*\nmx1\n")
            let member = try db.connection.query("SELECT pg_has_role($1, 'mailtrail_ingest', 'MEMBER') AS m", [relay])
            #expect(member.bool(0, "m") == true)
            let r1 = try runMailtrail(["db", "revoke-agent", "--role", relay, "--hosts", "edge*"], environment: env)
            #expect(r1.out == "mx1\n")
            let r2 = try runMailtrail(["db", "revoke-agent", "--role", relay], environment: env)
            #expect(r2.status == 0 && r2.out == "")
            #expect(r2.err.contains("has no hosts left"))
            let after = try db.connection.query("SELECT pg_has_role($1, 'mailtrail_ingest', 'MEMBER') AS m", [relay])
            #expect(after.bool(0, "m") == false)

            let missing = try runMailtrail(["db", "grant-agent", "--role", roles.prefix + "nobody", "--hosts", "mx1"], environment: env)
            #expect(missing.status != 0)
            #expect(missing.err.contains("does not exist"))
            let bad = try runMailtrail(["db", "grant-agent", "--role", relay, "--hosts", "mx\u{1b}[2J"], environment: env)
            #expect(bad.status != 0)
            #expect(bad.err.contains("mx\\x1B[2J"))
            #expect(!bad.err.contains("\u{1b}"))
            let pw = try runMailtrail(["db", "grant-agent", "--db", "host=x password=secret", "--role", relay, "--hosts", "mx1"])
            #expect(pw.status != 0 && pw.err.contains("passwords never go on the command line"))
        }
    }
}
