// `mailtrail parse`: read, frame, parse and correlate without a database; JSON lines out.
import ArgumentParser
import Ingest

#if canImport(Glibc)
import Glibc
#endif

extension MailTrailCommand {
    struct Parse: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Parse and correlate log files without a database; print JSON lines.",
            discussion: """
                One JSON object per record (kind: message, delivery, rejection) and one
                {"kind": "unparsed", "file": ..., "line": N, "reason": ...} per line not understood.
                A summary (lines, parsed, ignored, unparsed) goes to stderr.
                """)

        @OptionGroup var input: InputOptions

        @Argument(help: "Log files (plain or .gz); '-' reads standard input.")
        var files: [String] = []

        mutating func validate() throws {
            if files.isEmpty { throw ValidationError("give at least one log file, or '-' for standard input") }
        }

        func run() throws {
            let summary = try ParseRunner.run(paths: files, options: input.pipelineOptions) { bytes in
                bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, stdout) }
            }
            fflush(stdout)
            fputs(summary.render(loaded: false), stderr)
        }
    }
}
