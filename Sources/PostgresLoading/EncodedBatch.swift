/// EncodedBatch: one batch's fact rows encoded as binary COPY data, one part
/// per fact table and UTC day (the day partition they are COPYed into).
///
/// Contract: `init(_:)` encodes every record of a `Batch` exactly once with
/// `CopyBinary` (column lists `CopyBinary.*Columns`), into the part of its
/// table and of the UTC day of its partition key (`received_at` for messages,
/// `at` for the others); each part's `data` is a complete binary COPY stream
/// (header, rows, trailer); parts keep the order in which their first row
/// came, rows keep their order within a part. Each part also counts its rows per host
/// ("" for unparsed lines without one): if the database's retention window
/// starts after the part's day, `BatchLoader` sends nothing of it and adds
/// these counts to the batch's `too_old` counters instead.
/// Encoding is CPU work without I/O, so a pipelined ingest does it on the
/// parsing thread while the previous batch is still loading.
/// Limits: holds the whole batch's COPY data in memory (about 400 bytes a
/// row); counting per host compares each row's host with the previous row's
/// (runs of one host are the rule), hashing only when the host changes.
import MailTrailModel

/// The partitioned fact tables of the schema.
public enum FactTable: String, CaseIterable, Sendable {
    case messages
    case deliveries
    case rejections
    case unparsedLines = "unparsed_lines"

    /// The COPY column list of `append` for this table.
    public var columns: [String] {
        switch self {
        case .messages: return CopyBinary.messageColumns
        case .deliveries: return CopyBinary.deliveryColumns
        case .rejections: return CopyBinary.rejectionColumns
        case .unparsedLines: return CopyBinary.unparsedColumns
        }
    }

    /// The name of its day partition, like `mailtrail.partition_name()`: `<table>_pYYYYMMDD`.
    public func partitionName(day: CivilDate) -> String {
        var y = String(day.year)
        while y.count < 4 { y = "0" + y }
        let m = day.month < 10 ? "0\(day.month)" : "\(day.month)"
        let d = day.day < 10 ? "0\(day.day)" : "\(day.day)"
        return "\(rawValue)_p\(y)\(m)\(d)"
    }
}

public struct EncodedBatch: Sendable {
    /// The rows of one table and one UTC day, as one binary COPY stream.
    public struct Part: Sendable {
        public let table: FactTable
        /// The UTC day, as days since 1970-01-01.
        public let day: Int64
        public fileprivate(set) var rows: Int64 = 0
        /// Rows per host ("" = unparsed lines without a host).
        public fileprivate(set) var rowsPerHost: [String: Int64] = [:]
        /// Header, rows and (once the batch is encoded) trailer.
        public fileprivate(set) var data = CopyBinary()
        fileprivate var runHost: String?
        fileprivate var runRows: Int64 = 0

        fileprivate init(table: FactTable, day: Int64) {
            self.table = table; self.day = day
            data.appendRaw(CopyBinary.header)
        }

        /// Counts one row of `host`; see the file header for the run trick.
        @inline(__always) fileprivate mutating func count(_ host: String) {
            rows += 1
            if host == runHost { runRows += 1; return }
            fold()
            runHost = host
            runRows = 1
        }

        fileprivate mutating func fold() {
            if let h = runHost, runRows > 0 { rowsPerHost[h, default: 0] += runRows }
            runHost = nil
            runRows = 0
        }

        fileprivate mutating func finish() {
            fold()
            data.appendRaw(CopyBinary.trailer)
        }
    }

    public var sourceID: Int64
    public var fromOffset: Int64
    public var toOffset: Int64
    public var toLine: Int64
    public var counters: [String: IngestCounters]
    /// Changed correlator states: host -> (version read, serialized state). A pipelined loader
    /// may set the versions just before it commits (see `BatchLoader.commit`).
    public var correlatorStates: [String: (expectedVersion: Int64, state: [UInt8])]
    public private(set) var parts: [Part] = []

    /// Encodes `batch`'s rows; see the file header.
    public init(_ batch: Batch) {
        sourceID = batch.sourceID; fromOffset = batch.fromOffset; toOffset = batch.toOffset
        toLine = batch.toLine; counters = batch.counters; correlatorStates = batch.correlatorStates
        encode(batch.messages, .messages)
        encode(batch.deliveries, .deliveries)
        // Rows are read in place (no copy of each record's strings) and encoded into their part.
        var current = -1
        batch.rejections.withUnsafeBufferPointer { rows in
            for i in rows.indices {
                current = part(.rejections, rows[i].at, hint: current)
                parts[current].count(rows[i].host)
                parts[current].data.append(rows[i])
            }
        }
        batch.unparsed.withUnsafeBufferPointer { rows in
            for i in rows.indices {
                current = part(.unparsedLines, rows[i].at, hint: current)
                parts[current].count(rows[i].host ?? "")
                parts[current].data.append(rows[i], sourceID: batch.sourceID)
            }
        }
        for i in parts.indices { parts[i].finish() }
    }

    /// Encodes one table's rows into their parts, in order: records as they are, packed rows from
    /// their bytes (read in place: no copy of each record's strings).
    private mutating func encode<R: CopyRow, P: PackedCopyRow>(_ rows: PackedRows<R, P>, _ table: FactTable) {
        var current = -1
        rows.records.withUnsafeBufferPointer { records in
            rows.packed.withUnsafeBufferPointer { packed in
                rows.walkIndices { isPacked, i in
                    if isPacked {
                        current = part(table, packed[i].partitionTime, hint: current)
                        parts[current].count(packed[i].host)
                        packed[i].write(to: &parts[current].data, text: rows.text)
                    } else {
                        current = part(table, records[i].partitionTime, hint: current)
                        parts[current].count(records[i].host)
                        records[i].write(to: &parts[current].data)
                    }
                }
            }
        }
    }

    /// Rows of all parts.
    public var rowCount: Int64 { parts.reduce(0) { $0 + $1.rows } }

    /// The index of the part of `table` for the day of `time`, created when missing.
    @inline(__always) private mutating func part(_ table: FactTable, _ time: Timestamp, hint: Int) -> Int {
        let s = time.seconds
        let day = s >= 0 ? s / 86_400 : (s - 86_399) / 86_400
        if hint >= 0 && parts[hint].table == table && parts[hint].day == day { return hint }
        if let i = parts.firstIndex(where: { $0.table == table && $0.day == day }) { return i }
        parts.append(Part(table: table, day: day))
        return parts.count - 1
    }
}

/// A record the loader writes as one COPY row of its table, into the part of its day.
protocol CopyRow {
    var partitionTime: Timestamp { get }
    var host: String { get }
    func write(to c: inout CopyBinary)
}

/// A packed row the loader writes from its batch's text (as the record it stands for).
protocol PackedCopyRow: PackedRow {
    var partitionTime: Timestamp { get }
    var host: String { get }
    func write(to c: inout CopyBinary, text: RowText)
}

extension MessageRecord: CopyRow {
    var partitionTime: Timestamp { receivedAt }
    func write(to c: inout CopyBinary) { c.append(self) }
}

extension DeliveryRecord: CopyRow {
    var partitionTime: Timestamp { at }
    func write(to c: inout CopyBinary) { c.append(self) }
}

extension PackedMessage: PackedCopyRow {
    var partitionTime: Timestamp { receivedAt }
    func write(to c: inout CopyBinary, text: RowText) { c.append(self, text: text) }
}

extension PackedDelivery: PackedCopyRow {
    var partitionTime: Timestamp { at }
    func write(to c: inout CopyBinary, text: RowText) { c.append(self, text: text) }
}
