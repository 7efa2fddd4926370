/// FollowPipeline: the parse → correlate → load pipeline for inputs that
/// grow while they are read (the agent), built on the same LineProcessor and
/// BatchLoader as `ingest`.
///
/// Contract:
/// - One pipeline = one set of per-host correlators (seeded from the saved
///   states) shared by any number of `Stream`s (one per file being read,
///   each with its own parser, options and line splitter).
/// - Exactly-once: the in-memory correlators always equal the committed
///   state plus the pending lines of at most ONE stream. Feeding a stream
///   while another one has uncommitted lines first commits that one. So each
///   commit carries (rows, the stream's checkpoint, the state of the hosts
///   touched) and nothing that belongs to another stream's uncommitted lines.
/// - Open transactions (a message deferred for days) live in the correlator
///   state saved with every batch, so a byte offset is a complete resume
///   point: the next run restores the state and continues after the offset.
/// - Only complete lines are processed; an unterminated last line waits in
///   the splitter until its newline arrives (it is never committed).
/// - After a failed commit the pipeline is `poisoned` (its output was taken):
///   throw it away and build a new one from the database, as after a crash.
/// Limits: one thread; held (loopback re-injected) messages are never force-
/// flushed (a follower has no "end of input"); they leave the state when
/// linked, removed or after 10 minutes of log time, as the correlator rules say.
import Correlation
import LogReading
import MailTrailModel
import MTAParsing
import PostgresLoading
import SyslogFraming

public final class FollowPipeline {
    let processor: LineProcessor
    public let loader: BatchLoader
    private var versions: [String: Int64] = [:]
    /// The stream whose lines are processed but not committed, if any.
    private var dirty: Stream?
    /// True after a failed commit: discard this pipeline.
    public private(set) var poisoned = false

    /// One file being read: its source row, parser and position.
    public final class Stream {
        public let sourceID: Int64
        public let fingerprint: String
        public let options: PipelineOptions
        fileprivate var parser: LineParser
        fileprivate var splitter: LineSplitter
        /// Checkpoint: bytes and lines committed.
        public fileprivate(set) var committedOffset: Int64
        public fileprivate(set) var committedLine: Int64
        /// Bytes handed to `feed` so far (committed + pending + the unterminated tail).
        public fileprivate(set) var readOffset: Int64
        /// Time of the last line whose envelope could be read (log time).
        public fileprivate(set) var lastLineTime: Timestamp?
        /// Wall-clock (monotonic seconds) when the oldest uncommitted line was processed.
        public fileprivate(set) var pendingSince: Double?
        /// Called inside each commit's transaction of this stream, before COMMIT.
        public var beforeCommit: ((PGConnection) throws -> Void)?

        init(sourceID: Int64, fingerprint: String, options: PipelineOptions, parser: LineParser,
             offset: Int64, line: Int64) {
            self.sourceID = sourceID; self.fingerprint = fingerprint; self.options = options
            self.parser = parser
            self.splitter = LineSplitter(startOffset: offset, startLine: line + 1)
            self.committedOffset = offset; self.committedLine = line; self.readOffset = offset
        }

        /// Complete lines processed but not committed.
        public var pendingLines: Int64 { splitter.nextLineNumber - 1 - committedLine }
        /// Offset after the last complete line (the checkpoint a commit would write).
        public var completeOffset: Int64 { splitter.nextOffset }
        /// Bytes of an unterminated last line seen so far.
        public var tailBytes: Int64 { splitter.pendingByteCount }
    }

    /// A pipeline over `loader`'s connection, correlators restored from the saved states.
    public init(loader: BatchLoader, correlator: CorrelatorConfig = CorrelatorConfig()) throws {
        self.loader = loader
        var options = PipelineOptions()
        options.correlator = correlator
        processor = try LineProcessor(options: options, referenceDate: Timestamp(seconds: 0).utcDate,
                                      fallbackTime: Timestamp(seconds: 0))
        for (host, s) in try loader.loadCorrelatorStates() {
            processor.savedStates[host] = s.state
            versions[host] = s.version
        }
    }

