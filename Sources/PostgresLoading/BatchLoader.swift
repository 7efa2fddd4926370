/// BatchLoader: commits one ingest batch in one transaction (exactly-once).
///
/// Contract (docs/architecture.md "Exactly-once ingest"): `commit` runs
///   BEGIN; `mailtrail.ingest_batch_begin(...)` (locks the source, checks the
///   checkpoint, creates the batch's day partitions inside the retention
///   window, returns the window); COPY (binary format) each part of the
///   `EncodedBatch` straight into its day partition
///   (`mailtrail.<table>_pYYYYMMDD`), except
///   parts dated before the window, whose rows are counted as too_old;
///   `mailtrail.ingest_checkpoint(...)` (checkpoint and per-host counters);
///   the changed correlator states with an optimistic version check; COMMIT.
/// Any error rolls the whole batch back and is rethrown, so the checkpoint,
/// the facts and the correlator state move together or not at all. A
/// concurrent writer shows up as `PostgresError` with code
/// `.concurrentWriter` (SQLSTATE MT001 from the checkpoint check, or a
/// correlator state version mismatch): nothing was written, rerunning
/// resumes from the committed checkpoint.
/// Limits: one batch at a time per connection (the connection is not
/// thread-safe: a pipelined caller commits from one thread); must not be
/// called inside a transaction the caller opened. Correlator states travel
/// as hex text parameters (2x their size on the wire).
/// Security: the loader's only table privilege is INSERT on the day
/// partitions, and the partitions' `ingest_check_rows` trigger refuses any
/// statement with a row of a host not assigned to a restricted ingest login
/// (SQLSTATE 42501, the batch rolls back). Sources, checkpoints and
/// correlator states go through SECURITY DEFINER functions
/// (`ingest_open_source`, `ingest_batch_begin`, `ingest_checkpoint`,
/// `ingest_correlator_states`, `ingest_save_state`) limited to the login's
/// own sources and hosts (docs/security.md).
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
    /// The source's committed offset this batch starts at (the database checks it).
    public var fromOffset: Int64
    /// The offset after the batch's last line: the new checkpoint.
    public var toOffset: Int64
    /// The number of the batch's last line: the new committed line.
    public var toLine: Int64
    /// Counters per host ("" for lines without a readable host).
    public var counters: [String: IngestCounters]
    public var messages: MessageRows
    public var deliveries: DeliveryRows
    public var rejections: [RejectionRecord]
    public var unparsed: [UnparsedLine]
    /// Changed correlator states: host -> (version read, 0 for a new host; serialized state).
    public var correlatorStates: [String: (expectedVersion: Int64, state: [UInt8])]

    public init(sourceID: Int64, fromOffset: Int64, toOffset: Int64, toLine: Int64,
                counters: [String: IngestCounters] = [:], messages: MessageRows = [],
                deliveries: DeliveryRows = [], rejections: [RejectionRecord] = [],
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
    /// Retention window passed to `ingest_batch_begin`; nil = the database's `retention_days` setting.
    public var retentionDays: Int?
    /// COPY chunk size in bytes.
    public var chunkSize = 256 * 1024
    /// Runs inside the batch's transaction after the rows, the checkpoint and the correlator
    /// states, just before COMMIT (the agent records its file identity and lag there; tests use
    /// it to crash at that point). An error rolls the batch back like any other.
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
        try commit(EncodedBatch(batch))
    }

    /// Commits one encoded batch in one transaction; see the file header for the steps.
    public func commit(_ batch: EncodedBatch) throws -> CommitResult {
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
        do {
            try connection.exec("BEGIN")
            // Days PostgreSQL can name (years 1-9999): a row dated otherwise cannot be stored
            // anyway, and when it lies before the window it is only counted.
            let days = Set(batch.parts.map(\.day)).sorted().map { CivilDate(daysSinceEpoch: $0) }
                .filter { (1...9999).contains($0.year) }
            let begun = try connection.query(
                "SELECT mailtrail.ingest_batch_begin($1::bigint, $2::bigint, $3::date[], $4::int) - DATE '1970-01-01' AS first_day",
                [String(batch.sourceID), String(batch.fromOffset), "{" + days.map(\.iso).joined(separator: ",") + "}",
                 retentionDays.map { String($0) }],
                operation: "ingest_batch_begin (source \(batch.sourceID), offset \(batch.fromOffset))")
            guard begun.count == 1 else {
                throw PostgresError(code: .protocol, message: "ingest_batch_begin returned \(begun.count) rows",
                                    operation: "ingest_batch_begin")
            }
            let firstDay = begun.int(0, "first_day")   // nil: no retention limit

            var result = CommitResult()
            var tooOld: [String: Int64] = [:]
            for part in batch.parts {
                if let first = firstDay, part.day < first {
                    for (host, n) in part.rowsPerHost { tooOld[host, default: 0] += n }
                    result.tooOld += part.rows
                    continue
                }
                let table = "mailtrail." + part.table.partitionName(day: CivilDate(daysSinceEpoch: part.day))
                let sql = "COPY \(table) (\(part.table.columns.joined(separator: ", "))) FROM STDIN (FORMAT binary)"
                let loaded = try connection.copyIn(sql, chunkSize: chunkSize) { try $0.send(encoded: part.data) }
                if loaded != part.rows {
                    throw PostgresError(code: .copy, message: "COPY into \(table) loaded \(loaded) rows, expected \(part.rows)",
                                        operation: sql)
                }
                switch part.table {
                case .messages: result.messages += loaded
                case .deliveries: result.deliveries += loaded
                case .rejections: result.rejections += loaded
                case .unparsedLines: result.unparsed += loaded
                }
            }

            let hosts = Set(batch.counters.keys).union(tooOld.keys).sorted()
            let counts = hosts.map { batch.counters[$0] ?? IngestCounters() }
            try connection.query(
                """
                SELECT mailtrail.ingest_checkpoint($1::bigint, $2::bigint, $3::bigint, $4::bigint, $5::text[],
                                                   $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
                """,
                [String(batch.sourceID), String(batch.fromOffset), String(batch.toOffset), String(batch.toLine),
                 PGResult.encodeTextArray(hosts),
                 PGResult.encodeIntArray(counts.map(\.linesRead)), PGResult.encodeIntArray(counts.map(\.parsed)),
                 PGResult.encodeIntArray(counts.map(\.ignored)), PGResult.encodeIntArray(counts.map(\.unparsed)),
                 PGResult.encodeIntArray(hosts.map { tooOld[$0] ?? 0 })],
                operation: "ingest_checkpoint (source \(batch.sourceID), offset \(batch.fromOffset)..\(batch.toOffset))")

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
