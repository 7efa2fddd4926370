// `mailtrail db migrate`: apply the schema in sql/ (embedded in the binary).
import ArgumentParser
import PostgresLoading

extension MailTrailCommand {
    struct DB: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Manage the database schema.",
            subcommands: [Migrate.self])

        struct Migrate: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create or upgrade the mailtrail schema.",
                discussion: """
                    Applies the numbered migrations of sql/migrations that the database lacks (each in
                    its own transaction), records the version in mailtrail.schema_version, and
                    re-applies every function of sql/functions. Running it again changes nothing. It
                    refuses to touch a database whose schema is newer than this mailtrail.
                    """)

            @OptionGroup var database: DatabaseOptions

            func run() throws {
                let report = try Migrator(connection: try database.connect()).migrate()
                Output.out(report.summary + (report.summary.hasSuffix("\n") ? "" : "\n"))
            }
        }
    }
}
