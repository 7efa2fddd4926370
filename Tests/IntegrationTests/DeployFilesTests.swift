// The files under deploy/ that the docker-compose demo runs: the agent
// configuration must pass `mailtrail agent --check` with the built binary,
// so the demo cannot drift from the configuration grammar.
import Foundation
import MailTrailTestSupport
import Testing

@Suite struct DeployFilesTests {
    @Test func demoAgentConfigurationIsValid() throws {
        let path = repositoryRoot.appendingPathComponent("deploy/agent-demo.toml").path
        let r = try runMailtrail(["agent", "--check", "--config", path])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.out.contains("path = \"/usr/share/mailtrail/samples/relay3.log\""))
        #expect(r.out.contains("metrics_port = 9187"))
    }
}
