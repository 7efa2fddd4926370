// SyslogFramerTests: envelopes, tags, year inference, zones/DST, RFC 3339
// and rejection of garbage, with exact expected values.

import Testing
import MailTrailModel
import SyslogFraming

/// Frames one line given as a String.
func frame(_ framer: inout SyslogFramer, _ line: String, offset: Int64 = 0) -> FrameResult {
    Array(line.utf8).withUnsafeBufferPointer { framer.frame($0, offset: offset) }
}

/// The pieces of a framed line as plain values, for exact comparison.
struct Framed: Equatable, CustomStringConvertible {
    var time: String; var host: String; var instance: String; var service: String; var program: String
    var pid: Int32; var body: String
    var description: String { "\(time) \(host) \(instance)|\(service)|\(program)[\(pid)]: \(body)" }
}

func framed(_ framer: inout SyslogFramer, _ line: String) -> Framed? {
    let bytes = Array(line.utf8)
    guard case .framed(let c, let r) = bytes.withUnsafeBufferPointer({ framer.frame($0, offset: 7) }) else { return nil }
    #expect(c.offset == 7)
    return Framed(time: c.time.rfc3339, host: c.host, instance: c.instance, service: c.service, program: c.program,
                  pid: c.pid, body: String(decoding: bytes[r], as: UTF8.self))
}

let utc2024 = FramingConfig(timeZone: .fixedOffset(seconds: 0), year: nil,
                            referenceDate: CivilDate(year: 2024, month: 12, day: 31), defaultHost: "fallback")

struct HeaderCase: Sendable, CustomTestStringConvertible {
    var line: String; var time: String; var host: String; var instance: String; var service: String
    var program: String; var pid: Int32; var body: String
    var testDescription: String { line }
}

