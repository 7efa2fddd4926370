/// ParserFuzzer: a deterministic, in-process fuzzer for the line pipeline
/// (LineSplitter → LineParser with `--format auto`, i.e. every MTA parser →
/// the per-host correlators of LineProcessor, including saving and restoring
/// their state).
///
/// Contract: `run(count:seed:corpus:)` makes `count` inputs from a SplitMix64
/// stream seeded with `seed` (same seed, corpus and count = same inputs):
/// random bytes, and corpus lines mutated by bit flips, truncation, splicing
/// two lines, inserted delimiters (`[ ] < > = , " ' ( ) : ;`, tab, backslash,
/// NUL, CR), invalid UTF-8, terminal escape sequences, format-string text,
/// SQL, and rare huge lines (64 KiB – 1.5 MiB, beyond the splitter's 1 MiB
/// cut). Each input is one log line; inputs are joined with `\n` and fed in
/// uneven chunks through the real splitter and processor. It checks, and
/// reports as `failures`, that every line the splitter delivers is counted
/// exactly once as parsed, ignored or unparsed (per host and in total), that
/// the splitter delivers exactly one line per input, and that correlator
/// state survives an encode/decode round trip. A crash or hang is not
/// caught here: it kills or stalls the test, which is the signal.
/// `slowestLineSeconds` is the worst single-line time (parse + correlate).
/// Limits: processors are restarted every `linesPerProcessor` lines so memory
/// stays bounded (many random host names); timings are wall-clock and only
/// meaningful as an upper bound.
import Correlation
import MailTrailModel
import MTAParsing
import SyslogFraming
#if canImport(Glibc)
import Glibc
#endif

/// What a fuzz run saw.
public struct FuzzReport: Sendable, CustomStringConvertible {
    public var inputs: Int = 0
    public var lines: Int64 = 0
    public var parsed: Int64 = 0
    public var ignored: Int64 = 0
    public var unparsed: Int64 = 0
    public var truncatedLines: Int64 = 0
    public var bytes: Int64 = 0
    public var slowestLineSeconds: Double = 0
    public var slowestLineLength: Int = 0
    public var stateRoundTrips: Int = 0
    public var seconds: Double = 0
    /// Broken invariants, described (empty when all is well).
    public var failures: [String] = []

    public var description: String {
        "fuzz: \(inputs) inputs, \(lines) lines (\(parsed) parsed, \(ignored) ignored, \(unparsed) unparsed, " +
        "\(truncatedLines) cut at 1 MiB), \(bytes) bytes, \(stateRoundTrips) state round trips, " +
        "slowest line \(Int(slowestLineSeconds * 1e6)) µs (\(slowestLineLength) bytes), " +
        "\(Int(seconds)) s, \(failures.count) failures"
    }
}

/// The fuzzer's generator: SplitMix64 with the two draws the mutations use.
typealias FuzzRandom = SplitMix64

extension SplitMix64 {
    mutating func below(_ n: Int) -> Int { n <= 1 ? 0 : Int(next() % UInt64(n)) }
    mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }
}

public enum ParserFuzzer {
    /// Seed lines used when no corpus is given, and always mixed in.
    public static let builtinCorpus: [String] = [
        "Mar  3 10:00:01 mx1 postfix/smtpd[123]: connect from unknown[192.0.2.1]",
        "Mar  3 10:00:02 mx1 postfix/smtpd[123]: 4AB12C3D: client=unknown[192.0.2.1], sasl_method=PLAIN, sasl_username=u",
        "Mar  3 10:00:02 mx1 postfix/cleanup[124]: 4AB12C3D: message-id=<a.b@example.org>",
        "Mar  3 10:00:02 mx1 postfix/qmgr[99]: 4AB12C3D: from=<a@example.org>, size=1234, nrcpt=2 (queue active)",
        "Mar  3 10:00:03 mx1 postfix/smtp[125]: 4AB12C3D: to=<b@example.net>, relay=mx.example.net[198.51.100.2]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9F8E7D6C)",
        "Mar  3 10:00:04 mx1 postfix/qmgr[99]: 4AB12C3D: removed",
        "Mar  3 10:00:05 mx1 postfix/smtpd[123]: NOQUEUE: reject: RCPT from unknown[192.0.2.9]: 554 5.7.1 <x@example.org>: Relay access denied; from=<s@example.com> to=<x@example.org> proto=ESMTP helo=<h>",
        "2026-03-03T10:00:06.123456+01:00 mx2 postfix-out/smtp[7]: 1B2C3D4E: to=<c@example.com>, orig_to=<d@example.com>, relay=none, delay=0, delays=0/0/0/0, dsn=5.1.1, status=bounced (host said: 550 user unknown)",
        "Mar  3 10:00:07 mx3 sendmail[501]: x23A07abc012345: from=<a@example.org>, size=100, class=0, nrcpts=1, msgid=<m@example.org>, proto=ESMTP, daemon=MTA, relay=h [192.0.2.3]",
        "Mar  3 10:00:08 mx4 exim[600]: 2026-03-03 10:00:08 1abcDE-000123-AB <= a@example.org H=h [192.0.2.4] P=esmtps S=1000 id=m@example.org T=\"Subject\"",
        "Mar  3 10:00:09 utm smtpd[700]: QID=1abcDE-000123-AB: from=<a@example.org>, to=<b@example.net>, subject=\"Hi\", size=100, action=accept",
    ]

