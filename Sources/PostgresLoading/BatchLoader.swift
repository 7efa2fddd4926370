/// BatchLoader: commits one ingest batch in one transaction (exactly-once).
///
/// Contract (docs/architecture.md "Exactly-once ingest"): `commit` runs
///   BEGIN; COPY each non-empty record set into this session's TEMP staging
///   tables; `SELECT * FROM mailtrail.ingest_merge(...)` (checkpoint check,
///   partitions, set-based insert, counters); write the changed correlator
///   states with an optimistic version check; COMMIT.
/// Any error rolls the whole batch back and is rethrown, so the checkpoint,
/// the facts and the correlator state move together or not at all. A
/// concurrent writer shows up as `PostgresError` with code
/// `.concurrentWriter` (SQLSTATE MT001 from the merge, or a correlator
/// state version mismatch): nothing was written, rerunning resumes from the
/// committed checkpoint.
/// Limits: one batch at a time per connection; must not be called inside a
/// transaction the caller opened. The staging tables are created once per
/// session (`mailtrail.create_staging_tables()`). Correlator states travel as
/// hex text parameters (2x their size on the wire).
/// Security: the loader touches no table directly. Sources, correlator
/// states and the merge go through SECURITY DEFINER functions
/// (`ingest_open_source`, `ingest_correlator_states`, `ingest_save_state`,
/// `ingest_merge`), which restrict an ingest login role to its assigned
/// hosts (docs/security.md); a refused host is SQLSTATE 42501.
import MailTrailModel

/// Line counters of one host in one batch.
public struct IngestCounters: Hashable, Sendable {
    public var linesRead: Int64
    public var parsed: Int64
    public var ignored: Int64
    public var unparsed: Int64

    public init(linesRead: Int64 = 0, parsed: Int64 = 0, ignored: Int64 = 0, unparsed: Int64 = 0) {
        self.linesRead = linesRead; self.parsed = parsed; self.ignored = ignored; self.unparsed = unparsed
    }

    public static func += (a: inout IngestCounters, b: IngestCounters) {
        a.linesRead += b.linesRead; a.parsed += b.parsed; a.ignored += b.ignored; a.unparsed += b.unparsed
    }
}

/// Where a source stands: its id and the committed checkpoint to resume from.
public struct SourceCheckpoint: Hashable, Sendable {
    public var sourceID: Int64
    /// Decompressed byte offset up to which lines are committed.
    public var committedOffset: Int64
    /// Number of the last committed line (0 = none).
    public var committedLine: Int64
    /// True when `openSource` created the row.
    public var isNew: Bool

    public init(sourceID: Int64, committedOffset: Int64, committedLine: Int64, isNew: Bool) {
        self.sourceID = sourceID; self.committedOffset = committedOffset
        self.committedLine = committedLine; self.isNew = isNew
    }
}

/// Everything one batch commits: the records of source lines `[fromOffset, toOffset)`.
public struct Batch: Sendable {
    public var sourceID: Int64
    /// The source's committed offset this batch starts at (the merge checks it).
    public var fromOffset: Int64
    /// The offset after the batch's last line: the new checkpoint.
    public var toOffset: Int64
    /// The number of the batch's last line: the new committed line.
    public var toLine: Int64
    /// Counters per host ("" for lines without a readable host).
    public var counters: [String: IngestCounters]
    public var messages: [MessageRecord]
    public var deliveries: [DeliveryRecord]
    public var rejections: [RejectionRecord]
    public var unparsed: [UnparsedLine]
    /// Changed correlator states: host -> (version read, 0 for a new host; serialized state).
    public var correlatorStates: [String: (expectedVersion: Int64, state: [UInt8])]

    public init(sourceID: Int64, fromOffset: Int64, toOffset: Int64, toLine: Int64,
                counters: [String: IngestCounters] = [:], messages: [MessageRecord] = [],
                deliveries: [DeliveryRecord] = [], rejections: [RejectionRecord] = [],
                unparsed: [UnparsedLine] = [],
                correlatorStates: [String: (expectedVersion: Int64, state: [UInt8])] = [:]) {
        self.sourceID = sourceID; self.fromOffset = fromOffset; self.toOffset = toOffset; self.toLine = toLine
        self.counters = counters; self.messages = messages; self.deliveries = deliveries
        self.rejections = rejections; self.unparsed = unparsed; self.correlatorStates = correlatorStates
    }
}

