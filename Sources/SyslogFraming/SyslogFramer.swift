// SyslogFramer: reads the syslog envelope of one line -> LineContext + body range.
//
// Contract:
// * Envelopes: RFC 3164 `Mmm dd hh:mm:ss host tag[pid]: body` (day
//   space-padded `Jan  5`, zero-padded `Jan 05` or `Jan 5`; an optional
//   `.ffffff` fraction as journalctl short-precise writes it) and RFC 3339
//   `YYYY-MM-DDThh:mm:ss[.f{1,9}](Z|±hh:mm|±hhmm) host tag[pid]: body`.
// * Classic stamps are local time in the configured zone (see ZoneConverter
//   for the DST rule) with an inferred year (see YearInference); RFC 3339
//   stamps carry their own offset. Times are UTC microseconds.
// * Ranges are validated: month 1-12, day within the month, hour < 24,
//   minute < 60, second <= 60 (a leap second reads as the next minute's :00).
// * The tag is split on `/`: first component = instance, last = program,
//   the ones between = service (`postfix/submission/smtpd`); a one-part tag
//   (`amavis`) has an empty instance and service. `tag: body` has pid 0.
// * A line whose first token after the stamp ends with `:` has no host; it
//   gets `defaultHost` (or "" when none is configured).
// * Host Strings and tags are interned (one lookup of the `host tag` bytes
//   gives both, through a small cache of recent regions, see RegionCache):
//   a line allocates nothing for them, and a tag change assigns
//   one shared `LineTag` (instance/service/program). `frameInPlace`
//   updates one stored context (`current`) instead of returning a copy;
//   `withContext` lends it; `lastTagIndex`/`lastHostIndex` let callers cache
//   per-tag and per-host decisions. The last plain 16-byte classic stamp is
//   reused for the next line with the same bytes (the year inference cannot
//   have moved in between: any other classic stamp clears it), and the last
//   one read in full gives its minute's other seconds (`Mmm dd hh:mm:` equal,
//   when the zone has one offset for that hour). A line that
//   repeats the last line's whole envelope (stamp to `: `) takes the last
//   result after a compare of its words (see EnvelopeMemo).
// * Never throws: a line that does not fit is `.unframed(reason:)`; an
//   unframed line leaves `lastContext` as it was.
// Known limits: no `<PRI>` / RFC 5424 wire format, no localised month names,
// no journald JSON; a classic line needs a forced year or a reference date.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailTrailModel

/// The result of framing one line.
public enum FrameResult: Hashable, Sendable {
    /// The envelope was read; `body` is the range of the message text in the line buffer.
    case framed(LineContext, body: Range<Int>)
    /// The line has no readable envelope; `reason` says which part failed.
    case unframed(reason: String)
}

/// A parsed syslog tag: instance / service / program.
struct TagParts: Sendable {
    /// The parts, shared by every context of this tag (one reference to assign when the tag changes).
    var tag: LineTag
    /// A one-component tag whose name starts with `exim` (`exim`, `exim4`, `exim-in`): its body may
    /// start with Exim's own timestamp.
    var isExim: Bool = false
}

/// Reads syslog envelopes line by line, keeping year and zone state for one stream.
public struct SyslogFramer: Sendable {
    /// The configuration this framer was created with.
    public let config: FramingConfig
    /// The context of the last line that was framed (time and host for dating unparsed lines).
    public var lastContext: LineContext? { hasContext ? current : nil }
    /// The context of the last framed line, updated in place (valid once `hasContext`).
    public private(set) var current = LineContext(time: Timestamp(micros: 0), host: "", tag: .empty, pid: 0)
    /// Whether a line was framed yet (`current` is meaningful).
    public private(set) var hasContext = false
    private var currentTagIndex = -1
    /// `TagParts.isExim` of the current tag.
    private var currentTagIsExim = false
    @usableFromInline var currentHostIndex = -1
    /// A small stable number for the last framed line's host (equal hosts, equal numbers; -2 for a
    /// line without host, -1 when the host table is full), so callers can cache per-host state.
    @inlinable public var lastHostIndex: Int { currentHostIndex }
    /// A small stable number for the last framed line's tag (equal tags, equal numbers; -1 when
    /// the tag table is full), so callers can cache per-tag decisions without hashing Strings.
    public private(set) var lastTagIndex: Int = -1