    /// Pieces inserted into lines: delimiters, escapes, hostile text.
    static let insertions: [[UInt8]] = {
        let texts = ["[", "]", "<", ">", "=", ",", "\"", "'", "(", ")", ":", ";", " ", "\t", "\\", "\r", "/",
                     "\u{1b}[2J\u{1b}]0;pwned\u{07}", "\u{1b}[31m", "%s%n%x%p", "'; DROP TABLE mailtrail.messages; --",
                     "<>", "[]", "=,", "\u{202E}", "\u{2028}", "\u{85}", "\u{9b}", "queued as ", "status=", "to=<",
                     "from=<", "relay=", "message-id=<", ": ", "postfix/", "[0]: ", "NOQUEUE: ", "removed"]
        var out = texts.map { Array($0.utf8) }
        out.append([0x00]); out.append([0xFF]); out.append([0xC0, 0x80]); out.append([0xED, 0xA0, 0x80])
        out.append([0xE2, 0x82]); out.append([0xF4, 0x90, 0x80, 0x80]); out.append([0x9B])
        return out
    }()

    /// Runs the fuzzer; see the file header.
    public static func run(count: Int, seed: UInt64, corpus: [[UInt8]], linesPerProcessor: Int = 20_000) -> FuzzReport {
        var rng = FuzzRandom(seed: seed)
        var pool = corpus.filter { !$0.contains(0x0A) }
        pool.append(contentsOf: builtinCorpus.map { Array($0.utf8) })
        var report = FuzzReport()
        let start = Progress.clock()

        var options = PipelineOptions()
        options.format = .auto
        options.timeZone = "UTC"
        options.year = 2026
        let reference = CivilDate(year: 2026, month: 6, day: 1)
        let fallback = Timestamp(seconds: reference.daysSinceEpoch * 86_400)

        var done = 0
        while done < count {
            let n = min(linesPerProcessor, count - done)
            // One stream of n lines.
            var stream: [UInt8] = []
            stream.reserveCapacity(n * 160)
            for _ in 0..<n {
                let line = makeInput(&rng, pool)
                stream.append(contentsOf: line)
                stream.append(0x0A)
            }
            report.bytes += Int64(stream.count)
            guard let processor = try? LineProcessor(options: options, referenceDate: reference,
                                                     fallbackTime: fallback, unparsedKeepLimit: 1_000) else {
                report.failures.append("could not make a LineProcessor")
                return report
            }
            var splitter = LineSplitter()
            var delivered: Int64 = 0
            var truncated: Int64 = 0
            stream.withUnsafeBytes { raw in
                var at = 0
                while at < raw.count {
                    let size = min(raw.count - at, 1 + rng.below(1 << 17))
                    let chunk = UnsafeRawBufferPointer(rebasing: raw[at..<(at + size)])
                    splitter.feed(chunk) { line, meta in
                        let t0 = Progress.clock()
                        processor.process(line, offset: meta.offset, number: meta.number, truncated: meta.truncated)
                        let dt = Progress.clock() - t0
                        if dt > report.slowestLineSeconds {
                            report.slowestLineSeconds = dt
                            report.slowestLineLength = line.count
                        }
                        delivered += 1
                        if meta.truncated { truncated += 1 }
                    }
                    at += size
                }
            }
            processor.flushHeld()
            // State round trip of every correlator (what ingest saves per batch).
            for (host, machine) in processor.correlators {
                do {
                    let bytes = try StateCoding.encode(machine)
                    let back = try StateCoding.decode(bytes)
                    if back.openTransactions != machine.openTransactions {
                        report.failures.append("state round trip changed open transactions of host \(TerminalText.escape(host))")
                    }
                    report.stateRoundTrips += 1
                } catch {
                    report.failures.append("state of host \(TerminalText.escape(host)) did not round-trip: \(error)")
                }
            }
            let (_, _, counters) = processor.takeOutput()
            var total = LineCounters()
            for (host, c) in counters {
                if c.parsed + c.ignored + c.unparsed != c.read {
                    report.failures.append("host \(TerminalText.escape(host)): read \(c.read) != parsed \(c.parsed) + ignored \(c.ignored) + unparsed \(c.unparsed)")
                }
                total += c
            }
            if delivered != Int64(n) {
                report.failures.append("splitter delivered \(delivered) lines for \(n) inputs (batch at input \(done))")
            }
            if total.read != delivered {
                report.failures.append("\(delivered) lines delivered but \(total.read) counted (batch at input \(done))")
            }
            report.lines += delivered
            report.truncatedLines += truncated
            report.parsed += total.parsed
            report.ignored += total.ignored
            report.unparsed += total.unparsed
            done += n
            report.inputs = done
        }
        report.seconds = Progress.clock() - start
        return report
    }

