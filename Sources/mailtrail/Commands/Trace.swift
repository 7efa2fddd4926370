// `mailtrail trace`: one e-mail's path across hosts, as a tree, JSON or Graphviz.
import ArgumentParser
import MailTrailModel
import Query

extension MailTrailCommand {
    struct Trace: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "trace",
            abstract: "Show the path of a message across hosts.",
            discussion: """
                Give a Message-ID (with or without angle brackets), or --queue-id (and --host) to \
                start from one transaction. Exit status 1 when nothing is found.
                """)

        @OptionGroup var database: DatabaseOptions

        @Argument(help: "The Message-ID to trace.")
        var messageID: String?

        @Option(help: "Start from this queue ID instead of a Message-ID.")
        var queueID: String?

        @Option(help: "Host of --queue-id (queue IDs are unique per host only).")
        var host: String?

        @Option(help: "Output: text, json or dot (Graphviz).")
        var format: String = "text"

        mutating func validate() throws {
            if messageID == nil && queueID == nil {
                throw ValidationError("give a Message-ID, or --queue-id QID [--host H]")
            }
            if messageID != nil && queueID != nil {
                throw ValidationError("give either a Message-ID or --queue-id, not both")
            }
            if host != nil && queueID == nil { throw ValidationError("--host goes with --queue-id") }
            guard TraceRenderer.Format(rawValue: format) != nil else {
                throw ValidationError("unknown --format '\(format)'; use text, json or dot")
            }
        }

        func run() throws {
            let query = TraceQuery(connection: try database.connect())
            let doc: TraceDocument?
            if let queueID {
                doc = try query.trace(queueID: queueID, host: host)
            } else {
                doc = try query.trace(messageID: messageID ?? "")
            }
            guard let doc else {
                let what = queueID.map { "queue ID \($0)" + (host.map { " on host \($0)" } ?? "") }
                    ?? "Message-ID \(messageID ?? "")"
                Output.err("mailtrail: no message found for \(TerminalText.escape(what))\n")
                throw ExitCode(1)
            }
            let format = TraceRenderer.Format(rawValue: self.format) ?? .text
            var text = TraceRenderer().render(doc, format: format)
            if !text.hasSuffix("\n") { text += "\n" }
            Output.out(text)
        }
    }
}