    private var zone: ZoneConverter
    private var years: YearInference
    private var hosts = Interner<String>(capacity: 4096)
    private var tags = Interner<TagParts>(capacity: 4096)
    /// `host tag` -> host index << 32 | tag index (host index -2: no host).
    private var pairs = Interner<Int64>(capacity: 4096)
    /// The last `host tag` regions read, in front of `pairs` (same values).
    private var recentPairs = RegionCache()
    private let defaultHost: String
    private var lastDateKey = -1
    private var lastDateDays: Int64 = 0
    /// The last classic stamp that was read, when it was the plain 16-byte form `Mmm dd hh:mm:ss `
    /// (two words), and its result: consecutive lines mostly share their second.
    private var stampWords: (UInt64, UInt64) = (0, 0)
    private var stampMicros: Int64 = 0
    private var hasStamp = false
    /// The minute (`Mmm dd hh:mm:`, bytes 0-12 as two words, the second masked) of the last classic
    /// stamp read in full, when it was the plain 16-byte form, and the instant of its second 0.
    private var minuteWords: (UInt64, UInt64) = (0, 0)
    private var minuteMicros: Int64 = 0
    private var hasMinute = false
    /// The last syslog envelope framed, for a line that repeats it (see EnvelopeMemo).
    private var envelope = EnvelopeMemo()

    /// Creates a framer for one input stream.
    public init(config: FramingConfig) {
        self.config = config
        self.zone = ZoneConverter(config.timeZone)
        self.years = YearInference(forcedYear: config.year, reference: config.referenceDate)
        self.defaultHost = config.defaultHost ?? ""
    }

    /// Calls `body` with the context of the last framed line, borrowed (no copy of its strings).
    @inlinable
    public func withContext<R>(_ body: (borrowing LineContext) throws -> R) rethrows -> R { try body(current) }

    /// Frames one line (without its `\n`); `offset` is the line's byte offset in the stream.
    public mutating func frame(_ line: UnsafeBufferPointer<UInt8>, offset: Int64) -> FrameResult {
        var failure: StaticString = ""
        guard let body = frameInPlace(line, offset: offset, failure: &failure) else {
            return .unframed(reason: failure.description)
        }
        return .framed(current, body: body)
    }

