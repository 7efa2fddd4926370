/// SearchQuery: `mailtrail.search(...)` from Swift, and its text, JSON and
/// CSV renderings (`mailtrail search`).
///
/// Contract: one parameterised call of the SQL function
/// (sql/functions/search.sql) per request; filters as documented there
/// (nil = no condition). `results` reads the rows (times as RFC 3339 UTC,
/// IPs bare, deliveries parsed from the function's JSON); `json` asks the
/// server for the rows as one JSON array (`json_agg`, columns in the
/// function's order; the session's time zone is set to UTC first) and re-indents
/// it. `SearchRenderer` writes the block layout (one block per transaction:
/// transaction, msgid, from, client, date, one `to:` line per delivery
/// attempt, host; blank line between blocks) or CSV (a header, then one line
/// per delivery attempt, a transaction without attempts as one line with
/// empty delivery fields). Text and CSV pass every log-derived value through
/// `SafeText.escape`.
/// Limits: results are materialised in memory (use --limit, or SQL for
/// millions of rows); responses in the text layout are cut at 120 scalars.
import MailTrailModel
import PostgresLoading

/// The filters of `mailtrail.search()`; nil means "any".
public struct SearchFilter: Sendable, Hashable {
    public var from: String?
    public var to: String?
    public var since: Timestamp?
    public var until: Timestamp?
    public var host: String?
    public var status: String?
    public var clientIP: String?
    public var queueID: String?
    public var messageID: String?
    public var limit: Int?

    public init(from: String? = nil, to: String? = nil, since: Timestamp? = nil, until: Timestamp? = nil,
                host: String? = nil, status: String? = nil, clientIP: String? = nil, queueID: String? = nil,
                messageID: String? = nil, limit: Int? = nil) {
        self.from = from; self.to = to; self.since = since; self.until = until; self.host = host
        self.status = status; self.clientIP = clientIP; self.queueID = queueID; self.messageID = messageID
        self.limit = limit
    }

    /// Delivery statuses `status` may take (the CHECK on deliveries.status).
    public static let statuses = ["sent", "deferred", "bounced", "expired", "rejected", "discarded",
                                  "deliverable", "undeliverable", "softbounce"]

    var parameters: [String?] {
        [from, to, since?.rfc3339, until?.rfc3339, host, status, clientIP, queueID, messageID, limit.map(String.init)]
    }
}

/// One transaction found by `mailtrail.search()`.
public struct SearchResult: Sendable, Hashable {
    public var receivedAt: String
    public var host: String
    public var queueID: String
    public var messageID: String?
    public var sender: String?
    public var clientName: String?
    public var clientIP: String?
    public var size: Int64?
    public var nrcpt: Int?
    public var tlsProto: String?
    public var subject: String?
    public var deliveries: [TraceDocument.Delivery]
}

public struct SearchQuery {
    public let connection: PGConnection

    public init(connection: PGConnection) { self.connection = connection }

    static let call = """
        mailtrail.search($1, $2, $3::timestamptz, $4::timestamptz, $5, $6, $7::inet, $8, $9, $10::int)
        """

    /// The matching transactions, newest first.
    public func results(_ f: SearchFilter) throws -> [SearchResult] {
        let r = try connection.query("""
            SELECT mailtrail.trace_rfc3339(s.received_at) AS received_at, s.host, s.queue_id, s.message_id,
                   s.sender, s.client_name, host(s.client_ip) AS client_ip, s.size, s.nrcpt, s.tls_proto,
                   s.subject, s.deliveries::text AS deliveries
            FROM \(SearchQuery.call) s
            """, f.parameters, operation: "search")
        var out: [SearchResult] = []
        out.reserveCapacity(r.count)
        for i in 0..<r.count {
            var deliveries: [TraceDocument.Delivery] = []
            if let text = r.string(i, "deliveries"), let arr = try JSONValue.parse(text).arrayValue {
                deliveries = try arr.map { try TraceDocument.Delivery(json: $0, hop: i + 1) }
            }
            out.append(SearchResult(
                receivedAt: r.string(i, "received_at") ?? "", host: r.string(i, "host") ?? "",
                queueID: r.string(i, "queue_id") ?? "", messageID: r.string(i, "message_id"),
                sender: r.string(i, "sender"), clientName: r.string(i, "client_name"),
                clientIP: r.string(i, "client_ip"), size: r.int(i, "size"), nrcpt: r.int(i, "nrcpt").map { Int($0) },
                tlsProto: r.string(i, "tls_proto"), subject: r.string(i, "subject"), deliveries: deliveries))
        }
        return out
    }

