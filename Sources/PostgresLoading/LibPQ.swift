/// LibPQ: the one file that calls libpq. `PGConnection` wraps a `PGconn`.
///
/// Contract: every `PQ*` call of mailtrail is in this file, each behind a
/// method whose doc names the C function (swift-system style). Everything
/// above sees `PGConnection`, `PGResult`, `CopySink` and `PostgresError`.
/// A connection is opened with libpq's defaults (PG* environment, service
/// file, ~/.pgpass) plus an optional conninfo string or `postgresql://` URI;
/// the session runs with `client_encoding = UTF8`, `TimeZone = UTC` and
/// `bytea_output = hex`. Parameters are always bound (`PQexecParams`, text
/// format), never spliced into SQL. NOTICEs are collected in `notices`
/// instead of being printed to stderr.
/// Error policy: every failure throws `PostgresError`; connection errors name
/// the target and the fix and never contain the password.
/// Limits: blocking I/O; one thread at a time per connection (it is
/// `@unchecked Sendable` so it can be handed to another task, not shared).
/// Text-format values only; a String parameter containing NUL gets U+FFFD
/// instead (libpq parameters are C strings), as in `CopyBinary`.
import CLibPQ
import MailTrailModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public final class PGConnection: @unchecked Sendable {
    private var conn: OpaquePointer?
    private let noticeBox = NoticeBox()
    /// The server's version as an integer, e.g. 150018 for 15.18.
    public let serverVersion: Int
    /// Where we are connected, e.g. `127.0.0.1:5432/mailtrail as postgres` (no password).
    public let target: String

    /// Opens a connection.
    ///
    /// - Parameter conninfo: nil or empty: libpq defaults (PGHOST, PGPORT, PGUSER, PGDATABASE,
    ///   PGPASSWORD, PGSERVICE, ~/.pgpass). Otherwise a `key=value` conninfo string or a
    ///   `postgresql://user@host:port/db?…` URI; its values override the environment.
    /// - Throws: `PostgresError` with code `.connection`, a message naming host, port, database
    ///   and user, and a hint with the fix.
    ///
    /// The corresponding libpq functions are `PQconnectdbParams`, `PQstatus`, `PQerrorMessage`,
    /// `PQhost`, `PQport`, `PQdb`, `PQuser`, `PQserverVersion`, `PQsetNoticeReceiver`.
    public init(conninfo: String?) throws {
        var keys: [String] = []
        var values: [String] = []
        let info = conninfo?.trimmingWhitespace ?? ""
        if !info.isEmpty { keys.append("dbname"); values.append(info) }
        keys.append("fallback_application_name"); values.append("mailtrail")
        keys.append("client_encoding"); values.append("UTF8")

        let password = info.isEmpty ? nil : PGConnection.passwordIn(conninfo: info)
        let c: OpaquePointer? = withCStrings(keys) { k in
            withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let c else {
            throw PostgresError(code: .connection, message: "could not connect to PostgreSQL: libpq is out of memory",
                                operation: "connect")
        }
        let host = PGConnection.optionalString(PQhost(c)) ?? ""
        let port = PGConnection.optionalString(PQport(c)) ?? ""
        let db = PGConnection.optionalString(PQdb(c)) ?? ""
        let user = PGConnection.optionalString(PQuser(c)) ?? ""
        let place = host.hasPrefix("/") ? "socket \(host)/.s.PGSQL.\(port)" : "\(host.isEmpty ? "localhost" : host):\(port)"
        self.target = "\(place)/\(db) as \(user)"

        if PQstatus(c) != CONNECTION_OK {
            var raw = PGConnection.optionalString(PQerrorMessage(c)) ?? "unknown error"
            PQfinish(c)
            if let password, !password.isEmpty { raw = raw.replacingAll(password, with: "***") }
            throw PGConnection.connectionError(raw: raw, place: place, db: db, user: user)
        }
        self.conn = c
        self.serverVersion = Int(PQserverVersion(c))
        PQsetNoticeReceiver(c, { arg, res in
            guard let arg, let res else { return }
            let box = Unmanaged<NoticeBox>.fromOpaque(arg).takeUnretainedValue()
            let text = PGConnection.optionalString(PQresultErrorField(res, PGConnection.fieldMessage)) ?? ""
            box.add(text)
        }, Unmanaged.passUnretained(noticeBox).toOpaque())
        try exec("SET TimeZone TO 'UTC'; SET bytea_output TO 'hex'")
    }

    deinit { close() }

    /// Closes the connection; later calls throw. The corresponding libpq function is `PQfinish`.
    public func close() {
        if let conn { PQfinish(conn) }
        conn = nil
    }

    /// NOTICE/WARNING messages the server sent (most recent last, at most 100).
    public var notices: [String] { noticeBox.messages }
    /// Forgets the collected notices.
    public func clearNotices() { noticeBox.messages.removeAll() }

    /// The server version as PostgreSQL prints it, e.g. `15.18`. The corresponding libpq function is `PQparameterStatus`.
    public var serverVersionString: String {
        guard let conn else { return "" }
        return PGConnection.optionalString(PQparameterStatus(conn, "server_version")) ?? ""
    }

    /// True inside a transaction block (also an aborted one). The corresponding libpq function is `PQtransactionStatus`.
    public var inTransaction: Bool {
        guard let conn else { return false }
        let s = PQtransactionStatus(conn)
        return s == PQTRANS_INTRANS || s == PQTRANS_INERROR || s == PQTRANS_ACTIVE
    }

    /// Runs one or more `;`-separated statements (simple query protocol, no parameters) and
    /// returns the result of the last one. Without an explicit BEGIN, several statements run
    /// as one implicit transaction. After an error the rest of the string is skipped.
    ///
    /// The corresponding libpq function is `PQexec`.
    @discardableResult
    public func exec(_ sql: String, operation: String? = nil) throws -> PGResult {
        let c = try live(operation ?? sql)
        let res = PQexec(c, sql)
        return try consume(res, sql: sql, operation: operation)
    }

    /// Runs one statement with bound text parameters `$1…$n` (nil = NULL) and returns its rows.
    ///
    /// The corresponding libpq function is `PQexecParams` (text format in and out).
    @discardableResult
    public func query(_ sql: String, _ params: [String?] = [], operation: String? = nil) throws -> PGResult {
        let c = try live(operation ?? sql)
        let cleaned: [String?] = params.map { p in p.map { $0.utf8.contains(0) ? $0.replacingNUL() : $0 } }
        let res: OpaquePointer? = withOptionalCStrings(cleaned) { values in
            PQexecParams(c, sql, Int32(values.count), nil, values, nil, nil, 0)
        }
        return try consume(res, sql: sql, operation: operation)
    }

    /// Runs `COPY … FROM STDIN` (text format) and streams what `write` puts into the sink, in
    /// chunks of about `chunkSize` bytes. Returns the number of rows the server loaded.
    ///
    /// If `write` throws, the COPY is aborted (the server discards the rows) and the error is
    /// rethrown; the surrounding transaction is then in the aborted state.
    ///
    /// The corresponding libpq functions are `PQexec`, `PQputCopyData`, `PQputCopyEnd`, `PQgetResult`.
    @discardableResult
    public func copyIn(_ sql: String, chunkSize: Int = 256 * 1024,
                       write: (inout CopySink) throws -> Void) throws -> Int64 {
        let c = try live(sql)
        let operation = PostgresError.shorten(sql)
        let start = PQexec(c, sql)
        let startStatus = start.map { PQresultStatus($0) }
        if startStatus != PGRES_COPY_IN {
            _ = try consume(start, sql: sql, operation: operation)
            throw PostgresError(code: .protocol, message: "statement did not start COPY FROM STDIN",
                                operation: operation, statement: sql)
        }
        PQclear(start)

        var sink = CopySink(chunkSize: chunkSize) { buf in
            let rc = buf.withMemoryRebound(to: CChar.self) { PQputCopyData(c, $0.baseAddress, Int32($0.count)) }
            if rc != 1 {
                throw PostgresError(code: .copy, message: "could not send COPY data: " + self.lastErrorMessage(),
                                    operation: operation)
            }
        }
        do {
            try write(&sink)
            try sink.flush()
        } catch {
            _ = PQputCopyEnd(c, "mailtrail: COPY aborted by the client")
            drainResults(c)
            throw error
        }
        if PQputCopyEnd(c, nil) != 1 {
            let msg = lastErrorMessage()
            drainResults(c)
            throw PostgresError(code: .copy, message: "could not finish COPY: " + msg, operation: operation)
        }
        // The final result says whether the server accepted every row.
        var outcome: Result<PGResult, PostgresError> = .failure(
            PostgresError(code: .protocol, message: "COPY returned no result", operation: operation))
        var first = true
        while let res = PQgetResult(c) {
            if first {
                first = false
                do { outcome = .success(try consume(res, sql: sql, operation: operation)) }
                catch let e as PostgresError { outcome = .failure(e) }
            } else {
                PQclear(res)
            }
        }
        return try outcome.get().affectedRows ?? 0
    }

    /// Runs `body` inside BEGIN … COMMIT; on any error ROLLBACK and rethrow. When a transaction
    /// is already open, `body` simply runs inside it (no nesting, no savepoint).
    @discardableResult
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        if inTransaction { return try body() }
        try exec("BEGIN")
        do {
            let value = try body()
            try exec("COMMIT")
            return value
        } catch {
            if inTransaction { _ = try? exec("ROLLBACK") }
            throw error
        }
    }

    // MARK: - Internals (all libpq)

    private func live(_ what: String) throws -> OpaquePointer {
        guard let conn else {
            throw PostgresError(code: .connection, message: "connection is closed", operation: PostgresError.shorten(what))
        }
        return conn
    }

    /// Turns a `PGresult` into a `PGResult` or a thrown error, and frees it.
    /// The corresponding libpq functions are `PQresultStatus`, `PQntuples`, `PQnfields`, `PQfname`,
    /// `PQgetisnull`, `PQgetvalue`, `PQgetlength`, `PQcmdStatus`, `PQcmdTuples`, `PQclear`.
    private func consume(_ res: OpaquePointer?, sql: String, operation: String?) throws -> PGResult {
        guard let res else {
            throw connectionLost(sql: sql, operation: operation)
        }
        defer { PQclear(res) }
        let status = PQresultStatus(res)
        switch status {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            let nrows = Int(PQntuples(res))
            let ncols = Int(PQnfields(res))
            var columns: [String] = []
            columns.reserveCapacity(ncols)
            for j in 0..<ncols { columns.append(PGConnection.optionalString(PQfname(res, Int32(j))) ?? "?column?") }
            var rows: [[String?]] = []
            rows.reserveCapacity(nrows)
            for i in 0..<nrows {
                var row: [String?] = []
                row.reserveCapacity(ncols)
                for j in 0..<ncols {
                    if PQgetisnull(res, Int32(i), Int32(j)) == 1 {
                        row.append(nil)
                    } else {
                        let len = Int(PQgetlength(res, Int32(i), Int32(j)))
                        let ptr = UnsafeRawPointer(PQgetvalue(res, Int32(i), Int32(j)))
                        row.append(ptr.map { String(decoding: UnsafeRawBufferPointer(start: $0, count: len), as: UTF8.self) } ?? "")
                    }
                }
                rows.append(row)
            }
            let tag = PGConnection.optionalString(PQcmdStatus(res)) ?? ""
            let tuples = PGConnection.optionalString(PQcmdTuples(res)).flatMap { Int64($0) }
            return PGResult(columns: columns, rows: rows, commandTag: tag, affectedRows: tuples)
        case PGRES_COPY_IN, PGRES_COPY_OUT, PGRES_COPY_BOTH:
            if let conn {
                if status == PGRES_COPY_IN { _ = PQputCopyEnd(conn, "mailtrail: use copyIn for COPY") }
                drainResults(conn)
            }
            throw PostgresError(code: .protocol, message: "COPY must go through copyIn(_:write:), not exec/query",
                                operation: operation, statement: sql)
        default:
            throw serverError(res, sql: sql, operation: operation)
        }
    }

    /// The corresponding libpq function is `PQresultErrorField` (and `PQresultErrorMessage`).
    private func serverError(_ res: OpaquePointer, sql: String, operation: String?) -> PostgresError {
        func field(_ code: Int32) -> String? {
            PGConnection.optionalString(PQresultErrorField(res, code))?.trimmingWhitespace
        }
        let sqlState = field(PGConnection.fieldSQLState)
        var message = field(PGConnection.fieldMessage) ?? ""
        if message.isEmpty {
            message = PGConnection.optionalString(PQresultErrorMessage(res))?.trimmingWhitespace ?? ""
        }
        if message.isEmpty { message = lastErrorMessage() }
        let lost = conn.map { PQstatus($0) != CONNECTION_OK } ?? true
        return PostgresError(code: lost && sqlState == nil ? .connection : .server,
                             sqlState: sqlState, message: message,
                             detail: field(PGConnection.fieldDetail), hint: field(PGConnection.fieldHint),
                             context: field(PGConnection.fieldContext), operation: operation,
                             statement: sql)
    }

    private func connectionLost(sql: String, operation: String?) -> PostgresError {
        PostgresError(code: .connection, message: "lost the connection to \(target): " + lastErrorMessage(),
                      hint: "Check that PostgreSQL is still running, then run the command again.",
                      operation: operation, statement: sql)
    }

    /// The corresponding libpq function is `PQerrorMessage`.
    private func lastErrorMessage() -> String {
        guard let conn else { return "connection is closed" }
        return PGConnection.optionalString(PQerrorMessage(conn))?.trimmingWhitespace ?? ""
    }

    /// Reads and frees every pending result. The corresponding libpq function is `PQgetResult`.
    private func drainResults(_ c: OpaquePointer) {
        while let r = PQgetResult(c) {
            let s = PQresultStatus(r)
            PQclear(r)
            if s == PGRES_COPY_IN { _ = PQputCopyEnd(c, "mailtrail: aborted"); continue }
            if s == PGRES_COPY_OUT || s == PGRES_COPY_BOTH { break }
        }
    }

    /// The password given in a conninfo string or URI, to redact it from error messages.
    /// The corresponding libpq functions are `PQconninfoParse` and `PQconninfoFree`.
    private static func passwordIn(conninfo: String) -> String? {
        var err: UnsafeMutablePointer<CChar>? = nil
        guard let opts = PQconninfoParse(conninfo, &err) else {
            if let err { PQfreemem(err) }
            return nil
        }
        defer { PQconninfoFree(opts) }
        var p = opts
        while let kw = p.pointee.keyword {
            if String(cString: kw) == "password", let v = p.pointee.val { return String(cString: v) }
            p += 1
        }
        return nil
    }

    private static func connectionError(raw: String, place: String, db: String, user: String) -> PostgresError {
        let lines = raw.split(separator: "\n").map { String($0).trimmingWhitespace }.filter { !$0.isEmpty }
        // libpq: 'connection to server at "h" (ip), port p failed: REASON' — keep the reason.
        var reason = lines.first ?? raw
        if let r = reason.firstRange(of: "failed: ") { reason = String(reason[r.upperBound...]) }
        let lower = raw.lowercased()
        let hint: String
        if lower.contains("password authentication failed") || lower.contains("no password supplied")
            || lower.contains("authentication failed") {
            hint = "Check the user name and password (PGUSER, PGPASSWORD or ~/.pgpass, or --db 'postgresql://USER:PASSWORD@HOST:PORT/DB')."
        } else if lower.contains("database") && lower.contains("does not exist") {
            hint = "Create it (createdb \(db)) or choose another database with PGDATABASE or --db."
        } else if lower.contains("role") && lower.contains("does not exist") {
            hint = "Set PGUSER (or the user in --db) to an existing PostgreSQL role."
        } else if lower.contains("invalid") || lower.contains("missing \"=\"") || lower.contains("uri") {
            hint = "Check the connection string: key=value pairs or a postgresql://user@host:port/dbname URI."
        } else {
            hint = "Is PostgreSQL running? Set PGHOST/PGPORT (and PGUSER/PGDATABASE) or pass --db 'postgresql://USER@HOST:PORT/DB'; for a local test server run scripts/pg-local start."
        }
        return PostgresError(code: .connection,
                             message: "could not connect to \(place) (database \(db.isEmpty ? "?" : db), user \(user.isEmpty ? "?" : user)): \(reason)",
                             detail: lines.count > 1 ? lines.dropFirst().joined(separator: " ") : nil,
                             hint: hint, operation: "connect")
    }

    static func optionalString(_ p: UnsafePointer<CChar>?) -> String? { p.map { String(cString: $0) } }
    static func optionalString(_ p: UnsafeMutablePointer<CChar>?) -> String? { p.map { String(cString: $0) } }

    // PG_DIAG_* field codes (libpq-fe.h / postgres_ext.h): single characters.
    static let fieldSQLState = Int32(UInt8(ascii: "C"))
    static let fieldMessage = Int32(UInt8(ascii: "M"))
    static let fieldDetail = Int32(UInt8(ascii: "D"))
    static let fieldHint = Int32(UInt8(ascii: "H"))
    static let fieldContext = Int32(UInt8(ascii: "W"))
}

/// Collects server notices; owned by the connection, handed to libpq as an opaque pointer.
private final class NoticeBox: @unchecked Sendable {
    var messages: [String] = []
    func add(_ m: String) {
        if messages.count >= 100 { messages.removeFirst() }
        messages.append(m)
    }
}

/// Calls `body` with a NULL-terminated array of C strings (libpq keyword/value arrays).
private func withCStrings<R>(_ strings: [String], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let dup: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    defer { for p in dup { free(p) } }
    return body(dup.map { UnsafePointer($0) } + [nil])
}

/// Calls `body` with an array of optional C strings (nil = SQL NULL parameter), not NULL-terminated.
private func withOptionalCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    let dup: [UnsafeMutablePointer<CChar>?] = strings.map { s in s.map { strdup($0) } ?? nil }
    defer { for p in dup { free(p) } }
    return body(dup.map { UnsafePointer($0) })
}

extension String {
    func replacingAll(_ needle: String, with replacement: String) -> String {
        guard !needle.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.firstRange(of: needle) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }

    /// NUL (U+0000) replaced by U+FFFD, the rule of `CopyBinary`.
    func replacingNUL() -> String {
        String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 }))
    }
}
