// TestSupport: fixture access and small helpers shared by the MTAParsing tests.

import Foundation
import Testing
import MailTrailModel
import SyslogFraming
import MTAParsing

enum Fixtures {
    /// The copied fixtures (`Fixtures/`, a `.copy` resource).
    static let root: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
    /// The project corpus, when present on this machine.
    /// The shared corpus: `../shared` beside the checkout (as in CI), else /work/shared.
    static let sharedPostfix: URL = {
        let besideCheckout = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("shared/corpus/postfix")
        if FileManager.default.fileExists(atPath: besideCheckout.path) { return besideCheckout }
        return URL(fileURLWithPath: "/work/shared/corpus/postfix")
    }()

    static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    static func bytes(_ url: URL) throws -> [UInt8] { Array(try Data(contentsOf: url)) }

    /// All files under `dir` whose name ends with `suffix`, sorted.
    static func files(under dir: URL, suffix: String) -> [URL] {
        guard let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: nil) else { return [] }
        return e.compactMap { $0 as? URL }.filter { $0.lastPathComponent.hasSuffix(suffix) }
            .sorted { $0.path < $1.path }
    }
}

/// A fixed context for body-only parsing.
func context(program: String, instance: String = "postfix", service: String = "") -> LineContext {
    LineContext(time: Timestamp(seconds: 1_700_000_000), host: "test", instance: instance, program: program,
                service: service, pid: 42, offset: 0)
}

/// Parses a body-only line as Postfix daemon `program`.
func parseBody(_ body: String, program: String) -> ParseOutcome {
    var p = PostfixParser()
    return Array(body.utf8).withUnsafeBufferPointer { p.parse(body: $0, context: context(program: program)) }
}

/// Parses a full syslog line with a fresh LineParser (UTC, year inferred from 2024-12-31).
func parseLine(_ line: String, format: InputFormat = .auto) -> ParseOutcome {
    var p = LineParser(format: format, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: nil,
                                                              referenceDate: CivilDate(year: 2024, month: 12, day: 31)))
    return Array(line.utf8).withUnsafeBufferPointer { p.parse($0, offset: 0) }
}

extension ParseOutcome {
    var event: PostfixEvent? { if case .postfix(_, let e) = self { return e } else { return nil } }
    var isUnparsed: Bool { if case .unparsed = self { return true } else { return false } }
}

extension PostfixEvent {
    /// The queue ID the event carries, if any.
    var queueID: String? {
        switch self {
        case .connect, .disconnect, .tls: return nil
        case .client(let q, _, _, _, _, _), .pickup(let q, _, _, _), .messageID(let q, _), .queued(let q, _, _, _),
             .expired(let q, _, _), .removed(let q, _), .delivery(let q, _), .notification(let q, _, _),
             .admin(let q, _):
            return q
        case .reject(let q, _): return q
        }
    }
}