/// What a commit wrote.
public struct CommitResult: Hashable, Sendable {
    public var messages: Int64
    public var deliveries: Int64
    public var rejections: Int64
    public var unparsed: Int64
    /// Fact rows not loaded because they were older than the retention window.
    public var tooOld: Int64
    /// The new version of every correlator state written (pass it as `expectedVersion` next time).
    public var correlatorVersions: [String: Int64]

    public init(messages: Int64 = 0, deliveries: Int64 = 0, rejections: Int64 = 0, unparsed: Int64 = 0,
                tooOld: Int64 = 0, correlatorVersions: [String: Int64] = [:]) {
        self.messages = messages; self.deliveries = deliveries; self.rejections = rejections
        self.unparsed = unparsed; self.tooOld = tooOld; self.correlatorVersions = correlatorVersions
    }
}

public final class BatchLoader: @unchecked Sendable {
    public let connection: PGConnection
    /// Retention window passed to the merge; nil = the database's `retention_days` setting.
    public var retentionDays: Int?
    /// COPY chunk size in bytes.
    public var chunkSize = 256 * 1024
    private var stagingReady = false
    /// Runs inside the batch's transaction after the merge and the correlator states, just before
    /// COMMIT (the agent records its file identity and lag there; tests use it to crash at that
    /// point). An error rolls the batch back like any other.
    public var beforeCommit: ((PGConnection) throws -> Void)?

    public init(connection: PGConnection) {
        self.connection = connection
    }

    /// Finds the source by fingerprint, creating its row when new (path, format and host hint are
    /// updated when given), and returns its checkpoint.
    public func openSource(fingerprint: String, path: String?, format: String?, hostHint: String?) throws -> SourceCheckpoint {
        let sql = """
            SELECT source_id, committed_offset, committed_line, inserted
              FROM mailtrail.ingest_open_source($1, $2, $3, $4)
            """
        let r = try connection.query(sql, [fingerprint, path, format, hostHint], operation: "open source \(path ?? fingerprint)")
        guard r.count == 1, let id = r.int(0, "source_id"), let off = r.int(0, "committed_offset"),
              let line = r.int(0, "committed_line") else {
            throw PostgresError(code: .protocol, message: "ingest_sources upsert returned no row", operation: "open source")
        }
        return SourceCheckpoint(sourceID: id, committedOffset: off, committedLine: line, isNew: r.bool(0, "inserted") ?? false)
    }

    /// Every saved correlator state: host -> (version, bytes).
    public func loadCorrelatorStates() throws -> [String: (version: Int64, state: [UInt8])] {
        let r = try connection.query("SELECT host, version, state FROM mailtrail.ingest_correlator_states()",
                                     operation: "load correlator states")
        var out: [String: (version: Int64, state: [UInt8])] = [:]
        for i in 0..<r.count {
            guard let host = r.string(i, "host"), let version = r.int(i, "version"),
                  let state = r.bytes(i, "state") else {
                throw PostgresError(code: .protocol, message: "unreadable correlator_state row \(i)",
                                    operation: "load correlator states")
            }
            out[host] = (version, state)
        }
        return out
    }

