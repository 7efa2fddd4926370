// `mailtrail db grant-agent` / `db revoke-agent`: which hosts an ingest login role may write.
//
// Contract: thin wrappers over mailtrail.grant_agent() / revoke_agent()
// (sql/functions): they print the role's host patterns afterwards, one per
// line, escaped for the terminal. Run them as a superuser or a member of the
// owner role. Limits: the login role itself (and its password, kept out of
// argv) is created by the DBA, see docs/security.md.
import ArgumentParser
import MailTrailModel
import PostgresLoading

/// Checks a role name or host pattern given on the command line.
enum AgentArguments {
    static func checkRole(_ role: String) throws {
        if role.isEmpty || role.utf8.count > 63 {
            throw ValidationError("--role must be a role name of 1 to 63 bytes")
        }
        if role.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
            throw ValidationError("--role must not contain control characters")
        }
    }

    static func checkHosts(_ hosts: [String]) throws {
        for h in hosts where h.isEmpty || h.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value == 0x7F }) {
            throw ValidationError(
                "host pattern '\(TerminalText.escape(h))' is empty or contains blanks or control characters; " +
                "give syslog host names such as mx1.example.org, or globs such as 'mx*.example.org'")
        }
    }

    static func printPatterns(_ r: PGResult, role: String) {
        if r.count == 0 {
            Output.err("role \(TerminalText.escape(role)) has no hosts left in this database; it can no longer ingest here\n")
            return
        }
        for i in 0..<r.count {
            Output.out(TerminalText.escape(r.string(i, "host_pattern") ?? "") + "\n")
        }
    }

    /// The hosts as a PostgreSQL text[] literal parameter.
    static func arrayLiteral(_ items: [String]) -> String {
        "{" + items.map { s in
            var q = "\""
            for c in s.unicodeScalars {
                if c == "\"" || c == "\\" { q += "\\" }
                q.unicodeScalars.append(c)
            }
            return q + "\""
        }.joined(separator: ",") + "}"
    }
}

extension MailTrailCommand.DB {
    struct GrantAgent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grant-agent",
            abstract: "Let an ingest login role write rows for the given hosts (and nothing else).",
            discussion: """
                The role must exist and be an ordinary login role (CREATE ROLE relay1 LOGIN, password \
                in its ~/.pgpass or a client certificate). It becomes a member of PREFIX_ingest and may \
                then load rows whose host matches one of its patterns: an exact name, or a glob with * \
                (any characters) and ? (one character). The database refuses anything else. Prints the \
                role's patterns afterwards.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The ingest login role.")
        var role: String

        @Option(parsing: .upToNextOption, help: "Host names or glob patterns (e.g. mx1.example.org 'edge*').")
        var hosts: [String] = []

        mutating func validate() throws {
            try AgentArguments.checkRole(role)
            if hosts.isEmpty { throw ValidationError("give at least one host: --hosts mx1.example.org ['mx*.example.org' ...]") }
            try AgentArguments.checkHosts(hosts)
        }

        func run() throws {
            let c = try database.connect()
            let r = try c.query("SELECT agent, host_pattern FROM mailtrail.grant_agent($1, $2::text[])",
                                [role, AgentArguments.arrayLiteral(hosts)], operation: "grant-agent")
            AgentArguments.printPatterns(r, role: role)
        }
    }

    struct RevokeAgent: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "revoke-agent",
            abstract: "Take hosts (or, without --hosts, all of them) away from an ingest login role.",
            discussion: """
                Removes the given patterns exactly as granted. When the role has no pattern left in this \
                database it also leaves PREFIX_ingest. Prints the patterns that remain.
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: "The ingest login role.")
        var role: String

        @Option(parsing: .upToNextOption, help: "Patterns to remove (default: all).")
        var hosts: [String] = []

        mutating func validate() throws {
            try AgentArguments.checkRole(role)
            try AgentArguments.checkHosts(hosts)
        }

        func run() throws {
            let c = try database.connect()
            let r = try c.query("SELECT agent, host_pattern FROM mailtrail.revoke_agent($1, $2::text[])",
                                [role, hosts.isEmpty ? nil : AgentArguments.arrayLiteral(hosts)],
                                operation: "revoke-agent")
            AgentArguments.printPatterns(r, role: role)
        }
    }
}
