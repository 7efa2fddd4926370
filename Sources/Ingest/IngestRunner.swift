/// IngestRunner: `mailtrail ingest` — read → frame → parse → correlate →
/// load, committing in batches with an exactly-once effect.
///
/// Contract:
/// - Each file is a source identified by its first line's fingerprint; work
///   resumes at the source's committed offset, so ingesting a file twice
///   adds nothing, and an interrupted run continues where it stopped.
/// - A batch (records of lines `[from, to)`, their counters, the unparsed
///   lines and the correlator state of the hosts touched) commits in one
///   transaction through `BatchLoader.commit`; the checkpoint moves only then.
/// - A batch closes after `batchLines` lines or at the end of a file, always
///   on a line boundary. A last line without its newline is not read.
/// - Bad lines never abort a batch: they are counted and stored as unparsed.
/// Files are processed in the order given: pass rotated files oldest first
/// (`mail.log.2.gz mail.log.1 mail.log`) so transactions that span them are
/// assembled.
import Correlation
import LogReading
import MailTrailModel
import PostgresLoading
import SyslogFraming

public struct IngestSettings: Sendable {
    public var pipeline = PipelineOptions()
    /// Lines per committed batch.
    public var batchLines = 200_000
    /// Show a progress line on a terminal.
    public var progress = true
    public init() {}
}

public enum IngestRunner {
    /// Ingests `paths` into the database behind `connection`; returns the totals.
    public static func run(paths: [String], settings: IngestSettings, connection: PGConnection) throws -> RunSummary {
        var summary = RunSummary()
        let start = Progress.clock()
        let loader = BatchLoader(connection: connection)
        let progress = Progress(enabled: settings.progress, plain: true)
        defer { progress.finish() }

        var stateVersions: [String: Int64] = [:]
        var processor: LineProcessor? = nil
        let saved = try loader.loadCorrelatorStates()

        for (index, path) in paths.enumerated() {
            let file = try SourceFile(path: path)
            summary.files += 1
            guard let fingerprint = file.fingerprint else {
                summary.notes.append("\(TerminalText.escape(path)): no complete line yet; nothing to load")
                continue
            }
            let isFirst = processor == nil
            let p = try LineProcessor.forFile(file, existing: processor, options: settings.pipeline)
            if isFirst {
                for (host, s) in saved {
                    p.savedStates[host] = s.state
                    stateVersions[host] = s.version
                }
            }
            processor = p
            let source = try loader.openSource(fingerprint: fingerprint, path: path,
                                               format: settings.pipeline.format.rawValue,
                                               hostHint: settings.pipeline.host)
            var committed = LineProcessor.Position(offset: source.committedOffset, line: source.committedLine + 1)
            let last = index == paths.count - 1
            let linesBefore = summary.lines.read

            /// Commits the lines before `upTo` (and everything they produced) with the checkpoint.
            func commit(upTo position: LineProcessor.Position, final: Bool) throws {
                if final && last { p.flushHeld() }
                let toOffset = position.offset
                let toLine = position.line - 1
                let committedOffset = committed.offset
                let (out, unparsed, counters) = p.takeOutput()
                var states: [String: (expectedVersion: Int64, state: [UInt8])] = [:]
                for host in p.touched.sorted() {
                    guard let machine = p.correlators[host] else { continue }
                    states[host] = (stateVersions[host] ?? 0, try StateCoding.encode(machine))
                }
                p.touched.removeAll()
                if toOffset == committedOffset && out.isEmpty && unparsed.isEmpty && states.isEmpty { return }
                let result = try loader.commit(Batch(
                    sourceID: source.sourceID, fromOffset: committedOffset, toOffset: toOffset, toLine: toLine,
                    counters: counters.mapValues {
                        IngestCounters(linesRead: $0.read, parsed: $0.parsed, ignored: $0.ignored,
                                       unparsed: $0.unparsed)
                    },
                    messages: out.messages, deliveries: out.deliveries, rejections: out.rejections,
                    unparsed: unparsed, correlatorStates: states))
                for host in states.keys { stateVersions[host] = (stateVersions[host] ?? 0) + 1 }
                committed = position
                for (_, c) in counters { summary.lines += c }
                summary.messages += result.messages
                summary.deliveries += result.deliveries
                summary.rejections += result.rejections
                summary.unparsedStored += result.unparsed
                summary.tooOld += result.tooOld
            }

            let result = try p.feed(file, from: committed) { position in
                if position.line - committed.line >= Int64(settings.batchLines) {
                    try commit(upTo: position, final: false)
                }
                progress.update(file: path, done: file.reader.rawOffset, total: file.reader.fileSize,
                                lines: linesBefore + position.line - 1 - source.committedLine)
            }
            if !result.complete {
                summary.notes.append(
                    "\(TerminalText.escape(path)): shorter than what was already loaded from it (\(source.committedOffset) bytes); " +
                    "it was truncated or replaced — nothing loaded")
                continue
            }
            summary.notePendingTail(path, result.pendingTailBytes)
            if result.end.offset == source.committedOffset && source.committedOffset > 0 {
                summary.filesUpToDate += 1
            }
            try commit(upTo: result.end, final: true)
        }
        summary.seconds = Progress.clock() - start
        return summary
    }
}
