/// TestDatabase: a fresh, uniquely named PostgreSQL database per test.
///
/// Contract: connects with the PG* environment (PGHOST, PGPORT, PGUSER,
/// PGPASSWORD, PGDATABASE; `eval "$(scripts/pg-local env)"` sets them for the
/// local throwaway cluster), creates `mt_test_<random>`, optionally migrates
/// it with the embedded SQL, and drops it (WITH FORCE) in `drop()` / deinit.
/// When no server is reachable: with `CI=true` (or MAILTRAIL_TEST_DATABASE=1,
/// set by scripts/test) database tests must FAIL — `isAvailable` is then
/// true and `init` throws a clear error; otherwise `isAvailable` is false and
/// tests gated with `.enabled(if: TestDatabase.isAvailable)` are skipped
/// (a message on stderr says why).
/// Limits: needs the CREATEDB privilege; PostgreSQL 13+ for DROP … WITH (FORCE).
import PostgresLoading
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class TestDatabase: @unchecked Sendable {
    /// The database's name, e.g. `mt_test_1a2b3c4d5e6f`.
    public let name: String
    /// An open connection to it.
    public let connection: PGConnection
    private var dropped = false

    /// True when database tests must run: CI=true or MAILTRAIL_TEST_DATABASE=1.
    public static var required: Bool {
        env("CI")?.lowercased() == "true" || env("MAILTRAIL_TEST_DATABASE") == "1"
    }

    /// Whether database tests should run (see the type's contract). Evaluated once.
    public static let isAvailable: Bool = {
        if required { return true }
        do {
            _ = try adminConnection()
            return true
        } catch {
            let text = "skipping PostgreSQL tests: \(error)\n(start one with: scripts/pg-local start; eval \"$(scripts/pg-local env)\")\n"
            _ = text.utf8CString.withUnsafeBufferPointer { write(2, $0.baseAddress, $0.count - 1) }
            return false
        }
    }()

    /// Creates (and by default migrates) a fresh database.
    public init(migrated: Bool = true) throws {
        let admin: PGConnection
        do {
            admin = try TestDatabase.adminConnection()
        } catch {
            throw PostgresError(code: .connection,
                                message: "PostgreSQL is required for this test run (CI=true or MAILTRAIL_TEST_DATABASE=1) but is not reachable: \(error)",
                                hint: "Run scripts/pg-local start and export its environment (eval \"$(scripts/pg-local env)\").")
        }
        let name = "mt_test_" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
        try admin.exec("CREATE DATABASE \"\(name)\"")
        admin.close()
        self.name = name
        do {
            self.connection = try PGConnection(conninfo: "dbname=\(name)")
        } catch {
            TestDatabase.dropDatabase(name)
            throw error
        }
        if migrated {
            do { try Migrator(connection: connection).migrate() } catch {
                connection.close()
                TestDatabase.dropDatabase(name)
                dropped = true
                throw error
            }
        }
    }

    deinit { drop() }

    /// Another connection to the same database.
    public func connect() throws -> PGConnection { try PGConnection(conninfo: "dbname=\(name)") }

    /// Closes the connection and drops the database (idempotent).
    public func drop() {
        if dropped { return }
        dropped = true
        connection.close()
        TestDatabase.dropDatabase(name)
    }

    /// Runs `body` with a fresh database and drops it afterwards, also when `body` throws.
    public static func with<T>(migrated: Bool = true, _ body: (TestDatabase) throws -> T) throws -> T {
        let db = try TestDatabase(migrated: migrated)
        defer { db.drop() }
        return try body(db)
    }

    private static func dropDatabase(_ name: String) {
        guard let admin = try? adminConnection() else { return }
        _ = try? admin.exec("DROP DATABASE IF EXISTS \"\(name)\" WITH (FORCE)")
        admin.close()
    }

    /// A connection for CREATE/DROP DATABASE: the environment's database, else `postgres`.
    private static func adminConnection() throws -> PGConnection {
        do {
            return try PGConnection(conninfo: nil)
        } catch let first {
            if let c = try? PGConnection(conninfo: "dbname=postgres") { return c }
            throw first
        }
    }

    static func env(_ key: String) -> String? {
        guard let v = getenv(key) else { return nil }
        return String(cString: v)
    }
}
