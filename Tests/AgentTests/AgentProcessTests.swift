/// AgentProcessTests: the `mailtrail agent` binary against real PostgreSQL
/// and real files — freshness and incomplete last lines, kill -9 at random
/// moments (and between COPY and COMMIT), rotation in all its forms; each
/// compared row by row with an uninterrupted run over the same lines.
import Foundation
import MailTrailTestSupport
import PostgresLoading
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Byte offsets just after each `\n` of `bytes`.
func lineEnds(_ bytes: [UInt8]) -> [Int] {
    var ends: [Int] = []
    for (i, b) in bytes.enumerated() where b == 0x0a { ends.append(i + 1) }
    return ends
}

@Suite(.serialized, .enabled(if: TestDatabase.isAvailable && generatorAvailable,
                             "needs PostgreSQL (scripts/pg-local start) and ../shared/tools/maillog-gen"))
struct AgentProcessTests {
    @Test func anIncompleteLastLineWaitsAndNewLinesAreQueryableWithinTwoSeconds() throws {
        let bytes = try generatedLog(messages: 5, seed: 11)
        let ends = lineEnds(bytes)
        let db = try agentDatabase()
        defer { db.drop() }
        let scratch = Scratch()
        let log = scratch.path("mail.log")
        // Ten lines and half of the eleventh.
        let half = ends[9] + (ends[10] - ends[9]) / 2
        appendBytes(log, bytes[0..<half])
        let port = Int.random(in: 20_000...60_000)
        let agent = try AgentProcess(config: writeConfig(scratch, paths: [log], extra: "metrics_port = \(port)"),
                                     database: db.name, scratch: scratch)
        defer { agent.terminate() }
        #expect(try waitUntil(10) { try checkpoint(db.connection, log)?.line == 10 })
        usleep(800_000)
        let cp = try checkpoint(db.connection, log)
        #expect(cp?.line == 10 && cp?.offset == Int64(ends[9]), "the half line must not be loaded")

        // Completing the line (and one more) makes both queryable quickly.
        let start = Date()
        appendBytes(log, bytes[half..<ends[11]])
        #expect(try waitUntil(5) { try checkpoint(db.connection, log)?.line == 12 })
        let elapsed = Date().timeIntervalSince(start)
        #expect(elapsed < 2, "freshness \(elapsed) s")
        #expect(try db.connection.scalarInt("SELECT lines_read FROM mailtrail.ingest_sources") == 12)

        // Status for readers (the view) and on the command line; metrics on localhost.
        #expect(try db.connection.query("SELECT agent, path, \"offset\", line, lag_bytes FROM mailtrail.report_agent_status")
                    .rows.map { $0.map { $0 ?? "NULL" }.joined(separator: "|") }
                == ["test|\(log)|\(ends[11])|12|0"])
        let status = try runMailtrail(["status"], environment: ["PGDATABASE": db.name])
        #expect(status.status == 0)
        #expect(status.out.hasPrefix("AGENT  HOST"))
        #expect(status.out.contains("test   "))
        #expect(status.out.contains(log))
        let metrics = try runProgram("/usr/bin/curl", ["-s", "http://127.0.0.1:\(port)/metrics"])
        #expect(metrics.contains("mailtrail_agent_offset_bytes{path=\"\(log)\"} \(ends[11])"))
        #expect(metrics.contains("mailtrail_agent_database_up 1"))

