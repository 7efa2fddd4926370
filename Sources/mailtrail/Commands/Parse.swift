// `mailtrail parse`: read, frame, parse and correlate without a database; JSON lines out.
import ArgumentParser
import Ingest

extension MailTrailCommand {
    struct Parse: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "parse",
            abstract: "Parse and correlate log files without a database; print JSON lines.",
            discussion: """
                One JSON object per record (kind: message, delivery, rejection) and one \
                {"kind": "unparsed", "file": ..., "line": N, "reason": ...} per line not understood.
                A summary (lines, parsed, ignored, unparsed) goes to stderr.
                """)

        @OptionGroup var input: InputOptions

        @Option(help: "json: one JSON line per record; none: parse and correlate, print only the summary (a benchmark of the in-process path).")
        var output: Sink = .json

        enum Sink: String, ExpressibleByArgument, CaseIterable { case json, none }

        @Argument(help: "Log files (plain or .gz); '-' reads standard input.")
        var files: [String] = []

        mutating func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one log file, or '-' for standard input") }
        }

        func run() throws {
            let print = output == .json
            let summary = try ParseRunner.run(paths: files, options: input.pipelineOptions, encodeJSON: print) {
                Output.out($0)
            }
            Output.err(summary.render(loaded: false))
        }
    }
}
