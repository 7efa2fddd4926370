// `mailtrail maintain`: create day partitions ahead and drop those past retention.
import ArgumentParser
import PostgresLoading

extension MailTrailCommand {
    struct Maintain: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "maintain",
            abstract: "Create partitions ahead and drop whole day partitions past the retention window.",
            discussion: """
                The same as SELECT * FROM mailtrail.run_maintenance(retention, premake) in psql or \
                pg_cron. Old days are detached and dropped as whole partitions, never DELETEd. \
                Without flags the database's settings apply (mailtrail.settings: retention_days, \
                premake_days; defaults 90 and 7).
                """)

        @OptionGroup var database: DatabaseOptions

        @Option(help: "Keep this many days (default: the database's retention_days setting, 90).")
        var retentionDays: Int?

        @Option(help: "Create partitions for this many days ahead (default: premake_days setting, 7).")
        var premakeDays: Int?

        mutating func validate() throws {
            if let r = retentionDays, r < 1 { throw ValidationError("--retention-days must be at least 1") }
            if let p = premakeDays, p < 0 { throw ValidationError("--premake-days must be 0 or more") }
        }

        func run() throws {
            let actions = try Maintenance(connection: try database.connect())
                .run(retentionDays: retentionDays, premakeDays: premakeDays)
            var created = 0, dropped = 0
            for a in actions {
                if a.action.hasPrefix("creat") { created += 1 }
                if a.action.hasPrefix("drop") { dropped += 1 }
                Output.out("\(a.action)\t\(a.partitionTable ?? "-")\t\(a.day?.iso ?? "-")\t\(a.detail ?? "")\n")
            }
            Output.err("maintain: \(created) partitions created, \(dropped) dropped\n")
        }
    }
}
