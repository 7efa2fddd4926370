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
    /// 1: `{"version":1,"postfix":{...}}` (Postfix only); 2: `{"version":2,"host":{...}}`
    /// (`HostCorrelator`, one machine per MTA family). Version 1 is still read.
    public static let version = 2

    struct Envelope: Codable {
        var version: Int
        var host: HostCorrelator
    }

    struct EnvelopeV1: Codable {
        var version: Int
        var postfix: PostfixCorrelator
    }

    public struct IncompatibleState: Error, CustomStringConvertible {
        public var found: Int
        public var description: String {
            "saved correlator state has layout version \(found), this mailtrail reads 1...\(StateCoding.version); " +
                "upgrade mailtrail, or reset the state with DELETE FROM mailtrail.correlator_state WHERE host = ..."
        }
    }

    public static func encode(_ machine: HostCorrelator) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(Envelope(version: version, host: machine)))
    }

    public static func decode(_ bytes: [UInt8]) throws -> HostCorrelator {
        struct Probe: Codable { var version: Int }
        let data = Data(bytes)
        let probe = try JSONDecoder().decode(Probe.self, from: data)
        switch probe.version {
        case 1: return HostCorrelator(postfix: try JSONDecoder().decode(EnvelopeV1.self, from: data).postfix)
        case version: return try JSONDecoder().decode(Envelope.self, from: data).host
        default: throw IncompatibleState(found: probe.version)
        }
    }
}
