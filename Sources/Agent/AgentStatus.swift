/// AgentStatus: what `mailtrail status` prints — one line per followed path
/// from the view mailtrail.report_agent_status (readers can query it too).
///
/// Contract: `fetch` returns the rows ordered by agent and path; `render`
/// makes an aligned text table with host, path, offset, lag (bytes and
/// seconds), last commit age and the line counters.
/// Limits: values are as of each path's last commit (a stopped agent shows
/// an old last commit, not a growing lag).
import PostgresLoading

public struct AgentStatusRow: Sendable, Equatable {
    public var agent: String
    public var hosts: String
    public var path: String
    public var offset: Int64
    public var lagBytes: Int64
    public var lagSeconds: Double
    public var lastCommitAgeSeconds: Double?
    public var linesRead: Int64
    public var parsed: Int64
    public var unparsed: Int64
}

public enum AgentStatus {
    public static func fetch(_ connection: PGConnection) throws -> [AgentStatusRow] {
        let present = try connection.query("SELECT to_regclass('mailtrail.report_agent_status') IS NOT NULL AS p")
        guard present.bool(0, "p") == true else {
            throw PostgresError(code: .migration, message: "the database has no agent status yet (schema older than migration 0005)",
                                hint: "Run: mailtrail db migrate", operation: "status")
        }
        let r = try connection.query("""
            SELECT agent, hosts, path, "offset", lag_bytes, lag_seconds,
                   extract(epoch FROM now() - last_commit)::float8 AS age, lines_read, parsed, unparsed
              FROM mailtrail.report_agent_status ORDER BY agent, path
            """, operation: "read agent status")
        return (0..<r.count).map { i in
            AgentStatusRow(agent: r.string(i, "agent") ?? "", hosts: r.string(i, "hosts") ?? "",
                           path: r.string(i, "path") ?? "", offset: r.int(i, "offset") ?? 0,
                           lagBytes: r.int(i, "lag_bytes") ?? 0,
                           lagSeconds: Double(r.string(i, "lag_seconds") ?? "0") ?? 0,
                           lastCommitAgeSeconds: r.string(i, "age").flatMap { Double($0) },
                           linesRead: r.int(i, "lines_read") ?? 0, parsed: r.int(i, "parsed") ?? 0,
                           unparsed: r.int(i, "unparsed") ?? 0)
        }
    }

    public static func render(_ rows: [AgentStatusRow]) -> String {
        if rows.isEmpty { return "no followed files yet (start `mailtrail agent --config FILE`)\n" }
        let header = ["AGENT", "HOST", "FILE", "OFFSET", "LAG", "LAG_S", "LAST_COMMIT", "LINES", "PARSED", "UNPARSED"]
        var table = [header]
        for r in rows {
            let age = r.lastCommitAgeSeconds.map { "\(Int($0)) s ago" } ?? "never"
            table.append([r.agent, r.hosts.isEmpty ? "-" : r.hosts, r.path, String(r.offset), String(r.lagBytes),
                          String(Int(r.lagSeconds.rounded())), age, String(r.linesRead), String(r.parsed), String(r.unparsed)])
        }
        var widths = [Int](repeating: 0, count: header.count)
        for row in table { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        var out = ""
        for row in table {
            var line = ""
            for (i, c) in row.enumerated() {
                let numeric = i >= 3 && i != 6
                let pad = String(repeating: " ", count: widths[i] - c.count)
                line += (i == 0 ? "" : "  ") + (numeric ? pad + c : c + (i == row.count - 1 ? "" : pad))
            }
            out += line + "\n"
        }
        return out
    }
}
