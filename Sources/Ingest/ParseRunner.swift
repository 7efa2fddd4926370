/// ParseRunner: `mailtrail parse` — read → frame → parse → correlate, with
/// no database: JSON lines on an output sink, a summary for stderr.
///
/// Contract: one JSON line per record (message, delivery, rejection) and one
/// `{"kind":"unparsed","file":…,"line":N,…}` per line not understood; held
/// messages are flushed at the end. Records are written as each 128 KiB of
/// input is read (that chunk's messages, then its deliveries, then its
/// rejections), so their order depends on the chunking: compare outputs
/// sorted. A last line without its newline is not processed (it may still be
/// being written) and is reported in the summary.
import MailTrailModel
import SyslogFraming
import Correlation

/// Totals of a parse or ingest run.
public struct RunSummary: Sendable {
    public var lines = LineCounters()
    public var messages: Int64 = 0
    public var deliveries: Int64 = 0
    public var rejections: Int64 = 0
    public var tooOld: Int64 = 0
    public var unparsedStored: Int64 = 0
    public var seconds: Double = 0
    public var files: Int = 0
    /// Files whose content was already loaded entirely (re-ingest).
    public var filesUpToDate: Int = 0
    /// Bytes of incomplete last lines left for later.
    public var pendingTailBytes: Int64 = 0
    public var notes: [String] = []
    public init() {}

    /// Records an unterminated last line that was left for a later run.
    mutating func notePendingTail(_ path: String, _ bytes: Int64) {
        guard bytes > 0 else { return }
        pendingTailBytes += bytes
        notes.append("\(TerminalText.escape(path)): last line has no newline yet (\(bytes) bytes); not read")
    }

    /// The summary block printed at the end of `ingest` and `parse`.
    public func render(loaded: Bool) -> String {
        var s = "lines read \(lines.read), parsed \(lines.parsed), ignored \(lines.ignored), unparsed \(lines.unparsed)\n"
        if loaded {
            s += "rows loaded: messages \(messages), deliveries \(deliveries), rejections \(rejections), "
            s += "unparsed lines kept \(unparsedStored), too old (skipped) \(tooOld)\n"
        } else {
            s += "records: messages \(messages), deliveries \(deliveries), rejections \(rejections)\n"
        }
        s += "files \(files)"
        if filesUpToDate > 0 { s += " (\(filesUpToDate) already loaded)" }
        s += ", \(String(format3(seconds))) s"
        if lines.read > 0 && seconds > 0 { s += ", \(Int(Double(lines.read) / seconds)) lines/s" }
        s += "\n"
        for n in notes { s += "note: " + n + "\n" }
        return s
    }
}

func format3(_ x: Double) -> String {
    let ms = Int((x * 1000).rounded())
    let frac = String(ms % 1000)
    return String(ms / 1000) + "." + String(repeating: "0", count: 3 - frac.count) + frac
}

public enum ParseRunner {
    /// Bytes read per chunk. The records of a chunk are drained (encoded or counted, then
    /// released) before the next is read, so they are still in the cache: with 1 MiB chunks
    /// and 10,000-record batches the parse took 10-18 % more CPU (docs/performance-history.md, round 7).
    public static let chunkSize = 128 * 1024

    /// Parses `paths` and writes JSON lines through `write` (only counts records when
    /// `encodeJSON` is false); returns the totals. `chunkSize` is for tests.
    public static func run(paths: [String], options: PipelineOptions, encodeJSON: Bool = true,
                           chunkSize: Int = ParseRunner.chunkSize,
                           write: ([UInt8]) -> Void) throws -> RunSummary {
        var summary = RunSummary()
        let start = Progress.clock()
        var processor: LineProcessor? = nil
        var json = JSONLine(into: [])
        json.buf.reserveCapacity(1 << 20)
        // Each batch is done with before the next: its arrays come back for reuse.
        var out = CorrelatorOutput()

        func drain(file: String, final: Bool) {
            guard let p = processor else { return }
            if final { p.flushHeld() }
            let (unparsed, counters) = p.exchangeOutput(&out)
            if encodeJSON {
                for m in out.messages { json.message(m) }
                for d in out.deliveries { json.delivery(d) }
                for r in out.rejections { json.rejection(r) }
                for u in unparsed { json.unparsed(u, file: file) }
            }
            summary.lines += counters
            summary.messages += Int64(out.messages.count)
            summary.deliveries += Int64(out.deliveries.count)
            summary.rejections += Int64(out.rejections.count)
            if !json.buf.isEmpty { write(json.buf); json.buf.removeAll(keepingCapacity: true) }
            out.removeAll()   // released now, while still in the cache, not at the next drain
        }

        for (i, path) in paths.enumerated() {
            let file = try SourceFile(path: path, chunkSize: chunkSize)
            summary.files += 1
            let p = try LineProcessor.forFile(file, existing: processor, options: options)
            processor = p
            let result = try p.feed(file, from: .init(offset: 0, line: 1)) { _ in
                drain(file: path, final: false)
            }
            summary.notePendingTail(path, result.pendingTailBytes)
            drain(file: path, final: i == paths.count - 1)
        }
        summary.seconds = Progress.clock() - start
        return summary
    }
}
