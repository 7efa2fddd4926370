/// ChunkReader: reads a log source (plain file, gzip file or stdin) as a
/// sequence of decompressed byte chunks.
///
/// Contract: `read(into:)` appends at most `chunkSize` bytes and returns the
/// count, 0 at end of input (a plain file read into an empty buffer is read
/// straight into a new array that replaces it: no copy through `raw`);
/// `readChunk(into:)` reads a chunk into one reused buffer of `chunkSize`
/// bytes (a plain file straight from the descriptor). Offsets are counted in decompressed bytes, so a
/// file and its gzip'd copy have the same offsets. `skip(to:)` discards bytes
/// up to an offset (resume at a checkpoint; gzip cannot seek, so it inflates
/// and discards). Gzip is detected by its magic bytes, not by the file name;
/// multi-member gzip files (concatenated, as `cat a.gz b.gz`) are read whole.
///
/// Errors: `LogReadError` names the file and the problem (not found,
/// permission denied — with the fix —, corrupt gzip at a byte offset).
/// Limits: a truncated gzip (a file still being compressed) reads up to the
/// last complete block and then reports `truncatedGzip`.
import CZlib

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// An error while reading a log source, with the path and a hint.
public struct LogReadError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable { case notFound, permissionDenied, isDirectory, io, corruptGzip, truncatedGzip }
    public var kind: Kind
    public var path: String
    public var detail: String

    public var description: String {
        switch kind {
        case .notFound: return "\(path): no such file (check the path or the glob)"
        case .permissionDenied:
            return "\(path): permission denied (run as a member of the group that can read mail logs, e.g. adm, or fix the file's mode)"
        case .isDirectory: return "\(path): is a directory (give the log files inside it)"
        case .io: return "\(path): read error: \(detail)"
        case .corruptGzip: return "\(path): corrupt gzip data: \(detail)"
        case .truncatedGzip: return "\(path): gzip stream ends early (file still being written?): \(detail)"
        }
    }
}

/// A source of decompressed log bytes.
public final class ChunkReader {
    public let path: String
    public private(set) var isGzip = false
    /// Decompressed bytes handed out so far (the offset of the next byte).
    public private(set) var offset: Int64 = 0
    /// Size of the file on disk when opened (compressed size for gzip), nil for stdin/pipes.
    public let fileSize: Int64?
    /// Modification time of the file (seconds since the epoch), nil for stdin/pipes; a hint for year inference.
    public let modificationTime: Int64?
    /// Compressed bytes consumed so far (equals `offset` for plain files); for progress.
    public private(set) var rawOffset: Int64 = 0
    public let chunkSize: Int

    private var fd: Int32
    private var ownsFD: Bool
    private var raw: [UInt8]
    private var rawStart = 0
    private var rawEnd = 0
    private var eofRaw = false
    private var stream = z_stream()
    private var inflating = false
    private var finished = false

    /// Opens `path` (`-` for standard input).
    public init(path: String, chunkSize: Int = 1 << 20) throws {
        self.path = path
        self.chunkSize = chunkSize
        if path == "-" {
            fd = 0; ownsFD = false; fileSize = nil; modificationTime = nil
        } else {
            let f = open(path, O_RDONLY | O_CLOEXEC)
            if f < 0 {
                let e = errno
                switch e {
                case ENOENT: throw LogReadError(kind: .notFound, path: path, detail: "")
                case EACCES, EPERM: throw LogReadError(kind: .permissionDenied, path: path, detail: "")
                default: throw LogReadError(kind: .io, path: path, detail: String(cString: strerror(e)))
                }
            }
            var st = stat()
            if fstat(f, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
                close(f)
                throw LogReadError(kind: .isDirectory, path: path, detail: "")
            }
            fd = f; ownsFD = true
            fileSize = (st.st_mode & S_IFMT) == S_IFREG ? Int64(st.st_size) : nil
            modificationTime = (st.st_mode & S_IFMT) == S_IFREG ? Int64(st.st_mtim.tv_sec) : nil
        }
        raw = [UInt8](repeating: 0, count: max(chunkSize, 2))
        // Sniff the gzip magic (1f 8b) from the first two bytes: a pipe's first read may return
        // one byte, so read until there are two or the input ends.
        try fillRaw()
        while rawEnd - rawStart < 2 && !eofRaw { try fillRaw() }
        isGzip = rawEnd - rawStart >= 2 && raw[rawStart] == 0x1f && raw[rawStart + 1] == 0x8b
        if isGzip { try startInflate() }
    }

