// mailtrail: the command-line entry point. Each subcommand lives in
// Commands/<Name>.swift and only parses flags and calls a library module.
// Every CommandConfiguration names its command (`commandName:`): left out, the
// argument parser derives it from the type's name at every start with the
// runtime's demangler, about 1 M instructions per command (a quarter of the
// process's start-up).
import ArgumentParser
import MailTrailModel
#if canImport(Glibc)
import Glibc
#endif

@main
struct MailTrailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailtrail",
        abstract: "Archive mail-server logs in PostgreSQL and trace e-mails across relays.",
        discussion: """
            Typical use: `mailtrail db migrate`, then `mailtrail ingest /var/log/mail.log*`, \
            then `mailtrail trace '<message-id>'`, `mailtrail search`, `mailtrail report NAME`. The database comes from libpq's conventions \
            (PG* variables, ~/.pgpass, service files) or --db.
            """,
        version: "0.1.0",
        subcommands: [Ingest.self, AgentCommand.self, Status.self, Parse.self, Trace.self, Search.self, Report.self,
                      DB.self, Maintain.self]
    )

    /// Like ArgumentParser's `main()`, but every message (help, errors that echo a
    /// file name, a host or a database message) goes through `Output`, which
    /// escapes control characters.
    static func main() {
        // The parsers build short Strings bit by bit in the standard library's small form
        // (`SmallASCII`); a runtime that lays Strings out otherwise must not run this build.
        guard SmallASCII.layoutMatches else {
            Output.err("mailtrail: this Swift runtime lays out Strings differently from the one this build was "
                + "written for (SmallASCII in Sources/MailTrailModel/EximStrings.swift); build mailtrail with the "
                + "Swift 6 toolchain the README names, and run its tests (EximStringsTests checks the layout)\n")
            Glibc.exit(70)
        }
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            let code = exitCode(for: error)
            var message = fullMessage(for: error)
            if !message.isEmpty && !message.hasSuffix("\n") { message += "\n" }
            if code == .success {
                Output.out(message)
            } else {
                Output.err(message)
            }
            Glibc.exit(code.rawValue)
        }
    }
}
