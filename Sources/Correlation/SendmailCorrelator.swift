/// SendmailCorrelator: a pure state machine that turns the Sendmail events of
/// one host into message, delivery and rejection records.
///
/// Contract: as `PostfixCorrelator` — events in log order, time only from the
/// log, records emitted once, the whole state `Codable`.
import MailTrailModel

public struct SendmailCorrelator: Codable, Sendable {
    public let host: String
    public var config: CorrelatorConfig

    public init(host: String, config: CorrelatorConfig = CorrelatorConfig()) {
        self.host = host
        self.config = config
    }

    /// Number of open transactions (for metrics and memory bounds).
    public var openTransactions: Int { 0 }

    public mutating func receive(_ ctx: LineContext, _ event: SendmailEvent, into out: inout CorrelatorOutput) {
        switch event {}
    }

    /// Emits whatever is held back waiting for a link (end of a one-shot run).
    public mutating func flushHeld(into out: inout CorrelatorOutput) {}
}
