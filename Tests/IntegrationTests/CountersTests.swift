// Per-host line counters when hosts interleave line by line (a central
// syslog server's file): the processor keeps the current host's counters
// aside and folds them into the per-host table when the host changes, so
// this checks that no line is counted twice, lost, or given to the wrong host
// across host switches, batch ends and ignored/unparsed lines.
import Foundation
import Ingest
import MailTrailTestSupport
import PostgresLoading
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct CountersTests {
    @Test func interleavedHostsAreCountedExactlyOncePerHost() throws {
        let lines = [
            "Nov 20 10:00:00 a postfix/smtpd[1]: connect from x[192.0.2.1]",                  // a parsed
            "Nov 20 10:00:00 b postfix/smtpd[2]: connect from y[192.0.2.2]",                  // b parsed
            "Nov 20 10:00:01 b postfix/smtpd[2]: disconnect from y[192.0.2.2] ehlo=1 commands=1", // b parsed
            "Nov 20 10:00:01 a amavis[3]: (03) Passed CLEAN",                                   // a ignored
            "Nov 20 10:00:02 c postfix/smtpd[4]: connect from z[192.0.2.3]",                  // c parsed
            "Nov 20 10:00:02 a postfix/qmgr[5]: ???",                                           // a unparsed
            "garbage without an envelope",                                                      // a (last host) unparsed
            "Nov 20 10:00:03 b postfix/anvil[6]: statistics: max connection rate 1/60s",      // b parsed or ignored
            "Nov 20 10:00:04 a postfix/smtpd[1]: disconnect from x[192.0.2.1] ehlo=1 commands=1", // a parsed
        ]
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mt-counters-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("mail.log").path
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: true, encoding: .utf8)

        try TestDatabase.with { db in
            try keepEverything(db)
            var settings = sampleSettings()
            settings.batchLines = 2   // batches end between host switches, too
            let summary = try IngestRunner.run(paths: [path], settings: settings, connection: db.connection)
            #expect(summary.lines.read == 9)
            let counts = try rows(db, """
                SELECT host, sum(lines_read), sum(parsed) + sum(ignored), sum(unparsed)
                FROM mailtrail.ingest_counts GROUP BY host ORDER BY host
                """)
            #expect(counts == ["a|5|3|2", "b|3|3|0", "c|1|1|0"])
        }
    }
}
