/// Maintenance: `mailtrail maintain` — partition retention and premaking.
///
/// Contract: `run` calls `mailtrail.run_maintenance(retention, premake)` (NULL =
/// the database's settings) in its own transaction and returns its report:
/// whole day partitions older than the window are detached and dropped (never
/// DELETE), partitions for today .. today+premake are created. On a replica it
/// does nothing and reports `skipped`. The same SQL can run from psql or
/// pg_cron (see docs/schema.md).
/// Limits: "today" is the database server's UTC date, not the client's.
import MailTrailModel

/// One line of the maintenance report.
public struct MaintenanceAction: Hashable, Sendable {
    /// `dropped`, `created`, `ok` (nothing to do) or `skipped` (replica, or another run holds the lock).
    public var action: String
    /// The fact table (`messages`, …), nil for `ok`/`skipped`.
    public var parentTable: String?
    /// The partition, e.g. `messages_p20240301`.
    public var partitionTable: String?
    /// The partition's UTC day.
    public var day: CivilDate?
    public var detail: String?

    public init(action: String, parentTable: String? = nil, partitionTable: String? = nil,
                day: CivilDate? = nil, detail: String? = nil) {
        self.action = action; self.parentTable = parentTable; self.partitionTable = partitionTable
        self.day = day; self.detail = detail
    }
}

public struct Maintenance {
    public let connection: PGConnection

    public init(connection: PGConnection) { self.connection = connection }

    /// Drops expired day partitions and premakes the coming ones; nil arguments use
    /// `mailtrail.settings` (retention_days, premake_days).
    public func run(retentionDays: Int? = nil, premakeDays: Int? = nil) throws -> [MaintenanceAction] {
        let r = try connection.query(
            "SELECT action, parent_table, partition_table, day::text AS day, detail FROM mailtrail.run_maintenance($1::int, $2::int)",
            [retentionDays.map { String($0) }, premakeDays.map { String($0) }],
            operation: "run_maintenance")
        return actions(r, defaultAction: nil)
    }

    /// Creates the day partitions of all fact tables for `from ... to` (UTC days, inclusive).
    public func ensurePartitions(from: CivilDate, to: CivilDate) throws -> [MaintenanceAction] {
        let r = try connection.query(
            "SELECT parent_table, partition_table, day::text AS day FROM mailtrail.ensure_day_partitions($1::date, $2::date)",
            [from.iso, to.iso], operation: "ensure_day_partitions")
        return actions(r, defaultAction: "created")
    }

    /// A value of `mailtrail.settings` (nil when unset).
    public func setting(_ key: String) throws -> String? {
        let r = try connection.query("SELECT value FROM mailtrail.settings WHERE key = $1", [key], operation: "read setting \(key)")
        return r.isEmpty ? nil : r.string(0, "value")
    }

    /// Sets a value of `mailtrail.settings`.
    public func setSetting(_ key: String, _ value: String) throws {
        try connection.query("""
            INSERT INTO mailtrail.settings (key, value) VALUES ($1, $2)
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
            """, [key, value], operation: "set setting \(key)")
    }

    private func actions(_ r: PGResult, defaultAction: String?) -> [MaintenanceAction] {
        (0..<r.count).map { i in
            MaintenanceAction(
                action: defaultAction ?? r.string(i, "action") ?? "",
                parentTable: r.string(i, "parent_table"),
                partitionTable: r.string(i, "partition_table"),
                day: r.string(i, "day").flatMap(Maintenance.parseDate),
                detail: r.columnIndex("detail") != nil ? r.string(i, "detail") : nil)
        }
    }

    static func parseDate(_ s: String) -> CivilDate? {
        let parts = s.split(separator: "-")
        guard parts.count == 3, let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]) else { return nil }
        return CivilDate(year: y, month: m, day: d)
    }
}
