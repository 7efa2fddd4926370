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
/// - Parsing and loading overlap: a closed batch is encoded as COPY data on
///   this thread and committed by a `BatchCommitter` thread while this one
///   parses the next batch (at most one batch in flight). A failed commit
///   stops the run at the next batch boundary with its error; nothing after
///   it is committed.
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
    /// Lines per committed batch (a batch closes at the first chunk end after that many lines).
    public var batchLines = 50_000
    /// Bytes read per chunk; batches close only at chunk ends (tests make it small).
    public var readChunkBytes = 1 << 20
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

        var processor: LineProcessor? = nil
        let saved = try loader.loadCorrelatorStates()
        // Each batch comes back with its line counters, added to the summary once committed.
        let committer = BatchCommitter<[String: LineCounters]>(loader: loader, versions: saved.mapValues(\.version))
        defer { committer.stop() }
        func account(_ done: (context: [String: LineCounters], result: CommitResult)?) {
            guard let (counters, result) = done else { return }
            for (_, c) in counters { summary.lines += c }
            summary.messages += result.messages
            summary.deliveries += result.deliveries
            summary.rejections += result.rejections
            summary.unparsedStored += result.unparsed
            summary.tooOld += result.tooOld
        }

        for (index, path) in paths.enumerated() {
            let file = try SourceFile(path: path, chunkSize: settings.readChunkBytes)
            summary.files += 1
            guard let fingerprint = file.fingerprint else {
                summary.notes.append("\(TerminalText.escape(path)): no complete line yet; nothing to load")
                continue
            }
            let isFirst = processor == nil
            let p = try LineProcessor.forFile(file, existing: processor, options: settings.pipeline)
            if isFirst {
                for (host, s) in saved { p.savedStates[host] = s.state }
            }
            processor = p
            account(try committer.drain())   // the connection is this thread's again
            let source = try loader.openSource(fingerprint: fingerprint, path: path,
                                               format: settings.pipeline.format.rawValue,
                                               hostHint: settings.pipeline.host)
            /// Where the next batch starts: the end of the last batch handed to the committer.
            var closed = LineProcessor.Position(offset: source.committedOffset, line: source.committedLine + 1)
            let last = index == paths.count - 1
            let linesBefore = summary.lines.read

            /// Closes the batch of the lines before `upTo` (and everything they produced, with the
            /// correlator state after them) and hands it to the committer.
            func close(upTo position: LineProcessor.Position, final: Bool) throws {
                if final && last { p.flushHeld() }
                let (out, unparsed, counters) = p.takeOutput()
                var states: [String: (expectedVersion: Int64, state: [UInt8])] = [:]
                for host in p.touched.sorted() {
                    guard let machine = p.correlators[host] else { continue }
                    states[host] = (0, try StateCoding.encode(machine))   // the committer sets the version
                }
                p.touched.removeAll()
                if position.offset == closed.offset && out.isEmpty && unparsed.isEmpty && states.isEmpty { return }
                let batch = EncodedBatch(Batch(
                    sourceID: source.sourceID, fromOffset: closed.offset, toOffset: position.offset,
                    toLine: position.line - 1,
                    counters: counters.mapValues {
                        IngestCounters(linesRead: $0.read, parsed: $0.parsed, ignored: $0.ignored,
                                       unparsed: $0.unparsed)
                    },
                    messages: out.messages, deliveries: out.deliveries, rejections: out.rejections,
                    unparsed: unparsed, correlatorStates: states))
                account(try committer.submit(batch, context: counters))
                closed = position
            }

            let result = try p.feed(file, from: closed) { position in
                if position.line - closed.line >= Int64(settings.batchLines) {
                    try close(upTo: position, final: false)
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
            try close(upTo: result.end, final: true)
        }
        account(try committer.finish())
        summary.seconds = Progress.clock() - start
        return summary
    }
}