    deinit {
        if inflating { inflateEnd(&stream) }
        if ownsFD { close(fd) }
    }

    private func fillRaw() throws {
        if rawStart > 0 && rawStart == rawEnd { rawStart = 0; rawEnd = 0 }
        guard !eofRaw, rawEnd < raw.count else { return }
        let end = rawEnd
        let n = try raw.withUnsafeMutableBytes { buf in
            try readFD(into: UnsafeMutableRawBufferPointer(rebasing: buf[end...]))
        }
        if n == 0 { eofRaw = true } else { rawEnd += n; rawOffset += Int64(n) }
    }

    /// One `read(2)` into `dest` (retried on EINTR); returns the byte count, 0 at end of input.
    private func readFD(into dest: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let r = Glibc.read(fd, dest.baseAddress!, dest.count)
            if r < 0 && errno == EINTR { continue }
            if r < 0 { throw LogReadError(kind: .io, path: path, detail: String(cString: strerror(errno))) }
            return r
        }
    }

    private func startInflate() throws {
        stream = z_stream()
        // 15 + 32: zlib or gzip header, detected automatically.
        let rc = inflateInit2_(&stream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw LogReadError(kind: .corruptGzip, path: path, detail: "inflateInit failed (\(rc))") }
        inflating = true
    }

    /// Appends up to `chunkSize` decompressed bytes to `buffer`; returns the count, 0 at end of input.
    public func read(into buffer: inout [UInt8]) throws -> Int {
        if finished { return 0 }
        if !isGzip {
            if rawStart == rawEnd && buffer.isEmpty && !eofRaw {
                // Nothing buffered and an empty destination: read straight into a new array
                // instead of reading into `raw` and copying (one copy of every byte saved). The old
                // storage is released first, so two chunks are never held at once.
                buffer = []
                buffer = try [UInt8](unsafeUninitializedCapacity: chunkSize) { dest, count in
                    count = try readFD(into: UnsafeMutableRawBufferPointer(dest))
                }
                let n = buffer.count
                if n == 0 { eofRaw = true; finished = true; return 0 }
                rawOffset += Int64(n)
                offset += Int64(n)
                return n
            }
            if rawStart == rawEnd { try fillRaw() }
            let n = rawEnd - rawStart
            if n == 0 { finished = true; return 0 }
            buffer.append(contentsOf: raw[rawStart..<rawEnd])
            rawStart = rawEnd
            offset += Int64(n)
            return n
        }
        return try inflateChunk(into: &buffer)
    }

    private func inflateChunk(into buffer: inout [UInt8]) throws -> Int {
        let before = buffer.count
        buffer.reserveCapacity(before + chunkSize)
        var out = [UInt8](repeating: 0, count: chunkSize)
        var produced = 0
        while produced == 0 {
            if rawStart == rawEnd {
                try fillRaw()
                if rawStart == rawEnd {
                    // End of compressed input.
                    if stream.total_in == 0 && stream.avail_in == 0 && !inflating {
                        finished = true; return 0
                    }
                    finished = true
                    if inflating && stream.total_out > 0 && !streamEnded {
                        throw LogReadError(kind: .truncatedGzip, path: path, detail: "after \(offset) decompressed bytes")
                    }
                    return 0
                }
            }
            let avail = rawEnd - rawStart
            let rc: Int32 = raw.withUnsafeMutableBytes { inBuf in
                out.withUnsafeMutableBytes { outBuf in
                    stream.next_in = inBuf.baseAddress!.assumingMemoryBound(to: Bytef.self) + rawStart
                    stream.avail_in = uInt(avail)
                    stream.next_out = outBuf.baseAddress!.assumingMemoryBound(to: Bytef.self)
                    stream.avail_out = uInt(outBuf.count)
                    return inflate(&stream, Z_NO_FLUSH)
                }
            }
            let consumed = avail - Int(stream.avail_in)
            rawStart += consumed
            produced = chunkSize - Int(stream.avail_out)
            switch rc {
            case Z_OK, Z_BUF_ERROR:
                streamEnded = false
            case Z_STREAM_END:
                streamEnded = true
                // Another member may follow (concatenated gzip files).
                if rawStart == rawEnd { try fillRaw() }
                if rawStart < rawEnd && raw[rawStart] == 0x1f {
                    inflateReset(&stream)
                    streamEnded = false
                } else if rawStart == rawEnd {
                    if produced > 0 { buffer.append(contentsOf: out[0..<produced]); offset += Int64(produced) }
                    finished = true
                    return produced
                } else {
                    // Trailing garbage after the last member: ignored like gzip(1) does, with a stop.
                    if produced > 0 { buffer.append(contentsOf: out[0..<produced]); offset += Int64(produced) }
                    finished = true
                    return produced
                }
            default:
                let msg = stream.msg.map { String(cString: $0) } ?? "error \(rc)"
                throw LogReadError(kind: .corruptGzip, path: path, detail: "\(msg) near compressed byte \(rawOffset - Int64(rawEnd - rawStart))")
            }
        }
        buffer.append(contentsOf: out[0..<produced])
        offset += Int64(produced)
        _ = before
        return produced
    }

    private var streamEnded = false

    /// Discards decompressed bytes until `offset` reaches `target` (for resuming at a checkpoint).
    /// Returns false when the input ends before `target` (the file shrank: truncated or replaced).
    public func skip(to target: Int64) throws -> Bool {
        if target <= offset { return target == offset }
        if !isGzip, ownsFD, fileSize != nil {
            // Plain regular file: seek.
            let remainingBuffered = Int64(rawEnd - rawStart)
            let delta = target - offset
            if delta <= remainingBuffered {
                rawStart += Int(delta); offset = target; return true
            }
            let pos = lseek(fd, off_t(target), SEEK_SET)
            if pos < 0 { throw LogReadError(kind: .io, path: path, detail: String(cString: strerror(errno))) }
            rawStart = 0; rawEnd = 0; eofRaw = false
            rawOffset = target
            offset = target
            if let size = fileSize, target > size { return false }
            return true
        }
        var scratch: [UInt8] = []
        while offset < target {
            scratch.removeAll(keepingCapacity: true)
            let before = offset
            let n = try read(into: &scratch)
            if n == 0 { return false }
            if offset > target {
                // Keep the bytes past the target for the next read.
                let keep = Int(offset - target)
                pending = Array(scratch[(scratch.count - keep)...])
                offset = target
                _ = before
            }
        }
        return true
    }

    /// Bytes read past a `skip` target, handed out first by `next(into:)`.
    private var pending: [UInt8] = []

    /// Reads the next chunk into the first bytes of `buffer`, whose storage it reuses from call to
    /// call (no allocation per chunk, so no allocator work on megabyte blocks); returns how many
    /// of its leading bytes are the chunk, 0 at end of input. A plain file is read straight from
    /// its descriptor into a buffer kept at `chunkSize` bytes; gzip and the bytes left over from
    /// `skip(to:)` or from the first reads are appended to the emptied buffer (as `next(into:)`).
    public func readChunk(into buffer: inout [UInt8]) throws -> Int {
        if pending.isEmpty && !isGzip && !finished && rawStart == rawEnd && !eofRaw {
            if buffer.count != chunkSize {
                buffer.removeAll(keepingCapacity: true)
                buffer.append(contentsOf: repeatElement(0, count: chunkSize))
            }
            let n = try buffer.withUnsafeMutableBytes { try readFD(into: $0) }
            if n == 0 { eofRaw = true; finished = true; return 0 }
            rawOffset += Int64(n)
            offset += Int64(n)
            return n
        }
        buffer.removeAll(keepingCapacity: true)
        return try next(into: &buffer)
    }

    /// Like `read(into:)`, but first returns bytes left over from `skip(to:)`.
    public func next(into buffer: inout [UInt8]) throws -> Int {
        if !pending.isEmpty {
            let n = pending.count
            buffer.append(contentsOf: pending)
            pending.removeAll()
            offset += Int64(n)
            return n
        }
        return try read(into: &buffer)
    }
}