let headerCases: [HeaderCase] = [
    .init(line: "Jan  5 09:12:01 mx1 postfix/smtpd[2101]: connect from x[192.0.2.1]", time: "2024-01-05T09:12:01Z",
          host: "mx1", instance: "postfix", service: "", program: "smtpd", pid: 2101, body: "connect from x[192.0.2.1]"),
    .init(line: "Jan 05 09:12:01 mx1 postfix/smtpd[2101]: x", time: "2024-01-05T09:12:01Z",
          host: "mx1", instance: "postfix", service: "", program: "smtpd", pid: 2101, body: "x"),
    .init(line: "Jan 5 09:12:01 mx1 postfix/smtpd[2101]: x", time: "2024-01-05T09:12:01Z",
          host: "mx1", instance: "postfix", service: "", program: "smtpd", pid: 2101, body: "x"),
    .init(line: "Dec 31 23:59:60 mx1 postfix/qmgr[1]: leap", time: "2025-01-01T00:00:00Z",
          host: "mx1", instance: "postfix", service: "", program: "qmgr", pid: 1, body: "leap"),
    .init(line: "Feb 29 00:00:00 h postfix/submission/smtpd[123]: x", time: "2024-02-29T00:00:00Z",
          host: "h", instance: "postfix", service: "submission", program: "smtpd", pid: 123, body: "x"),
    .init(line: "Mar  1 10:00:00 h postfix-out/smtp[9]: x", time: "2024-03-01T10:00:00Z",
          host: "h", instance: "postfix-out", service: "", program: "smtp", pid: 9, body: "x"),
    .init(line: "Mar  1 10:00:00 h postfix/10025/smtpd[9]: x", time: "2024-03-01T10:00:00Z",
          host: "h", instance: "postfix", service: "10025", program: "smtpd", pid: 9, body: "x"),
    .init(line: "Mar  1 10:00:00 h postfix-smo/submission/smtpd[22427]: x", time: "2024-03-01T10:00:00Z",
          host: "h", instance: "postfix-smo", service: "submission", program: "smtpd", pid: 22427, body: "x"),
    .init(line: "Mar  1 10:00:00 h a/b/c/d[1]: x", time: "2024-03-01T10:00:00Z",
          host: "h", instance: "a", service: "b/c", program: "d", pid: 1, body: "x"),
    .init(line: "Jul 30 00:10:11 imac27 madeup: Gobbely Gook", time: "2024-07-30T00:10:11Z",
          host: "imac27", instance: "", service: "", program: "madeup", pid: 0, body: "Gobbely Gook"),
    .init(line: "Jul 30 00:10:11 imac27 amavis[272]: (272-01) Passed CLEAN", time: "2024-07-30T00:10:11Z",
          host: "imac27", instance: "", service: "", program: "amavis", pid: 272, body: "(272-01) Passed CLEAN"),
    .init(line: "Jul 30 00:10:11 postfix/smtpd[5]: no host here", time: "2024-07-30T00:10:11Z",
          host: "fallback", instance: "postfix", service: "", program: "smtpd", pid: 5, body: "no host here"),
    .init(line: "Jul 30 00:10:11 h postfix/smtpd[5]:", time: "2024-07-30T00:10:11Z",
          host: "h", instance: "postfix", service: "", program: "smtpd", pid: 5, body: ""),
    .init(line: "Jul 30 00:10:11.123456 h postfix/smtpd[5]: precise", time: "2024-07-30T00:10:11.123456Z",
          host: "h", instance: "postfix", service: "", program: "smtpd", pid: 5, body: "precise"),
    // RFC 3339 envelopes
    .init(line: "2023-03-14T00:00:31.185246+01:00 helga postfix/postscreen[3163107]: PASS OLD [192.0.2.1]:36942",
          time: "2023-03-13T23:00:31.185246Z", host: "helga", instance: "postfix", service: "", program: "postscreen",
          pid: 3163107, body: "PASS OLD [192.0.2.1]:36942"),
    .init(line: "2024-08-29T01:08:59Z machine postfix/smtpd[1]: x", time: "2024-08-29T01:08:59Z",
          host: "machine", instance: "postfix", service: "", program: "smtpd", pid: 1, body: "x"),
    .init(line: "2024-08-29T01:08:59.7+00:00 machine postfix/smtpd[1]: x", time: "2024-08-29T01:08:59.700000Z",
          host: "machine", instance: "postfix", service: "", program: "smtpd", pid: 1, body: "x"),
    .init(line: "2025-01-05T09:12:02-0500 h postfix/smtpd[1]: x", time: "2025-01-05T14:12:02Z",
          host: "h", instance: "postfix", service: "", program: "smtpd", pid: 1, body: "x"),
    .init(line: "2025-01-05T09:12:02.123456789+05:30 h postfix/smtpd[1]: x", time: "2025-01-05T03:42:02.123456Z",
          host: "h", instance: "postfix", service: "", program: "smtpd", pid: 1, body: "x"),
    .init(line: "2025-01-05T00:30:00+01:00 h postfix/smtpd[1]: x", time: "2025-01-04T23:30:00Z",
          host: "h", instance: "postfix", service: "", program: "smtpd", pid: 1, body: "x"),
]

struct GarbageCase: Sendable, CustomTestStringConvertible {
    var line: String; var reason: String
    var testDescription: String { line.debugDescription }
}

let garbageCases: [GarbageCase] = [
    .init(line: "", reason: "empty line"),
    .init(line: "hello world", reason: "line too short for a timestamp"),
    .init(line: "# failJSON: { \"time\": \"2005-02-21T09:21:54\" }", reason: "no timestamp (month name expected)"),
    .init(line: "Foo  5 09:12:01 mx1 postfix/smtpd[1]: x", reason: "no timestamp (month name expected)"),
    .init(line: "Jan 32 09:12:01 mx1 postfix/smtpd[1]: x", reason: "day out of range for month"),
    .init(line: "Feb 30 09:12:01 mx1 postfix/smtpd[1]: x", reason: "day out of range for month"),
    .init(line: "Jan  5 24:12:01 mx1 postfix/smtpd[1]: x", reason: "time of day out of range"),
    .init(line: "Jan  5 09:60:01 mx1 postfix/smtpd[1]: x", reason: "time of day out of range"),
    .init(line: "Jan  5 09:12:61 mx1 postfix/smtpd[1]: x", reason: "time of day out of range"),
    .init(line: "Jan  5 9:12:01 mx1 postfix/smtpd[1]: x", reason: "bad time of day in timestamp"),
    .init(line: "Jan  5 09:12:01 mx1", reason: "no tag after host"),
    .init(line: "Jan  5 09:12:01 mx1 postfix/smtpd[12a]: x", reason: "bad pid in tag"),
    .init(line: "Jan  5 09:12:01 mx1 postfix/smtpd[12] x", reason: "no colon after tag[pid]"),
    .init(line: "Jan  5 09:12:01 mx1 postfix/smtpd x", reason: "no syslog tag"),
    .init(line: "2024-13-01T00:00:00Z h p[1]: x", reason: "month out of range"),
    .init(line: "2023-02-29T00:00:00Z h p[1]: x", reason: "day out of range for month"),
    .init(line: "2024-01-01 00:00:00Z h p[1]: x", reason: "bad RFC 3339 timestamp"),
    .init(line: "2024-01-01T00:00:00 h p[1]: x", reason: "no UTC offset in RFC 3339 timestamp"),
    .init(line: "2024-01-01T00:00:00+1:00 h p[1]: x", reason: "bad UTC offset"),
    .init(line: "2024-01-01T00:00:00.Z h p[1]: x", reason: "bad fraction in timestamp"),
    .init(line: "2024-01-01T00:00:00.1234567890Z h p[1]: x", reason: "bad fraction in timestamp"),
]

