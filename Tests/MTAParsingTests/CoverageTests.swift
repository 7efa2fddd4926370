// CoverageTests: runs every full-syslog Postfix corpus file (the copied
// fixtures, plus /work/shared/corpus/postfix/**/*.log when present) through
// LineParser and measures the share of Postfix-program lines understood
// (event or ignored). Every unparsed Postfix line is printed with its reason
// and must be in `expectedUnparsed` (deliberately malformed inputs).

import Foundation
import Testing
import MailTrailModel
import SyslogFraming
import MTAParsing

struct CoverageCount: CustomStringConvertible {
    var lines = 0, unframed = 0, other = 0, events = 0, ignored = 0, unparsed = 0
    var postfix: Int { events + ignored + unparsed }
    var share: Double { postfix == 0 ? 1 : Double(events + ignored) / Double(postfix) }
    mutating func add(_ o: CoverageCount) {
        lines += o.lines; unframed += o.unframed; other += o.other; events += o.events; ignored += o.ignored
        unparsed += o.unparsed
    }
    var description: String {
        "lines=\(lines) unframed=\(unframed) otherPrograms=\(other) postfix=\(postfix) events=\(events) "
            + "ignored=\(ignored) unparsed=\(unparsed) understood=\(String(format: "%.4f", share * 100))%"
    }
}

/// A Postfix line that may be unparsed: file name suffix, the line body (after `]: `), and the reason.
struct ExpectedUnparsed: Hashable, CustomStringConvertible {
    var file: String; var body: String; var reason: String
    var description: String { "\(file): \(reason): \(body)" }
}

/// Deliberately malformed lines of the corpus (see the corpus README): the only allowed unparsed Postfix lines.
let expectedUnparsed: Set<ExpectedUnparsed> = [
    // inqueue-postfix-ecs-pipeline: hand-edited, a stray `"` after `removed`, and a NOQUEUE reject cut mid-text.
    .init(file: "inqueue-postfix-ecs-pipeline/mail.log", body: "98AEDA06BC: removed\"",
          reason: "unexpected text after 'removed'"),
    .init(file: "inqueue-postfix-ecs-pipeline/mail.log",
          body: "NOQUEUE: reject: RCPT from mail-a.mail-lab38.com[83.167.229.55]: 554 5.7.1 Service unavailable; Client host [83.167.229.",
          reason: "refusal without from=/to=/proto= context (truncated?)"),
    // crowdsec-hub: hand-written test lines; real smtpd refusals always end TEXT with `;` and context items.
    .init(file: "crowdsec-hub/postfix-logs/postfix-logs.log",
          body: "NOQUEUE: reject: RCPT from unknown[192.168.1.1]: 554 5.7.1 Service unavailable",
          reason: "refusal without from=/to=/proto= context (truncated?)"),
    .init(file: "crowdsec-hub/postfix-spam/postfix-spam.log",
          body: "NOQUEUE: reject: RCPT from unknown[1.2.3.4]: 554 5.7.1 Service unavailable",
          reason: "refusal without from=/to=/proto= context (truncated?)"),
    // fail2ban (shared corpus only, GPL-2.0, not copied): a refusal cut mid-text (`... local recipient tab`).
    .init(file: "fail2ban/postfix.log",
          body: "NOQUEUE: reject: VRFY from 72-53-132-234.cpe.distributel.net[72.53.132.234]: 550 5.1.1 : Recipient address rejected: User unknown in local recipient tab",
          reason: "refusal without from=/to=/proto= context (truncated?)"),
]

func runCoverage(_ url: URL, label: String) throws -> (CoverageCount, [ExpectedUnparsed]) {
    let bytes = try Fixtures.bytes(url)
    var parser = LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: nil,
                                                                   referenceDate: CivilDate(year: 2024, month: 12, day: 31)))
    var c = CoverageCount()
    var bad: [ExpectedUnparsed] = []
    func one(_ buf: UnsafeBufferPointer<UInt8>, _ line: LineSplitter.Line) {
        c.lines += 1
        let o = parser.parse(buf, offset: line.offset, truncated: line.truncated)
        switch parser.lastLineKind {
        case .unframed: c.unframed += 1
        case .otherProgram, .sendmail, .exim, .utm: c.other += 1
        case .postfix:
            switch o {
            case .postfix, .sendmail, .exim, .utm: c.events += 1
            case .ignored: c.ignored += 1
            case .unparsed(let reason):
                c.unparsed += 1
                let text = String(decoding: buf, as: UTF8.self)
                let body = text.range(of: "]: ").map { String(text[$0.upperBound...]) } ?? text
                bad.append(ExpectedUnparsed(file: label, body: body, reason: reason))
            }
        }
    }
    var splitter = LineSplitter()
    splitter.feed(bytes, one)
    splitter.finish(one)
    return (c, bad)
}

@Suite struct CoverageTests {
    static func logs(under dir: URL, dropping prefix: String) -> [(URL, String)] {
        Fixtures.files(under: dir, suffix: ".log").map { ($0, String($0.path.dropFirst(prefix.count + 1))) }
    }

    @Test func fixtureLogsAreFullyUnderstood() throws {
        let dir = Fixtures.url("postfix")
        try check(Self.logs(under: dir, dropping: dir.path), title: "fixtures")
    }

    @Test func sharedCorpusLogsAreFullyUnderstood() throws {
        let dir = Fixtures.sharedPostfix
        guard FileManager.default.fileExists(atPath: dir.path) else {
            print("coverage[shared corpus]: /work/shared/corpus/postfix not present, skipped")
            return
        }
        try check(Self.logs(under: dir, dropping: dir.path), title: "shared corpus")
    }

    func check(_ files: [(URL, String)], title: String) throws {
        var total = CoverageCount()
        var unparsed: [ExpectedUnparsed] = []
        for (url, label) in files {
            let (c, bad) = try runCoverage(url, label: label)
            print("coverage[\(title)] \(label): \(c)")
            total.add(c)
            unparsed += bad
        }
        print("coverage[\(title)] TOTAL files=\(files.count) \(total)")
        for u in unparsed { print("coverage[\(title)] UNPARSED \(u)") }
        let unexpected = unparsed.filter { !expectedUnparsed.contains($0) }
        #expect(unexpected.isEmpty, "unexpected unparsed Postfix lines: \(unexpected)")
        #expect(total.postfix > 0)
    }
}
