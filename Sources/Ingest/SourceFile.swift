/// SourceFile: one input opened for reading, with its fingerprint and the
/// facts the pipeline needs (reference date for year inference, size).
///
/// Contract: `open` reads the first chunk (to sniff gzip and take the
/// fingerprint); `chunks(from:)` then hands out every decompressed byte from
/// a start offset, in order, exactly once.
import LogReading
import MailTrailModel

#if canImport(Glibc)
import Glibc
#endif

final class SourceFile {
    let path: String
    let reader: ChunkReader
    /// The first chunk, already read.
    private var first: [UInt8]
    let fingerprint: String?
    /// Date used to infer the year of year-less timestamps: the file's mtime, else today (stdin).
    let referenceDate: CivilDate
    let fallbackTime: Timestamp

    /// Opens `path`; `chunkSize` is the read size (decompressed bytes per chunk).
    init(path: String, chunkSize: Int = 1 << 20) throws {
        self.path = path
        reader = try ChunkReader(path: path, chunkSize: chunkSize)
        var buf: [UInt8] = []
        buf.reserveCapacity(reader.chunkSize)
        while buf.count < Fingerprint.maxBytes {
            if try reader.next(into: &buf) == 0 { break }
            if buf.contains(0x0a) { break }
        }
        first = buf
        fingerprint = Fingerprint.of(prefix: buf[...])
        let seconds = reader.modificationTime ?? Int64(time(nil))
        fallbackTime = Timestamp(seconds: seconds)
        referenceDate = fallbackTime.utcDate
    }

    /// Calls `body` with each chunk of bytes from `offset` on (valid only during the call: the
    /// chunks share one buffer); returns false if the input is shorter than `offset`.
    func chunks(from offset: Int64, _ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        var buf = first
        first = []
        if offset > 0 {
            if offset <= Int64(buf.count) {
                buf.removeFirst(Int(offset))
            } else {
                buf.removeAll()
                if !(try reader.skip(to: offset)) { return false }
            }
        }
        if !buf.isEmpty { try buf.withUnsafeBytes { try body($0) } }
        while true {
            let n = try reader.readChunk(into: &buf)
            if n == 0 { break }
            try buf.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
        }
        return true
    }
}