    /// Frames one line into `current` (no copy of the context); returns the body range, or nil with `failure` set.
    public mutating func frameInPlace(_ line: UnsafeBufferPointer<UInt8>, offset: Int64,
                                      failure: inout StaticString) -> Range<Int>? {
        let n = line.count
        guard n > 0, let base = line.baseAddress else { failure = "empty line"; return nil }
        if envelope.matches(base, n) {
            return finish(base, n, envelope.length, micros: envelope.micros, offset: offset)
        }
        envelope.clear()
        var micros: Int64 = 0
        var i = 0
        // `<PRI>` of a line stored as received from the wire (remote syslog, UTM forwarding).
        if base[0] == ASCII.lessThan {
            var k = 1
            while k < n && k <= 4 && ASCII.isDigit(base[k]) { k += 1 }
            guard k > 1, k < n, base[k] == ASCII.greaterThan else { failure = "bad <PRI> prefix"; return nil }
            i = k + 1
            guard i < n else { failure = "empty line after <PRI>"; return nil }
        }
        let s0 = i
        let first = base[s0]
        if ASCII.isDigit(first) {
            let rest = n - s0
            if rest > 20 && base[s0 + 4] == ASCII.minus && base[s0 + 10] == ASCII.space
                && (base[s0 + 19] == ASCII.space || base[s0 + 19] == ASCII.dot) {
                // Exim's own mainlog: no host, no tag.
                return frameEximMainlog(base, n, s0, offset: offset, failure: &failure)
            }
            var next = 0
            if rest > 4 && base[s0 + 4] == ASCII.colon {
                guard let t = parseUTM(base + s0, rest, &next, &failure) else { return nil }
                micros = t
            } else {
                guard let t = parseRFC3339(base + s0, rest, &next, &failure) else { return nil }
                micros = t
            }
            i = s0 + next
        } else {
            var next = 0
            guard let t = parseClassic(base + s0, n - s0, &next, &failure) else { return nil }
            micros = t
            i = s0 + next
        }
        // host (optional) and tag
        guard i < n else { failure = "no host/tag after timestamp"; return nil }
        let tok1Start = i
        let j = SyslogFramer.firstOf(ASCII.space, ASCII.space, ASCII.space, base, i, n)
        var tagStart: Int
        var hostIndex = -2                         // -2: no host in the line (defaultHost)
        if j > tok1Start && base[j - 1] == ASCII.colon {
            tagStart = tok1Start
        } else {
            guard j < n, j > tok1Start else { failure = "no tag after host"; return nil }
            tagStart = j + 1
        }
        // tag: up to `[` or `:` (fast path with memchr; the byte loop gives the precise error)
        let tag = SyslogFramer.scanTag(base, tagStart, n)
        if let e = tag.error { failure = e; return nil }
        let tagEnd = tag.tagEnd
        let pid = tag.pid
        var k = tag.colon + 1
        if k < n && base[k] == ASCII.space { k += 1 }
        let tagBytes = UnsafeBufferPointer(start: base + tagStart, count: tagEnd - tagStart)
        // One lookup of `host tag` gives both indices; the separate tables are asked only on a miss.
        let region = UnsafeBufferPointer(start: base + tok1Start, count: tagEnd - tok1Start)
        var tagIndex: Int
        let cacheable = RegionCache.fits(region.count)
        if cacheable, let packed = recentPairs.lookup(UnsafeRawPointer(base + tok1Start), region.count) {
            tagIndex = Int(Int32(truncatingIfNeeded: packed))
            hostIndex = Int(Int32(truncatingIfNeeded: packed >> 32))
        } else if case let pairIndex = pairs.lookup(region), pairIndex >= 0 {
            let packed = pairs.value(at: pairIndex)
            tagIndex = Int(Int32(truncatingIfNeeded: packed))
            hostIndex = Int(Int32(truncatingIfNeeded: packed >> 32))
            if cacheable { recentPairs.store(UnsafeRawPointer(base + tok1Start), region.count, packed) }
        } else {
            tagIndex = tags.index(for: tagBytes) { SyslogFramer.splitTag($0) }
            if tagStart != tok1Start {
                let hostBytes = UnsafeBufferPointer(start: base + tok1Start, count: tagStart - 1 - tok1Start)
                hostIndex = hosts.index(for: hostBytes) { String(decoding: $0, as: UTF8.self) }
            }
            if tagIndex >= 0 && hostIndex != -1 {
                pairs.add(region, Int64(hostIndex) << 32 | Int64(UInt32(truncatingIfNeeded: tagIndex)))
            }
        }
        lastTagIndex = tagIndex
        if tagIndex < 0 || tagIndex != currentTagIndex {
            let parts = tagIndex < 0 ? SyslogFramer.splitTag(tagBytes) : tags.value(at: tagIndex)
            current.tag = parts.tag
            currentTagIsExim = parts.isExim
        }
        currentTagIndex = tagIndex
        if tagStart != tok1Start {
            if hostIndex < 0 {
                let hostBytes = UnsafeBufferPointer(start: base + tok1Start, count: tagStart - 1 - tok1Start)
                current.host = String(decoding: hostBytes, as: UTF8.self)
            } else if hostIndex != currentHostIndex {
                current.host = hosts.value(at: hostIndex)
            }
        } else if currentHostIndex != -2 {
            current.host = defaultHost
        }
        currentHostIndex = hostIndex
        current.pid = pid
        // Remembered only when the body starts after `: `: a line repeating the bytes up to the
        // colon but not the space would start its body elsewhere.
        if k >= 16, k <= EnvelopeMemo.maxLength, base[k - 1] == ASCII.space {
            envelope.store(base, k, micros: micros)
        }
        return finish(base, n, k, micros: micros, offset: offset)
    }

    /// The end of framing a line whose envelope ends at `k` and reads as `micros`: an Exim stamp at
    /// the body's start, then the context's time and offset.
    @inline(__always)
    private mutating func finish(_ base: UnsafePointer<UInt8>, _ n: Int, _ bodyStart: Int, micros envelopeMicros: Int64,
                                 offset: Int64) -> Range<Int> {
        var k = bodyStart
        var micros = envelopeMicros
        if currentTagIsExim, n - k >= 20, ASCII.isDigit(base[k]), base[k + 4] == ASCII.minus, base[k + 10] == ASCII.space {
            // Exim's own stamp inside the body (syslog_timestamp, UTM): it has the fraction and zone
            // the envelope lacks, so the event carries it; the envelope time is the fallback.
            var next = 0
            var ignored: StaticString = ""
            if let t = parseEximStamp(base + k, n - k, &next, &ignored) {
                micros = t
                k += next
                if let (_, after) = SyslogFramer.bracketPID(base, n, k) { k = after }
            }
        }
        current.time = Timestamp(micros: micros)
        current.offset = offset
        hasContext = true
        return k..<n
    }

    /// The tag the framer gives Exim mainlog lines (program `exim`, no instance).
    private static let eximTag: [UInt8] = Array("exim".utf8)

