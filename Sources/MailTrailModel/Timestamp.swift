/// Timestamp: an instant as microseconds since the Unix epoch, UTC.
///
/// Contract: every time in mailtrail comes from a log line (never the wall
/// clock) and is normalised to UTC before it leaves the framing stage. The
/// RFC 3339 rendering is what the database and JSON outputs use.
public struct Timestamp: Hashable, Comparable, Sendable, Codable {
    /// Microseconds since 1970-01-01T00:00:00Z.
    public var micros: Int64

    public init(micros: Int64) { self.micros = micros }

    public init(seconds: Int64, micros: Int64 = 0) { self.micros = seconds * 1_000_000 + micros }

    public var seconds: Int64 { micros >= 0 ? micros / 1_000_000 : (micros - 999_999) / 1_000_000 }

    public static func < (a: Timestamp, b: Timestamp) -> Bool { a.micros < b.micros }

    public func adding(seconds s: Int64) -> Timestamp { Timestamp(micros: micros + s * 1_000_000) }

    /// The civil UTC date of this instant (proleptic Gregorian).
    public var utcDate: CivilDate { CivilDate(daysSinceEpoch: floorDiv(seconds, 86_400)) }

    /// `YYYY-MM-DDThh:mm:ss[.ffffff]Z`; the fraction appears only when non-zero.
    public var rfc3339: String {
        let s = seconds
        let d = CivilDate(daysSinceEpoch: floorDiv(s, 86_400))
        let sod = s - floorDiv(s, 86_400) * 86_400
        let frac = micros - s * 1_000_000
        var out = d.iso
        out += "T" + pad2(Int(sod / 3600)) + ":" + pad2(Int(sod / 60 % 60)) + ":" + pad2(Int(sod % 60))
        if frac != 0 {
            var f = String(frac)
            while f.count < 6 { f = "0" + f }
            out += "." + f
        }
        return out + "Z"
    }
}

@inline(__always) func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
    a >= 0 ? a / b : (a - b + 1) / b
}

@inline(__always) func pad2(_ v: Int) -> String { v < 10 ? "0" + String(v) : String(v) }

/// A calendar date without time or zone (proleptic Gregorian).
public struct CivilDate: Hashable, Comparable, Sendable, Codable {
    public var year: Int
    public var month: Int
    public var day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year; self.month = month; self.day = day
    }

    /// Days since 1970-01-01 (Howard Hinnant's days_from_civil).
    public var daysSinceEpoch: Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let m = Int64(month)
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public init(daysSinceEpoch z0: Int64) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let y = yoe + era * 400
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        self.init(year: Int(m <= 2 ? y + 1 : y), month: Int(m), day: Int(d))
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }

    /// `YYYY-MM-DD`.
    public var iso: String {
        var y = String(year)
        while y.count < 4 { y = "0" + y }
        return y + "-" + pad2(month) + "-" + pad2(day)
    }

    /// The number of days in a month of a year.
    public static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 1, 3, 5, 7, 8, 10, 12: return 31
        case 4, 6, 9, 11: return 30
        default:
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
            return leap ? 29 : 28
        }
    }
}
