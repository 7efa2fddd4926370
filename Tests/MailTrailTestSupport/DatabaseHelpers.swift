/// DatabaseHelpers: small queries and date arithmetic shared by the database tests.
///
/// Contract: `serverToday()` is the server's current UTC date (what retention
/// and premaking use); `TestDays` builds days and instants relative to it and
/// the `<table>_pYYYYMMDD` partition names; `partitions(of:)` lists a fact
/// table's partitions by name.
/// Limits: test helpers only; they precondition on well-formed answers.
import MailTrailModel
import PostgresLoading

extension PGConnection {
    /// The server's current date in UTC.
    public func serverToday() throws -> CivilDate {
        let s = try query("SELECT ((now() AT TIME ZONE 'UTC')::date)::text AS d").string(0, "d") ?? ""
        let p = s.split(separator: "-").compactMap { Int($0) }
        precondition(p.count == 3, "unexpected date \(s)")
        return CivilDate(year: p[0], month: p[1], day: p[2])
    }

    /// The first column of the first row as an integer (nil for no row or NULL).
    public func scalarInt(_ sql: String, _ params: [String?] = []) throws -> Int64? {
        let r = try query(sql, params)
        guard let row = r.rows.first, let value = row.first, let text = value else { return nil }
        return Int64(text)
    }

    /// The partitions of `mailtrail.<table>`, sorted by name.
    public func partitions(of table: String) throws -> [String] {
        let r = try query("""
            SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = $1::regclass ORDER BY c.relname
            """, ["mailtrail." + table])
        return r.rows.compactMap { $0[0] }
    }
}

public enum TestDays {
    /// `d` shifted by `offset` days.
    public static func day(_ d: CivilDate, _ offset: Int64) -> CivilDate {
        CivilDate(daysSinceEpoch: d.daysSinceEpoch + offset)
    }

    /// 12:00 UTC of `d`.
    public static func noon(_ d: CivilDate) -> Timestamp { Timestamp(seconds: d.daysSinceEpoch * 86_400 + 43_200) }

    /// `<table>_pYYYYMMDD`.
    public static func partitionName(_ table: String, _ d: CivilDate) -> String {
        table + "_p" + d.iso.split(separator: "-").joined()
    }
}
