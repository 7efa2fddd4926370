// Calendar edges of classic (year-less) and RFC 3339 stamps that issue 3
// names: Feb 29 in leap and common years, Dec 31 -> Jan 1 across a leap
// year, and a DST change inside a year inferred from the reference date.
import Testing
import MailTrailModel
@testable import SyslogFraming

@Suite struct CalendarEdgeTests {
    @Test func february29InALeapYearFromTheReferenceDate() {
        // A file last written on 2024-03-02: Feb 28 -> Feb 29 -> Mar 1 are all 2024.
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0),
                                                   referenceDate: CivilDate(year: 2024, month: 3, day: 2)))
        let got = ["Feb 28 23:59:59 h p[1]: a", "Feb 29 00:00:00 h p[1]: b", "Feb 29 23:59:59 h p[1]: c",
                   "Mar  1 00:00:00 h p[1]: d"].map { framed(&f, $0)?.time }
        #expect(got == ["2024-02-28T23:59:59Z", "2024-02-29T00:00:00Z", "2024-02-29T23:59:59Z",
                        "2024-03-01T00:00:00Z"])
    }

    @Test func february29WithAForcedCommonYearIsUnframedAndDoesNotDerail() {
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2025))
        #expect(frame(&f, "Feb 29 10:00:00 h p[1]: a") == .unframed(reason: "day out of range for month"))
        #expect(framed(&f, "Mar  1 10:00:00 h p[1]: b")?.time == "2025-03-01T10:00:00Z")
    }

    @Test func rfc3339February29AndOffsets() {
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), referenceDate: nil))
        #expect(framed(&f, "2024-02-29T23:30:00.250+01:00 h p[1]: a")?.time == "2024-02-29T22:30:00.250000Z")
        #expect(framed(&f, "2024-02-29T23:30:00-05:00 h p[1]: b")?.time == "2024-03-01T04:30:00Z")
        #expect(frame(&f, "2023-02-29T10:00:00Z h p[1]: c") == .unframed(reason: "day out of range for month"))
    }

    @Test func newYearAfterALeapYearInBerlin() throws {
        // Local midnight in Berlin (CET, +1): 2024-12-31 23:59:59 -> 22:59:59Z, then 2025-01-01.
        let berlin = try #require(TimeZoneSpec(parsing: "Europe/Berlin"))
        var f = SyslogFramer(config: FramingConfig(timeZone: berlin,
                                                   referenceDate: CivilDate(year: 2025, month: 1, day: 3)))
        let got = ["Dec 31 23:59:59 h p[1]: a", "Jan  1 00:00:00 h p[1]: b", "Jan  1 00:59:59 h p[1]: c"]
            .map { framed(&f, $0)?.time }
        #expect(got == ["2024-12-31T22:59:59Z", "2024-12-31T23:00:00Z", "2024-12-31T23:59:59Z"])
    }
}
