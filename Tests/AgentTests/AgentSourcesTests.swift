/// AgentSourcesTests: one `mailtrail agent` process following several
/// sources at once — a plain path, a glob whose files appear while the agent
/// runs, and a path absent at start (its directory too) — each host's lines
/// in its own file, compared row by row with an uninterrupted run over all
/// lines in one file (one correlator per host either way).
import Foundation
import MailTrailTestSupport
import PostgresLoading
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The lines of `bytes` (each with its newline) grouped by their host field (the second word).
func linesByHost(_ bytes: [UInt8]) -> [String: [UInt8]] {
    var out: [String: [UInt8]] = [:]
    var start = 0
    for (i, b) in bytes.enumerated() where b == 0x0a {
        let line = bytes[start...i]
        let words = line.split(separator: 0x20, maxSplits: 2)
        let host = words.count > 1 ? String(decoding: words[1], as: UTF8.self) : ""
        out[host, default: []].append(contentsOf: line)
        start = i + 1
    }
    return out
}

@Suite(.serialized, .enabled(if: TestDatabase.isAvailable && generatorAvailable,
                             "needs PostgreSQL (scripts/pg-local start) and ../shared/tools/maillog-gen"))
struct AgentSourcesTests {
    @Test func aGlobAPathAppearingLaterAndSeveralSourcesInOneAgent() throws {
        let bytes = try generatedLog(messages: 60, seed: 31)
        let hosts = linesByHost(bytes)
        #expect(hosts.keys.sorted() == ["mbox1", "mbox2", "mx1", "smtp1"])
        let expected = try cleanRun(bytes)
        #expect((expected["messages"]?.count ?? 0) > 40)

        let db = try agentDatabase()
        defer { db.drop() }
        let scratch = Scratch()
        mkdir(scratch.path("a"), 0o755)
        mkdir(scratch.path("b"), 0o755)
        let plain = scratch.path("a/mail.log")           // exists at start
        let glob = scratch.path("b/*.log")               // matches nothing at start
        let late = scratch.path("c/late.log")            // neither it nor its directory exist at start
        let globbed = [scratch.path("b/mbox1.log"), scratch.path("b/smtp1.log")]
        let mx1 = hosts["mx1"]!, half = lineEnds(mx1)[lineEnds(mx1).count / 2]
        appendBytes(plain, mx1[0..<half])
        let agent = try AgentProcess(config: writeConfig(scratch, paths: [plain, glob, late]),
                                     database: db.name, scratch: scratch)
        #expect(try waitUntil(20) { try checkpoint(db.connection, plain)?.offset == Int64(half) }, "plain: \(agent.log)")
        #expect(waitUntil(5) { agent.log.contains("waiting for \(late) to appear") })

        // The glob's files and the late path appear; the plain file grows.
        let mbox1 = hosts["mbox1"]!, mhalf = lineEnds(mbox1)[lineEnds(mbox1).count / 2]
        appendBytes(globbed[0], mbox1[0..<mhalf])
        appendBytes(globbed[1], hosts["smtp1"]![...])
        mkdir(scratch.path("c"), 0o755)
        appendBytes(late, hosts["mbox2"]![...])
        appendBytes(plain, mx1[half...])
        appendBytes(globbed[0], mbox1[mhalf...])
        let files = [plain, late] + globbed
        let done = try waitUntil(30) {
            try files.allSatisfy { try checkpoint(db.connection, $0)?.offset == fileSize($0) }
        }
        let positions = try files.map { "\($0): \(String(describing: try checkpoint(db.connection, $0)))" }
        #expect(agent.terminate() == 0)
        #expect(done, "not caught up: \(positions); \(agent.log)")
        #expect(agent.log.components(separatedBy: "waiting for \(late) to appear").count == 2, "reported once")
        #expect(try db.connection.query("SELECT path FROM mailtrail.agent_files ORDER BY 1").rows.map { $0[0] ?? "" }
                == files.sorted())
        expectSameRows(try snapshot(db.connection), expected)
    }
}
