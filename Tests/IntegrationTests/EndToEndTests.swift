/// EndToEndTests: the bundled samples of three relays through the whole
/// pipeline (read → frame → parse → correlate → load → trace) into a real
/// PostgreSQL, with exact row counts, golden trace documents, idempotent
/// re-ingest, hostile input and incomplete last lines; plus the built
/// `mailtrail` binary for `parse` and `trace`.
import Foundation
import Ingest
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Query
import Testing

/// The repository root, found from this file's path.
let repositoryRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

func samplePath(_ name: String) -> String { repositoryRoot.appendingPathComponent("samples/" + name).path }

/// Ingest settings for the samples: their stamps are year-less 2026 UTC.
func sampleSettings() -> IngestSettings {
    var s = IngestSettings()
    s.pipeline.year = 2026
    s.pipeline.timeZone = "UTC"
    s.progress = false
    return s
}

/// Widens the retention window so the 2026 samples are always inside it.
func keepEverything(_ db: TestDatabase) throws {
    try db.connection.exec("UPDATE mailtrail.settings SET value = '0' WHERE key = 'retention_days'")
}

let samplePaths = ["relay1.log", "relay2.log", "relay3.log"].map(samplePath)

func rows(_ db: TestDatabase, _ sql: String) throws -> [String] {
    let r = try db.connection.query(sql)
    return r.rows.map { row in row.map { $0 ?? "NULL" }.joined(separator: "|") }
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct EndToEndTests {
    @Test func samplesLoadWithExactCountsAndReingestAddsNothing() throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            let first = try IngestRunner.run(paths: samplePaths, settings: sampleSettings(), connection: db.connection)
            #expect(first.lines.read == 259)
            #expect(first.lines.parsed + first.lines.ignored == 259)
            #expect(first.lines.unparsed == 0)
            #expect(first.messages == 24)
            #expect(first.deliveries == 28)
            #expect(first.rejections == 3)
            #expect(first.tooOld == 0)

            #expect(try rows(db, "SELECT host, count(*) FROM mailtrail.messages GROUP BY 1 ORDER BY 1")
                    == ["hub1|8", "mbox1|7", "mx1|9"])
            #expect(try rows(db, "SELECT host, status, count(*) FROM mailtrail.deliveries GROUP BY 1, 2 ORDER BY 1, 2")
                    == ["hub1|deferred|1", "hub1|sent|8", "mbox1|bounced|1", "mbox1|sent|7", "mx1|sent|11"])
            #expect(try rows(db, "SELECT host, program, action, count(*) FROM mailtrail.rejections GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")
                    == ["mbox1|smtpd|milter-reject|1", "mx1|postscreen|reject|1", "mx1|smtpd|reject|1"])
            #expect(try rows(db, "SELECT host, lines_read FROM mailtrail.ingest_counts ORDER BY host")
                    == ["hub1|77", "mbox1|67", "mx1|115"])
            #expect(try rows(db, "SELECT count(*) FROM mailtrail.unparsed_lines") == ["0"])
            // Every message row's key matches its deliveries' key (one shard per e-mail later).
            #expect(try rows(db, """
                SELECT count(*) FROM mailtrail.deliveries d JOIN mailtrail.messages m
                  ON m.host = d.host AND m.queue_id = d.queue_id AND m.received_at = d.received_at
                WHERE m.msg_key <> d.msg_key
                """) == ["0"])
            #expect(try rows(db, """
                SELECT count(*) FROM mailtrail.messages
                WHERE message_id IS NOT NULL AND msg_key <> mailtrail.message_key(message_id)
                """) == ["0"])

            // The same files again: nothing new.
            let again = try IngestRunner.run(paths: samplePaths, settings: sampleSettings(), connection: db.connection)
            #expect(again.lines.read == 0)
            #expect(again.messages + again.deliveries + again.rejections == 0)
            #expect(again.filesUpToDate == 3)
            #expect(try rows(db, "SELECT (SELECT count(*) FROM mailtrail.messages) + (SELECT count(*) FROM mailtrail.deliveries) + (SELECT count(*) FROM mailtrail.rejections)")
                    == ["55"])
        }
    }

    @Test(arguments: [
        ("cross-3-hops.1@sender.example", "trace-cross-3-hops-1.json"),
        ("fork-2-nexthops.2@sender.example", "trace-fork-2-nexthops-2.json"),
        ("deferred-greylist.3@app1.example.com", "trace-deferred-greylist-3.json"),
        ("<bounce-unknown-user.4@partner.example>", "trace-bounce-unknown-user-4.json"),
        ("20261120094501.DE8D51C4177@mx1.example.com", "trace-20261120094501-DE8D51C4177.json"),
        ("4jW9mx0tsdz5Z3c@hub1.example.com", "trace-4jW9mx0tsdz5Z3c.json"),
    ])
    func traceDocumentsEqualTheGoldenFiles(messageID: String, golden: String) throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            _ = try IngestRunner.run(paths: samplePaths, settings: sampleSettings(), connection: db.connection)
            let doc = try #require(try TraceQuery(connection: db.connection).trace(messageID: messageID))
            let actual = try JSONSerialization.jsonObject(with: Data(TraceRenderer().json(doc).utf8)) as? NSDictionary
            let url = repositoryRoot.appendingPathComponent("Tests/IntegrationTests/Expected/" + golden)
            let expected = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? NSDictionary
            #expect(actual != nil)
            #expect(actual == expected, "trace of \(messageID) differs from \(golden)")
        }
    }

    @Test func crossHostTraceHasTheExpectedHopsAndLinks() throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            _ = try IngestRunner.run(paths: samplePaths, settings: sampleSettings(), connection: db.connection)
            #expect(try rows(db, """
                SELECT hop, parents::text, coalesce(link, '-'), host, queue_id
                FROM mailtrail.trace_hops('<cross-3-hops.1@sender.example>') ORDER BY hop
                """) == [
                    "1|{}|-|mx1|5EB401C41D2",
                    "2|{1}|reinjection|mx1|CE7FC1C4229",
                    "3|{2}|queued-as|hub1|4jW8Yj6gzJz5YxN",
                    "4|{3}|queued-as|mbox1|0EEBE3A1F2",
                ])
            // The DSN has another Message-ID and still joins the bounced message's trace.
            #expect(try rows(db, """
                SELECT hop, parents::text, coalesce(link, '-'), host, queue_id
                FROM mailtrail.trace_hops('bounce-unknown-user.4@partner.example') ORDER BY hop
                """) == [
                    "1|{}|-|mx1|0CB961C4235",
                    "2|{1}|reinjection|mx1|62E2D1C4236",
                    "3|{2}|queued-as|hub1|4jWB6C3WPJz5Z6M",
                    "4|{3}|queued-as|mbox1|C250B3A217",
                    "5|{4}|bounce|mbox1|067BA3A218",
                    "6|{5}|queued-as|hub1|4jWB6D0slsz5Z6N",
                ])
            let byQueue = try #require(try TraceQuery(connection: db.connection).trace(queueID: "4jW8Yj6gzJz5YxN", host: "hub1"))
            #expect(byQueue.hops.map(\.queueID) == ["5EB401C41D2", "CE7FC1C4229", "4jW8Yj6gzJz5YxN", "0EEBE3A1F2"])
            #expect(try TraceQuery(connection: db.connection).trace(messageID: "no-such-id@nowhere") == nil)
        }
    }

    @Test func smallBatchesGiveTheSameArchiveAsOneBatch() throws {
        // Commits every 7 lines: batch boundaries fall between a re-injected copy and its
        // link, inside sessions and deferrals; the correlator state carries across them.
        func archive(batchLines: Int) throws -> [String] {
            try TestDatabase.with { db in
                try keepEverything(db)
                var settings = sampleSettings()
                settings.batchLines = batchLines
                settings.readChunkBytes = 512   // batches close at chunk ends
                _ = try IngestRunner.run(paths: samplePaths, settings: settings, connection: db.connection)
                return try rows(db, """
                    SELECT 'm', host, queue_id, received_at::text, msg_key::text, coalesce(origin_queue_id, '-'),
                           coalesce(tls_proto, '-') FROM mailtrail.messages
                    UNION ALL
                    SELECT 'd', host, queue_id, at::text || recipient || status, msg_key::text,
                           coalesce(next_queue_id, '-'), coalesce(tls_proto, '-') FROM mailtrail.deliveries
                    UNION ALL
                    SELECT 'r', host, coalesce(queue_id, '-'), at::text, msg_key::text, action, '-' FROM mailtrail.rejections
                    UNION ALL
                    SELECT 'c', host, lines_read::text, parsed::text, ignored::text, unparsed::text, '-'
                    FROM mailtrail.ingest_counts
                    ORDER BY 1, 2, 3, 4, 5
                    """)
            }
        }
        let whole = try archive(batchLines: 1_000_000)
        #expect(whole.count == 24 + 28 + 3 + 3)
        #expect(try archive(batchLines: 7) == whole)
    }

    @Test func correlatorStateResumesInTheNextRun() throws {
        // relay1.log cut after line 19: message 5EB401C41D2 has its client, TLS and
        // message-id in the first part and its qmgr line in the second. The second run
        // must resume from the state saved with the first run's checkpoint.
        let lines = try String(contentsOfFile: samplePath("relay1.log"), encoding: .utf8)
            .split(separator: "\n", omittingEmptySubsequences: false)
        let dir = NSTemporaryDirectory() + "mailtrail-split-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = dir + "/mail.log.1", second = dir + "/mail.log"
        try (lines[..<19].joined(separator: "\n") + "\n").write(toFile: first, atomically: true, encoding: .utf8)
        try lines[19...].joined(separator: "\n").write(toFile: second, atomically: true, encoding: .utf8)

        let query = """
            SELECT 'm', queue_id, received_at::text, msg_key::text, coalesce(message_id, '-'),
                   coalesce(client_name, '-'), coalesce(tls_proto, '-'), coalesce(origin_queue_id, '-')
            FROM mailtrail.messages
            UNION ALL
            SELECT 'd', queue_id, at::text || recipient || status, msg_key::text, coalesce(next_queue_id, '-'),
                   coalesce(received_at::text, '-'), coalesce(tls_proto, '-'), '-' FROM mailtrail.deliveries
            ORDER BY 1, 2, 3
            """
        let whole = try TestDatabase.with { db in
            try keepEverything(db)
            _ = try IngestRunner.run(paths: [samplePath("relay1.log")], settings: sampleSettings(), connection: db.connection)
            return try rows(db, query)
        }
        let resumed = try TestDatabase.with { db in
            try keepEverything(db)
            _ = try IngestRunner.run(paths: [first], settings: sampleSettings(), connection: db.connection)
            #expect(try rows(db, "SELECT count(*) FROM mailtrail.correlator_state WHERE host = 'mx1'") == ["1"])
            _ = try IngestRunner.run(paths: [second], settings: sampleSettings(), connection: db.connection)
            return try rows(db, query)
        }
        #expect(whole.count == 9 + 11)
        #expect(resumed == whole)
    }

    @Test func hostileFieldsAndGarbageLinesDoNotBreakTheBatch() throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            var log: [UInt8] = []
            func line(_ s: String) { log += Array(s.utf8) + [0x0a] }
            line("Nov 20 12:00:00 mx9 postfix/smtpd[1]: connect from evil.example[198.51.100.9]")
            line("Nov 20 12:00:01 mx9 postfix/smtpd[1]: 4F2A31C0A2B: client=evil.example[198.51.100.9]")
            line("Nov 20 12:00:01 mx9 postfix/cleanup[2]: 4F2A31C0A2B: message-id=<a\\b\tc'); DROP TABLE mailtrail.messages; --@x>")
            line("Nov 20 12:00:01 mx9 postfix/qmgr[3]: 4F2A31C0A2B: from=<\"%s%n\\\\x\"@evil.example>, size=10, nrcpt=1 (queue active)")
            // Invalid UTF-8 and NUL in a delivery response; an unparsable line with raw bytes.
            log += Array("Nov 20 12:00:02 mx9 postfix/smtp[4]: 4F2A31C0A2B: to=<v@y.example>, relay=y.example[192.0.2.99]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=5.0.0, status=bounced (bad ".utf8)
            log += [0xff, 0xfe, 0x00, 0x1b] + Array("[31m text)".utf8) + [0x0a]
            let garbage: [UInt8] = [0x00, 0x01, 0xff, 0x5c, 0x09, 0x0d, 0x27, 0x41]
            log += garbage + [0x0a]
            let path = NSTemporaryDirectory() + "mailtrail-hostile-\(UInt32.random(in: 0...UInt32.max)).log"
            FileManager.default.createFile(atPath: path, contents: Data(log))
            defer { try? FileManager.default.removeItem(atPath: path) }

            let s = try IngestRunner.run(paths: [path], settings: sampleSettings(), connection: db.connection)
            #expect(s.lines.read == 6)
            #expect(s.lines.unparsed == 1)
            #expect(s.messages == 1)
            #expect(s.deliveries == 1)
            #expect(try rows(db, "SELECT message_id, sender FROM mailtrail.messages")
                    == ["a\\b\tc'); DROP TABLE mailtrail.messages; --@x|\"%s%n\\\\x\"@evil.example"])
            // Invalid UTF-8 bytes become U+FFFD each, NUL becomes U+FFFD (docs/schema.md); ESC is kept.
            #expect(try rows(db, "SELECT response FROM mailtrail.deliveries")
                    == ["bad \u{FFFD}\u{FFFD}\u{FFFD}\u{1b}[31m text"])
            let raw = try db.connection.query("SELECT encode(raw, 'hex') AS h, line_number, byte_offset FROM mailtrail.unparsed_lines")
            #expect(raw.string(0, "h") == "0001ff5c090d2741")
            #expect(raw.string(0, "line_number") == "6")
            #expect(raw.int(0, "byte_offset") == Int64(log.count - garbage.count - 1))
        }
    }

    @Test func aLastLineWithoutNewlineWaitsUntilItIsComplete() throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            let path = NSTemporaryDirectory() + "mailtrail-partial-\(UInt32.random(in: 0...UInt32.max)).log"
            defer { try? FileManager.default.removeItem(atPath: path) }
            let complete = "Nov 20 12:00:00 mx9 postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[198.51.100.7]: 554 5.7.1 <a@b.example>: Relay access denied; from=<s@x.example> to=<a@b.example> proto=ESMTP helo=<x>\n"
            let partial = "Nov 20 12:00:05 mx9 postfix/smtpd[1]: NOQUEUE: reject: RCPT from unknown[198.51.100.8]: 554 5.7.1 <c@b.example>: Relay access"
            FileManager.default.createFile(atPath: path, contents: Data((complete + partial).utf8))
            let first = try IngestRunner.run(paths: [path], settings: sampleSettings(), connection: db.connection)
            #expect(first.lines.read == 1)
            #expect(first.rejections == 1)
            #expect(first.pendingTailBytes == Int64(partial.utf8.count))

            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            h.seekToEndOfFile()
            h.write(Data(" denied; from=<s@x.example> to=<c@b.example> proto=ESMTP helo=<x>\n".utf8))
            try h.close()
            let second = try IngestRunner.run(paths: [path], settings: sampleSettings(), connection: db.connection)
            #expect(second.lines.read == 1)
            #expect(second.rejections == 1)
            #expect(try rows(db, "SELECT recipient FROM mailtrail.rejections ORDER BY at") == ["a@b.example", "c@b.example"])
        }
    }

    @Test func gzipCopyOfALoadedFileAddsNothing() throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            _ = try IngestRunner.run(paths: [samplePath("relay2.log")], settings: sampleSettings(), connection: db.connection)
            let gz = NSTemporaryDirectory() + "mailtrail-relay2-\(UInt32.random(in: 0...UInt32.max)).log.gz"
            defer { try? FileManager.default.removeItem(atPath: gz) }
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/bin/sh")
            p.arguments = ["-c", "gzip -c '\(samplePath("relay2.log"))' > '\(gz)'"]
            try p.run(); p.waitUntilExit()
            let s = try IngestRunner.run(paths: [gz], settings: sampleSettings(), connection: db.connection)
            #expect(s.lines.read == 0)
            #expect(s.filesUpToDate == 1)
            #expect(try rows(db, "SELECT count(*) FROM mailtrail.messages") == ["8"])
        }
    }
}


@Suite struct BinaryTests {
    @Test func parsePrintsJSONLinesAndASummary() throws {
        let r = try runMailtrail(["parse", "--year", "2026", "--timezone", "UTC", samplePath("relay1.log")])
        #expect(r.status == 0)
        let lines = r.out.split(separator: "\n")
        var kinds: [String: Int] = [:]
        for l in lines {
            let obj = try #require(try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any])
            kinds[obj["kind"] as? String ?? "?", default: 0] += 1
        }
        #expect(kinds == ["message": 9, "delivery": 11, "rejection": 2])
        #expect(r.err.contains("lines read 115, parsed "))
        #expect(r.err.contains("unparsed 0"))
    }

    @Test func parseReadsStandardInputAndGzip() throws {
        let viaStdin = try runMailtrail(["parse", "--year", "2026", "--timezone", "UTC", "-"],
                                        stdin: samplePath("relay2.log"))
        #expect(viaStdin.status == 0)
        #expect(viaStdin.err.contains("lines read 77, parsed "))
        #expect(viaStdin.out.split(separator: "\n").count == 8 + 9)
        let gz = NSTemporaryDirectory() + "mailtrail-parse-\(UInt32.random(in: 0...UInt32.max)).log.gz"
        defer { try? FileManager.default.removeItem(atPath: gz) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c '\(samplePath("relay2.log"))' > '\(gz)'"]
        try p.run(); p.waitUntilExit()
        let viaGzip = try runMailtrail(["parse", "--year", "2026", "--timezone", "UTC", gz])
        #expect(viaGzip.out == viaStdin.out)
    }

    @Test func parseReportsUnparsedLinesAsJSON() throws {
        let path = NSTemporaryDirectory() + "mailtrail-junk-\(UInt32.random(in: 0...UInt32.max)).log"
        FileManager.default.createFile(atPath: path, contents: Data("this is not syslog\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try runMailtrail(["parse", path])
        #expect(r.status == 0)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
        #expect(obj["kind"] as? String == "unparsed")
        #expect(obj["file"] as? String == path)
        #expect(obj["line"] as? Int == 1)
        #expect((obj["reason"] as? String)?.isEmpty == false)
        #expect(r.err.contains("lines read 1, parsed 0, ignored 0, unparsed 1"))
    }

    @Test func wrongFlagsGetAClearMessage() throws {
        let r = try runMailtrail(["ingest", "--format", "qmail", "x.log"])
        #expect(r.status != 0)
        #expect(r.err.contains("unknown --format 'qmail'; use one of: auto, postfix, sendmail, exim, utm"))
        let p = try runMailtrail(["trace", "x@y", "--db", "postgresql://u:secret@db/mail"])
        #expect(p.status != 0)
        #expect(p.err.contains("--db contains a password"))
        let m = try runMailtrail(["parse", "/nonexistent/mail.log"])
        #expect(m.status != 0)
        #expect(m.err.contains("/nonexistent/mail.log: no such file"))
    }
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct BinaryDatabaseTests {
    @Test func traceExitsOneWhenNothingIsFound() throws {
        try TestDatabase.with { db in
            let r = try runMailtrail(["trace", "missing@nowhere.example"], environment: ["PGDATABASE": db.name])
            #expect(r.status == 1)
            #expect(r.err.contains("no message found for Message-ID missing@nowhere.example"))
        }
    }

    @Test func migrateIngestTraceThroughTheBinary() throws {
        try TestDatabase.with(migrated: false) { db in
            let env = ["PGDATABASE": db.name]
            let m = try runMailtrail(["db", "migrate"], environment: env)
            #expect(m.status == 0)
            let again = try runMailtrail(["db", "migrate"], environment: env)
            #expect(again.out.hasPrefix("schema is at version"))
            try keepEverything(db)
            let i = try runMailtrail(["ingest", "--quiet", "--year", "2026", "--timezone", "UTC"] + samplePaths, environment: env)
            #expect(i.status == 0)
            #expect(i.err.contains("rows loaded: messages 24, deliveries 28, rejections 3"))
            let t = try runMailtrail(["trace", "<cross-3-hops.1@sender.example>"], environment: env)
            #expect(t.status == 0)
            let hostsInOrder = t.out.split(separator: "\n").compactMap { l -> String? in
                let s = l.drop(while: { $0 == " " })
                guard let first = s.split(separator: " ").first, ["mx1", "hub1", "mbox1"].contains(String(first)) else { return nil }
                return String(first)
            }
            #expect(hostsInOrder == ["mx1", "mx1", "hub1", "mbox1"])
        }
    }
}
