// `mailtrail db migrate`: apply the schema in sql/ (embedded in the binary), with its
// roles and grants; `db grant-agent` / `db revoke-agent` live in DBAgents.swift.
import ArgumentParser
import PostgresLoading

extension MailTrailCommand {
    struct DB: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "db",
            abstract: "Manage the database schema, its roles and the ingest agents.",
            subcommands: [Migrate.self, GrantAgent.self, RevokeAgent.self])

        struct Migrate: ParsableCommand {
            static let configuration = CommandConfiguration(
                commandName: "migrate",
                abstract: "Create or upgrade the mailtrail schema.",
                discussion: """
                    Applies the numbered migrations of sql/migrations that the database lacks (each in \
                    its own transaction), records the version in mailtrail.schema_version, and \
                    re-applies every function of sql/functions. Running it again changes nothing. It \
                    refuses to touch a database whose schema is newer than this mailtrail. \
                    Last it creates (when missing) the NOLOGIN group roles PREFIX_owner, \
                    PREFIX_maintenance, PREFIX_ingest and PREFIX_reader, gives the schema to the owner \
                    and grants by rule (see docs/security.md). Roles are cluster-wide: give each \
                    archive database of a cluster its own --roles-prefix on its first migrate.
                    """)

            @OptionGroup var database: DatabaseOptions

            @Option(help: ArgumentHelp(
                "Prefix of the group roles (first migrate only; default: mailtrail, later: the database's setting).",
                valueName: "prefix"))
            var rolesPrefix: String?

            mutating func validate() throws {
                if let p = rolesPrefix, !Migrator.isValidRolesPrefix(p) {
                    throw ValidationError(
                        "--roles-prefix must be a lower-case identifier: a-z or _ first, then a-z, 0-9 or _, " +
                        "at most 41 characters (e.g. mailtrail or archive_eu)")
                }
            }

            func run() throws {
                var migrator = Migrator(connection: try database.connect())
                migrator.rolesPrefix = rolesPrefix
                let report = try migrator.migrate()
                Output.out(report.summary + (report.summary.hasSuffix("\n") ? "" : "\n"))
            }
        }
    }
}