        // SIGHUP reloads the configuration and keeps following.
        kill(agent.process.processIdentifier, SIGHUP)
        #expect(waitUntil(5) { agent.log.contains("configuration reloaded") })
        appendBytes(log, bytes[ends[11]..<ends[12]])
        #expect(try waitUntil(5) { try checkpoint(db.connection, log)?.line == 13 })
        #expect(agent.terminate() == 0)
        #expect(agent.log.contains("stopped (SIGTERM): pending lines committed"))
    }

    @Test func killNineAtRandomMomentsGivesTheSameRowsAsACleanRun() throws {
        let bytes = try generatedLog(messages: 150, seed: 7)
        let expected = try cleanRun(bytes)
        #expect((expected["messages"]?.count ?? 0) > 100)

        let db = try agentDatabase()
        defer { db.drop() }
        let scratch = Scratch()
        let log = scratch.path("mail.log")
        let config = writeConfig(scratch, paths: [log])
        // A writer appends the log in random pieces (lines cut anywhere) while the agent is killed.
        let writer = Thread {
            var rng = SystemRandomNumberGenerator()
            var at = 0
            while at < bytes.count {
                let n = min(bytes.count - at, Int.random(in: 1...3000, using: &rng))
                appendBytes(log, bytes[at..<at + n])
                at += n
                usleep(UInt32.random(in: 1_000...8_000, using: &rng))
            }
        }
        writer.start()
        // First inside the transaction, after COPY and merge, before COMMIT (test hook), then at random moments.
        _ = waitUntil(10) { fileSize(log) > 2000 }
        let hooked = try AgentProcess(config: config, database: db.name, scratch: scratch,
                                      environment: ["MAILTRAIL_AGENT_TEST_KILL_BEFORE_COMMIT": "1"])
        let died = waitUntil(20) { !hooked.process.isRunning }
        if !died { hooked.kill9() }
        #expect(died && hooked.process.terminationReason == .uncaughtSignal && hooked.process.terminationStatus == SIGKILL)
        #expect(try checkpoint(db.connection, log) == nil, "the hooked commit must not be visible")
        var kills = 0
        for _ in 0..<20 {
            let agent = try AgentProcess(config: config, database: db.name, scratch: scratch)
            usleep(UInt32.random(in: 50_000...400_000))
            agent.kill9()
            kills += 1
        }
        _ = waitUntil(60) { fileSize(log) == Int64(bytes.count) }
        let last = try AgentProcess(config: config, database: db.name, scratch: scratch)
        let done = try waitUntil(60) { try checkpoint(db.connection, log)?.offset == Int64(bytes.count) }
        #expect(last.terminate() == 0)
        #expect(done, "agent did not catch up: \(last.log)")
        #expect(kills == 20)
        expectSameRows(try snapshot(db.connection), expected)
    }

    @Test func rotationInAllItsFormsLosesAndDuplicatesNothing() throws {
        let bytes = try generatedLog(messages: 120, seed: 5)
        let ends = lineEnds(bytes)
        let expected = try cleanRun(bytes)
        let db = try agentDatabase()
        defer { db.drop() }
        let scratch = Scratch()
        let log = scratch.path("mail.log")
        let config = writeConfig(scratch, paths: [log])
        // Cut points: eight parts of the stream, each on a line end.
        let cuts = (0...8).map { $0 == 0 ? 0 : ($0 == 8 ? bytes.count : ends[ends.count * $0 / 8 - 1]) }
        func part(_ i: Int) -> ArraySlice<UInt8> { bytes[cuts[i]..<cuts[i + 1]] }
        func caughtUp(_ n: Int64) throws -> Bool { try checkpoint(db.connection, log)?.offset == n }
        func writeFast(_ path: String, _ slice: ArraySlice<UInt8>) {
            var at = slice.startIndex
            while at < slice.endIndex {
                let n = min(slice.endIndex - at, 700)
                appendBytes(path, slice[at..<at + n])
                at += n
            }
        }

        var agent = try AgentProcess(config: config, database: db.name, scratch: scratch)
        // 1. Rename + create under heavy writing; the writer keeps using the old file briefly.
        writeFast(log, part(0))
        #expect(try waitUntil(20) { try caughtUp(Int64(part(0).count)) }, "start: \(agent.log)")
        let p1 = part(1)
        let mid = p1.startIndex + (ends.first { $0 > p1.startIndex + p1.count / 2 }! - p1.startIndex)
        writeFast(log, p1[p1.startIndex..<mid])
        #expect(rename(log, log + ".1") == 0)
        writeFast(log + ".1", p1[mid..<p1.endIndex])     // late lines into the renamed file
        writeFast(log, part(2))                           // the new file
        #expect(try waitUntil(20) { try caughtUp(Int64(part(2).count)) }, "rename: \(agent.log)")

        // 2. copytruncate (the writer pauses during copy + truncate).
        writeFast(log, part(3))
        let copy = try Data(contentsOf: URL(fileURLWithPath: log))
        unlink(log + ".1")
        FileManager.default.createFile(atPath: log + ".1", contents: copy)
        #expect(truncate(log, 0) == 0)
        writeFast(log, part(4))
        #expect(try waitUntil(20) { try caughtUp(Int64(part(4).count)) }, "copytruncate: \(agent.log)")

        // 3. Truncate while stopped (everything complete was committed at SIGTERM).
        #expect(agent.terminate() == 0)
        #expect(truncate(log, 0) == 0)
        writeFast(log, part(5))
        agent = try AgentProcess(config: config, database: db.name, scratch: scratch)
        #expect(try waitUntil(20) { try caughtUp(Int64(part(5).count)) }, "truncate while stopped: \(agent.log)")

        // 4. Rotate + gzip while stopped, with lines the agent had not read yet in the rotated file.
        #expect(agent.terminate() == 0)
        let p6 = part(6)
        let mid6 = ends.first { $0 > p6.startIndex + p6.count / 2 }!
        writeFast(log, p6[p6.startIndex..<mid6])
        unlink(log + ".1")
        #expect(rename(log, log + ".1") == 0)
        let gz = Process()
        gz.executableURL = URL(fileURLWithPath: "/bin/gzip")
        gz.arguments = [log + ".1"]
        try gz.run(); gz.waitUntilExit()
        #expect(gz.terminationStatus == 0)
        writeFast(log, p6[mid6..<p6.endIndex])
        agent = try AgentProcess(config: config, database: db.name, scratch: scratch)
        #expect(try waitUntil(20) { try caughtUp(Int64(p6.endIndex - mid6)) }, "rotate+gzip while stopped: \(agent.log)")
        #expect(agent.log.contains("catching up with rotated file \(log).1.gz"))

        // 5. Delete and recreate (the inode is free again, so it may be reused) while stopped.
        #expect(agent.terminate() == 0)
        var before = stat()
        stat(log, &before)
        unlink(log)
        writeFast(log, part(7))
        var after = stat()
        stat(log, &after)
        agent = try AgentProcess(config: config, database: db.name, scratch: scratch)
        #expect(try waitUntil(20) { try caughtUp(Int64(part(7).count)) }, "delete + recreate: \(agent.log)")
        #expect(agent.terminate() == 0)
        if before.st_ino != after.st_ino {
            // Not an error: the file system chose another inode; identity is the first line either way.
            print("note: the recreated file got inode \(after.st_ino), the deleted one had \(before.st_ino)")
        }
        let actual = try snapshot(db.connection)
        expectSameRows(actual, expected)
        if actual != expected {
            let sources = try db.connection.query("SELECT source_id, path, committed_offset, committed_line FROM mailtrail.ingest_sources ORDER BY 1")
                .rows.map { $0.map { $0 ?? "NULL" }.joined(separator: "|") }
            Issue.record("parts \((0..<8).map { part($0).count }); sources \(sources); log:\n\(agent.log)")
        }
    }
}

/// Runs a program and returns its standard output.
func runProgram(_ path: String, _ args: [String]) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: o, as: UTF8.self)
}
