/// TOMLTests: the configuration parser's subset, the agent's keys and
/// defaults, and the line:column messages for mistakes.
import Agent
import Testing

@Suite struct TOMLTests {
    @Test func parsesTheSupportedSubset() throws {
        let doc = try TOML.parse("""
            # comment
            [agent]
            name = "relay \\"1\\"" # trailing comment
            count = -1_000
            on = true
            [[source]]
            path = '/var/log/mail.log'
            tags = ["a", 'b',
                    "c\\u00e9",]
            [[source]]
            path = "/x"
            """, file: "t.toml")
        let agent = try #require(doc.tables["agent"])
        guard case .string(let n) = agent["name"]?.kind else { Issue.record("name"); return }
        #expect(n == "relay \"1\"")
        guard case .integer(let c) = agent["count"]?.kind else { Issue.record("count"); return }
        #expect(c == -1000)
        guard case .boolean(true) = agent["on"]?.kind else { Issue.record("on"); return }
        #expect(doc.arrays["source"]?.count == 2)
        guard case .strings(let tags) = doc.arrays["source"]?[0]["tags"]?.kind else { Issue.record("tags"); return }
        #expect(tags == ["a", "b", "cé"])
        #expect(doc.arrays["source"]?[1]["path"]?.line == 11)
    }

    @Test(arguments: [
        ("[agent]\nname = relay1\n", "t.toml:2:8: 'relay1' is not a value this configuration understands"),
        ("[agent]\nname = \"a\"\nname = \"b\"\n", "t.toml:3:1: key 'name' is given twice in [agent]"),
        ("[agent]\n[agent]\n", "t.toml:2:1: table [agent] is defined twice"),
        ("[agent\n", "t.toml:1:7: expected ']' to close the table header"),
        ("a.b = 1\n", "t.toml:1:2: dotted keys are not supported"),
        ("x = \"open\n", "t.toml:1:5: unterminated string"),
        ("x = 1.5\n", "t.toml:1:5: '1.5' is not a value"),
        ("x = { a = 1 }\n", "t.toml:1:5: inline tables are not supported"),
        ("x = [1, 2]\n", "t.toml:1:6: arrays may only hold strings"),
        ("x = \"a\" y\n", "t.toml:1:9: unexpected 'y' after the value"),
        ("x = \"\\q\"\n", "t.toml:1:7: unknown escape '\\q'"),
        ("x =\n", "t.toml:1:4: expected a value after '='"),
    ])
    func syntaxErrorsNameLineAndColumn(text: String, message: String) {
        do {
            _ = try TOML.parse(text, file: "t.toml")
            Issue.record("no error for \(text)")
        } catch {
            #expect("\(error)".hasPrefix(message), "got: \(error)")
        }
    }

    @Test func defaultsAndEffectiveConfiguration() throws {
        let c = try AgentConfig.parse("""
            [agent]
            name = "relay1"
            [[source]]
            path = "/var/log/mail.log"
            [[source]]
            path = "/var/log/exim4/*.log"
            format = "exim"
            host = "mx2"
            timezone = "Europe/Berlin"
            year = 2026
            """, file: "a.toml")
        #expect(c.pollIntervalMS == 250 && c.flushIntervalMS == 500 && c.batchLines == 20_000)
        #expect(c.rotateWaitMS == 1000 && c.retryInitialMS == 500 && c.retryMaxMS == 30_000 && c.metricsPort == 0)
        #expect(c.conninfo == nil)
        #expect(c.sources.count == 2 && c.sources[1].isGlob && !c.sources[0].isGlob)
        #expect(c.sources[1].format == .exim && c.sources[1].host == "mx2" && c.sources[1].year == 2026)
        // The rendering loads back to the same configuration.
        #expect(try AgentConfig.parse(c.render(), file: "again.toml") == c)
    }

    @Test(arguments: [
        ("[agent]\npoll = 1\n[[source]]\npath = \"/a\"\n", "a.toml:2:8: unknown key 'poll' in [agent]; known keys: name, poll_interval_ms"),
        ("[[source]]\npath = \"/a\"\n[databse]\n", "a.toml:3:1: unknown table [databse]"),
        ("[agent]\nname = \"x\"\n", "a.toml:1:1: no [[source]] table"),
        ("[[source]]\nformat = \"postfix\"\n", "a.toml:1:1: [[source]] needs a path"),
        ("[[source]]\npath = \"mail.log\"\n", "a.toml:2:8: path 'mail.log' must be absolute"),
        ("[[source]]\npath = \"/var/log/mail.log*\"\n", "a.toml:2:8: path '/var/log/mail.log*' ends with '*'"),
        ("[[source]]\npath = \"/a\"\nformat = \"qmail\"\n", "a.toml:3:10: unknown format 'qmail'; use one of: auto, postfix, sendmail, exim, utm"),
        ("[[source]]\npath = \"/a\"\ntimezone = \"Mars/Base\"\n", "a.toml:3:12: unknown timezone 'Mars/Base'"),
        ("[[source]]\npath = \"/a\"\nyear = \"2026\"\n", "a.toml:3:8: year must be an integer, not a string"),
        ("[agent]\nbatch_lines = 0\n[[source]]\npath = \"/a\"\n", "a.toml:2:15: batch_lines = 0 is out of range; use 1...10000000"),
        ("[database]\nconninfo = \"host=db password=x\"\n[[source]]\npath = \"/a\"\n", "a.toml:2:12: conninfo contains a password; put it in the agent user's ~/.pgpass"),
        ("[[source]]\npath = \"/a\"\n[[source]]\npath = \"/a\"\n", "a.toml:4:8: path '/a' is already the source on line 2"),
        ("name = \"x\"\n", "a.toml:1:8: key 'name' outside any table"),
    ])
    func configurationMistakesSayWhatToDo(text: String, message: String) {
        do {
            _ = try AgentConfig.parse(text, file: "a.toml")
            Issue.record("no error for \(text)")
        } catch {
            #expect("\(error)".hasPrefix(message), "got: \(error)")
        }
    }
}
