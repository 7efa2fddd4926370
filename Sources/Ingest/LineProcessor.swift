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
    var options: PipelineOptions {
        get { core!.options }
        set { core!.options = newValue }
    }
    var parser: LineParser {
        get { lineParser! }
        _modify { yield &lineParser! }
    }
    /// The correlator of every host that had an event, by host.
    var correlators: [String: HostCorrelator] {
        var d: [String: HostCorrelator] = [:]
        for slot in core!.slots where slot.hasMachine { d[slot.host] = slot.machine }
        return d
    }
    /// Saved states not yet decoded, by host (decoded on the host's first line).
    var savedStates: [String: [UInt8]] {
        get { core!.savedStates }
        _modify { yield &core!.savedStates }
    }
    var output: CorrelatorOutput { core!.output }
    var unparsed: [UnparsedLine] { core!.unparsed }
    /// Hosts whose correlator changed since `touched` was last emptied.
    var touched: Set<String> {
        get { core!.touched }
        set {
            core!.touched = newValue
            core!.touchedGeneration &+= 1          // any change from outside: hosts re-register
        }
    }
    /// Time of the last line whose envelope could be read.
    var lastTime: Timestamp { core!.lastTime }
    var lastHost: String? { core!.lastHost }
    /// Keep at most this many unparsed lines per batch verbatim (all are counted).
    let unparsedKeepLimit: Int

    /// All mutable state, in two values so the per-line loop runs on local copies (no
    /// exclusivity checks of class properties per line, and the parser's context and event are
    /// handed to the correlator without copies); nil only while `feed` holds them.
    private var core: Core?
    private var lineParser: LineParser?

    init(options: PipelineOptions, referenceDate: CivilDate, fallbackTime: Timestamp,
         unparsedKeepLimit: Int = 100_000) throws {
        self.unparsedKeepLimit = unparsedKeepLimit
        self.lineParser = LineParser(format: options.format, framing: try Self.framing(options, referenceDate))
        self.core = Core(options: options, lastTime: fallbackTime, unparsedKeepLimit: unparsedKeepLimit)
    }

    static func framing(_ options: PipelineOptions, _ referenceDate: CivilDate) throws -> FramingConfig {
        // The system zone only when none is given: looking it up costs about a millisecond.
        let zone: TimeZoneSpec
        if let name = options.timeZone {
            guard let z = TimeZoneSpec(parsing: name) else { throw PipelineError.unknownTimeZone(name) }
            zone = z
        } else {
            zone = .system
        }
        return FramingConfig(timeZone: zone, year: options.year, referenceDate: referenceDate,
                             defaultHost: options.host)
    }

    /// Starts a new file: year inference restarts from the file's own reference date.
    func startFile(referenceDate: CivilDate, fallbackTime: Timestamp) throws {
        lineParser = LineParser(format: core!.options.format, framing: try Self.framing(core!.options, referenceDate))
        if core!.lastSlot < 0 { core!.lastTime = fallbackTime }
    }

    func process(_ line: UnsafeBufferPointer<UInt8>, offset: Int64, number: Int64, truncated: Bool) {
        core!.process(line, offset: offset, number: number, truncated: truncated, parser: &lineParser!)
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
            // The state is moved out for the chunk (unique buffers, no per-line access checks)
            // and back before `afterChunk`, which may read or take the output.
            var local = core.take()!
            var parser = lineParser.take()!
            splitter.feed(chunk) { line, meta in
                local.process(line, offset: meta.offset, number: meta.number, truncated: meta.truncated, parser: &parser)
            }
            core = consume local
            lineParser = consume parser
            try afterChunk(Position(offset: splitter.nextOffset, line: splitter.nextLineNumber))
        }
        return FeedResult(complete: complete, end: Position(offset: splitter.nextOffset, line: splitter.nextLineNumber),
                          pendingTailBytes: complete ? splitter.pendingByteCount : 0)
    }

    /// Emits every held message (end of a one-shot run).
    func flushHeld() {
        core!.flushHeld()
    }

    func takeOutput() -> (CorrelatorOutput, [UnparsedLine], [String: LineCounters]) {
        core!.takeOutput()
    }

    /// Like `takeOutput`, but hands the batch over in `spare` (emptied first) and keeps
    /// `spare`'s arrays for the next batch: a caller that is done with a batch before the
    /// next one (`parse`) reuses two sets of arrays instead of allocating and first-touching
    /// new ones each batch. The line counts come summed over the hosts (no dictionary per batch).
    func exchangeOutput(_ spare: inout CorrelatorOutput) -> ([UnparsedLine], LineCounters) {
        core!.exchangeOutput(&spare)
    }

    // MARK: - the per-line state

    /// One host's correlator and counters.
    struct HostSlot {
        var host: String
        /// The host's correlator; a placeholder until `hasMachine` (made on the host's first event,
        /// from its saved state if any). Not optional: each test of an optional this large is a
        /// call on the hot path.
        var machine: HostCorrelator
        var hasMachine = false
        /// Lines of this host since the last `takeOutput`.
        var counts = LineCounters()
        /// Equal to `Core.touchedGeneration` when `host` is known to be in `touched`.
        var touchedGeneration = -1
    }

    struct Core {
        var options: PipelineOptions
        var slots: [HostSlot] = []
        var slotByHost: [String: Int] = [:]
        /// Slot + 1 per framer host index (0 = not cached); checked against the host, since a
        /// follower swaps parsers whose indices differ.
        var slotByHostIndex: [Int32] = []
        var savedStates: [String: [UInt8]] = [:]
        var output = CorrelatorOutput()
        var unparsed: [UnparsedLine] = []
        var touched: Set<String> = []
        var touchedGeneration = 0
        var lastTime: Timestamp
        /// Slot of the last line whose host was known (-1: none yet).
        var lastSlot = -1
        let unparsedKeepLimit: Int

        init(options: PipelineOptions, lastTime: Timestamp, unparsedKeepLimit: Int) {
            self.options = options; self.lastTime = lastTime
            self.unparsedKeepLimit = unparsedKeepLimit
            // The first batch starts at a useful size instead of growing from nothing (each
            // doubling copies every record made so far). Untouched pages of the reservation
            // are not resident, so a follower with small batches does not pay for it in RSS.
            output.messages.reserveCapacity(Self.firstBatchCapacity)
            output.deliveries.reserveCapacity(Self.firstBatchCapacity)
            output.rejections.reserveCapacity(Self.firstBatchCapacity / 4)
        }

        /// Records of each kind the first batch has room for before its arrays grow.
        static let firstBatchCapacity = 8192

        var lastHost: String? { lastSlot >= 0 ? slots[lastSlot].host : nil }

        @inline(__always)
        mutating func process(_ line: UnsafeBufferPointer<UInt8>, offset: Int64, number: Int64, truncated: Bool,
                              parser: inout LineParser) {
            switch parser.next(line, offset: offset, truncated: truncated) {
            case .postfix:
                let s = parsed(parser)
                let line = parser.postfixLine
                parser.framer.withContext { slots[s].machine.receive($0, line, into: &output) }
            case .sendmail:
                let s = parsed(parser)
                let line = parser.sendmailLine
                parser.framer.withContext { slots[s].machine.receive($0, line, into: &output) }
            case .exim:
                let s = parsed(parser)
                let line = parser.eximLine
                parser.framer.withContext { slots[s].machine.receive($0, line, into: &output) }
            case .utm:
                let s = parsed(parser)
                parser.withUTMEvent { slots[s].machine.receive($0, $1, into: &output) }
            case .ignored:
                let s = slotOfLastContext(parser)
                slots[s].counts.read += 1
                slots[s].counts.ignored += 1
            case .unparsed(let reason):
                let s = slotOfLastContext(parser)
                slots[s].counts.read += 1
                slots[s].counts.unparsed += 1
                if unparsed.count < unparsedKeepLimit {
                    let host = slots[s].host
                    unparsed.append(UnparsedLine(at: lastTime, host: host.isEmpty ? nil : host, lineNumber: number,
                                                 offset: offset, reason: reason, raw: Array(line)))
                }
            }
        }

        /// The slot of the line just framed (created on the host's first line).
        @inline(__always)
        private mutating func currentSlot(_ parser: borrowing LineParser) -> Int {
            let i = parser.hostIndex
            if i >= 0, i < slotByHostIndex.count {
                let s = Int(slotByHostIndex[i]) - 1
                if s >= 0, slots[s].host == parser.framer.current.host { return s }
            }
            return slowSlot(index: i, host: parser.framer.current.host)
        }

        private mutating func slowSlot(index i: Int, host: String) -> Int {
            let s = slot(for: host)
            if i >= 0 && i < 1 << 16 {
                if i >= slotByHostIndex.count {
                    slotByHostIndex.append(contentsOf: repeatElement(0, count: i + 1 - slotByHostIndex.count))
                }
                slotByHostIndex[i] = Int32(s + 1)
            }
            return s
        }

        private mutating func slot(for host: String) -> Int {
            if let s = slotByHost[host] { return s }
            slots.append(HostSlot(host: host, machine: HostCorrelator(host: host, config: options.correlator)))
            slotByHost[host] = slots.count - 1
            return slots.count - 1
        }

        /// Counts a line that produced an event and makes sure its host has a correlator;
        /// returns the host's slot.
        @inline(__always)
        private mutating func parsed(_ parser: borrowing LineParser) -> Int {
            let s = currentSlot(parser)
            lastTime = parser.framer.current.time
            lastSlot = s
            if slots[s].touchedGeneration != touchedGeneration {
                touched.insert(slots[s].host)
                slots[s].touchedGeneration = touchedGeneration
            }
            if !slots[s].hasMachine {
                slots[s].machine = makeCorrelator(slots[s].host)
                slots[s].hasMachine = true
            }
            slots[s].counts.read += 1
            slots[s].counts.parsed += 1
            return s
        }

        /// The slot for an ignored or unparsed line: its own host when the envelope was read,
        /// else the last known host (or the configured one, or "").
        @inline(__always)
        private mutating func slotOfLastContext(_ parser: borrowing LineParser) -> Int {
            if parser.framer.hasContext {
                lastTime = parser.framer.current.time
                let s = currentSlot(parser)
                lastSlot = s
                return s
            }
            if lastSlot >= 0 { return lastSlot }
            return slot(for: options.host ?? "")
        }

        private mutating func makeCorrelator(_ host: String) -> HostCorrelator {
            if let saved = savedStates.removeValue(forKey: host), let m = try? StateCoding.decode(saved) {
                var m = m
                m.config = options.correlator
                return m
            }
            return HostCorrelator(host: host, config: options.correlator)
        }

        mutating func flushHeld() {
            let order = slots.indices.filter { slots[$0].hasMachine }.sorted { slots[$0].host < slots[$1].host }
            for s in order {
                slots[s].machine.flushHeld(into: &output)
                touched.insert(slots[s].host)
            }
        }

        mutating func takeOutput() -> (CorrelatorOutput, [UnparsedLine], [String: LineCounters]) {
            let counters = takeCounters()
            let r = (output, unparsed, counters)
            // The next batch gets arrays of this one's size and a quarter more at once: batches vary,
            // and one record past the capacity would copy all of them (a growth copy of records
            // cost more than 80 instructions per Postfix line before the headroom).
            output = CorrelatorOutput()
            output.messages.reserveCapacity(Self.capacity(after: r.0.messages.count))
            output.deliveries.reserveCapacity(Self.capacity(after: r.0.deliveries.count))
            output.rejections.reserveCapacity(Self.capacity(after: r.0.rejections.count))
            unparsed = []
            return r
        }

        mutating func exchangeOutput(_ spare: inout CorrelatorOutput) -> ([UnparsedLine], LineCounters) {
            spare.removeAll()
            spare.messages.reserveCapacity(Self.capacity(after: output.messages.count))
            spare.deliveries.reserveCapacity(Self.capacity(after: output.deliveries.count))
            spare.rejections.reserveCapacity(Self.capacity(after: output.rejections.count))
            swap(&output, &spare)
            var counters = LineCounters()
            for s in slots.indices where slots[s].counts.read > 0 {
                counters += slots[s].counts
                slots[s].counts = LineCounters()
            }
            let u = unparsed
            unparsed = []
            return (u, counters)
        }

        /// Per-host line counts since the last take, reset.
        mutating func takeCounters() -> [String: LineCounters] {
            var counters: [String: LineCounters] = [:]
            for s in slots.indices where slots[s].counts.read > 0 {
                counters[slots[s].host, default: LineCounters()] += slots[s].counts
                slots[s].counts = LineCounters()
            }
            return counters
        }

        /// The capacity to reserve for a batch after one that held `count` records.
        static func capacity(after count: Int) -> Int { count + count / 4 + 64 }
    }
}

/// The input formats, re-exported so the CLI needs no parser import.
public typealias InputFormat = MTAParsing.InputFormat
