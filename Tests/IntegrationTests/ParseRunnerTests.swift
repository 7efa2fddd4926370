/// ParseRunnerTests: `mailtrail parse`'s in-process path drains its records
/// after every read chunk and reuses the batch arrays.
///
/// Contract: whatever the chunk size, the same records come out (the same
/// JSON lines, in an order that follows the chunks) with the same totals.
import Foundation
import Ingest
import Testing

struct ParseRunnerTests {
    private func parse(chunkSize: Int) throws -> (lines: [String], summary: RunSummary) {
        var options = PipelineOptions()
        options.year = 2026
        options.timeZone = "UTC"
        var bytes: [UInt8] = []
        let summary = try ParseRunner.run(paths: samplePaths, options: options, chunkSize: chunkSize) { bytes += $0 }
        let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map(String.init)
        return (lines, summary)
    }

    @Test func everyChunkSizeGivesTheSameRecords() throws {
        let whole = try parse(chunkSize: 1 << 16)   // each sample file in one chunk
        #expect(whole.summary.lines.read == 259)
        #expect(whole.summary.messages == 24 && whole.summary.deliveries == 28 && whole.summary.rejections == 3)
        #expect(whole.lines.count == 24 + 28 + 3)
        for size in [13, 97, 4096] {
            let chunked = try parse(chunkSize: size)
            #expect(chunked.lines.sorted() == whole.lines.sorted(), "chunk size \(size)")
            #expect(chunked.summary.lines.read == 259 && chunked.summary.lines.parsed == whole.summary.lines.parsed)
            #expect(chunked.summary.messages == 24 && chunked.summary.deliveries == 28 && chunked.summary.rejections == 3)
        }
        // Small chunks interleave the kinds: the first delivery comes before the last message.
        let small = try parse(chunkSize: 97).lines
        let firstDelivery = small.firstIndex { $0.hasPrefix("{\"kind\":\"delivery\"") }!
        let lastMessage = small.lastIndex { $0.hasPrefix("{\"kind\":\"message\"") }!
        #expect(firstDelivery < lastMessage)
    }
}