@Suite struct SyslogFramerTests {
    @Test(arguments: headerCases)
    func headerAndTagVariants(_ c: HeaderCase) {
        var f = SyslogFramer(config: utc2024)
        let got = framed(&f, c.line)
        #expect(got == Framed(time: c.time, host: c.host, instance: c.instance, service: c.service,
                              program: c.program, pid: c.pid, body: c.body))
    }

    @Test(arguments: garbageCases)
    func garbageIsUnframedWithReason(_ c: GarbageCase) {
        var f = SyslogFramer(config: utc2024)
        #expect(frame(&f, c.line) == .unframed(reason: c.reason))
    }

    @Test func lastContextIsKeptForUnparsedLines() {
        var f = SyslogFramer(config: utc2024)
        _ = frame(&f, "Jan  5 09:12:01 mx1 postfix/smtpd[2101]: x", offset: 10)
        _ = frame(&f, "garbage garbage garbage", offset: 50)
        #expect(f.lastContext?.host == "mx1")
        #expect(f.lastContext?.time.rfc3339 == "2024-01-05T09:12:01Z")
        #expect(f.lastContext?.offset == 10)
    }

    @Test func frameInPlaceUpdatesCurrentAndTagIndex() {
        var f = SyslogFramer(config: utc2024)
        var failure: StaticString = ""
        let lines = ["Jan  5 09:12:01 mx1 postfix/smtpd[1]: a", "Jan  5 09:12:02 mx2 postfix/qmgr[2]: b",
                     "Jan  5 09:12:03 mx1 postfix/smtpd[3]: c", "Jan  5 09:12:04 mx1 broken"]
        var seen: [String] = []
        for l in lines {
            let body = Array(l.utf8).withUnsafeBufferPointer { f.frameInPlace($0, offset: 0, failure: &failure) }
            if let body {
                seen.append("\(f.current.host) \(f.current.program) \(f.current.pid) \(f.lastTagIndex) \(body)")
            } else {
                seen.append("unframed: \(failure)")
            }
        }
        #expect(seen == ["mx1 smtpd 1 0 38..<39", "mx2 qmgr 2 1 37..<38", "mx1 smtpd 3 0 38..<39",
                         "unframed: no syslog tag"])
        #expect(f.lastContext?.pid == 3)
    }

    @Test func yearInferenceFromReferenceDate() {
        // Reference 2025-01-10: a December line belongs to 2024, a January line to 2025.
        let ref = CivilDate(year: 2025, month: 1, day: 10)
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), referenceDate: ref))
        #expect(framed(&f, "Dec 30 10:00:00 h p[1]: a")?.time == "2024-12-30T10:00:00Z")
        var g = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), referenceDate: ref))
        #expect(framed(&g, "Jan  9 10:00:00 h p[1]: a")?.time == "2025-01-09T10:00:00Z")
    }

    @Test func decemberToJanuaryRolloverAndStrayLines() {
        let ref = CivilDate(year: 2025, month: 2, day: 1)
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), referenceDate: ref))
        let lines = [
            "Nov 30 23:00:00 h p[1]: a",   // later than Feb -> 2024
            "Dec 31 23:59:59 h p[1]: b",   // 2024
            "Jan  1 00:00:01 h p[1]: c",   // rollover -> 2025
            "Dec 31 23:59:58 h p[1]: d",   // stray old line -> 2024, state unchanged
            "Jan  1 00:00:02 h p[1]: e",   // still 2025
            "Jul  1 00:00:00 h p[1]: f",   // +6 months: same year
            "Jan  2 00:00:00 h p[1]: g",   // -6 months: not a rollover
        ]
        let got = lines.map { framed(&f, $0)?.time }
        #expect(got == ["2024-11-30T23:00:00Z", "2024-12-31T23:59:59Z", "2025-01-01T00:00:01Z",
                        "2024-12-31T23:59:58Z", "2025-01-01T00:00:02Z", "2025-07-01T00:00:00Z",
                        "2025-01-02T00:00:00Z"])
    }

    @Test func forcedYearStillRollsOver() {
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2019,
                                                   referenceDate: CivilDate(year: 2030, month: 1, day: 1)))
        #expect(framed(&f, "Dec 31 23:59:59 h p[1]: a")?.time == "2019-12-31T23:59:59Z")
        #expect(framed(&f, "Jan  1 00:00:00 h p[1]: b")?.time == "2020-01-01T00:00:00Z")
    }

    @Test func invalidDayDoesNotChangeYearState() {
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2023))
        #expect(frame(&f, "Feb 29 10:00:00 h p[1]: a") == .unframed(reason: "day out of range for month"))
        #expect(framed(&f, "Feb 28 10:00:00 h p[1]: a")?.time == "2023-02-28T10:00:00Z")
    }

    @Test func noYearSourceIsUnframed() {
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), referenceDate: nil))
        #expect(frame(&f, "Jan  5 09:12:01 mx1 p[1]: x") ==
                .unframed(reason: "year unknown (no --year and no reference date)"))
        #expect(framed(&f, "2024-01-05T09:12:01Z mx1 p[1]: x")?.time == "2024-01-05T09:12:01Z")
    }

    struct ZoneCase: Sendable, CustomTestStringConvertible {
        var zone: String; var year: Int; var local: String; var utc: String
        var testDescription: String { "\(zone) \(year) \(local)" }
    }

    static let zoneCases: [ZoneCase] = [
        // Europe/Berlin: CET +1, CEST +2; 2024-03-31 02:00 -> 03:00, 2024-10-27 03:00 -> 02:00
        .init(zone: "Europe/Berlin", year: 2024, local: "Jan 15 12:00:00", utc: "2024-01-15T11:00:00Z"),
        .init(zone: "Europe/Berlin", year: 2024, local: "Jul 15 12:00:00", utc: "2024-07-15T10:00:00Z"),
        .init(zone: "Europe/Berlin", year: 2024, local: "Mar 31 01:59:59", utc: "2024-03-31T00:59:59Z"),
        .init(zone: "Europe/Berlin", year: 2024, local: "Mar 31 02:00:00", utc: "2024-03-31T01:00:00Z"),  // gap
        .init(zone: "Europe/Berlin", year: 2024, local: "Mar 31 02:30:00", utc: "2024-03-31T01:30:00Z"),  // gap
        .init(zone: "Europe/Berlin", year: 2024, local: "Mar 31 03:00:00", utc: "2024-03-31T01:00:00Z"),
        .init(zone: "Europe/Berlin", year: 2024, local: "Oct 27 01:59:59", utc: "2024-10-26T23:59:59Z"),
        .init(zone: "Europe/Berlin", year: 2024, local: "Oct 27 02:00:00", utc: "2024-10-27T00:00:00Z"),  // repeated: first
        .init(zone: "Europe/Berlin", year: 2024, local: "Oct 27 02:30:00", utc: "2024-10-27T00:30:00Z"),  // repeated: first
        .init(zone: "Europe/Berlin", year: 2024, local: "Oct 27 03:00:00", utc: "2024-10-27T02:00:00Z"),
        // America/New_York: EST -5, EDT -4; 2024-03-10 02:00 -> 03:00, 2024-11-03 02:00 -> 01:00
        .init(zone: "America/New_York", year: 2024, local: "Jan 15 12:00:00", utc: "2024-01-15T17:00:00Z"),
        .init(zone: "America/New_York", year: 2024, local: "Jul  1 12:00:00", utc: "2024-07-01T16:00:00Z"),
        .init(zone: "America/New_York", year: 2024, local: "Mar 10 01:59:59", utc: "2024-03-10T06:59:59Z"),
        .init(zone: "America/New_York", year: 2024, local: "Mar 10 02:30:00", utc: "2024-03-10T07:30:00Z"),  // gap
        .init(zone: "America/New_York", year: 2024, local: "Mar 10 03:00:00", utc: "2024-03-10T07:00:00Z"),
        .init(zone: "America/New_York", year: 2024, local: "Nov  3 00:59:59", utc: "2024-11-03T04:59:59Z"),
        .init(zone: "America/New_York", year: 2024, local: "Nov  3 01:30:00", utc: "2024-11-03T05:30:00Z"),  // repeated: first
        .init(zone: "America/New_York", year: 2024, local: "Nov  3 02:00:00", utc: "2024-11-03T07:00:00Z"),
        // fixed offsets
        .init(zone: "+05:30", year: 2024, local: "Jan 15 12:00:00", utc: "2024-01-15T06:30:00Z"),
        .init(zone: "-0800", year: 2024, local: "Jan 15 12:00:00", utc: "2024-01-15T20:00:00Z"),
        .init(zone: "UTC", year: 2024, local: "Jan 15 12:00:00", utc: "2024-01-15T12:00:00Z"),
    ]

    @Test(arguments: zoneCases)
    func classicStampsInZones(_ c: ZoneCase) throws {
        let spec = try #require(TimeZoneSpec(parsing: c.zone))
        var f = SyslogFramer(config: FramingConfig(timeZone: spec, year: c.year))
        #expect(framed(&f, c.local + " h p[1]: x")?.time == c.utc)
    }

    @Test func zoneCacheGivesSameResultsInAnyOrder() throws {
        // The per-hour cache must not leak an offset from one hour into another.
        let spec = try #require(TimeZoneSpec(parsing: "Europe/Berlin"))
        var f = SyslogFramer(config: FramingConfig(timeZone: spec, year: 2024))
        let order = ["Oct 27 03:00:00", "Oct 27 02:30:00", "Oct 27 03:30:00", "Oct 27 02:59:59", "Oct 27 01:00:00"]
        let got = order.map { framed(&f, $0 + " h p[1]: x")?.time }
        #expect(got == ["2024-10-27T02:00:00Z", "2024-10-27T00:30:00Z", "2024-10-27T02:30:00Z",
                        "2024-10-27T00:59:59Z", "2024-10-26T23:00:00Z"])
    }

    @Test func unknownZoneIsReported() {
        #expect(TimeZoneSpec(parsing: "Mars/Olympus_Mons") == nil)
        var f = SyslogFramer(config: FramingConfig(timeZone: .identifier("Mars/Olympus_Mons"), year: 2024))
        #expect(frame(&f, "Jan 15 12:00:00 h p[1]: x") == .unframed(reason: "unknown time zone"))
    }

    @Test func timeZoneSpecParsing() {
        #expect(TimeZoneSpec(parsing: "+01:00") == .fixedOffset(seconds: 3600))
        #expect(TimeZoneSpec(parsing: "-0500") == .fixedOffset(seconds: -18_000))
        #expect(TimeZoneSpec(parsing: "+02") == .fixedOffset(seconds: 7200))
        #expect(TimeZoneSpec(parsing: "Z") == .fixedOffset(seconds: 0))
        #expect(TimeZoneSpec(parsing: "Europe/Berlin") == .identifier("Europe/Berlin"))
        #expect(TimeZoneSpec(parsing: "+25:00") == nil)
    }

    @Test func internedHostAndTagAreShared() {
        var f = SyslogFramer(config: utc2024)
        var hosts: [String] = []
        for i in 0..<3 {
            if case .framed(let c, _) = frame(&f, "Jan  5 09:12:0\(i) a-rather-long-host-name.example.org postfix/submission/smtpd[1]: x") {
                hosts.append(c.host + "|" + c.service)
            }
        }
        #expect(hosts == Array(repeating: "a-rather-long-host-name.example.org|submission", count: 3))
    }
}
