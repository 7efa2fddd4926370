// `mailtrail search`: transactions by sender, recipient, time, host, status, client, queue ID or Message-ID.
import ArgumentParser
import Query

extension MailTrailCommand {
    struct Search: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "search",
            abstract: "Find transactions, newest first.",
            discussion: """
                All filters combine (AND). --from/--to take an address, @domain or <> (null sender).
                Same as the SQL function mailtrail.search(...); see docs/querying.md.
                Example: mailtrail search --from alice@example.org --since 2026-11-01 --until 7d --host mx1 --limit 10
                """)

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var time: TimeRangeOptions

        @Option(help: ArgumentHelp("Envelope sender: address, @domain, or <> for the null sender.", valueName: "address"))
        var from: String?
        @Option(help: ArgumentHelp("Recipient of at least one delivery attempt: address or @domain.", valueName: "address"))
        var to: String?
        @Option(help: "Only transactions on this host.")
        var host: String?
        @Option(help: "Only transactions with a delivery attempt of this status (sent, deferred, bounced, ...).")
        var status: String?
        @Option(help: ArgumentHelp("Client address or network (192.0.2.7, 198.51.100.0/24).", valueName: "ip"))
        var clientIP: String?
        @Option(help: "Queue ID.")
        var queueID: String?
        @Option(help: ArgumentHelp("Message-ID, with or without angle brackets.", valueName: "id"))
        var msgid: String?
        @Option(help: "Show at most N transactions (the newest); default: all.")
        var limit: Int?
        @Option(help: "Output: text (blocks), json or csv.")
        var format: String = "text"

        mutating func validate() throws {
            guard SearchRenderer.Format(rawValue: format) != nil else {
                throw ValidationError("unknown --format '\(format)'; use text, json or csv")
            }
            if let s = status, !SearchFilter.statuses.contains(s) {
                throw ValidationError("unknown --status '\(s)'; use one of: \(SearchFilter.statuses.joined(separator: ", "))")
            }
            if let l = limit, l < 1 { throw ValidationError("--limit must be 1 or more (leave it out for all rows)") }
            if let ip = clientIP, !Search.looksLikeAddress(ip) {
                throw ValidationError("--client-ip '\(ip)' is not an IP address or network; e.g. 192.0.2.7, 2001:db8::1 or 198.51.100.0/24")
            }
        }

        /// Hex digits, dots and colons, optionally /prefix: the server checks the rest.
        static func looksLikeAddress(_ s: String) -> Bool {
            let parts = s.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2, let a = parts.first, !a.isEmpty else { return false }
            if parts.count == 2 { guard let n = Int(parts[1]), (0...128).contains(n) else { return false } }
            return a.allSatisfy { $0.isHexDigit || $0 == "." || $0 == ":" } && (a.contains(".") || a.contains(":"))
        }

        func run() throws {
            let filter = SearchFilter(from: from, to: to, since: time.sinceTime, until: time.untilTime, host: host,
                                      status: status, clientIP: clientIP, queueID: queueID, messageID: msgid,
                                      limit: limit)
            let query = SearchQuery(connection: try database.connect())
            switch SearchRenderer.Format(rawValue: format) ?? .text {
            case .text: Output.out(SearchRenderer.text(try query.results(filter)))
            case .csv: Output.out(SearchRenderer.csv(try query.results(filter)))
            case .json: Output.out(try query.json(filter) + "\n")
            }
        }
    }
}
