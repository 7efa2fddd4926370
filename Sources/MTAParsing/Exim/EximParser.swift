// EximParser: the body of one Exim line (mainlog, syslog, Sophos UTM
// exim-in/exim-out) -> ParseOutcome.
//
// Contract: reads only the bytes it is given and the line's context; every
// line ends as `.exim`, `.ignored` or `.unparsed(reason:)`. See
// docs/log-formats/exim.md.
import MailTrailModel

/// Parses Exim line bodies.
public struct EximParser: Sendable {
    public init() {}

    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext) -> ParseOutcome {
        .ignored(category: "program:" + ctx.program)
    }
}
