// FramingConfig: how the framer turns envelope times into UTC and fills gaps.
//
// Contract: plain values chosen by the caller (CLI/Ingest). The framer never
// reads the clock or the environment itself; defaults that need "now" or the
// system zone are evaluated as default arguments, i.e. in the caller.
// Known limits: a zone is one per input stream (per-program offsets of old
// chrooted daemons are not modelled).

import Foundation
import MailTrailModel

/// The zone in which year-less classic (RFC 3164) stamps were written.
public enum TimeZoneSpec: Hashable, Sendable {
    /// An IANA zone such as `Europe/Berlin` (DST rules apply).
    case identifier(String)
    /// A constant offset east of UTC in seconds (`+01:00` is 3600).
    case fixedOffset(seconds: Int)

    /// The system's zone (`TimeZone.current`), as an identifier.
    public static var system: TimeZoneSpec { .identifier(TimeZone.current.identifier) }

    /// Parses `UTC`, `Z`, `+01:00`, `-0500`, `+01` or an IANA identifier; nil when unknown.
    public init?(parsing text: String) {
        if text == "UTC" || text == "Z" || text == "GMT" { self = .fixedOffset(seconds: 0); return }
        let u = Array(text.utf8)
        if let first = u.first, first == ASCII.plus || first == ASCII.minus {
            let digits = u.dropFirst().filter { $0 != ASCII.colon }
            guard digits.count == 2 || digits.count == 4, digits.allSatisfy(ASCII.isDigit) else { return nil }
            let d = digits.map(ASCII.digit)
            let h = d[0] * 10 + d[1]
            let m = digits.count == 4 ? d[2] * 10 + d[3] : 0
            guard h <= 23, m <= 59 else { return nil }
            let s = (h * 3600 + m * 60) * (first == ASCII.minus ? -1 : 1)
            self = .fixedOffset(seconds: s)
            return
        }
        guard TimeZone(identifier: text) != nil else { return nil }
        self = .identifier(text)
    }
}

/// Settings of the syslog framer for one input stream.
public struct FramingConfig: Hashable, Sendable {
    /// Zone of classic stamps (RFC 3339 stamps carry their own offset).
    public var timeZone: TimeZoneSpec
    /// Forces the year of year-less stamps (`--year`); rollover still applies afterwards.
    public var year: Int?
    /// The date year inference starts from (normally today, passed in by the caller).
    public var referenceDate: CivilDate?
    /// Host used only for lines whose envelope has none.
    public var defaultHost: String?

    /// Creates a configuration; the defaults read the system zone and today's date in the caller.
    public init(timeZone: TimeZoneSpec = .system, year: Int? = nil,
                referenceDate: CivilDate? = FramingConfig.today(), defaultHost: String? = nil) {
        self.timeZone = timeZone; self.year = year; self.referenceDate = referenceDate
        self.defaultHost = defaultHost
    }

    /// Today's civil date in the system zone (for callers; the framer never calls it).
    public static func today() -> CivilDate {
        let now = Date()
        let local = Int64(now.timeIntervalSince1970.rounded(.down)) + Int64(TimeZone.current.secondsFromGMT(for: now))
        return CivilDate(daysSinceEpoch: local >= 0 ? local / 86_400 : (local - 86_399) / 86_400)
    }
}
