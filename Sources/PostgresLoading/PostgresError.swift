/// PostgresError: the one error type of PostgresLoading.
///
/// Contract: every failure of this module (connection, server error, COPY,
/// protocol surprise, migration, concurrent writer) is a `PostgresError`.
/// Server errors carry the server's fields (SQLSTATE, message, detail, hint,
/// context); every error names the operation it happened in. `description`
/// is a complete, human-readable message the CLI can print as is.
/// Style: postgres-nio's `PSQLError` — `Code` wraps a private enum and is
/// exposed through static constants, so codes can be added without breaking
/// callers.
/// Limits: never contains a password (connection errors are redacted, see
/// `PGConnection`); statement texts are cut to their first 200 characters.
public struct PostgresError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case connection, server, copy, `protocol`, migration, concurrentWriter, invalidArgument
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Could not connect (server down, wrong host/port, authentication, no such database).
        public static let connection = Code(.connection)
        /// The server answered with an error; see `sqlState`.
        public static let server = Code(.server)
        /// COPY failed on the client side (data could not be sent, or the client aborted it).
        public static let copy = Code(.copy)
        /// libpq or the server behaved unexpectedly (wrong result status, missing column).
        public static let `protocol` = Code(.protocol)
        /// The schema cannot be migrated (database newer than this program, not UTF8, ...).
        public static let migration = Code(.migration)
        /// Another ingest committed the same source or host first (SQLSTATE MT001, or a
        /// correlator state version mismatch). Rerunning resumes from the committed checkpoint.
        public static let concurrentWriter = Code(.concurrentWriter)
        /// A caller passed a value this module cannot use.
        public static let invalidArgument = Code(.invalidArgument)

        public var description: String { base.rawValue }
    }

    public var code: Code
    /// The server's SQLSTATE (e.g. `42P01`, `MT001`), when the server reported the error.
    public var sqlState: String?
    /// Primary message.
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The server's CONTEXT (e.g. the PL/pgSQL line).
    public var context: String?
    /// What we were doing: `connect`, `COPY mailtrail.messages_p20240301`, `migration 0001_initial.sql`, ...
    public var operation: String?
    /// The statement (first 200 characters), when one was involved.
    public var statement: String?

    public init(code: Code, sqlState: String? = nil, message: String, detail: String? = nil,
                hint: String? = nil, context: String? = nil, operation: String? = nil,
                statement: String? = nil) {
        self.code = code; self.sqlState = sqlState; self.message = message; self.detail = detail
        self.hint = hint; self.context = context; self.operation = operation
        self.statement = statement.map { PostgresError.shorten($0) }
    }

    /// Same error, with the operation set when it had none.
    func during(_ operation: String) -> PostgresError {
        var copy = self
        if copy.operation == nil { copy.operation = operation }
        return copy
    }

    static func shorten(_ sql: String) -> String {
        let trimmed = sql.trimmingWhitespace
        if trimmed.count <= 200 { return trimmed }
        return String(trimmed.prefix(200)) + "…"
    }

    public var description: String {
        var out = message
        if let sqlState { out += " (SQLSTATE \(sqlState))" }
        if let detail, !detail.isEmpty { out += "\nDETAIL: " + detail }
        if let hint, !hint.isEmpty { out += "\nHINT: " + hint }
        if let context, !context.isEmpty { out += "\nCONTEXT: " + context }
        if let operation { out += "\nwhile: " + operation }
        if let statement, !(operation?.contains(statement) ?? false) {
            out += "\nstatement: " + statement
        }
        return out
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
