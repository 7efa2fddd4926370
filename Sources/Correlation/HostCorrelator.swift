/// HostCorrelator: all correlators of one host, one per MTA family, behind
/// one entry point fed with `ParseOutcome`s in log order.
///
/// Contract: each family's events go to that family's machine, created on
/// its first event (a host may run Postfix and Sendmail side by side; their
/// queue IDs never meet). Records of all families go to the same output.
/// The whole state is `Codable` (see `StateCoding`); families never seen on
/// the host are absent from it.
import MailTrailModel

public struct HostCorrelator: Codable, Sendable {
    public let host: String
    public var config: CorrelatorConfig {
        didSet {
            postfix?.config = config; sendmail?.config = config; exim?.config = config
        }
    }
    public private(set) var postfix: PostfixCorrelator?
    public private(set) var sendmail: SendmailCorrelator?
    public private(set) var exim: EximCorrelator?

    public init(host: String, config: CorrelatorConfig = CorrelatorConfig()) {
        self.host = host
        self.config = config
    }

    /// Wraps a Postfix machine restored from an older (Postfix-only) saved state.
    public init(postfix: PostfixCorrelator) {
        self.host = postfix.host
        self.config = postfix.config
        self.postfix = postfix
    }

    /// Open transactions over all families.
    public var openTransactions: Int {
        (postfix?.openTransactions ?? 0) + (sendmail?.openTransactions ?? 0) + (exim?.openTransactions ?? 0)
    }

    /// Feeds one parsed Postfix line (the hot path; spans become Strings only where stored).
    public mutating func receive(_ ctx: LineContext, _ line: PostfixLine, into out: inout CorrelatorOutput) {
        if postfix == nil { postfix = PostfixCorrelator(host: host, config: config) }
        postfix!.receive(ctx, line, into: &out)
    }

    public mutating func receive(_ ctx: LineContext, _ event: PostfixEvent, into out: inout CorrelatorOutput) {
        if postfix == nil { postfix = PostfixCorrelator(host: host, config: config) }
        postfix!.receive(ctx, event, into: &out)
    }

    /// Feeds one parsed Sendmail line (the hot path; spans become Strings only where stored).
    public mutating func receive(_ ctx: LineContext, _ line: SendmailLine, into out: inout CorrelatorOutput) {
        if sendmail == nil { sendmail = SendmailCorrelator(host: host, config: config) }
        sendmail!.receive(ctx, line, into: &out)
    }

    public mutating func receive(_ ctx: LineContext, _ event: SendmailEvent, into out: inout CorrelatorOutput) {
        if sendmail == nil { sendmail = SendmailCorrelator(host: host, config: config) }
        sendmail!.receive(ctx, event, into: &out)
    }

    /// Feeds one parsed Exim line (the hot path; spans become Strings only where stored).
    public mutating func receive(_ ctx: LineContext, _ line: EximLine, into out: inout CorrelatorOutput) {
        if exim == nil { exim = EximCorrelator(host: host, config: config) }
        exim!.receive(ctx, line, into: &out)
    }

    public mutating func receive(_ ctx: LineContext, _ event: EximEvent, into out: inout CorrelatorOutput) {
        if exim == nil { exim = EximCorrelator(host: host, config: config) }
        exim!.receive(ctx, event, into: &out)
    }

    public mutating func receive(_ ctx: LineContext, _ event: UTMEvent, into out: inout CorrelatorOutput) {
        if exim == nil { exim = EximCorrelator(host: host, config: config) }
        exim!.receive(ctx, event, into: &out)
    }

    /// Emits every held message of every family (end of a one-shot run).
    public mutating func flushHeld(into out: inout CorrelatorOutput) {
        postfix?.flushHeld(into: &out)
        sendmail?.flushHeld(into: &out)
        exim?.flushHeld(into: &out)
    }
}
