/// AgentProcessSupport: running the built `mailtrail agent` binary against a
/// test database and real files — scratch directories, generated logs
/// (maillog-gen with a seed), waiting for checkpoints, and a row-by-row
/// snapshot of the fact tables to compare two databases.
/// Limits: needs the generator at ../shared/tools/maillog-gen next to the
/// checkout (tests that need it are skipped with a message otherwise).
import Foundation
import MailTrailTestSupport
import PostgresLoading
import Testing
#if canImport(Glibc)
import Glibc
#endif

let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

let generatorPath = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/tools/maillog-gen").path
let generatorAvailable = FileManager.default.isExecutableFile(atPath: generatorPath)

/// Postfix lines with RFC 3339 stamps (no year or zone guessing), deterministic for a seed.
func generatedLog(messages: Int, seed: Int) throws -> [UInt8] {
    let out = NSTemporaryDirectory() + "mt-gen-\(messages)-\(seed)-\(getpid()).log"
    defer { unlink(out) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: generatorPath)
    p.arguments = ["-n", String(messages), "--seed", String(seed), "-t", "rfc3339", "-o", out]
    try p.run(); p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    return Array(try Data(contentsOf: URL(fileURLWithPath: out)))
}

/// A temporary directory, removed at deinit.
final class Scratch {
    let dir: String
    init() {
        var t = Array((NSTemporaryDirectory() + "mt-agent-XXXXXX").utf8CString)
        dir = t.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
    }
    deinit { try? FileManager.default.removeItem(atPath: dir) }
    func path(_ name: String) -> String { dir + "/" + name }
}

func appendBytes(_ path: String, _ bytes: ArraySlice<UInt8>) {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    precondition(fd >= 0, "open \(path)")
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        precondition(n > 0)
        done += n
    }
    close(fd)
}

func fileSize(_ path: String) -> Int64 {
    var st = stat()
    return stat(path, &st) == 0 ? Int64(st.st_size) : -1
}

/// Writes an agent configuration with short intervals (tests should not wait long).
func writeConfig(_ scratch: Scratch, paths: [String], extra: String = "") -> String {
    var text = """
        [agent]
        name = "test"
        poll_interval_ms = 50
        flush_interval_ms = 100
        batch_lines = 500
        read_bytes = 65536
        rotate_wait_ms = 300
        retry_initial_ms = 100
        retry_max_ms = 1000
        \(extra)

        """
    for p in paths { text += "[[source]]\npath = \"\(p)\"\ntimezone = \"UTC\"\n" }
    let path = scratch.path("agent.toml")
    FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
    return path
}

/// One running `mailtrail agent` process.
final class AgentProcess {
    let process = Process()
    let errPath: String

    init(config: String, database: String, scratch: Scratch, environment: [String: String] = [:]) throws {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("mailtrail")
        process.executableURL = exe
        process.arguments = ["agent", "--config", config]
        var env = ProcessInfo.processInfo.environment
        env["PGDATABASE"] = database
        for (k, v) in environment { env[k] = v }
        process.environment = env
        errPath = scratch.path("agent.err")
        if !FileManager.default.fileExists(atPath: errPath) { FileManager.default.createFile(atPath: errPath, contents: nil) }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
        h.seekToEndOfFile()
        process.standardError = h
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    /// SIGTERM and wait; returns the exit status.
    @discardableResult
    func terminate() -> Int32 {
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        return process.terminationStatus
    }

    func kill9() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    var log: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }
}

/// Polls `condition` every 20 ms until it holds or `timeout` seconds passed.
@discardableResult
func waitUntil(_ timeout: Double, _ condition: () throws -> Bool) rethrows -> Bool {
    let end = Date().addingTimeInterval(timeout)
    while Date() < end {
        if try condition() { return true }
        usleep(20_000)
    }
    return try condition()
}

/// The checkpoint of the source the agent reads for `path` now: (offset, line).
func checkpoint(_ c: PGConnection, _ path: String) throws -> (offset: Int64, line: Int64)? {
    let r = try c.query("""
        SELECT s.committed_offset, s.committed_line FROM mailtrail.agent_files f
          JOIN mailtrail.ingest_sources s USING (source_id) WHERE f.path = $1
        """, [path])
    guard r.count == 1 else { return nil }
    return (r.int(0, "committed_offset") ?? -1, r.int(0, "committed_line") ?? -1)
}

/// Every fact row (all columns, as text) per table, sorted; plus the line totals.
func snapshot(_ c: PGConnection) throws -> [String: [String]] {
    var out: [String: [String]] = [:]
    for t in ["messages", "deliveries", "rejections"] {
        out[t] = try c.query("SELECT t::text AS r FROM mailtrail.\(t) t ORDER BY 1").rows.map { $0[0] ?? "NULL" }
    }
    out["unparsed"] = try c.query("SELECT host, reason, encode(raw, 'hex') FROM mailtrail.unparsed_lines ORDER BY 1, 2, 3")
        .rows.map { $0.map { $0 ?? "NULL" }.joined(separator: "|") }
    out["lines"] = try c.query("""
        SELECT sum(lines_read)::text || '|' || sum(parsed)::text || '|' || sum(ignored)::text || '|' || sum(unparsed)::text
          FROM mailtrail.ingest_sources
        """).rows.map { $0[0] ?? "NULL" }
    return out
}

/// Compares two snapshots table by table, recording the first differing rows.
func expectSameRows(_ actual: [String: [String]], _ expected: [String: [String]],
                    sourceLocation: SourceLocation = #_sourceLocation) {
    for key in expected.keys.sorted() {
        let a = actual[key] ?? [], e = expected[key] ?? []
        if a != e {
            let missing = Array(Set(e).subtracting(a).prefix(3))
            let extra = Array(Set(a).subtracting(e).prefix(3))
            Issue.record("\(key): \(a.count) rows, expected \(e.count); missing e.g. \(missing); unexpected e.g. \(extra)",
                         sourceLocation: sourceLocation)
        }
    }
}

/// A migrated test database that keeps every day (the generated logs are from 2024).
func agentDatabase() throws -> TestDatabase {
    let db = try TestDatabase()
    try db.connection.exec("UPDATE mailtrail.settings SET value = '0' WHERE key = 'retention_days'")
    return db
}

/// What an uninterrupted agent loads from `bytes` written as one file before it starts.
func cleanRun(_ bytes: [UInt8]) throws -> [String: [String]] {
    let db = try agentDatabase()
    defer { db.drop() }
    let scratch = Scratch()
    let log = scratch.path("mail.log")
    appendBytes(log, bytes[...])
    let agent = try AgentProcess(config: writeConfig(scratch, paths: [log]), database: db.name, scratch: scratch)
    let done = try waitUntil(60) { try checkpoint(db.connection, log)?.offset == Int64(bytes.count) }
    #expect(agent.terminate() == 0)
    #expect(done, "clean run did not catch up: \(agent.log)")
    return try snapshot(db.connection)
}
