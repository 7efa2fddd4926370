/// Migrator: brings a database's `mailtrail` schema to the version this binary knows.
///
/// Contract: under a session advisory lock ('mailtrail migrate'), applies every
/// embedded `sql/migrations/NNNN_*.sql` newer than the database's version, in
/// order, each in its own transaction together with its `schema_version` row;
/// then re-applies all `sql/functions/*.sql` and after them all
/// `sql/views/*.sql` (CREATE OR REPLACE; function bodies are checked when
/// first run, not when created, so function files may use each other and the
/// views created after them — the reader functions read the `fact_*` views —
/// while views may call functions) in one transaction, also
/// when there was nothing to migrate. Idempotent: a second
/// run reports "schema is at version N, nothing to do". Refuses, without
/// touching anything, a database whose version is newer than the newest
/// migration known here, a server older than PostgreSQL 14, and a database
/// whose encoding is not UTF8. Last, in the functions' transaction (after the
/// views, because grants follow name patterns over both), it runs
/// `mailtrail.apply_security()`: the group roles `<prefix>_owner`,
/// `_maintenance`, `_ingest`, `_reader` (prefix from `rolesPrefix` on the
/// first migrate, then from `mailtrail.settings.roles_prefix`; a different
/// prefix later is refused), ownership and grants (docs/security.md).
/// Limits: a migration must not contain its own BEGIN/COMMIT (each file runs
/// inside one transaction). Statements that cannot run in a transaction
/// (CREATE INDEX CONCURRENTLY, …) are not supported in migrations.
public struct Migrator {
    public typealias Script = (name: String, sql: String)

    public let connection: PGConnection
    public let migrations: [Script]
    public let functions: [Script]
    public let views: [Script]
    /// Prefix of the group roles; nil = the database's setting (default `mailtrail`).
    public var rolesPrefix: String?

