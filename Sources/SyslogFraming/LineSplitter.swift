// LineSplitter: turns a stream of byte chunks into lines with their position.
//
// Contract:
// * A line is the bytes before a `\n`; the `\n` is excluded and one trailing
//   `\r` is stripped. Each line is delivered with its absolute byte offset (of
//   its first byte in the stream) and its 1-based line number.
// * Bytes after the last `\n` of a chunk are kept as the *tail*; they are
//   scanned once (never rescanned when the next chunk arrives). The tail is
//   not a line until its `\n` arrives; at end of input the caller decides
//   (`pendingByteCount`, `withPendingTail`, `finish`).
// * A line longer than `maxLineLength` (default 1 MiB) is delivered cut to
//   that length with `truncated = true`; memory for the tail never exceeds
//   `maxLineLength + 1` bytes. The result does not depend on chunk sizes.
// * Delivered buffers are only valid inside the callback (zero-copy for lines
//   that lie inside one chunk; lines spanning chunks come from the tail).
// Known limits: `\r` alone is not a line end (old Mac files are one line).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits byte chunks into `\n`-terminated lines, keeping offsets and line numbers.
public struct LineSplitter: Sendable {
    /// Default cap on the length of a delivered line: 1 MiB.
    public static let defaultMaxLineLength = 1 << 20

    /// Position and flags of one delivered line.
    public struct Line: Hashable, Sendable {
        /// Absolute byte offset of the line's first byte in the stream.
        public var offset: Int64
        /// 1-based line number in the stream.
        public var number: Int64
        /// True when the line was longer than `maxLineLength` and was cut.
        public var truncated: Bool
        /// Bytes of the line before its `\n` as they were in the stream (including a stripped `\r`).
        public var rawLength: Int64

        /// Creates a line description.
        public init(offset: Int64, number: Int64, truncated: Bool, rawLength: Int64) {
            self.offset = offset; self.number = number; self.truncated = truncated; self.rawLength = rawLength
        }
    }

    /// Lines longer than this (without `\r\n`) are cut and flagged.
    public let maxLineLength: Int
    /// Offset of the first byte that has not been delivered as part of a line (the tail's start).
    public private(set) var nextOffset: Int64
    /// Number the next delivered line will get.
    public private(set) var nextLineNumber: Int64

    private var tail: [UInt8] = []
    private var tailLength: Int64 = 0
    private var tailLastByte: UInt8 = 0

    /// Creates a splitter; `startOffset`/`startLine` resume a stream at a checkpoint.
    public init(maxLineLength: Int = LineSplitter.defaultMaxLineLength, startOffset: Int64 = 0, startLine: Int64 = 1) {
        precondition(maxLineLength > 0, "maxLineLength must be positive")
        self.maxLineLength = maxLineLength
        self.nextOffset = startOffset
        self.nextLineNumber = startLine
    }

    /// Bytes of the unterminated tail seen so far (they may exceed what is stored).
    public var pendingByteCount: Int64 { tailLength }

    /// Feeds one chunk and calls `body` for every line it completes.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer,
                              _ body: (UnsafeBufferPointer<UInt8>, Line) throws -> Void) rethrows {
        guard let base = chunk.baseAddress, chunk.count > 0 else { return }
        var p = base.assumingMemoryBound(to: UInt8.self)
        var remaining = chunk.count
        while remaining > 0 {
            guard let hit = memchr(p, Int32(ASCII.newline), remaining) else {
                appendTail(p, remaining)
                return
            }
            let nl = UnsafePointer(hit.assumingMemoryBound(to: UInt8.self))
            let n = nl - p
            if tailLength == 0 {
                try deliver(p, n, body)
            } else {
                appendTail(p, n)
                try deliverTail(body)
            }
            p = nl + 1
            remaining -= n + 1
        }
    }

    /// Feeds one chunk held in an array.
    public mutating func feed(_ chunk: [UInt8], _ body: (UnsafeBufferPointer<UInt8>, Line) throws -> Void) rethrows {
        try chunk.withUnsafeBytes { try feed($0, body) }
    }

    /// Gives read access to the stored tail (cut to `maxLineLength`) and whether it was cut.
    public func withPendingTail<R>(_ body: (UnsafeBufferPointer<UInt8>, _ truncated: Bool) throws -> R) rethrows -> R {
        let (len, truncated) = contentLength(raw: tailLength, last: tailLastByte)
        return try tail.withUnsafeBufferPointer { buf in
            try body(UnsafeBufferPointer(rebasing: buf[0..<len]), truncated)
        }
    }

    /// Delivers a non-empty unterminated tail as the last line (end of input); returns whether one was delivered.
    @discardableResult
    public mutating func finish(_ body: (UnsafeBufferPointer<UInt8>, Line) throws -> Void) rethrows -> Bool {
        guard tailLength > 0 else { return false }
        // The tail has no `\n`: the next offset advances by its raw length only.
        let (len, truncated) = contentLength(raw: tailLength, last: tailLastByte)
        let line = Line(offset: nextOffset, number: nextLineNumber, truncated: truncated, rawLength: tailLength)
        try tail.withUnsafeBufferPointer { buf in
            try body(UnsafeBufferPointer(rebasing: buf[0..<len]), line)
        }
        nextOffset += tailLength
        nextLineNumber += 1
        resetTail()
        return true
    }

    // MARK: - internals

    @inline(__always)
    private func contentLength(raw: Int64, last: UInt8) -> (Int, Bool) {
        let content = raw > 0 && last == ASCII.carriageReturn ? raw - 1 : raw
        if content > Int64(maxLineLength) { return (maxLineLength, true) }
        return (Int(content), false)
    }

    @inline(__always)
    private mutating func deliver(_ p: UnsafePointer<UInt8>, _ n: Int,
                                  _ body: (UnsafeBufferPointer<UInt8>, Line) throws -> Void) rethrows {
        let (len, truncated) = contentLength(raw: Int64(n), last: n > 0 ? p[n - 1] : 0)
        let line = Line(offset: nextOffset, number: nextLineNumber, truncated: truncated, rawLength: Int64(n))
        nextOffset += Int64(n) + 1
        nextLineNumber += 1
        try body(UnsafeBufferPointer(start: p, count: len), line)
    }

    private mutating func deliverTail(_ body: (UnsafeBufferPointer<UInt8>, Line) throws -> Void) rethrows {
        let (len, truncated) = contentLength(raw: tailLength, last: tailLastByte)
        let line = Line(offset: nextOffset, number: nextLineNumber, truncated: truncated, rawLength: tailLength)
        nextOffset += tailLength + 1
        nextLineNumber += 1
        defer { resetTail() }
        try tail.withUnsafeBufferPointer { buf in
            try body(UnsafeBufferPointer(rebasing: buf[0..<len]), line)
        }
    }

    private mutating func appendTail(_ p: UnsafePointer<UInt8>, _ n: Int) {
        guard n > 0 else { return }
        let room = maxLineLength + 1 - tail.count
        if room > 0 {
            tail.append(contentsOf: UnsafeBufferPointer(start: p, count: min(room, n)))
        }
        tailLength += Int64(n)
        tailLastByte = p[n - 1]
    }

    private mutating func resetTail() {
        tail.removeAll(keepingCapacity: tail.capacity <= 64 * 1024)
        tailLength = 0
        tailLastByte = 0
    }
}
