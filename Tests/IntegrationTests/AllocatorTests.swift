// AllocatorTests: the built `mailtrail` binary allocates through mimalloc
// (Package.swift links it before libc; docs/architecture.md). mimalloc reports
// its start when MIMALLOC_VERBOSE=1, and its heap statistics at exit when
// MIMALLOC_SHOW_STATS=1: pages freed by the run show that the process's
// allocations went through it, not only that the library was loaded.
// Limits: Linux only (elsewhere the binary keeps the system allocator).
import Foundation
import MailTrailTestSupport
import Testing

@Suite struct AllocatorTests {
    #if os(Linux)
    @Test func theBinaryAllocatesThroughMimalloc() throws {
        let log = FileManager.default.temporaryDirectory
            .appendingPathComponent("mailtrail-allocator-\(getpid()).log")
        // Ten Postfix lines whose values exceed 15 bytes: their Strings are heap allocations.
        var text = ""
        for i in 0..<10 {
            text += "Mar  1 00:00:0\(i) mx1 postfix/cleanup[100\(i)]: 4B7A\(i)2F3C: message-id=<unique-id-\(i)@example.org>\n"
        }
        try text.write(to: log, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: log) }
        let r = try runMailtrail(["parse", "--output", "none", "--format", "postfix", "--year", "2026",
                                  "--timezone", "UTC", log.path],
                                 environment: ["MIMALLOC_VERBOSE": "1", "MIMALLOC_SHOW_STATS": "1"])
        #expect(r.status == 0, "\(r.err)")
        #expect(r.err.contains("mimalloc: process init"), "\(r.err)")
        // The statistics' `pages:` row: peak, total, freed, ... (freed > 0: pages were used and given back).
        let pages = r.err.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix("pages:") }
        let cells = pages.map { $0.split(separator: " ").map(String.init) } ?? []
        #expect(cells.count >= 4, "no pages row in: \(r.err)")
        if cells.count >= 4 { #expect((Int(cells[3]) ?? 0) > 0, "\(cells)") }
    }
    #endif
}
