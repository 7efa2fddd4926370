// ChunkReaderTests: `readChunk(into:)` (one reused buffer, a plain file read
// straight from its descriptor) hands out exactly the file's bytes, in order,
// for plain and gzip'd files, at several chunk sizes, after `skip(to:)` and
// after reads through `next(into:)`; `offset` follows the bytes handed out.
// Limits: the gzip copy is made with gzip(1) (a missing gzip fails the test).

import Foundation
import LogReading
import MailTrailModel
import Testing

@Suite struct ChunkReaderTests {
    static let bytes: [UInt8] = {
        var rng = SplitMix64(seed: 0xF11E)
        return (0..<20_000).map { i in i % 97 == 0 ? 0x0A : UInt8(0x20 + rng.next() % 95) }
    }()

    static func write(_ bytes: [UInt8], gzip: Bool) throws -> String? {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("mt-chunk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("f.log").path
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        guard gzip else { return path }
        // gzip(1) is part of every Debian system: its absence fails the test rather than skip it.
        guard FileManager.default.isExecutableFile(atPath: "/bin/gzip") else {
            Issue.record("/bin/gzip is missing: the gzip cases cannot run")
            return nil
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/gzip")
        p.arguments = ["-k", path]
        try p.run()
        p.waitUntilExit()
        return path + ".gz"
    }

    /// Everything `readChunk` hands out from the reader's position on.
    static func drain(_ r: ChunkReader) throws -> [UInt8] {
        var buf: [UInt8] = [], out: [UInt8] = []
        while true {
            let n = try r.readChunk(into: &buf)
            if n == 0 { break }
            #expect(n <= buf.count && n <= max(r.chunkSize, 2))
            out += buf[0..<n]
        }
        return out
    }

    @Test(arguments: [false, true], [1, 7, 1000, 4096, 1 << 16])
    func chunksAreTheFileBytes(gzip: Bool, chunkSize: Int) throws {
        guard let path = try Self.write(Self.bytes, gzip: gzip) else { return }
        let r = try ChunkReader(path: path, chunkSize: chunkSize)
        #expect(try Self.drain(r) == Self.bytes)
        #expect(r.offset == Int64(Self.bytes.count))
        var buf: [UInt8] = []
        #expect(try r.readChunk(into: &buf) == 0)          // end stays the end
    }

    @Test(arguments: [1, 2, 3, 7, 1000])
    func appendingReadsOfGzipAreTheFileBytes(chunkSize: Int) throws {
        guard let path = try Self.write(Self.bytes, gzip: true) else { return }
        let r = try ChunkReader(path: path, chunkSize: chunkSize)
        var out: [UInt8] = []
        while try r.read(into: &out) > 0 {}
        #expect(out == Self.bytes)
    }

    /// A pipe whose writer sends the gzip magic's first byte alone: the first read returns one
    /// byte, and the file must still be read as gzip (it was handed out compressed before the fix).
    @Test func aGzipPipeWhoseFirstReadIsOneByteIsStillInflated() throws {
        guard let gz = try Self.write(Self.bytes, gzip: true) else { return }
        let fifo = gz + ".fifo"
        guard mkfifo(fifo, 0o600) == 0 else { Issue.record("mkfifo failed"); return }
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "{ head -c 1 \"$0\"; sleep 0.3; tail -c +2 \"$0\"; } > \"$1\"", gz, fifo]
        try writer.run()
        let r = try ChunkReader(path: fifo, chunkSize: 4096)
        #expect(r.isGzip)
        var out: [UInt8] = []
        while try r.read(into: &out) > 0 {}
        writer.waitUntilExit()
        #expect(out == Self.bytes)
    }

    @Test(arguments: [false, true])
    func afterSkipAndAfterAppendingReadsTheRestFollows(gzip: Bool) throws {
        guard let path = try Self.write(Self.bytes, gzip: gzip) else { return }
        for target in [0, 1, 999, 1000, 1001, 12_345, 20_000] {
            let r = try ChunkReader(path: path, chunkSize: 1000)
            #expect(try r.skip(to: Int64(target)))
            var got = try Self.drain(r)
            #expect(got == Array(Self.bytes[target...]), "skip to \(target)")
            // Two appending reads first (the first chunk a file source sniffs), then chunks.
            let r2 = try ChunkReader(path: path, chunkSize: 1000)
            var first: [UInt8] = []
            _ = try r2.next(into: &first)
            _ = try r2.next(into: &first)
            got = first + (try Self.drain(r2))
            #expect(got == Self.bytes)
        }
    }
}
