// `mailtrail ingest`: load log files into PostgreSQL (exactly once per line).
import ArgumentParser
import Ingest

extension MailTrailCommand {
    struct Ingest: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ingest",
            abstract: "Load log files into PostgreSQL.",
            discussion: """
                Files may be plain or gzip'd; '-' reads standard input. Give rotated files oldest \
                first (mail.log.2.gz mail.log.1 mail.log). Each file's progress is checkpointed with \
                its rows in one transaction, so ingesting a file again adds nothing and an \
                interrupted run resumes where it stopped. Lines that cannot be parsed are counted \
                and stored in mailtrail.unparsed_lines; they never abort a batch.
                """)

        @OptionGroup var input: InputOptions
        @OptionGroup var database: DatabaseOptions

        @Option(help: "Lines per committed batch (one batch loads while the next is parsed).")
        var batchLines: Int = 50_000

        @Flag(help: "Do not show the progress line.")
        var quiet = false

        @Argument(help: "Log files (plain or .gz); '-' reads standard input.")
        var files: [String] = []

        mutating func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one log file, or '-' for standard input") }
            if batchLines < 1 { throw ValidationError("--batch-lines must be at least 1") }
            if files.filter({ $0 == "-" }).count > 1 { throw ValidationError("'-' (standard input) can be given once") }
        }

        func run() throws {
            let connection = try database.connect()
            var settings = IngestSettings()
            settings.pipeline = input.pipelineOptions
            settings.batchLines = batchLines
            settings.progress = !quiet
            let summary = try IngestRunner.run(paths: files, settings: settings, connection: connection)
            Output.err(summary.render(loaded: true))
        }
    }
}
