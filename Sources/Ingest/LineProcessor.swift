/// LineProcessor: the parse → correlate stages for a stream of lines, shared
/// by `ingest` (which loads the result) and `parse` (which prints it).
///
/// Contract: every line handed to `process` ends up counted exactly once as
/// parsed, ignored or unparsed, per host; unparsed lines are kept byte for
/// byte with the reason. Each host has its own correlator; correlators outlive
/// a file (rotated files of one host continue each other) and can be seeded
/// from saved state. No I/O happens here.
import Correlation
import MailTrailModel
import MTAParsing
import SyslogFraming

/// Per-host line counters.
public struct LineCounters: Hashable, Sendable {
    public var read: Int64 = 0
    public var parsed: Int64 = 0
    public var ignored: Int64 = 0
    public var unparsed: Int64 = 0
    public init() {}

    public static func += (a: inout LineCounters, b: LineCounters) {
        a.read += b.read; a.parsed += b.parsed; a.ignored += b.ignored; a.unparsed += b.unparsed
    }
}

/// Options shared by `ingest` and `parse`.
public struct PipelineOptions: Sendable {
    public var format: InputFormat = .auto
    /// Host for lines whose envelope carries none.
    public var host: String?
    /// Forces the year of year-less timestamps.
    public var year: Int?
    /// Zone of year-less / zone-less timestamps (IANA name); nil = the system's zone.
    public var timeZone: String?
    public var correlator = CorrelatorConfig()
    public init() {}
}

/// Errors of the ingest/parse pipeline that are the user's to fix.
public enum PipelineError: Error, CustomStringConvertible {
    case unknownTimeZone(String)
    public var description: String {
        switch self {
        case .unknownTimeZone(let z):
            return "unknown time zone '\(z)'; use an IANA name such as Europe/Berlin, UTC, or an offset like +01:00"
        }
    }
}

/// Checks zone names for the CLI's validate().
public enum ZoneCheck {
    public static func isKnown(_ name: String) -> Bool { TimeZoneSpec(parsing: name) != nil }
}

final class LineProcessor {
    /// Mutable so a follower can switch between streams with their own options (see FollowPipeline).
    var options: PipelineOptions
    var parser: LineParser
    var correlators: [String: HostCorrelator] = [:]
    /// Saved states not yet decoded, by host (decoded on the host's first line).
    var savedStates: [String: [UInt8]] = [:]
    var output = CorrelatorOutput()
    var unparsed: [UnparsedLine] = []
    var counters: [String: LineCounters] = [:]
    /// Counters of the host of the latest lines, not yet in `counters` (see `countSlot`).
    private var slot = LineCounters()
    private var slotHost: String?
    /// True when `slotHost` was put in `touched` since the slot began (`touched` is emptied only
    /// after `takeOutput`, which ends the slot).
    private var slotTouched = false
    /// Hosts whose correlator changed since the last `takeTouched()`.
    var touched: Set<String> = []
    /// Time of the last line whose envelope could be read.
    var lastTime: Timestamp
    var lastHost: String?
    /// Keep at most this many unparsed lines per batch verbatim (all are counted).
    let unparsedKeepLimit: Int

    init(options: PipelineOptions, referenceDate: CivilDate, fallbackTime: Timestamp,
         unparsedKeepLimit: Int = 100_000) throws {
        self.options = options
        self.parser = LineParser(format: options.format, framing: try Self.framing(options, referenceDate))
        self.lastTime = fallbackTime
        self.unparsedKeepLimit = unparsedKeepLimit
    }

    static func framing(_ options: PipelineOptions, _ referenceDate: CivilDate) throws -> FramingConfig {
        var zone = TimeZoneSpec.system
        if let name = options.timeZone {
            guard let z = TimeZoneSpec(parsing: name) else { throw PipelineError.unknownTimeZone(name) }
            zone = z
        }
        return FramingConfig(timeZone: zone, year: options.year, referenceDate: referenceDate,
                             defaultHost: options.host)
    }

    /// Starts a new file: year inference restarts from the file's own reference date.
    func startFile(referenceDate: CivilDate, fallbackTime: Timestamp) throws {
        parser = LineParser(format: options.format, framing: try Self.framing(options, referenceDate))
        if lastHost == nil { lastTime = fallbackTime }
    }

