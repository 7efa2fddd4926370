/// ReportQuery: the named reports of `mailtrail report NAME`, each one SQL
/// function `mailtrail.report_*` (sql/functions/report_*.sql).
///
/// Contract: `Report.all` lists every report with its CLI name, SQL
/// function and one-line summary; `run` calls the function with the time
/// bounds and host (nil = unbounded / all hosts; `stuck` also takes the
/// minutes and reads "as of" `until`, default now) and returns the rows as
/// PostgreSQL prints them, after `SET TIME ZONE 'UTC'` on the connection
/// (times like `2026-11-20 09:30:05+00`); `json` returns the rows as one JSON array
/// made by the server (`json_agg`, columns in the function's order, numbers
/// as numbers). `ReportRenderer` writes an aligned table or CSV with every
/// value passed through `SafeText.escape`; `limit` cuts the rows in SQL.
/// Limits: whole results in memory; the table is as wide as its widest
/// cell.
import MailTrailModel
import PostgresLoading

public struct Report: Sendable, Hashable {
    public let name: String
    public let function: String
    public let summary: String
    /// Takes `p_minutes` after the common arguments.
    public let takesMinutes: Bool

    public static let all: [Report] = [
        Report(name: "volume", function: "report_volume", summary: "messages, recipients, bytes, outcomes and refusals per host and UTC day", takesMinutes: false),
        Report(name: "delivery-status", function: "report_delivery_status", summary: "delivery outcomes per destination domain", takesMinutes: false),
        Report(name: "reasons", function: "report_reasons", summary: "top deferral and bounce reasons", takesMinutes: false),
        Report(name: "rejections", function: "report_rejections", summary: "top refusal reasons per host and program", takesMinutes: false),
        Report(name: "tls", function: "report_tls", summary: "TLS share per direction, host and peer (any TLS, TLS >= 1.2)", takesMinutes: false),
        Report(name: "tls-protocols", function: "report_tls_protocols", summary: "TLS protocol and cipher distribution per direction", takesMinutes: false),
        Report(name: "tls-violations", function: "report_tls_violations", summary: "e-mails that crossed a network hop without TLS >= 1.2", takesMinutes: false),
        Report(name: "dkim", function: "report_dkim", summary: "DKIM: share signed and verified, per signing domain", takesMinutes: false),
        Report(name: "spam", function: "report_spam", summary: "spam verdicts and scores per host", takesMinutes: false),
        Report(name: "stuck", function: "report_stuck", summary: "accepted messages with no final outcome on any host after N minutes", takesMinutes: true),
        Report(name: "latency", function: "report_latency", summary: "p50/p95 time per host and per link", takesMinutes: false),
    ]

    public static func named(_ name: String) -> Report? { all.first { $0.name == name } }

    /// "volume, delivery-status, ..." for error messages.
    public static var names: String { all.map(\.name).joined(separator: ", ") }
}

/// Arguments common to every report.
public struct ReportOptions: Sendable, Hashable {
    public var since: Timestamp?
    public var until: Timestamp?
    public var host: String?
    /// `stuck` only: minutes without a final outcome (default 60).
    public var minutes: Int
    /// Rows at most (nil: all).
    public var limit: Int?

    public init(since: Timestamp? = nil, until: Timestamp? = nil, host: String? = nil, minutes: Int = 60,
                limit: Int? = nil) {
        self.since = since; self.until = until; self.host = host; self.minutes = minutes; self.limit = limit
    }
}

public struct ReportQuery {
    public let connection: PGConnection

    public init(connection: PGConnection) { self.connection = connection }

    func call(_ report: Report, _ o: ReportOptions) -> (String, [String?]) {
        var sql = "mailtrail.\(report.function)($1::timestamptz, $2::timestamptz, $3"
        var params: [String?] = [o.since?.rfc3339, o.until?.rfc3339, o.host]
        if report.takesMinutes {
            sql += ", $4::int"
            params.append(String(o.minutes))
        }
        sql += ") r"
        if let limit = o.limit {
            sql += " LIMIT \(max(0, limit))"
        }
        return (sql, params)
    }

    /// The report's rows as PostgreSQL prints them (the session's time zone is set to UTC first).
    public func run(_ report: Report, _ o: ReportOptions) throws -> PGResult {
        let (from, params) = call(report, o)
        try connection.exec("SET TIME ZONE 'UTC'", operation: "report \(report.name)")
        return try connection.query("SELECT * FROM \(from)", params, operation: "report \(report.name)")
    }

    /// The report's rows as one JSON array (re-indented; `[]` when none).
    public func json(_ report: Report, _ o: ReportOptions) throws -> String {
        let (from, params) = call(report, o)
        try connection.exec("SET TIME ZONE 'UTC'", operation: "report \(report.name)")
        let r = try connection.query("SELECT COALESCE(json_agg(r), '[]'::json)::text AS j FROM (SELECT * FROM \(from)) r",
                                     params, operation: "report \(report.name)")
        let text = r.string(0, "j") ?? "[]"
        return (try? JSONValue.parse(text).pretty()) ?? text
    }
}

public enum ReportRenderer {
    public enum Format: String, CaseIterable, Sendable { case text, json, csv }

    public static func text(_ r: PGResult) -> String {
        if r.isEmpty { return SafeText.table(columns: r.columns, rows: []) + "(no rows)\n" }
        return SafeText.table(columns: r.columns, rows: r.rows)
    }

    public static func csv(_ r: PGResult) -> String {
        var out = SafeText.csvLine(r.columns)
        for row in r.rows { out += SafeText.csvLine(row) }
        return out
    }
}