    /// Opens (or creates) the source row of `fingerprint` and returns a stream positioned at its checkpoint.
    public func openStream(fingerprint: String, path: String, options: PipelineOptions,
                           referenceDate: CivilDate) throws -> Stream {
        let cp = try loader.openSource(fingerprint: fingerprint, path: path, format: options.format.rawValue,
                                       hostHint: options.host)
        let parser = LineParser(format: options.format, framing: try LineProcessor.framing(options, referenceDate))
        return Stream(sourceID: cp.sourceID, fingerprint: fingerprint, options: options, parser: parser,
                      offset: cp.committedOffset, line: cp.committedLine)
    }

    /// Processes the complete lines in `bytes` (the next bytes of `stream`, from `readOffset` on).
    public func feed(_ stream: Stream, _ bytes: UnsafeRawBufferPointer, now: Double) throws {
        precondition(!poisoned, "FollowPipeline used after a failed commit")
        if let d = dirty, d !== stream { try commit(d) }
        let before = stream.splitter.nextLineNumber
        swap(&processor.parser, &stream.parser)
        let savedOptions = processor.options
        processor.options = PipelineOptions(copying: stream.options, correlator: savedOptions.correlator)
        defer {
            swap(&processor.parser, &stream.parser)
            processor.options = savedOptions
        }
        stream.splitter.feed(bytes) { line, meta in
            processor.process(line, offset: meta.offset, number: meta.number, truncated: meta.truncated)
        }
        stream.readOffset += Int64(bytes.count)
        if stream.splitter.nextLineNumber != before {
            if let t = processor.parser.lastContext?.time { stream.lastLineTime = t }
            if stream.pendingSince == nil { stream.pendingSince = now }
            dirty = stream
        }
    }

    /// Commits `stream`'s pending lines (rows, checkpoint, touched correlator states) in one
    /// transaction; returns nil when there was nothing to commit.
    @discardableResult
    public func commit(_ stream: Stream) throws -> CommitResult? {
        precondition(!poisoned, "FollowPipeline used after a failed commit")
        if let d = dirty, d !== stream { try commit(d) }
        guard dirty === stream else { return nil }
        let toOffset = stream.splitter.nextOffset
        let toLine = stream.splitter.nextLineNumber - 1
        let (out, unparsed, counters) = processor.takeOutput()
        var states: [String: (expectedVersion: Int64, state: [UInt8])] = [:]
        do {
            for host in processor.touched.sorted() {
                guard let machine = processor.correlators[host] else { continue }
                states[host] = (versions[host] ?? 0, try StateCoding.encode(machine))
            }
            processor.touched.removeAll()
            loader.beforeCommit = stream.beforeCommit
            defer { loader.beforeCommit = nil }
            let result = try loader.commit(Batch(
                sourceID: stream.sourceID, fromOffset: stream.committedOffset, toOffset: toOffset, toLine: toLine,
                counters: counters.mapValues {
                    IngestCounters(linesRead: $0.read, parsed: $0.parsed, ignored: $0.ignored, unparsed: $0.unparsed)
                },
                messages: out.messages, deliveries: out.deliveries, rejections: out.rejections,
                unparsed: unparsed, correlatorStates: states))
            for (host, v) in result.correlatorVersions { versions[host] = v }
            stream.committedOffset = toOffset
            stream.committedLine = toLine
            stream.pendingSince = nil
            dirty = nil
            return result
        } catch {
            poisoned = true
            throw error
        }
    }

    /// Commits whatever stream has pending lines.
    public func commitPending() throws {
        if let d = dirty { try commit(d) }
    }

    /// Reads a whole file (plain or gzip) from its source's checkpoint to its end, committing every
    /// `batchLines` lines and at the end; returns the stream (nil when the file has no complete
    /// line yet) and whether the file was at least as long as the checkpoint.
    public func catchUp(path: String, options: PipelineOptions, batchLines: Int,
                        now: () -> Double,
                        prepare: (Stream) -> Void = { _ in }) throws -> (stream: Stream?, complete: Bool) {
        try commitPending()
        let file = try SourceFile(path: path)
        guard let fp = file.fingerprint else { return (nil, true) }
        let stream = try openStream(fingerprint: fp, path: path, options: options, referenceDate: file.referenceDate)
        prepare(stream)
        let complete = try file.chunks(from: stream.committedOffset) { chunk in
            try feed(stream, chunk, now: now())
            if stream.pendingLines >= Int64(batchLines) { try commit(stream) }
        }
        try commit(stream)
        return (stream, complete)
    }
}

extension PipelineOptions {
    init(copying o: PipelineOptions, correlator: CorrelatorConfig) {
        self = o
        self.correlator = correlator
    }
}