    /// True when `prefix` is usable as a roles prefix: `[a-z_][a-z0-9_]{0,40}`.
    public static func isValidRolesPrefix(_ prefix: String) -> Bool {
        let b = Array(prefix.utf8)
        guard let first = b.first, b.count <= 41, first == UInt8(ascii: "_") || (first >= 0x61 && first <= 0x7A) else { return false }
        return b.allSatisfy { $0 == UInt8(ascii: "_") || ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) }
    }

    /// A migrator over the SQL embedded in the binary (`EmbeddedSQL`).
    public init(connection: PGConnection) {
        self.init(connection: connection, migrations: EmbeddedSQL.migrations, functions: EmbeddedSQL.functions,
                  views: EmbeddedSQL.views)
    }

    /// A migrator over the given scripts (tests). Migration names must start with their number.
    public init(connection: PGConnection, migrations: [Script], functions: [Script], views: [Script] = []) {
        self.connection = connection
        self.migrations = migrations.sorted { $0.name < $1.name }
        self.functions = functions.sorted { $0.name < $1.name }
        self.views = views.sorted { $0.name < $1.name }
    }

    /// The newest migration version of the embedded SQL.
    public static var newestVersion: Int {
        EmbeddedSQL.migrations.compactMap { Migrator.version(of: $0.name) }.max() ?? 0
    }

    /// The number a migration file name starts with (`0001_initial.sql` -> 1).
    public static func version(of name: String) -> Int? {
        let digits = name.prefix { $0.isASCII && $0.isNumber }
        return digits.isEmpty ? nil : Int(digits)
    }

    /// The database's schema version; 0 when mailtrail is not installed.
    public func currentVersion() throws -> Int {
        let present = try connection.query("SELECT to_regclass('mailtrail.schema_version') IS NOT NULL AS present",
                                           operation: "read schema version")
        guard present.bool(0, "present") == true else { return 0 }
        let r = try connection.query("SELECT coalesce(max(version), 0) AS version FROM mailtrail.schema_version",
                                     operation: "read schema version")
        return Int(r.int(0, "version") ?? 0)
    }

    /// Applies what is missing; see the type's contract.
    @discardableResult
    public func migrate() throws -> MigrationReport {
        var known: [(version: Int, script: Script)] = []
        for m in migrations {
            guard let v = Migrator.version(of: m.name) else {
                throw PostgresError(code: .migration, message: "migration file \(m.name) does not start with its number (NNNN_name.sql)")
            }
            if let last = known.last, last.version == v {
                throw PostgresError(code: .migration, message: "two migrations have number \(v): \(last.script.name) and \(m.name)")
            }
            known.append((v, m))
        }
        let newest = known.last?.version ?? 0

        if connection.serverVersion < 140000 {
            throw PostgresError(code: .migration,
                                message: "PostgreSQL \(connection.serverVersionString) is too old: mailtrail needs 14 or newer",
                                operation: "migrate")
        }
        let enc = try connection.query(
            "SELECT pg_encoding_to_char(encoding) AS encoding, current_database() AS db FROM pg_database WHERE datname = current_database()",
            operation: "migrate")
        if let e = enc.string(0, "encoding"), e != "UTF8" {
            let db = enc.string(0, "db") ?? "?"
            throw PostgresError(code: .migration,
                                message: "database \(db) uses encoding \(e); mailtrail needs UTF8",
                                hint: "Create the database with: createdb -E UTF8 -T template0 \(db)",
                                operation: "migrate")
        }

        if let prefix = rolesPrefix {
            guard Migrator.isValidRolesPrefix(prefix) else {
                throw PostgresError(code: .invalidArgument,
                                    message: "roles prefix \(prefix.debugDescription) is not a lower-case identifier ([a-z_][a-z0-9_]*, at most 41 characters)",
                                    operation: "migrate")
            }
            // Read by migration 0004 when it records the setting.
            try connection.query("SELECT set_config('mailtrail.roles_prefix', $1, false)", [prefix], operation: "migrate: roles prefix")
        }
        try connection.query("SELECT pg_advisory_lock(hashtext('mailtrail migrate'))", operation: "migrate: lock")
        defer { _ = try? connection.query("SELECT pg_advisory_unlock(hashtext('mailtrail migrate'))") }

        let from = try currentVersion()
        if from > newest {
            throw PostgresError(code: .migration,
                                message: "the database schema is at version \(from), newer than this mailtrail knows (\(newest)); refusing to touch it",
                                hint: "Use a mailtrail built from a version that includes migration \(from).",
                                operation: "migrate")
        }
        var applied: [String] = []
        for (version, script) in known where version > from {
            try connection.transaction {
                try connection.exec(script.sql, operation: "migration \(script.name)")
                let description = Migrator.description(of: script.name)
                try connection.query("""
                    INSERT INTO mailtrail.schema_version (version, description) VALUES ($1::int, $2)
                    ON CONFLICT (version) DO NOTHING
                    """, [String(version), description], operation: "migration \(script.name): record version")
            }
            applied.append(script.name)
        }
        try connection.transaction {
            // Function files refer to each other (reports use trace helpers); like
            // pg_dump, skip body checks so file-name order does not matter. Views
            // come afterwards and are always checked.
            try connection.exec("SET LOCAL check_function_bodies = off", operation: "migrate: functions")
            for f in functions { try connection.exec(f.sql, operation: "function file \(f.name)") }
            try connection.exec("SET LOCAL check_function_bodies = on", operation: "migrate: views")
            for v in views { try connection.exec(v.sql, operation: "view file \(v.name)") }
            // Privileges last: they are granted by name pattern over every function and view.
            if functions.contains(where: { $0.name == "apply_security.sql" }) {
                if let prefix = rolesPrefix {
                    let r = try connection.query("SELECT value FROM mailtrail.settings WHERE key = 'roles_prefix'",
                                                 operation: "migrate: roles prefix")
                    if let stored = r.string(0, "value"), stored != prefix {
                        throw PostgresError(code: .migration,
                                            message: "this database uses the roles prefix '\(stored)', not '\(prefix)'; changing it is not supported",
                                            hint: "Run migrate without --roles-prefix, or with --roles-prefix \(stored).",
                                            operation: "migrate")
                    }
                }
                try connection.query("SELECT * FROM mailtrail.apply_security()", operation: "migrate: roles and privileges")
            }
        }
        return MigrationReport(fromVersion: from, toVersion: max(from, newest), applied: applied,
                               functions: functions.map { $0.name }, views: views.map { $0.name })
    }

    static func description(of name: String) -> String {
        var s = Substring(name)
        while let c = s.first, c.isNumber { s.removeFirst() }
        if s.first == "_" { s.removeFirst() }
        if s.hasSuffix(".sql") { s.removeLast(4) }
        return s.isEmpty ? name : String(s).replacingAll("_", with: " ")
    }
}

/// What `Migrator.migrate()` did.
public struct MigrationReport: Hashable, Sendable {
    public var fromVersion: Int
    public var toVersion: Int
    /// Migration files applied, in order (empty: nothing to do).
    public var applied: [String]
    /// Function files (re-)applied.
    public var functions: [String]
    /// View files (re-)applied after the functions.
    public var views: [String]

    public init(fromVersion: Int, toVersion: Int, applied: [String], functions: [String],
                views: [String] = []) {
        self.fromVersion = fromVersion; self.toVersion = toVersion; self.applied = applied; self.functions = functions; self.views = views
    }

    /// One line for the CLI.
    public var summary: String {
        if applied.isEmpty {
            return "schema is at version \(toVersion), nothing to do (\(functions.count + views.count) function and view files refreshed)"
        }
        return "migrated schema from version \(fromVersion) to \(toVersion): \(applied.joined(separator: ", ")) (\(functions.count + views.count) function and view files applied)"
    }
}
