// mailtrail: the command-line entry point. Each subcommand lives in
// Commands/<Name>.swift and only parses flags and calls a library module.
import ArgumentParser

@main
struct MailTrailCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mailtrail",
        abstract: "Archive mail-server logs in PostgreSQL and trace e-mails across relays.",
        discussion: """
            Typical use: `mailtrail db migrate`, then `mailtrail ingest /var/log/mail.log*`,
            then `mailtrail trace '<message-id>'`. The database comes from libpq's conventions
            (PG* variables, ~/.pgpass, service files) or --db.
            """,
        version: "0.1.0",
        subcommands: [Ingest.self, AgentCommand.self, Status.self, Parse.self, Trace.self, DB.self, Maintain.self]
    )
}
