/// TimeSpec: the time forms `--since` / `--until` accept.
///
/// Contract: `parse(_:now:)` returns the instant for
/// * a relative age `<n>s|m|h|d|w` (seconds, minutes, hours, days, weeks
///   before `now`), e.g. `2h`, `7d`;
/// * `now`, `today` (00:00 UTC today), `yesterday` (00:00 UTC yesterday);
/// * a date `YYYY-MM-DD` (00:00 UTC);
/// * a date and time `YYYY-MM-DD hh:mm[:ss[.ffffff]]` (`T` or a blank
///   between), UTC unless followed by `Z` or an offset `+hh:mm` / `-hh:mm`.
/// Anything else throws `TimeSpecError` whose message lists these forms.
/// Limits: no time-zone names (give an offset); fractions beyond
/// microseconds are cut.
import MailTrailModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

public struct TimeSpecError: Error, CustomStringConvertible, Sendable {
    public let input: String
    public var description: String {
        "cannot read the time '\(SafeText.escape(input))'; use " + TimeSpec.acceptedForms
    }
}

public enum TimeSpec {
    public static let acceptedForms =
        "a relative age like 30m, 2h, 7d or 2w; now, today or yesterday; a date 2026-11-20; " +
        "or a date and time 2026-11-20T09:30:00 (UTC), with an optional Z or offset such as +01:00"

    /// The current time from the system clock.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(seconds: Int64(ts.tv_sec), micros: Int64(ts.tv_nsec) / 1000)
    }

    public static func parse(_ input: String, now: Timestamp = TimeSpec.now()) throws -> Timestamp {
        let s = Array(input.utf8).drop(while: { $0 == 32 }).reversed().drop(while: { $0 == 32 }).reversed()
        let b = Array(s)
        let fail = TimeSpecError(input: input)
        let text = String(decoding: b, as: UTF8.self).lowercased()
        let midnight = Timestamp(seconds: now.utcDate.daysSinceEpoch * 86_400)
        switch text {
        case "now": return now
        case "today": return midnight
        case "yesterday": return midnight.adding(seconds: -86_400)
        default: break
        }
        guard !b.isEmpty else { throw fail }
        // Relative: digits then one unit letter.
        if let unit = b.last, isDigit(b[0]), b.dropLast().allSatisfy(isDigit), b.count >= 2 {
            guard let n = Int64(String(decoding: b.dropLast(), as: UTF8.self)), n < 100_000_000 else { throw fail }
            let factor: Int64
            switch unit {
            case UInt8(ascii: "s"): factor = 1
            case UInt8(ascii: "m"): factor = 60
            case UInt8(ascii: "h"): factor = 3600
            case UInt8(ascii: "d"): factor = 86_400
            case UInt8(ascii: "w"): factor = 7 * 86_400
            default: throw fail
            }
            return now.adding(seconds: -n * factor)
        }
        // Absolute.
        var i = 0
        func number(_ width: Int) throws -> Int {
            guard i + width <= b.count else { throw fail }
            var v = 0
            for k in i..<(i + width) {
                guard isDigit(b[k]) else { throw fail }
                v = v * 10 + Int(b[k] - 48)
            }
            i += width
            return v
        }
        func expect(_ c: UInt8) throws {
            guard i < b.count, b[i] == c else { throw fail }
            i += 1
        }
        let year = try number(4); try expect(45)
        let month = try number(2); try expect(45)
        let day = try number(2)
        guard (1...12).contains(month), day >= 1, day <= CivilDate.daysIn(month: month, year: year) else { throw fail }
        var seconds = CivilDate(year: year, month: month, day: day).daysSinceEpoch * 86_400
        var micros: Int64 = 0
        if i < b.count {
            guard b[i] == UInt8(ascii: "T") || b[i] == UInt8(ascii: "t") || b[i] == 32 else { throw fail }
            i += 1
            let hh = try number(2); try expect(58)
            let mm = try number(2)
            var ss = 0
            if i < b.count, b[i] == 58 {
                i += 1
                ss = try number(2)
                if i < b.count, b[i] == 46 {
                    i += 1
                    var digits = 0
                    var frac: Int64 = 0
                    while i < b.count, isDigit(b[i]) {
                        if digits < 6 { frac = frac * 10 + Int64(b[i] - 48) }
                        digits += 1; i += 1
                    }
                    guard digits > 0 else { throw fail }
                    for _ in min(digits, 6)..<6 { frac *= 10 }
                    micros = frac
                }
            }
            guard hh < 24, mm < 60, ss < 61 else { throw fail }
            seconds += Int64(hh * 3600 + mm * 60 + ss)
            if i < b.count {
                if b[i] == UInt8(ascii: "Z") || b[i] == UInt8(ascii: "z") {
                    i += 1
                } else if b[i] == 43 || b[i] == 45 {
                    let sign: Int64 = b[i] == 43 ? 1 : -1
                    i += 1
                    let oh = try number(2)
                    if i < b.count, b[i] == 58 { i += 1 }
                    let om = try number(2)
                    guard oh < 24, om < 60 else { throw fail }
                    seconds -= sign * Int64(oh * 3600 + om * 60)
                } else {
                    throw fail
                }
            }
        }
        guard i == b.count else { throw fail }
        return Timestamp(seconds: seconds, micros: micros)
    }

    static func isDigit(_ c: UInt8) -> Bool { c >= 48 && c <= 57 }
}
