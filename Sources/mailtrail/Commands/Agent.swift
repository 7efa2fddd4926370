// `mailtrail agent`: follow log files and load every line exactly once (see docs/agent.md).
import Agent
import ArgumentParser

extension MailTrailCommand {
    struct AgentCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "agent",
            abstract: "Follow log files (like tail -F) and load them into PostgreSQL, exactly once.",
            discussion: """
                Reads the TOML configuration (see docs/agent.md for every key and its default), follows \
                each [[source]] through rotation, copytruncate and gzip, and commits rows with each \
                file's checkpoint in one transaction. SIGTERM commits and exits 0; SIGHUP reloads the \
                configuration. --check validates the file and prints the effective configuration.
                """)

        @Option(help: "The agent's configuration file (TOML).")
        var config: String

        @Flag(help: "Validate the configuration, print it with every default filled in, and exit.")
        var check = false

        func run() throws {
            let c = try loadConfig()
            if check { Output.out(c.render()); return }
            throw ExitCode(AgentRunner(config: c, configPath: config).run())
        }

        private func loadConfig() throws -> AgentConfig {
            do { return try AgentConfig.load(path: config) } catch let e as ConfigError {
                throw ValidationError("\(e)")
            }
        }
    }
}
