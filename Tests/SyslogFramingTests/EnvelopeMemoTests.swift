// The framer's memo of the last envelope (EnvelopeMemo) against framing
// without it: a second framer that frames a junk line before each line (which
// clears the memo and the stamp cache and moves nothing else) must give the
// same result for every line, on repeats, near-repeats (one byte changed at
// every position), envelopes of every length and bodies with Exim stamps.
import Testing
import MailTrailModel
@testable import SyslogFraming

@Suite struct EnvelopeMemoTests {
    static let junk: [UInt8] = Array("x".utf8)

    /// Frames `lines` with one framer and with a framer that forgets between lines; returns the
    /// results of the first, after checking each line against the second.
    @discardableResult
    static func check(_ lines: [[UInt8]], config: FramingConfig = FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2026),
                      sourceLocation: SourceLocation = #_sourceLocation) -> [FrameResult] {
        var memo = SyslogFramer(config: config)
        var plain = SyslogFramer(config: config)
        var results: [FrameResult] = []
        for (i, line) in lines.enumerated() {
            let a = line.withUnsafeBufferPointer { memo.frame($0, offset: Int64(i) * 1000) }
            _ = junk.withUnsafeBufferPointer { plain.frame($0, offset: 0) }
            let b = line.withUnsafeBufferPointer { plain.frame($0, offset: Int64(i) * 1000) }
            #expect(a == b, "line \(i): \(String(decoding: line, as: UTF8.self))", sourceLocation: sourceLocation)
            #expect(memo.lastTagIndex == plain.lastTagIndex || plain.lastTagIndex < 0, sourceLocation: sourceLocation)
            results.append(a)
        }
        return results
    }

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test func aRepeatedEnvelopeGivesTheSameContextWithItsOwnOffsetAndBody() {
        let results = EnvelopeMemoTests.check([
            EnvelopeMemoTests.bytes("Mar  1 00:00:37 mbox3 postfix/smtpd[13678]: connect from a[10.0.0.1]"),
            EnvelopeMemoTests.bytes("Mar  1 00:00:37 mbox3 postfix/smtpd[13678]: 4AB: client=a[10.0.0.1]"),
            EnvelopeMemoTests.bytes("Mar  1 00:00:37 mbox3 postfix/smtpd[13678]: "),
            EnvelopeMemoTests.bytes("Mar  1 00:00:37 mbox3 postfix/smtpd[13678]:no space"),
            EnvelopeMemoTests.bytes("Mar  1 00:00:37 mbox3 postfix/smtpd[13678]: back"),
        ])
        guard case .framed(let c1, let b1) = results[1], case .framed(let c2, let b2) = results[2],
              case .framed(_, let b3) = results[3], case .framed(let c4, let b4) = results[4] else {
            Issue.record("not framed: \(results)"); return
        }
        #expect(c1.host == "mbox3" && c1.program == "smtpd" && c1.pid == 13678 && c1.offset == 1000)
        #expect(c1.time == Timestamp(micros: 1_772_323_237_000_000))
        #expect(b1 == 44..<67)
        #expect(c2.offset == 2000 && b2 == 44..<44)
        #expect(b3 == 43..<51)
        #expect(c4.offset == 4000 && b4 == 44..<48)
    }

    @Test func everyOneByteChangeOfTheEnvelopeIsFramedAfresh() {
        let base = "Mar  1 00:00:37 mbox3 postfix/submission/smtpd[13678]: "
        var lines: [[UInt8]] = []
        for position in 0..<base.utf8.count {
            for replacement in [UInt8(ascii: "1"), UInt8(ascii: " "), UInt8(ascii: ":"), UInt8(ascii: "a")] {
                lines.append(EnvelopeMemoTests.bytes(base + "first"))
                var changed = EnvelopeMemoTests.bytes(base + "second")
                changed[position] = replacement
                lines.append(changed)
            }
        }
        EnvelopeMemoTests.check(lines)
    }

    @Test func envelopesOfEveryLengthAndLinesShorterThanTheLastOne() {
        var lines: [[UInt8]] = []
        for hostLength in 1...50 {
            let host = String(repeating: "h", count: hostLength)
            let envelope = "Mar  1 00:00:37 \(host) sm-mta[42]: "
            lines.append(EnvelopeMemoTests.bytes(envelope + "one"))
            lines.append(EnvelopeMemoTests.bytes(envelope + "two"))
            lines.append(EnvelopeMemoTests.bytes(envelope))
            lines.append(EnvelopeMemoTests.bytes(String(envelope.dropLast(2))))
            lines.append(EnvelopeMemoTests.bytes(envelope + "three"))
        }
        EnvelopeMemoTests.check(lines)
    }

    @Test func eximStampsInTheBodyAreReadOnEveryRepeat() {
        let results = EnvelopeMemoTests.check([
            EnvelopeMemoTests.bytes("Mar  1 00:00:37 mx exim[77]: 2026-03-01 00:00:37.125 +0100 [77] 1abc-000001-AB <= a@b"),
            EnvelopeMemoTests.bytes("Mar  1 00:00:37 mx exim[77]: 2026-03-01 00:00:37.250 +0100 [77] 1abc-000001-AB => c@d"),
            EnvelopeMemoTests.bytes("Mar  1 00:00:37 mx exim[77]: 1abc-000001-AB Completed"),
        ])
        let times = results.map { r -> Int64 in if case .framed(let c, _) = r { return c.time.micros } else { return -1 } }
        #expect(times == [1_772_319_637_125_000, 1_772_319_637_250_000, 1_772_323_237_000_000])
    }

    @Test func randomLogsWithRepeatsMatchFramingWithoutTheMemo() {
        var rng = SplitMix64(seed: 0x0E4E_1095)
        let stamps = ["Mar  1 00:00:37", "Mar  1 00:00:38", "Dec 31 23:59:59", "Jan  1 00:00:00",
                      "2026-03-01T00:00:37.5+01:00", "<22>Mar  1 00:00:37"]
        let hosts = ["mbox3", "smtp1", "a-very-long-host-name.example.com", "", "x"]
        let tags = ["postfix/smtpd[13678]", "postfix/smtpd[13679]", "sm-mta[1]", "exim[2]", "amavis", "p/q/r[99]"]
        var lines: [[UInt8]] = []
        var last: [UInt8] = []
        for _ in 0..<4000 {
            var line: [UInt8]
            if !last.isEmpty && rng.next() % 3 == 0 {
                line = last                                   // a repeat, possibly changed below
            } else {
                let stamp = stamps[Int(rng.next() % UInt64(stamps.count))]
                let host = hosts[Int(rng.next() % UInt64(hosts.count))]
                let tag = tags[Int(rng.next() % UInt64(tags.count))]
                line = EnvelopeMemoTests.bytes(stamp + " " + (host.isEmpty ? "" : host + " ") + tag + ": body")
            }
            if rng.next() % 4 == 0, !line.isEmpty {
                line[Int(rng.next() % UInt64(line.count))] = [0x20, 0x3A, 0x5B, 0x5D, 0x31, 0x61][Int(rng.next() % 6)]
            }
            if rng.next() % 8 == 0 { line.removeLast(Int(rng.next() % UInt64(min(line.count, 12) + 1))) }
            lines.append(line)
            last = line
        }
        EnvelopeMemoTests.check(lines)
        // The year inference (no forced year) sees the same stamps in the same order either way.
        let reference = FramingConfig(timeZone: .fixedOffset(seconds: 3600), year: nil,
                                      referenceDate: CivilDate(year: 2026, month: 6, day: 1))
        EnvelopeMemoTests.check(lines, config: reference)
    }
}
