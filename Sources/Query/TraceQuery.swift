/// TraceQuery: fetch a trace from the database.
///
/// Contract: one parameterised statement per call, `mailtrail.trace_json()`
/// or `mailtrail.trace_json_by_queue_id()` (sql/functions/trace_json.sql);
/// the message-id may carry angle brackets (the SQL strips them). Returns
/// nil when the server finds nothing, throws `PostgresError` for database
/// failures and `TraceDocumentError` when the document breaks the contract.
/// Bounds are passed as RFC 3339 text and only limit the message-id lookup
/// (see docs/trace.md). Read-only: works on a replica and with the reader
/// role.
/// Limits: the clock-skew tolerance is the SQL default (10 minutes); call
/// `mailtrail.trace_hops(..., p_skew => ...)` from SQL to change it.
import MailTrailModel
import PostgresLoading

public struct TraceQuery {
    public let connection: PGConnection

    public init(connection: PGConnection) {
        self.connection = connection
    }

    /// The path of the e-mail with this Message-ID, optionally only hops received within the bounds.
    public func trace(messageID: String, since: Timestamp? = nil, until: Timestamp? = nil) throws -> TraceDocument? {
        let r = try connection.query(
            "SELECT mailtrail.trace_json($1, $2::timestamptz, $3::timestamptz)::text",
            [messageID, since?.rfc3339, until?.rfc3339],
            operation: "trace by message-id")
        return try document(r)
    }

    /// The path starting from the latest message with this queue ID (on `host` when given).
    public func trace(queueID: String, host: String? = nil) throws -> TraceDocument? {
        let r = try connection.query(
            "SELECT mailtrail.trace_json_by_queue_id($1, $2)::text",
            [queueID, host],
            operation: "trace by queue ID")
        return try document(r)
    }

    private func document(_ r: PGResult) throws -> TraceDocument? {
        guard let text = r.rows.first?.first ?? nil else { return nil }
        return try TraceDocument(jsonText: text)
    }
}
