/// FuzzTests: the line pipeline under random and mutated input (ParserFuzzer).
///
/// Contract: `boundedRun` (always, a few seconds) feeds a fixed seed's
/// inputs, built from the shared corpus's .log files (when present), the
/// samples and the built-in lines, through LineSplitter → LineParser
/// (format auto: all MTA parsers) → the correlators, and expects no broken
/// invariant: every line counted once as parsed, ignored or unparsed, one
/// delivered line per input, correlator state round-trips, no single line
/// slower than 2 s. `longRun` runs only when MAILTRAIL_FUZZ_COUNT is set
/// (scripts/fuzz --count 1000000), with MAILTRAIL_FUZZ_SEED as seed.
/// Limits: a crash or hang shows up as a crashed or stuck test process, with
/// the seed printed first so the run can be repeated.
import Foundation
import Ingest
import Testing

/// Lines of the corpus: at most `perFile` lines of every .log under the
/// shared corpus and the samples.
func fuzzCorpus(perFile: Int = 2_000) -> [[UInt8]] {
    var dirs = [repositoryRoot.appendingPathComponent("samples")]
    for shared in [repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared/corpus"),
                   URL(fileURLWithPath: "/work/shared/corpus")]
        where FileManager.default.fileExists(atPath: shared.path) {
        dirs.append(shared)
        break
    }
    var lines: [[UInt8]] = []
    for dir in dirs {
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { continue }
        let files = e.compactMap { $0 as? URL }.filter { $0.pathExtension == "log" }.sorted { $0.path < $1.path }
        for f in files {
            guard let h = FileHandle(forReadingAtPath: f.path) else { continue }
            let data = h.readData(ofLength: 1 << 20)
            try? h.close()
            lines.append(contentsOf: data.split(separator: 0x0A).prefix(perFile).map { Array($0) })
        }
    }
    return lines
}

@Suite struct FuzzTests {
    @Test func boundedRun() {
        let corpus = fuzzCorpus()
        let report = ParserFuzzer.run(count: 20_000, seed: 0x6D61_696C_7472_6169, corpus: corpus)
        #expect(report.failures == [])
        #expect(report.inputs == 20_000)
        #expect(report.lines == 20_000)
        #expect(report.parsed + report.ignored + report.unparsed == report.lines)
        #expect(report.parsed > 0 && report.unparsed > 0)
        #expect(report.slowestLineSeconds < 2)
    }

    @Test(.enabled(if: ProcessInfo.processInfo.environment["MAILTRAIL_FUZZ_COUNT"] != nil))
    func longRun() {
        let env = ProcessInfo.processInfo.environment
        let count = Int(env["MAILTRAIL_FUZZ_COUNT"] ?? "") ?? 1_000_000
        let seed = UInt64(env["MAILTRAIL_FUZZ_SEED"] ?? "") ?? 1
        FileHandle.standardError.write(Data("fuzz: seed \(seed), \(count) inputs\n".utf8))
        let report = ParserFuzzer.run(count: count, seed: seed, corpus: fuzzCorpus())
        FileHandle.standardError.write(Data((report.description + "\n").utf8))
        for f in report.failures.prefix(20) { FileHandle.standardError.write(Data(("fuzz failure: " + f + "\n").utf8)) }
        #expect(report.failures == [])
        #expect(report.lines == Int64(count))
        #expect(report.slowestLineSeconds < 2)
    }
}
