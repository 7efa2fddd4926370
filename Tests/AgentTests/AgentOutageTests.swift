/// AgentOutageTests: the `mailtrail agent` binary while its database goes
/// away — PostgreSQL (a private cluster owned by the test) is stopped during
/// ingestion while a writer keeps appending, then started again. The agent
/// must lose and duplicate nothing (compared row by row with an uninterrupted
/// run over the same lines), log the outage once and the recovery once, and
/// keep its memory bounded while the database is down (it stops reading; the
/// log file is the buffer).
import Foundation
import MailTrailTestSupport
import PostgresLoading
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The RSS bound asserted while the database is down (docs/agent.md states it and the measured peak).
let outageRSSBoundKB = 50 * 1024

@Suite(.serialized, .enabled(if: TestDatabase.isAvailable && generatorAvailable && PrivateCluster.available,
                             "needs PostgreSQL server binaries, scripts/pg-local and ../shared/tools/maillog-gen"))
struct AgentOutageTests {
    @Test func databaseStoppedDuringIngestionLosesAndDuplicatesNothingAndMemoryStaysBounded() throws {
        let bytes = try generatedLog(messages: 200, seed: 23)   // 4 773 lines, 4 hosts
        // Reference: an uninterrupted agent over the complete file (on the shared cluster). Not
        // `mailtrail ingest`: ingest releases held messages at end of input, a follower never does.
        let expected = try cleanRun(bytes)
        #expect((expected["messages"]?.count ?? 0) > 150)

        let cluster = try PrivateCluster()
        try cluster.start()
        let admin = try PGConnection(conninfo: cluster.conninfo("postgres"))
        try admin.exec("CREATE DATABASE mailtrail")
        admin.close()
        let env = cluster.environment(database: "mailtrail")
        let migrate = try runMailtrail(["db", "migrate"], environment: env)
        #expect(migrate.status == 0, "migrate: \(migrate.err)")
        do {
            let c = try PGConnection(conninfo: cluster.conninfo("mailtrail"))
            try c.exec("UPDATE mailtrail.settings SET value = '0' WHERE key = 'retention_days'")
            c.close()
        }

        let scratch = Scratch()
        let log = scratch.path("mail.log")
        // A writer appends the log in pieces (lines cut anywhere) over about 6 s.
        let writer = Thread {
            var at = 0
            while at < bytes.count {
                let n = min(bytes.count - at, Int.random(in: 200...1600))
                appendBytes(log, bytes[at..<at + n])
                at += n
                usleep(7_000)
            }
        }
        writer.start()
        _ = waitUntil(10) { fileSize(log) > 2000 }
        let agent = try AgentProcess(config: writeConfig(scratch, paths: [log]), database: "mailtrail",
                                     scratch: scratch, environment: env)
        let pid = agent.process.processIdentifier
        var peakKB = 0
        func sample() { if let kb = residentKB(pid) { peakKB = max(peakKB, kb) } }

        // Down while the agent is busy: after its first commits, with most of the file still to come.
        var conn = try PGConnection(conninfo: cluster.conninfo("mailtrail"))
        let firstCommit = try waitUntil(20) { sample(); return (try checkpoint(conn, log)?.offset ?? 0) > 0 }
        #expect(firstCommit, "agent did not commit: \(agent.log)")
        conn.close()
        let sizeAtStop = fileSize(log)
        try cluster.stop()
        // While the database is down the agent must not read the log (the file is the buffer):
        // rchar of /proc/<pid>/io counts every byte it reads, pread included.
        let readAtStop = bytesRead(pid)
        let rssAtStop = residentKB(pid) ?? 0
        var outagePeakKB = 0
        let downUntil = Date().addingTimeInterval(3)
        while Date() < downUntil {
            if let kb = residentKB(pid) { outagePeakKB = max(outagePeakKB, kb) }
            usleep(50_000)
        }
        let sizeAtStart = fileSize(log)
        let readDuringOutage = bytesRead(pid) - readAtStop
        #expect(sizeAtStart - sizeAtStop > 100_000, "the writer must keep writing during the outage")
        #expect(agent.process.isRunning, "the agent must survive the outage: \(agent.log)")
        try cluster.start()

        // Catch up: everything written, then everything committed.
        _ = waitUntil(30) { sample(); return fileSize(log) == Int64(bytes.count) }
        conn = try PGConnection(conninfo: cluster.conninfo("mailtrail"))
        defer { conn.close() }
        let done = try waitUntil(60) { sample(); return try checkpoint(conn, log)?.offset == Int64(bytes.count) }
        sample()
        #expect(agent.terminate() == 0)
        #expect(done, "agent did not catch up: \(agent.log)")
        expectSameRows(try snapshot(conn), expected)

        let text = agent.log
        func occurrences(_ s: String) -> Int { text.components(separatedBy: s).count - 1 }
        #expect(occurrences("mailtrail agent: database error:") == 1, "outage logged once:\n\(text)")
        // One line per event: libpq's multi-line message must not split the outage report.
        #expect(text.split(separator: "\n").filter { $0.contains("database error:") && $0.contains("this is logged once") }.count == 1,
                "the outage report is one line:\n\(text)")
        #expect(text.split(separator: "\n").allSatisfy { $0.hasPrefix("mailtrail agent: ") }, "every line is a record:\n\(text)")
        #expect(occurrences("mailtrail agent: database reachable again") == 1, "recovery logged once:\n\(text)")
        #expect(outagePeakKB > 0 && outagePeakKB < outageRSSBoundKB,
                "RSS during the outage \(outagePeakKB) kB, bound \(outageRSSBoundKB) kB")
        // At most what was already there when the database went down (one read_bytes budget, 64 KiB,
        // before the failing commit) plus libpq's own small reads; the writer added > 100 kB meanwhile.
        #expect(readDuringOutage < 96 * 1024, "read \(readDuringOutage) bytes while the database was down")
        print("outage test: agent RSS \(rssAtStop) kB when the database stopped, peak during the outage \(outagePeakKB) kB, over the whole run \(peakKB) kB; read \(readDuringOutage) bytes during the outage while \(sizeAtStart - sizeAtStop) bytes were written; file \(bytes.count) bytes")
        for line in text.split(separator: "\n") where line.contains("database") { print("outage test: \(line)") }
        try cluster.stop()
    }
}
