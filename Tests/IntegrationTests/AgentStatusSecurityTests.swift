// The agent's bookkeeping (agent_files through agent_note_file and
// agent_file_source) under the roles of docs/security.md: a restricted
// ingest login can record and read its own followed files, is recorded under
// its login role whatever agent name its configuration gives, and can neither
// point a status row at another agent's source nor read another agent's row.
import Foundation
import MailTrailTestSupport
import PostgresLoading
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct AgentStatusSecurityTests {
    @Test func restrictedAgentsKeepTheirOwnStatusRows() throws {
        try withRoles { db, roles in
            let admin = db.connection
            let relayA = try roles.make("st_a", on: admin)
            let relayB = try roles.make("st_b", on: admin)
            _ = try admin.query("SELECT * FROM mailtrail.grant_agent($1, '{mx1}')", [relayA])
            _ = try admin.query("SELECT * FROM mailtrail.grant_agent($1, '{mx2}')", [relayB])
            let a = try connect(db, as: relayA)
            defer { a.close() }
            let b = try connect(db, as: relayB)
            defer { b.close() }
            let srcA = try BatchLoader(connection: a).openSource(fingerprint: "fp-a", path: "/var/log/mail.log",
                                                                 format: nil, hostHint: nil).sourceID
            let srcB = try BatchLoader(connection: b).openSource(fingerprint: "fp-b", path: "/var/log/mail.log",
                                                                 format: nil, hostHint: nil).sourceID
            let note = "SELECT mailtrail.agent_note_file('/var/log/mail.log', $1, $2::bigint, 1, 2, 100, 0, 0, NULL)"
            // Both relays follow the same path name: two rows, each under its login role.
            #expect(sqlState(a, note, ["pretends-to-be-b", String(srcA)]) == nil)
            #expect(sqlState(b, note, ["relay-b-config-name", String(srcB)]) == nil)
            #expect(try rows(db, "SELECT agent, source_id FROM mailtrail.agent_files ORDER BY agent")
                    == ["\(relayA)|\(srcA)", "\(relayB)|\(srcB)"])
            // Pointing its row at the other relay's source is refused.
            #expect(sqlState(a, note, [relayA, String(srcB)]) == "42501")
            // Each reads back only its own row, whatever agent name it asks for.
            let read = "SELECT fingerprint FROM mailtrail.agent_file_source($1, '/var/log/mail.log')"
            #expect(try a.query(read, [relayB]).rows.compactMap { $0[0] } == ["fp-a"])
            #expect(try b.query(read, [relayA]).rows.compactMap { $0[0] } == ["fp-b"])
            // No direct access to the table.
            #expect(sqlState(a, "SELECT count(*) FROM mailtrail.agent_files") == "42501")
            #expect(sqlState(a, "DELETE FROM mailtrail.agent_files") == "42501")
        }
    }
}