    @inline(__always)
    func process(_ line: UnsafeBufferPointer<UInt8>, offset: Int64, number: Int64, truncated: Bool) {
        let outcome = truncated ? parser.parse(line, offset: offset, truncated: true)
                                : parser.parse(line, offset: offset)
        switch outcome {
        case .postfix(let ctx, let event):
            parsed(ctx)
            correlators[ctx.host, default: makeCorrelator(ctx.host)].receive(ctx, event, into: &output)
        case .sendmail(let ctx, let event):
            parsed(ctx)
            correlators[ctx.host, default: makeCorrelator(ctx.host)].receive(ctx, event, into: &output)
        case .exim(let ctx, let event):
            parsed(ctx)
            correlators[ctx.host, default: makeCorrelator(ctx.host)].receive(ctx, event, into: &output)
        case .utm(let ctx, let event):
            parsed(ctx)
            correlators[ctx.host, default: makeCorrelator(ctx.host)].receive(ctx, event, into: &output)
        case .ignored:
            let host = currentHost()
            if host != slotHost { switchSlot(host) }
            slot.read += 1
            slot.ignored += 1
        case .unparsed(let reason):
            let host = currentHost()
            if host != slotHost { switchSlot(host) }
            slot.read += 1
            slot.unparsed += 1
            if unparsed.count < unparsedKeepLimit {
                unparsed.append(UnparsedLine(at: lastTime, host: host.isEmpty ? nil : host, lineNumber: number,
                                             offset: offset, reason: reason, raw: Array(line)))
            }
        }
    }

    private func currentHost() -> String {
        if let ctx = parser.lastContext {
            lastTime = ctx.time
            lastHost = ctx.host
            return ctx.host
        }
        return lastHost ?? options.host ?? ""
    }

    /// Counts a line that produced an event; its host's correlator is about to change.
    @inline(__always)
    private func parsed(_ ctx: LineContext) {
        lastTime = ctx.time
        lastHost = ctx.host
        if ctx.host != slotHost { switchSlot(ctx.host) }
        if !slotTouched {
            touched.insert(ctx.host)
            slotTouched = true
        }
        slot.read += 1
        slot.parsed += 1
    }

    /// Makes `host` the current counter slot. Lines come in runs of one host: the dictionary
    /// is touched only when the host changes, because hashing the host string on every line
    /// costs about as much as parsing a short line. (Interned host strings compare by pointer.)
    private func switchSlot(_ host: String) {
        foldSlot()
        slotHost = host
    }

    /// Adds the current slot into `counters`.
    private func foldSlot() {
        if let h = slotHost, slot.read > 0 { counters[h, default: LineCounters()] += slot }
        slot = LineCounters()
        slotHost = nil
        slotTouched = false
    }

    private func makeCorrelator(_ host: String) -> HostCorrelator {
        if let saved = savedStates.removeValue(forKey: host), let m = try? StateCoding.decode(saved) {
            var m = m
            m.config = options.correlator
            return m
        }
        return HostCorrelator(host: host, config: options.correlator)
    }

    /// Returns the processor for the next file of a run: `existing` restarted for
    /// `file` (correlators carry over), or a new one.
    static func forFile(_ file: SourceFile, existing: LineProcessor?, options: PipelineOptions) throws -> LineProcessor {
        if let p = existing {
            try p.startFile(referenceDate: file.referenceDate, fallbackTime: file.fallbackTime)
            return p
        }
        return try LineProcessor(options: options, referenceDate: file.referenceDate, fallbackTime: file.fallbackTime)
    }

    /// Where reading stands: every line before `offset` is processed; the next line gets number `line`.
    struct Position {
        var offset: Int64
        var line: Int64
    }

    /// What `feed` read of a file.
    struct FeedResult {
        /// False when the file is shorter than the starting offset (truncated or replaced).
        var complete: Bool
        var end: Position
        /// Bytes of an unterminated last line, left unread.
        var pendingTailBytes: Int64
    }

    /// Feeds every complete line of `file` from `start` on; calls `afterChunk`
    /// with the position after each chunk (a batch may close there).
    func feed(_ file: SourceFile, from start: Position,
              afterChunk: (Position) throws -> Void) throws -> FeedResult {
        var splitter = LineSplitter(startOffset: start.offset, startLine: start.line)
        let complete = try file.chunks(from: start.offset) { chunk in
            splitter.feed(chunk) { line, meta in
                process(line, offset: meta.offset, number: meta.number, truncated: meta.truncated)
            }
            try afterChunk(Position(offset: splitter.nextOffset, line: splitter.nextLineNumber))
        }
        return FeedResult(complete: complete, end: Position(offset: splitter.nextOffset, line: splitter.nextLineNumber),
                          pendingTailBytes: complete ? splitter.pendingByteCount : 0)
    }

    /// Emits every held message (end of a one-shot run).
    func flushHeld() {
        for host in correlators.keys.sorted() {
            correlators[host]!.flushHeld(into: &output)
            touched.insert(host)
        }
    }

    func takeOutput() -> (CorrelatorOutput, [UnparsedLine], [String: LineCounters]) {
        foldSlot()
        let r = (output, unparsed, counters)
        output = CorrelatorOutput()
        unparsed = []
        counters = [:]
        return r
    }
}

/// The input formats, re-exported so the CLI needs no parser import.
public typealias InputFormat = MTAParsing.InputFormat
