/// IngestPipelineTests: `IngestRunner` with parsing and loading overlapped
/// (a `BatchCommitter` thread commits batch n while batch n+1 is parsed).
///
/// Contract: many small batches load exactly the rows, counters and
/// checkpoints of one batch per file; a batch the database refuses stops the
/// run with its error, everything before it stays committed (checkpoint at
/// the end of the last committed batch), nothing of it or after it is
/// written, and a rerun resumes from the checkpoints and completes the load;
/// an error on the parsing side (a missing file) ends the run without a
/// commit outliving it: the batch in flight committed whole or not at all,
/// and the connection is free again.
import Foundation
import Ingest
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Testing

/// Per host: messages, deliveries, rejections; and per source: path, line, lines read.
private func snapshot(_ db: TestDatabase) throws -> [String] {
    try rows(db, """
        SELECT host, count(*) FROM (SELECT host FROM mailtrail.messages UNION ALL SELECT host FROM mailtrail.deliveries
                                    UNION ALL SELECT host FROM mailtrail.rejections) f GROUP BY 1 ORDER BY 1
        """)
    + rows(db, """
        SELECT regexp_replace(path, '.*/', ''), committed_line, lines_read, parsed, ignored, unparsed, too_old
          FROM mailtrail.ingest_sources ORDER BY path
        """)
    + rows(db, "SELECT host, sum(lines_read), sum(parsed) FROM mailtrail.ingest_counts GROUP BY 1 ORDER BY 1")
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct IngestPipelineTests {
    @Test func smallBatchesLoadWhatOneBatchLoads() throws {
        var reference: [String] = []
        try TestDatabase.with { db in
            try keepEverything(db)
            _ = try IngestRunner.run(paths: samplePaths, settings: sampleSettings(), connection: db.connection)
            reference = try snapshot(db)
        }
        #expect(reference.first == "hub1|17")
        try TestDatabase.with { db in
            try keepEverything(db)
            var settings = sampleSettings()
            settings.batchLines = 7
            settings.readChunkBytes = 512   // batches close at chunk ends: every few lines
            let summary = try IngestRunner.run(paths: samplePaths, settings: settings, connection: db.connection)
            #expect(summary.lines.read == 259)
            #expect(summary.messages == 24 && summary.deliveries == 28 && summary.rejections == 3)
            #expect(try snapshot(db) == reference)
            // 115 + 77 + 67 lines in batches of 7 to 10 lines (batches close at chunk ends): every
            // batch saved its host's correlator state, and the last one (held messages flushed) all.
            #expect(try rows(db, "SELECT host, version FROM mailtrail.correlator_state ORDER BY 1")
                    == ["hub1|11", "mbox1|8", "mx1|14"])
        }
    }

    @Test func aRefusedBatchStopsTheRunAndARerunCompletesIt() throws {
        var reference: [String] = []
        try TestDatabase.with { db in
            try keepEverything(db)
            _ = try IngestRunner.run(paths: samplePaths, settings: sampleSettings(), connection: db.connection)
            reference = try snapshot(db)
        }
        try withRoles { db, roles in
            try keepEverything(db)
            let relay = try roles.make("pipe", on: db.connection)
            _ = try db.connection.query("SELECT * FROM mailtrail.grant_agent($1, '{mx1,hub1}')", [relay])
            let c = try connect(db, as: relay)
            defer { c.close() }
            var settings = sampleSettings()
            settings.batchLines = 10
            settings.readChunkBytes = 512

            // relay3.log is mbox1's, which the login may not write: its first batch is refused.
            let refused = #expect(throws: PostgresError.self) {
                try IngestRunner.run(paths: samplePaths, settings: settings, connection: c)
            }
            #expect(refused?.sqlState == "42501")
            #expect(refused?.message.contains("'mbox1'") == true)
            #expect(try rows(db, "SELECT regexp_replace(path, '.*/', ''), committed_offset > 0, committed_line FROM mailtrail.ingest_sources ORDER BY path")
                    == ["relay1.log|t|115", "relay2.log|t|77", "relay3.log|f|0"])
            #expect(try db.connection.scalarInt("SELECT count(*) FROM mailtrail.messages WHERE host = 'mbox1'") == 0)
            #expect(try db.connection.scalarInt("SELECT count(*) FROM mailtrail.ingest_counts WHERE host = 'mbox1'") == 0)
            #expect(!c.inTransaction)

            // Once the host is granted, the same command resumes and completes the load.
            _ = try db.connection.query("SELECT * FROM mailtrail.grant_agent($1, '{mbox1}')", [relay])
            let rerun = try IngestRunner.run(paths: samplePaths, settings: settings, connection: c)
            #expect(rerun.filesUpToDate == 2)
            #expect(rerun.lines.read == 67)
            #expect(try snapshot(db) == reference)
        }
    }

    @Test func anErrorWhileABatchLoadsLeavesNoCommitBehind() throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            for round in 0..<5 {
                let missing = "/nonexistent/mailtrail-\(round).log"
                #expect(throws: (any Error).self) {
                    try IngestRunner.run(paths: [samplePath("relay1.log"), missing], settings: sampleSettings(),
                                         connection: db.connection)
                }
                // The connection is ours at once (no commit still running on it) and relay1 is
                // either committed whole or not at all.
                #expect(!db.connection.inTransaction)
                let committed = try rows(db, "SELECT committed_line FROM mailtrail.ingest_sources WHERE path LIKE '%relay1.log'")
                #expect(committed == ["0"] || committed == ["115"], "\(committed)")
                let messages = try db.connection.scalarInt("SELECT count(*) FROM mailtrail.messages")
                #expect(committed == ["115"] ? messages! > 0 : messages == 0)
            }
        }
    }
}