    /// Frames `YYYY-MM-DD hh:mm:ss[.f][ ±hhmm][ [pid]] body` (Exim's own log file) starting at `s0`.
    private mutating func frameEximMainlog(_ base: UnsafePointer<UInt8>, _ n: Int, _ s0: Int, offset: Int64,
                                           failure: inout StaticString) -> Range<Int>? {
        var next = 0
        guard let micros = parseEximStamp(base + s0, n - s0, &next, &failure) else { return nil }
        var k = s0 + next
        var pid: Int32 = 0
        if let (p, after) = SyslogFramer.bracketPID(base, n, k) { pid = p; k = after }
        let tagIndex = SyslogFramer.eximTag.withUnsafeBufferPointer { tags.index(for: $0) { SyslogFramer.splitTag($0) } }
        lastTagIndex = tagIndex
        if tagIndex != currentTagIndex || tagIndex < 0 {
            current.tag = tagIndex < 0 ? LineTag(instance: "", program: "exim") : tags.value(at: tagIndex).tag
            currentTagIsExim = true
        }
        currentTagIndex = tagIndex
        if currentHostIndex != -2 { current.host = defaultHost }
        currentHostIndex = -2
        current.time = Timestamp(micros: micros)
        current.pid = pid
        current.offset = offset
        hasContext = true
        return k..<n
    }

    /// Reads `[digits] ` at `k` (1 to 10 digits, at most `Int32.max`); returns the pid and the
    /// index after the space.
    @inline(__always)
    static func bracketPID(_ base: UnsafePointer<UInt8>, _ n: Int, _ k: Int) -> (Int32, Int)? {
        guard k < n, base[k] == ASCII.openBracket, let (v, j) = decimal(base, k + 1, n),
              j > k + 1, j - k <= 11, j + 1 < n, base[j] == ASCII.closeBracket, base[j + 1] == ASCII.space else { return nil }
        return (Int32(v), j + 2)
    }

    // MARK: - tag

    /// Finds the tag's end, pid and colon starting at `tagStart`; `error` is set when there is no valid tag.
    /// The tag ends at the first `[`, `:` or space; `[digits]` must follow with `:` right after.
    @inline(__always)
    static func scanTag(_ base: UnsafePointer<UInt8>, _ tagStart: Int, _ n: Int)
        -> (tagEnd: Int, pid: Int32, colon: Int, error: StaticString?) {
        var k = firstOf(ASCII.openBracket, ASCII.colon, ASCII.space, base, tagStart, n)
        guard k < n, k > tagStart, base[k] != ASCII.space else { return (0, 0, 0, "no syslog tag") }
        let tagEnd = k
        var pid: Int32 = 0
        if base[k] == ASCII.openBracket {
            k += 1
            let digitsStart = k
            guard let (v, end) = decimal(base, k, n) else { return (0, 0, 0, "pid out of range") }
            k = end
            guard k > digitsStart, k < n, base[k] == ASCII.closeBracket else { return (0, 0, 0, "bad pid in tag") }
            k += 1
            guard k < n, base[k] == ASCII.colon else { return (0, 0, 0, "no colon after tag[pid]") }
            pid = Int32(v)
        }
        return (tagEnd, pid, k, nil)
    }

    /// The decimal digits at `k` (none: 0 and `k`): their value and the index after them; nil
    /// when the value passes `Int32.max`. Fewer than eight digits with eight bytes to read (a
    /// pid's usual case) are found and summed in one word (why: the byte loop cost ~60
    /// instructions a line); longer runs and a line's last bytes take the byte loop.
    @inline(__always)
    static func decimal(_ base: UnsafePointer<UInt8>, _ k: Int, _ n: Int) -> (Int64, Int)? {
        if k &+ 8 <= n {
            let x = UnsafeRawPointer(base + k).loadUnaligned(as: UInt64.self).littleEndian ^ 0x3030_3030_3030_3030
            // A digit's byte is now 0...9: a high nibble, or a low one that reaches 16 with 6 added
            // (no carry leaves a byte), marks every other byte.
            let low = x & 0x0F0F_0F0F_0F0F_0F0F
            let other = (x & 0xF0F0_F0F0_F0F0_F0F0) | ((low &+ 0x0606_0606_0606_0606) & 0x1010_1010_1010_1010)
            if other != 0 {
                let count = other.trailingZeroBitCount &>> 3
                if count == 0 { return (0, k) }
                // The digits moved to the word's top bytes (leading zeros below), then summed in pairs,
                // fours and eights: the first byte is the most significant digit.
                var v = low &<< UInt64((8 &- count) &* 8)
                v = ((v &* 2561) &>> 8) & 0x00FF_00FF_00FF_00FF
                v = ((v &* 6_553_601) &>> 16) & 0x0000_FFFF_0000_FFFF
                v = (v &* 42_949_672_960_001) &>> 32
                return (Int64(v), k &+ count)
            }
        }
        var j = k
        var v: Int64 = 0
        // v stays at most Int32.max before each step, so the wrapping operations cannot wrap.
        while j < n, case let d = base[j] &- ASCII.zero, d < 10 {
            v = v &* 10 &+ Int64(d)
            if v > Int64(Int32.max) { return nil }
            j &+= 1
        }
        return (v, j)
    }

