// `mailtrail status`: each followed file's host, offset, lag and counters (mailtrail.report_agent_status).
import Agent
import ArgumentParser

extension MailTrailCommand {
    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "status",
            abstract: "Show what the agents follow: host, file, offset, lag, last commit, lines parsed/unparsed.",
            discussion: "Reads the view mailtrail.report_agent_status (values as of each file's last commit).")

        @OptionGroup var database: DatabaseOptions

        func run() throws {
            Output.out(AgentStatus.render(try AgentStatus.fetch(try database.connect())))
        }
    }
}
