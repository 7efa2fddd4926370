// SendmailCoverageTests: runs the Sendmail corpus (the copied fixtures, plus
// /work/shared/corpus/sendmail/**/*.log when present) through LineParser and
// measures the share of Sendmail-program lines understood (event or ignored).
// Every unparsed Sendmail line is printed with its reason and must be listed
// in `expectedUnparsedSendmail` (docs/log-formats/sendmail.md says why).

import Foundation
import Testing
import MailTrailModel
import SyslogFraming
import MTAParsing

extension Fixtures {
    /// The shared Sendmail corpus: `../shared` beside the checkout (as in CI), else /work/shared.
    static let sharedSendmail: URL = sharedPostfix.deletingLastPathComponent().appendingPathComponent("sendmail")
}

/// The only Sendmail lines allowed to stay unparsed (body after `]: `), with the reason.
let expectedUnparsedSendmail: Set<ExpectedUnparsed> = [
    // A continuation part whose first part is not in the sample (the file starts mid-record).
    .init(file: "Parse-Syslog-Mail/sendmail-custom-dsn.log",
          body: #"j4KDbUaV007215[2]: \263\273\270\276\264\353\267\316 \274\366\274\366\267\341 \276\370\264\302 \264\353\303\342 -\275\305\272\322\300\332\265\265 \260\241\264\311- clknwtmpxu dn"#,
          reason: "part [2] of a split record whose first part is not in the log"),
]

struct SendmailCoverage: CustomStringConvertible {
    var lines = 0, unframed = 0, other = 0, events = 0, ignored = 0, unparsed = 0
    var otherPrograms: [String: Int] = [:]
    var sendmail: Int { events + ignored + unparsed }
    var share: Double { sendmail == 0 ? 1 : Double(events + ignored) / Double(sendmail) }
    var description: String {
        "lines=\(lines) unframed=\(unframed) otherPrograms=\(other) sendmail=\(sendmail) events=\(events) "
            + "ignored=\(ignored) unparsed=\(unparsed) understood=\(String(format: "%.2f", share * 100))%"
    }
}

func runSendmailCoverage(_ url: URL, label: String, into c: inout SendmailCoverage,
                         ignoredCategories: inout [String: Int]) throws -> [ExpectedUnparsed] {
    let bytes = try Fixtures.bytes(url)
    var parser = LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: nil,
                                                                   referenceDate: CivilDate(year: 2024, month: 12, day: 31)))
    var bad: [ExpectedUnparsed] = []
    func one(_ buf: UnsafeBufferPointer<UInt8>, _ line: LineSplitter.Line) {
        c.lines += 1
        let o = parser.parse(buf, offset: line.offset, truncated: line.truncated)
        switch parser.lastLineKind {
        case .unframed: c.unframed += 1
        case .otherProgram, .postfix, .exim, .utm:
            c.other += 1
            c.otherPrograms[parser.lastContext?.program ?? "?", default: 0] += 1
        case .sendmail:
            switch o {
            case .postfix, .sendmail, .exim, .utm: c.events += 1
            case .ignored(let category):
                c.ignored += 1
                ignoredCategories[category, default: 0] += 1
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
    return bad
}

@Suite struct SendmailCoverageTests {
    @Test func fixtureLogsAreUnderstood() throws {
        let dir = Fixtures.url("sendmail")
        let c = try check(CoverageTests.logs(under: dir, dropping: dir.path), title: "sendmail fixtures")
        #expect(c.sendmail == 324)
        #expect(c.unparsed == 1)
    }

    @Test func sharedCorpusLogsAreUnderstood() throws {
        let dir = Fixtures.sharedSendmail
        guard FileManager.default.fileExists(atPath: dir.path) else {
            print("coverage[sendmail shared corpus]: \(dir.path) not present, skipped")
            return
        }
        let c = try check(CoverageTests.logs(under: dir, dropping: dir.path), title: "sendmail shared corpus")
        #expect(c.share > 0.99)
    }

    @discardableResult
    func check(_ files: [(URL, String)], title: String) throws -> SendmailCoverage {
        var total = SendmailCoverage()
        var categories: [String: Int] = [:]
        var unparsed: [ExpectedUnparsed] = []
        for (url, label) in files {
            var c = SendmailCoverage()
            unparsed += try runSendmailCoverage(url, label: label, into: &c, ignoredCategories: &categories)
            print("coverage[\(title)] \(label): \(c)")
            total.lines += c.lines; total.unframed += c.unframed; total.other += c.other; total.events += c.events
            total.ignored += c.ignored; total.unparsed += c.unparsed
            total.otherPrograms.merge(c.otherPrograms, uniquingKeysWith: +)
        }
        print("coverage[\(title)] TOTAL files=\(files.count) \(total)")
        print("coverage[\(title)] other programs: \(total.otherPrograms.sorted { $0.key < $1.key })")
        print("coverage[\(title)] ignored categories: \(categories.sorted { $0.key < $1.key })")
        for u in unparsed { print("coverage[\(title)] UNPARSED \(u)") }
        let unexpected = unparsed.filter { !expectedUnparsedSendmail.contains($0) }
        #expect(unexpected.isEmpty, "unexpected unparsed Sendmail lines: \(unexpected)")
        #expect(total.sendmail > 0)
        return total
    }
}
