// YearInference: gives year-less (RFC 3164) stamps a year.
//
// Contract:
// * The first line's year is the forced year (`--year`) if given, else the
//   reference date's year, minus one when the line's month is later than the
//   reference month (a log from last December read in January).
// * Afterwards a month that is more than 6 months *before* the current one
//   (Dec -> Jan) starts the next year; a month more than 6 months *after* the
//   current one is a stray old line: it gets year - 1 and does not change
//   the state. Otherwise the current year is used and the month becomes the
//   current month.
// * `peek` computes without changing state, `commit` applies a result, so a
//   line that turns out invalid (e.g. Feb 29 in a common year) is not counted.
// Known limits: a log with a gap of more than 6 months is misread.

import MailTrailModel

/// Tracks the current year and month of a stream of year-less stamps.
struct YearInference {
    let forcedYear: Int?
    let reference: CivilDate?
    private(set) var year: Int?
    private(set) var month: Int = 0

    init(forcedYear: Int?, reference: CivilDate?) {
        self.forcedYear = forcedYear; self.reference = reference
    }

    /// The year for a line of `m` (1...12) and the state after it; nil when no year can be known.
    @inline(__always)
    func peek(month m: Int) -> (year: Int, newYear: Int, newMonth: Int)? {
        guard let y = year else {
            if let f = forcedYear { return (f, f, m) }
            guard let r = reference else { return nil }
            let y0 = m > r.month ? r.year - 1 : r.year
            return (y0, y0, m)
        }
        if m < month - 6 { return (y + 1, y + 1, m) }       // rollover (Dec -> Jan)
        if m > month + 6 { return (y - 1, y, month) }       // stray old line
        return (y, y, m)
    }

    /// Applies the state change computed by `peek`.
    @inline(__always)
    mutating func commit(year newYear: Int, month newMonth: Int) {
        year = newYear; month = newMonth
    }
}