    /// One input line (never containing `\n`).
    static func makeInput(_ rng: inout FuzzRandom, _ pool: [[UInt8]]) -> [UInt8] {
        var line: [UInt8]
        switch rng.below(100) {
        case 0..<10:
            // Random bytes.
            line = (0..<rng.below(300)).map { _ in rng.byte() }
        case 10..<20:
            line = pool[rng.below(pool.count)]
        default:
            line = pool[rng.below(pool.count)]
            for _ in 0..<(1 + rng.below(4)) { mutate(&line, &rng, pool) }
        }
        if rng.below(20_000) == 0 {
            // A huge line: 64 KiB to 1.5 MiB, sometimes past the splitter's 1 MiB cut.
            let target = 65_536 + rng.below(1_572_864 - 65_536)
            let piece = line.isEmpty ? [UInt8(ascii: "[")] : line
            var big: [UInt8] = []
            big.reserveCapacity(target + piece.count)
            while big.count < target { big.append(contentsOf: piece) }
            line = big
        }
        for i in line.indices where line[i] == 0x0A { line[i] = 0x20 }
        return line
    }

    static func mutate(_ line: inout [UInt8], _ rng: inout FuzzRandom, _ pool: [[UInt8]]) {
        switch rng.below(7) {
        case 0 where !line.isEmpty:  // bit flips
            for _ in 0..<(1 + rng.below(8)) {
                let i = rng.below(line.count)
                line[i] ^= UInt8(1) << UInt8(rng.below(8))
            }
        case 1 where !line.isEmpty:  // truncation
            line.removeLast(rng.below(line.count + 1))
        case 2:  // splice two lines
            let other = pool[rng.below(pool.count)]
            let a = rng.below(line.count + 1), b = rng.below(other.count + 1)
            line = Array(line[0..<a]) + Array(other[b...])
        case 3, 4:  // insert delimiters and hostile text
            for _ in 0..<(1 + rng.below(6)) {
                let piece = insertions[rng.below(insertions.count)]
                line.insert(contentsOf: piece, at: rng.below(line.count + 1))
            }
        case 5:  // a long run of one delimiter or digit (huge numbers, deep brackets)
            let b: UInt8 = [UInt8(ascii: "["), UInt8(ascii: "<"), UInt8(ascii: "9"), UInt8(ascii: "="),
                            UInt8(ascii: ","), UInt8(ascii: " "), UInt8(ascii: "\"")][rng.below(7)]
            line.insert(contentsOf: repeatElement(b, count: 1 + rng.below(4096)), at: rng.below(line.count + 1))
        default:  // replace a byte range by random bytes
            if line.isEmpty { line = [rng.byte()]; return }
            let a = rng.below(line.count), len = min(line.count - a, 1 + rng.below(16))
            for i in a..<(a + len) { line[i] = rng.byte() }
        }
    }
}
