// EximUTMEnvelopeTests: the Exim mainlog envelope (fraction, zone suffix,
// [pid], --host), Exim's own stamp inside syslog/UTM bodies, the Sophos UTM
// envelope (1-2 digit month/day, <PRI>) and DST handling of their local times.

import Testing
import MailTrailModel
import SyslogFraming

private let berlin = FramingConfig(timeZone: .identifier("Europe/Berlin"), year: nil,
                                   referenceDate: CivilDate(year: 2024, month: 12, day: 31), defaultHost: "mx9")

@Suite struct EximUTMEnvelopeTests {
    @Test func mainlogVariants() {
        var f = SyslogFramer(config: utc2024)
        #expect(framed(&f, "2020-06-19 04:51:49 1jmFYj-00039V-QX <= a@b H=(x) [2.2.2.2] P=smtp S=7386")
                == Framed(time: "2020-06-19T04:51:49Z", host: "fallback", instance: "", service: "", program: "exim",
                          pid: 0, body: "1jmFYj-00039V-QX <= a@b H=(x) [2.2.2.2] P=smtp S=7386"))
        #expect(framed(&f, "2020-10-29 20:22:59.803 [30056] 1kYERi-0007oc-5P Completed")
                == Framed(time: "2020-10-29T20:22:59.803000Z", host: "fallback", instance: "", service: "",
                          program: "exim", pid: 30056, body: "1kYERi-0007oc-5P Completed"))
        #expect(framed(&f, "2020-06-20 01:32:57 +0200 [789] 1jmKso-0009d4-Uf Completed")
                == Framed(time: "2020-06-19T23:32:57Z", host: "fallback", instance: "", service: "", program: "exim",
                          pid: 789, body: "1jmKso-0009d4-Uf Completed"))
        #expect(framed(&f, "2020-06-20 02:32:57 -0200 1jmKsr-00040h-1G Completed")
                == Framed(time: "2020-06-20T04:32:57Z", host: "fallback", instance: "", service: "", program: "exim",
                          pid: 0, body: "1jmKsr-00040h-1G Completed"))
    }

    @Test func mainlogLocalTimeUsesZoneAndDSTRule() {
        var f = SyslogFramer(config: berlin)
        // Skipped hour (2024-03-31 02:30 does not exist in Berlin): read with the offset before the change.
        #expect(framed(&f, "2024-03-31 02:30:00 x")?.time == "2024-03-31T01:30:00Z")
        // Repeated hour (2024-10-27 02:30 happens twice): the first occurrence (CEST).
        #expect(framed(&f, "2024-10-27 02:30:00 x")?.time == "2024-10-27T00:30:00Z")
        #expect(framed(&f, "2024-07-01 12:00:00.5 x")?.time == "2024-07-01T10:00:00.500000Z")
        #expect(framed(&f, "2024-07-01 12:00:00 x")?.host == "mx9")
    }

    @Test func eximStampInsideSyslogWins() {
        var f = SyslogFramer(config: utc2024)
        #expect(framed(&f, "Jan  5 09:12:02 mx3 exim[4242]: 2025-01-05 09:12:01.250 +0100 1tUHfW-000000004Sd-2k8P Completed")
                == Framed(time: "2025-01-05T08:12:01.250000Z", host: "mx3", instance: "", service: "", program: "exim",
                          pid: 4242, body: "1tUHfW-000000004Sd-2k8P Completed"))
        // Other programs keep their body as is.
        #expect(framed(&f, "Jan  5 09:12:02 mx3 amavis[1]: 2025-01-05 09:12:01 x")?.body == "2025-01-05 09:12:01 x")
    }

    @Test func utmEnvelope() {
        var f = SyslogFramer(config: berlin)
        #expect(framed(&f, "2019:06:10-11:04:43 defense smtpd[6746]: QMGR[6746]: 1haLqi-0002Mp-2G moved to work queue")
                == Framed(time: "2019-06-10T09:04:43Z", host: "defense", instance: "", service: "", program: "smtpd",
                          pid: 6746, body: "QMGR[6746]: 1haLqi-0002Mp-2G moved to work queue"))
        #expect(framed(&f, "<22>2019:6:1-11:04:40 defense exim-in[9103]: 2019-06-01 11:04:41 1haLqi-0002Mp-2G Completed")
                == Framed(time: "2019-06-01T09:04:41Z", host: "defense", instance: "", service: "", program: "exim-in",
                          pid: 9103, body: "1haLqi-0002Mp-2G Completed"))
        #expect(frame(&f, "2019:13:01-11:04:40 h p[1]: x") == .unframed(reason: "month out of range"))
        #expect(frame(&f, "<x>Jan  1 00:00:00 h p: x") == .unframed(reason: "bad <PRI> prefix"))
    }
}
