// SendmailParser: the body of one sendmail / sm-mta / sm-msp-queue line ->
// ParseOutcome.
//
// Contract: reads only the bytes it is given (the part after `tag[pid]: `)
// and the line's context; every line ends as `.sendmail`, `.ignored` or
// `.unparsed(reason:)`. See docs/log-formats/sendmail.md.
import MailTrailModel

/// Parses Sendmail line bodies.
public struct SendmailParser: Sendable {
    public init() {}

    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext) -> ParseOutcome {
        .ignored(category: "program:" + ctx.program)
    }
}