    /// Index of the first byte in `[from, n)` equal to `a`, `b` or `c` (`n` when none): eight bytes
    /// at a time with the zero-byte test on `word ^ pattern` (the lowest flagged byte is exact).
    @inline(__always)
    static func firstOf(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ base: UnsafePointer<UInt8>, _ from: Int, _ n: Int) -> Int {
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        let pa = ones &* UInt64(a), pb = ones &* UInt64(b), pc = ones &* UInt64(c)
        var i = from
        let raw = UnsafeRawPointer(base)
        while i + 8 <= n {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let xa = w ^ pa, xb = w ^ pb, xc = w ^ pc
            let m = ((xa &- ones) & ~xa | (xb &- ones) & ~xb | (xc &- ones) & ~xc) & highs
            if m != 0 { return i + m.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < n {
            let x = base[i]
            if x == a || x == b || x == c { return i }
            i += 1
        }
        return n
    }

    static func splitTag(_ tag: UnsafeBufferPointer<UInt8>) -> TagParts {
        guard let firstSlash = tag.firstIndex(of: ASCII.slash) else {
            let isExim = tag.count >= 4 && tag[0] == 0x65 && tag[1] == 0x78 && tag[2] == 0x69 && tag[3] == 0x6D
            return TagParts(tag: LineTag(instance: "", service: "", program: String(decoding: tag, as: UTF8.self)),
                            isExim: isExim)
        }
        let lastSlash = tag.lastIndex(of: ASCII.slash)!
        let instance = String(decoding: UnsafeBufferPointer(rebasing: tag[0..<firstSlash]), as: UTF8.self)
        let program = String(decoding: UnsafeBufferPointer(rebasing: tag[(lastSlash + 1)...]), as: UTF8.self)
        let service = firstSlash == lastSlash ? "" :
            String(decoding: UnsafeBufferPointer(rebasing: tag[(firstSlash + 1)..<lastSlash]), as: UTF8.self)
        return TagParts(tag: LineTag(instance: instance, service: service, program: program))
    }

    // MARK: - timestamps

    @inline(__always)
    private static func two(_ p: UnsafePointer<UInt8>, _ i: Int) -> Int? {
        let a = p[i], b = p[i + 1]
        guard ASCII.isDigit(a), ASCII.isDigit(b) else { return nil }
        return ASCII.digit(a) * 10 + ASCII.digit(b)
    }

    /// Month number of an English three-letter abbreviation, or 0.
    @inline(__always)
    static func month(_ a: UInt8, _ b: UInt8, _ c: UInt8) -> Int {
        switch (UInt32(a) << 16) | (UInt32(b) << 8) | UInt32(c) {
        case 0x4A616E: return 1  // Jan
        case 0x466562: return 2  // Feb
        case 0x4D6172: return 3  // Mar
        case 0x417072: return 4  // Apr
        case 0x4D6179: return 5  // May
        case 0x4A756E: return 6  // Jun
        case 0x4A756C: return 7  // Jul
        case 0x417567: return 8  // Aug
        case 0x536570: return 9  // Sep
        case 0x4F6374: return 10 // Oct
        case 0x4E6F76: return 11 // Nov
        case 0x446563: return 12 // Dec
        default: return 0
        }
    }

    /// Reads `[.fraction]` at `i`; returns micros and the next index.
    @inline(__always)
    private static func fraction(_ p: UnsafePointer<UInt8>, _ n: Int, _ i0: Int) -> (Int64, Int)? {
        var i = i0
        guard i < n, p[i] == ASCII.dot else { return (0, i) }
        i += 1
        var micros: Int64 = 0
        var digits = 0
        while i < n && ASCII.isDigit(p[i]) {
            if digits < 6 { micros = micros * 10 + Int64(ASCII.digit(p[i])) }
            digits += 1; i += 1
        }
        guard digits >= 1, digits <= 9 else { return nil }
        var d = digits
        while d < 6 { micros *= 10; d += 1 }
        return (micros, i)
    }

    /// Days since the epoch of a (valid) date, with a one-entry cache (consecutive lines share a date).
    @inline(__always)
    private mutating func days(_ y: Int, _ m: Int, _ d: Int) -> Int64 {
        let key = (y * 100 + m) * 100 + d
        if key == lastDateKey { return lastDateDays }
        lastDateKey = key
        lastDateDays = CivilDate(year: y, month: m, day: d).daysSinceEpoch
        return lastDateDays
    }

    @inline(__always)
    private static func validTime(_ h: Int, _ mi: Int, _ s: Int) -> Bool { h < 24 && mi < 60 && s <= 60 }

    private mutating func parseClassic(_ p: UnsafePointer<UInt8>, _ n: Int, _ next: inout Int,
                                       _ failure: inout StaticString) -> Int64? {
        // The same 16 bytes as the last classic stamp read give the same instant: the year
        // inference state is the one that stamp left (same month, so it stays), and the zone's
        // answer is a function of the local time.
        if hasStamp, n >= 16 {
            let raw = UnsafeRawPointer(p)
            if raw.loadUnaligned(as: UInt64.self) == stampWords.0,
               raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == stampWords.1 {
                next = 16
                return stampMicros
            }
        }
        // A stamp of the minute of the last stamp read in full (`Mmm dd hh:mm:` equal, then
        // `ss ` with ss < 60) is that minute's instant plus its seconds: the year inference gives
        // the same year for the same month and stays where it is (the last full read left it
        // there, and a stamp of the same month moves it nowhere), and the zone's offset is the
        // same for every second of a minute the cache was filled from (see `minuteWords`).
        if hasMinute, n >= 16 {
            let raw = UnsafeRawPointer(p)
            let w1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            if raw.loadUnaligned(as: UInt64.self) == minuteWords.0, w1 & SyslogFramer.minuteMask == minuteWords.1 {
                // Bytes 13-15 (`ss `) after an xor: the two digits 0...9 (only digits give that; the
                // `< 10` test adds 0x76 to each byte's low seven bits, so no carry crosses a byte,
                // and rejects high bits) and the space 0.
                let x = (w1 >> 40) ^ 0x20_3030
                if (((x & 0x7F7F) &+ 0x7676) | x) & 0x8080 == 0, x >> 16 == 0 {
                    let sec = Int64(truncatingIfNeeded: x & 0xFF) &* 10 &+ Int64(truncatingIfNeeded: (x >> 8) & 0xFF)
                    if sec < 60 {
                        let micros = minuteMicros &+ sec &* 1_000_000
                        stampWords = (minuteWords.0, w1)
                        stampMicros = micros
                        hasStamp = true
                        next = 16
                        return micros
                    }
                }
            }
        }
        // Any other classic stamp may move the year inference on: the caches then hold only the
        // last stamp read, and only in its 16-byte form.
        hasStamp = false
        hasMinute = false
        guard let micros = parseClassicStamp(p, n, &next, &failure) else { return nil }
        if next == 16 {
            let raw = UnsafeRawPointer(p)
            let w1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
            stampWords = (raw.loadUnaligned(as: UInt64.self), w1)
            stampMicros = micros
            hasStamp = true
            // The minute's instant, kept when the zone gave the stamp's hour one offset (then
            // every second of the minute has it); bytes 13-14 are the seconds' digits. Not from a
            // leap second: it reads as the next minute's :00, whose hour may have another offset.
            let sec = Int64(p[13] &- ASCII.zero) &* 10 &+ Int64(p[14] &- ASCII.zero)
            if sec < 60, zone.lastHourUniform {
                minuteWords = (stampWords.0, w1 & SyslogFramer.minuteMask)
                minuteMicros = micros &- sec &* 1_000_000
                hasMinute = true
            }
        }
        return micros
    }

    /// Bytes 8-12 of a 16-byte classic stamp (`dd hh:mm:` ends there): the minute's last word, masked.
    static let minuteMask: UInt64 = 0x0000_00FF_FFFF_FFFF

    private mutating func parseClassicStamp(_ p: UnsafePointer<UInt8>, _ n: Int, _ next: inout Int,
                                            _ failure: inout StaticString) -> Int64? {
        guard n >= 15 else { failure = "line too short for a timestamp"; return nil }
        let mon = SyslogFramer.month(p[0], p[1], p[2])
        guard mon != 0, p[3] == ASCII.space else { failure = "no timestamp (month name expected)"; return nil }
        var i = 4
        if p[i] == ASCII.space { i += 1 }
        guard i < n, ASCII.isDigit(p[i]) else { failure = "bad day in timestamp"; return nil }
        var day = ASCII.digit(p[i]); i += 1
        if i < n, ASCII.isDigit(p[i]) { day = day * 10 + ASCII.digit(p[i]); i += 1 }
        guard i + 9 <= n, p[i] == ASCII.space, p[i + 3] == ASCII.colon, p[i + 6] == ASCII.colon,
              let h = SyslogFramer.two(p, i + 1), let mi = SyslogFramer.two(p, i + 4), let s = SyslogFramer.two(p, i + 7)
        else { failure = "bad time of day in timestamp"; return nil }
        guard SyslogFramer.validTime(h, mi, s) else { failure = "time of day out of range"; return nil }
        i += 9
        guard let (frac, afterFrac) = SyslogFramer.fraction(p, n, i) else { failure = "bad fraction in timestamp"; return nil }
        i = afterFrac
        guard i < n, p[i] == ASCII.space else { failure = "no space after timestamp"; return nil }
        i += 1
        guard let (year, newYear, newMonth) = years.peek(month: mon) else {
            failure = "year unknown (no --year and no reference date)"; return nil
        }
        guard day >= 1, day <= CivilDate.daysIn(month: mon, year: year) else {
            failure = "day out of range for month"; return nil
        }
        let local = days(year, mon, day) * 86_400 + Int64(h * 3600 + mi * 60 + s)
        guard let utc = zone.utcSeconds(localNaive: local) else { failure = "unknown time zone"; return nil }
        years.commit(year: newYear, month: newMonth)
        next = i
        return utc * 1_000_000 + frac
    }

    private mutating func parseRFC3339(_ p: UnsafePointer<UInt8>, _ n: Int, _ next: inout Int,
                                       _ failure: inout StaticString) -> Int64? {
        guard n >= 21 else { failure = "line too short for a timestamp"; return nil }
        guard let y1 = SyslogFramer.two(p, 0), let y2 = SyslogFramer.two(p, 2), p[4] == ASCII.minus,
              let mon = SyslogFramer.two(p, 5), p[7] == ASCII.minus, let day = SyslogFramer.two(p, 8),
              p[10] == ASCII.upperT || p[10] == ASCII.lowerT,
              let h = SyslogFramer.two(p, 11), p[13] == ASCII.colon, let mi = SyslogFramer.two(p, 14),
              p[16] == ASCII.colon, let s = SyslogFramer.two(p, 17)
        else { failure = "bad RFC 3339 timestamp"; return nil }
        let year = y1 * 100 + y2
        guard mon >= 1, mon <= 12 else { failure = "month out of range"; return nil }
        guard day >= 1, day <= CivilDate.daysIn(month: mon, year: year) else {
            failure = "day out of range for month"; return nil
        }
        guard SyslogFramer.validTime(h, mi, s) else { failure = "time of day out of range"; return nil }
        guard let (frac, afterFrac) = SyslogFramer.fraction(p, n, 19) else { failure = "bad fraction in timestamp"; return nil }
        var i = afterFrac
        guard i < n else { failure = "no UTC offset in RFC 3339 timestamp"; return nil }
        var offset = 0
        let z = p[i]
        if z == ASCII.upperZ || z == ASCII.lowerZ {
            i += 1
        } else if z == ASCII.plus || z == ASCII.minus {
            guard i + 5 <= n, let oh = SyslogFramer.two(p, i + 1) else { failure = "bad UTC offset"; return nil }
            var j = i + 3
            if p[j] == ASCII.colon { j += 1 }
            guard j + 2 <= n, let om = SyslogFramer.two(p, j), oh <= 23, om <= 59 else {
                failure = "bad UTC offset"; return nil
            }
            offset = (oh * 3600 + om * 60) * (z == ASCII.minus ? -1 : 1)
            i = j + 2
        } else {
            failure = "no UTC offset in RFC 3339 timestamp"; return nil
        }
        guard i < n, p[i] == ASCII.space else { failure = "no space after timestamp"; return nil }
        i += 1
        let secs = days(year, mon, day) * 86_400 + Int64(h * 3600 + mi * 60 + s) - Int64(offset)
        next = i
        return secs * 1_000_000 + frac
    }

    /// Exim's own stamp `YYYY-MM-DD hh:mm:ss[.f{1,9}][ ±hhmm] ` (log.c/tod.c): local time in the
    /// configured zone unless the `log_timezone` offset follows; `next` is the index after the space.
    mutating func parseEximStamp(_ p: UnsafePointer<UInt8>, _ n: Int, _ next: inout Int,
                                 _ failure: inout StaticString) -> Int64? {
        guard n >= 20 else { failure = "line too short for a timestamp"; return nil }
        guard let y1 = SyslogFramer.two(p, 0), let y2 = SyslogFramer.two(p, 2), p[4] == ASCII.minus,
              let mon = SyslogFramer.two(p, 5), p[7] == ASCII.minus, let day = SyslogFramer.two(p, 8),
              p[10] == ASCII.space, let h = SyslogFramer.two(p, 11), p[13] == ASCII.colon,
              let mi = SyslogFramer.two(p, 14), p[16] == ASCII.colon, let s = SyslogFramer.two(p, 17)
        else { failure = "bad Exim timestamp"; return nil }
        let year = y1 * 100 + y2
        guard mon >= 1, mon <= 12 else { failure = "month out of range"; return nil }
        guard day >= 1, day <= CivilDate.daysIn(month: mon, year: year) else {
            failure = "day out of range for month"; return nil
        }
        guard SyslogFramer.validTime(h, mi, s) else { failure = "time of day out of range"; return nil }
        guard let (frac, afterFrac) = SyslogFramer.fraction(p, n, 19) else { failure = "bad fraction in timestamp"; return nil }
        var i = afterFrac
        guard i < n, p[i] == ASCII.space else { failure = "no space after timestamp"; return nil }
        i += 1
        let local = days(year, mon, day) * 86_400 + Int64(h * 3600 + mi * 60 + s)
        var utc: Int64
        if i + 5 < n, p[i] == ASCII.plus || p[i] == ASCII.minus, p[i + 5] == ASCII.space,
           let oh = SyslogFramer.two(p, i + 1), let om = SyslogFramer.two(p, i + 3) {
            guard oh <= 23, om <= 59 else { failure = "bad UTC offset"; return nil }
            let off = Int64(oh * 3600 + om * 60) * (p[i] == ASCII.minus ? -1 : 1)
            utc = local - off
            i += 6
        } else {
            guard let u = zone.utcSeconds(localNaive: local) else { failure = "unknown time zone"; return nil }
            utc = u
        }
        next = i
        return utc * 1_000_000 + frac
    }

    /// Sophos UTM's stamp `YYYY:M[M]:D[D]-hh:mm:ss ` (local time in the configured zone).
    private mutating func parseUTM(_ p: UnsafePointer<UInt8>, _ n: Int, _ next: inout Int,
                                   _ failure: inout StaticString) -> Int64? {
        guard n >= 16, let y1 = SyslogFramer.two(p, 0), let y2 = SyslogFramer.two(p, 2), p[4] == ASCII.colon
        else { failure = "bad UTM timestamp"; return nil }
        var i = 5
        @inline(__always) func oneOrTwo(_ i: inout Int) -> Int? {
            guard i < n, ASCII.isDigit(p[i]) else { return nil }
            var v = ASCII.digit(p[i]); i += 1
            if i < n, ASCII.isDigit(p[i]) { v = v * 10 + ASCII.digit(p[i]); i += 1 }
            return v
        }
        guard let mon = oneOrTwo(&i), i < n, p[i] == ASCII.colon else { failure = "bad UTM timestamp"; return nil }
        i += 1
        guard let day = oneOrTwo(&i), i + 9 <= n, p[i] == ASCII.minus,
              let h = SyslogFramer.two(p, i + 1), p[i + 3] == ASCII.colon, let mi = SyslogFramer.two(p, i + 4),
              p[i + 6] == ASCII.colon, let s = SyslogFramer.two(p, i + 7)
        else { failure = "bad UTM timestamp"; return nil }
        let year = y1 * 100 + y2
        guard mon >= 1, mon <= 12 else { failure = "month out of range"; return nil }
        guard day >= 1, day <= CivilDate.daysIn(month: mon, year: year) else {
            failure = "day out of range for month"; return nil
        }
        guard SyslogFramer.validTime(h, mi, s) else { failure = "time of day out of range"; return nil }
        i += 9
        guard i < n, p[i] == ASCII.space else { failure = "no space after timestamp"; return nil }
        i += 1
        let local = days(year, mon, day) * 86_400 + Int64(h * 3600 + mi * 60 + s)
        guard let utc = zone.utcSeconds(localNaive: local) else { failure = "unknown time zone"; return nil }
        next = i
        return utc * 1_000_000
    }
}
