/// SQLTests: runs every sql/tests/*.sql file against a freshly migrated database.
///
/// Contract: each file (from the embedded copy, which EmbeddedSQLTests keeps
/// equal to sql/tests) is executed through libpq as one multi-statement
/// string; it passes when it raises nothing and leaves no transaction open
/// (the files run inside BEGIN … ROLLBACK). A failure shows the file's
/// exception with its CONTEXT line.
import MailTrailTestSupport
import PostgresLoading
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct SQLTests {
    @Test(arguments: EmbeddedSQL.tests.map(\.name))
    func sqlTestFilePasses(name: String) throws {
        let sql = try #require(EmbeddedSQL.tests.first { $0.name == name }?.sql)
        try TestDatabase.with { db in
            do {
                try db.connection.exec(sql, operation: "sql/tests/\(name)")
                #expect(!db.connection.inTransaction, "sql/tests/\(name) left a transaction open (missing ROLLBACK?)")
            } catch {
                Issue.record("sql/tests/\(name) failed: \(error)")
            }
        }
    }
}
