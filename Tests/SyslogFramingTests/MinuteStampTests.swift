// MinuteStampTests: a classic stamp of the minute of the last stamp read in
// full is that minute's instant plus its seconds (the framer's minute cache):
// the same instant as a full read in zones with DST changes on the hour, half
// hour and at 00:01 (St. John's before 2011, an hour with a change inside),
// leap seconds, stamps of other forms in between, and the year inference
// across New Year (a stray December line inside January's minutes).
import Testing
import MailTrailModel
@testable import SyslogFraming

@Suite struct MinuteStampTests {
    /// The time a framer that has read nothing else gives `line` (every stamp read in full).
    private func fresh(_ config: FramingConfig, _ line: String) -> String? {
        var f = SyslogFramer(config: config)
        return framed(&f, line)?.time
    }

    @Test(arguments: ["UTC", "Europe/Berlin", "Australia/Lord_Howe", "America/St_Johns"])
    func secondsOfAMinuteAsAFullRead(zone: String) throws {
        let spec = try #require(TimeZoneSpec(parsing: zone))
        // Days with a DST change (2010: St. John's changed at 00:01 local; Berlin and Lord Howe in
        // their spring and autumn), minutes on either side of the changes and inside them.
        let days = [(2010, "Mar 14"), (2010, "Nov  7"), (2026, "Mar 29"), (2026, "Oct 25"), (2026, "Apr  5"),
                    (2026, "Oct  4")]
        let minutes = ["00:00", "00:01", "00:02", "00:59", "01:00", "01:29", "01:30", "01:59", "02:00", "02:30",
                       "02:59", "03:00", "12:34"]
        var rng = SplitMix64(seed: 0x5EC0_4D5)
        for (year, day) in days {
            let config = FramingConfig(timeZone: spec, year: year)
            var f = SyslogFramer(config: config)
            var minute = minutes[0]
            for _ in 0..<300 {
                // Half the time another second of the last minute, else another minute; now and then
                // a leap second, a stamp with a fraction or an RFC 3339 stamp in between.
                if rng.next() % 2 == 0 { minute = minutes[Int(rng.next() % UInt64(minutes.count))] }
                let roll = rng.next() % 20
                let sec = roll == 0 ? 60 : Int(rng.next() % 60)
                let stamp = "\(day) \(minute):\(sec < 10 ? "0" : "")\(sec)"
                let line: String
                switch roll {
                case 1: line = "\(stamp).250000 h p[1]: a"
                case 2: line = "2026-03-29T01:30:00Z h p[1]: a"
                default: line = "\(stamp) h p[\(roll)]: a"
                }
                for _ in 0..<Int(1 + rng.next() % 3) {
                    #expect(framed(&f, line)?.time == fresh(config, line), "\(zone) \(year) \(line)")
                }
            }
        }
    }

    @Test func newYearWithAStrayDecemberLine() {
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2025))
        let lines = ["Dec 31 23:59:58 h p[1]: a", "Dec 31 23:59:59 h p[1]: b", "Jan  1 00:00:01 h p[1]: c",
                     "Jan  1 00:00:02 h p[1]: d", "Dec 31 23:59:57 h p[1]: e", "Jan  1 00:00:03 h p[1]: f",
                     "Dec 31 23:59:56 h p[1]: g", "Dec 31 23:59:55 h p[1]: h", "Jan  1 00:00:04 h p[1]: i"]
        #expect(lines.map { framed(&f, $0)?.time } == [
            "2025-12-31T23:59:58Z", "2025-12-31T23:59:59Z", "2026-01-01T00:00:01Z", "2026-01-01T00:00:02Z",
            "2025-12-31T23:59:57Z", "2026-01-01T00:00:03Z", "2025-12-31T23:59:56Z", "2025-12-31T23:59:55Z",
            "2026-01-01T00:00:04Z",
        ])
    }

    @Test func secondsThatAreNotTwoDigitsAndASpaceReadInFull() {
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2026))
        #expect(framed(&f, "Mar  1 10:20:30 h p[1]: a")?.time == "2026-03-01T10:20:30Z")
        #expect(frame(&f, "Mar  1 10:20:6x h p[1]: b") == .unframed(reason: "bad time of day in timestamp"))
        #expect(framed(&f, "Mar  1 10:20:31 h p[1]: c")?.time == "2026-03-01T10:20:31Z")
        #expect(framed(&f, "Mar  1 10:20:60 h p[1]: d")?.time == "2026-03-01T10:21:00Z")
        #expect(frame(&f, "Mar  1 10:20:61 h p[1]: e") == .unframed(reason: "time of day out of range"))
        #expect(framed(&f, "Mar  1 10:20:32.5 h p[1]: f")?.time == "2026-03-01T10:20:32.500000Z")
        #expect(framed(&f, "Mar  1 10:20:33 h p[1]: g")?.time == "2026-03-01T10:20:33Z")
    }
}