    /// The matching transactions as one JSON array (server's text, re-indented; `[]` when none).
    public func json(_ f: SearchFilter) throws -> String {
        try connection.exec("SET TIME ZONE 'UTC'", operation: "search")
        let r = try connection.query("SELECT COALESCE(json_agg(s), '[]'::json)::text AS j FROM \(SearchQuery.call) s",
                                     f.parameters, operation: "search")
        let text = r.string(0, "j") ?? "[]"
        return (try? JSONValue.parse(text).pretty()) ?? text
    }
}

public enum SearchRenderer {
    public enum Format: String, CaseIterable, Sendable { case text, json, csv }

    /// The block layout; "no transactions found\n" for none.
    public static func text(_ results: [SearchResult]) -> String {
        if results.isEmpty { return "no transactions found\n" }
        let e = SafeText.escape
        let trace = TraceRenderer()
        var out = ""
        for (n, r) in results.enumerated() {
            if n > 0 { out += "\n" }
            out += "transaction: " + e(r.queueID) + "\n"
            if let m = r.messageID { out += "msgid:   <" + e(m) + ">\n" }
            if let s = r.sender { out += "from:    <" + e(s) + ">\n" }
            if let c = TraceRenderer.peer(name: r.clientName, ip: r.clientIP, port: nil) {
                out += "client:  " + c + (r.tlsProto.map { "  [" + e($0) + "]" } ?? "") + "\n"
            }
            out += "date:    " + e(r.receivedAt) + "\n"
            if let s = r.subject { out += "subject: " + trace.quoted(s) + "\n" }
            for d in r.deliveries {
                var parts = ["recipient=<" + e(d.recipient) + ">"]
                if let r = d.relay, let p = TraceRenderer.peer(name: r.name, ip: r.ip, port: r.port) {
                    parts.append("relay=" + p)
                }
                parts.append("status=" + e(d.status))
                parts.append("at=" + e(d.at))
                if let resp = d.response { parts.append(trace.quoted(resp)) }
                out += "to:      " + parts.joined(separator: "  ") + "\n"
            }
            out += "host:    " + e(r.host) + "\n"
        }
        return out
    }

    public static let csvHeader = ["received_at", "host", "queue_id", "message_id", "sender", "client_name",
                                   "client_ip", "size", "nrcpt", "tls_proto", "recipient", "orig_recipient",
                                   "delivered_at", "status", "dsn", "relay_name", "relay_ip", "relay_port",
                                   "delay", "response"]

    /// CSV with a header line; one line per delivery attempt.
    public static func csv(_ results: [SearchResult]) -> String {
        var out = SafeText.csvLine(csvHeader)
        for r in results {
            let head: [String?] = [r.receivedAt, r.host, r.queueID, r.messageID, r.sender, r.clientName, r.clientIP,
                                   r.size.map { String($0) }, r.nrcpt.map { String($0) }, r.tlsProto]
            if r.deliveries.isEmpty {
                out += SafeText.csvLine(head + [String?](repeating: nil, count: 10))
            }
            for d in r.deliveries {
                out += SafeText.csvLine(head + [d.recipient, d.origRecipient, d.at, d.status, d.dsn, d.relay?.name,
                                                d.relay?.ip, d.relay?.port.map { String($0) },
                                                d.delay.map(TraceRenderer.seconds), d.response])
            }
        }
        return out
    }
}
