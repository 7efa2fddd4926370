/// MergeTests: `BatchLoader.commit` end to end (`ingest_batch_begin`, COPY
/// into the day partitions, `ingest_checkpoint`, correlator states).
///
/// Contract: a batch commits rows, checkpoint and counters together; a stale
/// offset fails with MT001 (`.concurrentWriter`) and changes nothing; rows
/// older than the retention window are counted as too_old and not loaded; a
/// backfill inside the window creates its day partitions; a batch spanning
/// days lands in each day's partition; hostile host names survive the
/// counter arrays; correlator states are versioned and a version conflict
/// rolls the whole batch back.
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Testing

private func mtMessage(_ at: Timestamp, _ queueID: String, host: String = "mx1", messageID: String? = nil) -> MessageRecord {
    MessageRecord(receivedAt: at, msgKey: messageID.map(MessageKey.forMessageID) ?? MessageKey.forQueue(host: host, queueID: queueID),
                  host: host, mta: "postfix", instance: "postfix", queueID: queueID, messageID: messageID,
                  sender: "a@example.com", client: Peer(name: "client.example", ip: "192.0.2.1", port: 25))
}

private func mtDelivery(_ at: Timestamp, _ queueID: String, host: String = "mx1") -> DeliveryRecord {
    DeliveryRecord(at: at, msgKey: MessageKey.forQueue(host: host, queueID: queueID), host: host, instance: "postfix",
                   queueID: queueID, recipient: "b@example.org", status: .sent, dsn: "2.0.0", transport: "smtp",
                   relay: Peer(name: "mx.example.org", ip: "2001:db8::25", port: 25), delay: 0.5, delays: [0.1, 0, 0.2, 0.2])
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct MergeTests {
    @Test func commitMovesCheckpointAndStaleOffsetIsMT001() throws {
        try TestDatabase.with { db in
            let c = db.connection
            let loader = BatchLoader(connection: c)
            let today = try c.serverToday()
            let src = try loader.openSource(fingerprint: "fp-merge-1", path: "/var/log/mail.log", format: "rfc3164", hostHint: nil)
            #expect(src.isNew && src.committedOffset == 0 && src.committedLine == 0)
            let again = try loader.openSource(fingerprint: "fp-merge-1", path: "/var/log/mail.log.1", format: nil, hostHint: nil)
            #expect(again.sourceID == src.sourceID && !again.isNew)

            let r = try loader.commit(Batch(
                sourceID: src.sourceID, fromOffset: 0, toOffset: 500, toLine: 4,
                counters: ["mx1": IngestCounters(linesRead: 4, parsed: 3, ignored: 1, unparsed: 0)],
                messages: [mtMessage(TestDays.noon(today), "Q1")], deliveries: [mtDelivery(TestDays.noon(today), "Q1")]))
            #expect(r == CommitResult(messages: 1, deliveries: 1, rejections: 0, unparsed: 0, tooOld: 0))
            let cp = try loader.openSource(fingerprint: "fp-merge-1", path: nil, format: nil, hostHint: nil)
            #expect(cp.committedOffset == 500 && cp.committedLine == 4)
            #expect(try c.scalarInt("SELECT lines_read FROM mailtrail.ingest_counts WHERE host = 'mx1'") == 4)
            let path = try c.query("SELECT path, format FROM mailtrail.ingest_sources")
            #expect(path.string(0, "path") == "/var/log/mail.log.1" && path.string(0, "format") == "rfc3164")

            // A second writer that still believes the source is at 0.
            let error = #expect(throws: PostgresError.self) {
                try loader.commit(Batch(sourceID: src.sourceID, fromOffset: 0, toOffset: 800, toLine: 6,
                                        messages: [mtMessage(TestDays.noon(today), "Q2")]))
            }
            #expect(error?.sqlState == "MT001")
            #expect(error?.code == .concurrentWriter)
            #expect(!c.inTransaction)
            #expect(try c.scalarInt("SELECT committed_offset FROM mailtrail.ingest_sources") == 500)
            #expect(try c.scalarInt("SELECT count(*) FROM mailtrail.messages") == 1)

            // The loader is still usable: the next batch from the right offset commits.
            let next = try loader.commit(Batch(sourceID: src.sourceID, fromOffset: 500, toOffset: 800, toLine: 6,
                                               messages: [mtMessage(TestDays.noon(today), "Q2")]))
            #expect(next.messages == 1)
            #expect(try c.scalarInt("SELECT count(*) FROM mailtrail.messages") == 2)
        }
    }

    @Test func tooOldRowsAreCountedNotLoaded() throws {
        try TestDatabase.with { db in
            let c = db.connection
            let loader = BatchLoader(connection: c)
            let today = try c.serverToday()
            let src = try loader.openSource(fingerprint: "fp-old", path: nil, format: nil, hostHint: nil)
            let old = TestDays.noon(TestDays.day(today, -200))
            let r = try loader.commit(Batch(
                sourceID: src.sourceID, fromOffset: 0, toOffset: 100, toLine: 5,
                counters: ["mx2": IngestCounters(linesRead: 5, parsed: 4, ignored: 0, unparsed: 1)],
                messages: [mtMessage(old, "OLD1", host: "mx2"), mtMessage(TestDays.noon(today), "NEW1", host: "mx2")],
                deliveries: [mtDelivery(old, "OLD1", host: "mx2")],
                rejections: [RejectionRecord(at: old, msgKey: 1, host: "mx2", instance: "postfix", program: "smtpd", action: "reject")],
                unparsed: [UnparsedLine(at: old, host: nil, lineNumber: 5, offset: 90, reason: "garbage", raw: [0x41])]))
            #expect(r == CommitResult(messages: 1, deliveries: 0, rejections: 0, unparsed: 0, tooOld: 4))
            #expect(try c.scalarInt("SELECT too_old FROM mailtrail.ingest_sources") == 4)
            #expect(try c.scalarInt("SELECT too_old FROM mailtrail.ingest_counts WHERE host = 'mx2'") == 3)
            #expect(try c.scalarInt("SELECT too_old FROM mailtrail.ingest_counts WHERE host = ''") == 1)
            #expect(try c.scalarInt("SELECT count(*) FROM mailtrail.messages") == 1)
            #expect(try c.partitions(of: "messages").contains(TestDays.partitionName("messages", TestDays.day(today, -200))) == false)

            // retention 0 on the loader keeps everything, creating the old day's partitions.
            loader.retentionDays = 0
            let keep = try loader.commit(Batch(sourceID: src.sourceID, fromOffset: 100, toOffset: 150, toLine: 6,
                                               messages: [mtMessage(old, "OLD2", host: "mx2")]))
            #expect(keep.messages == 1 && keep.tooOld == 0)
            #expect(try c.partitions(of: "unparsed_lines").contains(TestDays.partitionName("unparsed_lines", TestDays.day(today, -200))))
        }
    }

    @Test func backfillCreatesItsPartitions() throws {
        try TestDatabase.with { db in
            let c = db.connection
            let loader = BatchLoader(connection: c)
            let today = try c.serverToday()
            let back = TestDays.day(today, -30)
            for table in ["messages", "deliveries", "rejections", "unparsed_lines"] {
                #expect(try c.partitions(of: table).isEmpty)
            }
            let src = try loader.openSource(fingerprint: "fp-back", path: nil, format: nil, hostHint: "mx9")
            let r = try loader.commit(Batch(
                sourceID: src.sourceID, fromOffset: 0, toOffset: 10, toLine: 1,
                messages: [mtMessage(TestDays.noon(back), "B1"), mtMessage(Timestamp(seconds: (back.daysSinceEpoch + 1) * 86_400 - 1), "B2")],
                unparsed: [UnparsedLine(at: TestDays.noon(back), host: "mx1", lineNumber: 1, offset: 0, reason: "x", raw: [0])]))
            #expect(r.messages == 2 && r.unparsed == 1)
            for table in ["messages", "deliveries", "rejections", "unparsed_lines"] {
                #expect(try c.partitions(of: table) == [TestDays.partitionName(table, back)])
            }
            let inPartition = try c.scalarInt("SELECT count(*) FROM mailtrail.\(TestDays.partitionName("messages", back))")
            #expect(inPartition == 2)
        }
    }

    @Test func aBatchSpanningDaysWithHostileHostNames() throws {
        try TestDatabase.with { db in
            let c = db.connection
            let loader = BatchLoader(connection: c)
            let today = try c.serverToday()
            let yesterday = TestDays.day(today, -1)
            let src = try loader.openSource(fingerprint: "fp-days", path: nil, format: nil, hostHint: nil)
            // Characters that mean something in an array literal, and in SQL.
            let hosts = ["mx,1", "{mx}", "q\"x", "NULL", "b\\s", "'; DROP TABLE x; --"]
            let r = try loader.commit(Batch(
                sourceID: src.sourceID, fromOffset: 0, toOffset: 100, toLine: 12,
                counters: Dictionary(uniqueKeysWithValues: hosts.map { ($0, IngestCounters(linesRead: 2, parsed: 1, ignored: 1)) }),
                messages: [mtMessage(TestDays.noon(yesterday), "D1", host: hosts[0]), mtMessage(TestDays.noon(today), "D2", host: hosts[1])],
                deliveries: [mtDelivery(TestDays.noon(today), "D2", host: hosts[1]),
                             mtDelivery(Timestamp(seconds: today.daysSinceEpoch * 86_400 - 1), "D1", host: hosts[0])],
                rejections: [RejectionRecord(at: TestDays.noon(yesterday), msgKey: 1, host: hosts[5], instance: "postfix",
                                             program: "smtpd", action: "reject")]))
            #expect(r == CommitResult(messages: 2, deliveries: 2, rejections: 1, unparsed: 0, tooOld: 0))
            for (table, day, n) in [("messages", yesterday, 1), ("messages", today, 1), ("deliveries", yesterday, 1),
                                    ("deliveries", today, 1), ("rejections", yesterday, 1), ("rejections", today, 0)] {
                #expect(try c.scalarInt("SELECT count(*) FROM mailtrail.\(TestDays.partitionName(table, day))") == Int64(n),
                        "\(table) \(day.iso)")
            }
            #expect(try c.query("SELECT host FROM mailtrail.ingest_counts WHERE lines_read = 2 AND parsed = 1 AND ignored = 1 ORDER BY host COLLATE \"C\"")
                    .rows.compactMap { $0[0] } == hosts.sorted())
            #expect(try c.scalarInt("SELECT lines_read FROM mailtrail.ingest_sources") == 12)
        }
    }

    @Test func correlatorStatesAreVersioned() throws {
        try TestDatabase.with { db in
            let c = db.connection
            let loader = BatchLoader(connection: c)
            let src = try loader.openSource(fingerprint: "fp-state", path: nil, format: nil, hostHint: nil)
            #expect(try loader.loadCorrelatorStates().isEmpty)
            let state: [UInt8] = [0, 1, 2, 0xff, 0x5c, 0x0a]
            let r1 = try loader.commit(Batch(sourceID: src.sourceID, fromOffset: 0, toOffset: 10, toLine: 1,
                                             correlatorStates: ["mx1": (0, state), "mx2": (0, [])]))
            #expect(r1.correlatorVersions == ["mx1": 1, "mx2": 1])
            let r2 = try loader.commit(Batch(sourceID: src.sourceID, fromOffset: 10, toOffset: 20, toLine: 2,
                                             correlatorStates: ["mx1": (1, state + [7])]))
            #expect(r2.correlatorVersions == ["mx1": 2])
            let saved = try loader.loadCorrelatorStates()
            #expect(saved["mx1"]?.version == 2 && saved["mx1"]?.state == state + [7])
            #expect(saved["mx2"]?.version == 1 && saved["mx2"]?.state == [])

            // Another ingest wrote mx1 meanwhile: this batch still expects version 1.
            let today = try c.serverToday()
            let error = #expect(throws: PostgresError.self) {
                try loader.commit(Batch(sourceID: src.sourceID, fromOffset: 20, toOffset: 30, toLine: 3,
                                        messages: [mtMessage(TestDays.noon(today), "LOST")],
                                        correlatorStates: ["mx1": (1, [9])]))
            }
            #expect(error?.code == .concurrentWriter)
            #expect(error?.message.contains("another ingest is writing host mx1 concurrently") == true)
            // All or nothing: neither the row nor the checkpoint moved.
            #expect(try c.scalarInt("SELECT count(*) FROM mailtrail.messages") == 0)
            #expect(try c.scalarInt("SELECT committed_offset FROM mailtrail.ingest_sources") == 20)
            #expect(try loader.loadCorrelatorStates()["mx1"]?.version == 2)
            // A new host that somebody else created first.
            let error2 = #expect(throws: PostgresError.self) {
                try loader.commit(Batch(sourceID: src.sourceID, fromOffset: 20, toOffset: 30, toLine: 3,
                                        correlatorStates: ["mx2": (0, [1])]))
            }
            #expect(error2?.code == .concurrentWriter)
        }
    }
}
