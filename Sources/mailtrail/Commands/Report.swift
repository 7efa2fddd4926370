// `mailtrail report NAME`: one of the named reports (SQL functions mailtrail.report_*).
import ArgumentParser
import Query

extension MailTrailCommand {
    struct Report: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "report",
            abstract: "Run a report: " + Query.Report.names + ".",
            discussion: Query.Report.all.map { "  \($0.name): \($0.summary) (mailtrail.\($0.function))" }
                .joined(separator: "\n") + "\nSee docs/querying.md.")

        @OptionGroup var database: DatabaseOptions
        @OptionGroup var time: TimeRangeOptions

        @Argument(help: ArgumentHelp("The report.", valueName: "name"))
        var name: String

        @Option(help: "Only this host.")
        var host: String?
        @Option(help: "stuck: minutes without a final outcome (default 60); --until sets 'as of' (default now).")
        var minutes: Int = 60
        @Option(help: "Show at most N rows; default: all.")
        var limit: Int?
        @Option(help: "Output: text (table), json or csv.")
        var format: String = "text"

        mutating func validate() throws {
            guard Query.Report.named(name) != nil else {
                throw ValidationError("unknown report '\(name)'; use one of: \(Query.Report.names)")
            }
            guard ReportRenderer.Format(rawValue: format) != nil else {
                throw ValidationError("unknown --format '\(format)'; use text, json or csv")
            }
            if minutes < 0 { throw ValidationError("--minutes must be 0 or more") }
            if let l = limit, l < 1 { throw ValidationError("--limit must be 1 or more (leave it out for all rows)") }
        }

        func run() throws {
            guard let report = Query.Report.named(name) else { throw ExitCode(2) }
            let options = ReportOptions(since: time.sinceTime, until: time.untilTime, host: host, minutes: minutes,
                                        limit: limit)
            let query = ReportQuery(connection: try database.connect())
            switch ReportRenderer.Format(rawValue: format) ?? .text {
            case .text: Output.out(ReportRenderer.text(try query.run(report, options)))
            case .csv: Output.out(ReportRenderer.csv(try query.run(report, options)))
            case .json: Output.out(try query.json(report, options) + "\n")
            }
        }
    }
}