    /// Commits one batch in one transaction; see the file header for the steps.
    public func commit(_ batch: Batch) throws -> CommitResult {
        guard batch.toOffset >= batch.fromOffset, batch.fromOffset >= 0, batch.toLine >= 0 else {
            throw PostgresError(code: .invalidArgument,
                                message: "batch offsets go backwards: from \(batch.fromOffset) to \(batch.toOffset), line \(batch.toLine)",
                                operation: "commit batch")
        }
        if connection.inTransaction {
            throw PostgresError(code: .invalidArgument,
                                message: "BatchLoader.commit needs a connection outside any transaction",
                                operation: "commit batch")
        }
        if !stagingReady {
            try connection.query("SELECT mailtrail.create_staging_tables()", operation: "create staging tables")
            stagingReady = true
        }
        do {
            try connection.exec("BEGIN")
            try copy(into: "stage_messages", CopyText.messageColumns, batch.messages) { try $0.append($1) }
            try copy(into: "stage_deliveries", CopyText.deliveryColumns, batch.deliveries) { try $0.append($1) }
            try copy(into: "stage_rejections", CopyText.rejectionColumns, batch.rejections) { try $0.append($1) }
            try copy(into: "stage_unparsed", CopyText.unparsedColumns, batch.unparsed) { try $0.append($1) }
            let counters = batch.counters.sorted { $0.key < $1.key }
            try copy(into: "stage_counts", CopyText.countColumns, counters) { sink, entry in
                sink.encoder.text(entry.key); sink.encoder.int(entry.value.linesRead)
                sink.encoder.int(entry.value.parsed); sink.encoder.int(entry.value.ignored)
                sink.encoder.int(entry.value.unparsed); sink.encoder.endRow()
                try sink.flushIfNeeded()
            }

            let merged = try connection.query(
                "SELECT * FROM mailtrail.ingest_merge($1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::int)",
                [String(batch.sourceID), String(batch.fromOffset), String(batch.toOffset), String(batch.toLine),
                 retentionDays.map { String($0) }],
                operation: "ingest_merge (source \(batch.sourceID), offset \(batch.fromOffset)..\(batch.toOffset))")
            guard merged.count == 1 else {
                throw PostgresError(code: .protocol, message: "ingest_merge returned \(merged.count) rows", operation: "ingest_merge")
            }
            var result = CommitResult(
                messages: merged.int(0, "inserted_messages") ?? 0,
                deliveries: merged.int(0, "inserted_deliveries") ?? 0,
                rejections: merged.int(0, "inserted_rejections") ?? 0,
                unparsed: merged.int(0, "inserted_unparsed") ?? 0,
                tooOld: merged.int(0, "too_old_rows") ?? 0)

            for (host, update) in batch.correlatorStates.sorted(by: { $0.key < $1.key }) {
                result.correlatorVersions[host] = try writeState(host: host, expected: update.expectedVersion,
                                                                 state: update.state)
            }
            try beforeCommit?(connection)
            try connection.exec("COMMIT")
            return result
        } catch {
            if connection.inTransaction { _ = try? connection.exec("ROLLBACK") }
            if var e = error as? PostgresError, e.sqlState == "MT001" {
                e.code = .concurrentWriter
                throw e
            }
            throw error
        }
    }

    private func copy<T>(into table: String, _ columns: [String], _ rows: some Collection<T>,
                         _ encode: (inout CopySink, T) throws -> Void) throws {
        guard !rows.isEmpty else { return }
        let sql = "COPY pg_temp.\(table) (\(columns.joined(separator: ", "))) FROM STDIN"
        let loaded = try connection.copyIn(sql, chunkSize: chunkSize) { sink in
            for row in rows { try encode(&sink, row) }
        }
        if loaded != Int64(rows.count) {
            throw PostgresError(code: .copy, message: "COPY into \(table) loaded \(loaded) rows, expected \(rows.count)",
                                operation: sql)
        }
    }

    /// Writes one host's correlator state if its stored version is still `expected` (0 = no row yet);
    /// returns the new version.
    private func writeState(host: String, expected: Int64, state: [UInt8]) throws -> Int64 {
        let r = try connection.query("SELECT mailtrail.ingest_save_state($1, $2::bigint, $3::bytea) AS version",
                                     [host, String(expected), PGResult.encodeByteaHex(state)],
                                     operation: "save correlator state of host \(host)")
        guard r.count == 1, let v = r.int(0, "version") else {
            throw PostgresError(code: .protocol, message: "ingest_save_state returned no version",
                                operation: "save correlator state")
        }
        return v
    }
}
