/// StateCoding: the correlator's state as bytes, saved with each checkpoint.
///
/// Contract: `decode(encode(x))` resumes a machine that behaves exactly like
/// `x`. The format is JSON (readable by a DBA with `convert_from(state,
/// 'UTF8')::jsonb`), versioned by a top-level key so that a later release can
/// refuse or migrate an old layout instead of misreading it.
import Foundation
import MailTrailModel

public enum StateCoding {
    /// Bumped when the layout of the saved state changes incompatibly.
    public static let version = 1

    struct Envelope: Codable {
        var version: Int
        var postfix: PostfixCorrelator
    }

    public struct IncompatibleState: Error, CustomStringConvertible {
        public var found: Int
        public var description: String {
            "saved correlator state has layout version \(found), this mailtrail reads \(StateCoding.version); " +
                "upgrade mailtrail, or reset the state with DELETE FROM mailtrail.correlator_state WHERE host = ..."
        }
    }

    public static func encode(_ machine: PostfixCorrelator) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(Envelope(version: version, postfix: machine)))
    }

    public static func decode(_ bytes: [UInt8]) throws -> PostfixCorrelator {
        struct Probe: Codable { var version: Int }
        let data = Data(bytes)
        let probe = try JSONDecoder().decode(Probe.self, from: data)
        guard probe.version == version else { throw IncompatibleState(found: probe.version) }
        return try JSONDecoder().decode(Envelope.self, from: data).postfix
    }
}
