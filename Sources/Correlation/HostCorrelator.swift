/// HostCorrelator: all correlators of one host, one per MTA family, behind
/// one entry point fed with `ParseOutcome`s in log order.
///
/// Contract: each family's events go to that family's machine, created on
/// its first event (a host may run Postfix and Sendmail side by side; their
/// queue IDs never meet). Records of all families go to the same output.
/// The whole state is `Codable` (see `StateCoding`); families never seen on
/// the host are absent from it. Each family's machine is stored, not
/// optional, with a flag for "seen": testing an optional this large is an
/// outlined call, and every line paid two (the placeholder of a family not
/// seen is an empty machine, never fed, saved or read).
import MailTrailModel

public struct HostCorrelator: Codable, Sendable {
    public let host: String
    public var config: CorrelatorConfig {
        didSet {
            postfixMachine.config = config; sendmailMachine.config = config; eximMachine.config = config
        }
    }
    private var postfixMachine: PostfixCorrelator
    private var sendmailMachine: SendmailCorrelator
    private var eximMachine: EximCorrelator
    private var hasPostfix = false, hasSendmail = false, hasExim = false

    /// The Postfix machine, once the host had a Postfix event.
    public var postfix: PostfixCorrelator? { hasPostfix ? postfixMachine : nil }
    /// The Sendmail machine, once the host had a Sendmail event.
    public var sendmail: SendmailCorrelator? { hasSendmail ? sendmailMachine : nil }
    /// The Exim (and Sophos UTM) machine, once the host had such an event.
    public var exim: EximCorrelator? { hasExim ? eximMachine : nil }

    public init(host: String, config: CorrelatorConfig = CorrelatorConfig()) {
        self.host = host
        self.config = config
        postfixMachine = PostfixCorrelator(host: host, config: config)
        sendmailMachine = SendmailCorrelator(host: host, config: config)
        eximMachine = EximCorrelator(host: host, config: config)
    }

    /// Wraps a Postfix machine restored from an older (Postfix-only) saved state.
    public init(postfix: PostfixCorrelator) {
        self.init(host: postfix.host, config: postfix.config)
        postfixMachine = postfix
        hasPostfix = true
    }

    private enum CodingKeys: String, CodingKey { case host, config, postfix, sendmail, exim }

    /// Reads the layout the synthesised coding wrote (absent families absent).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(host: try c.decode(String.self, forKey: .host),
                  config: try c.decode(CorrelatorConfig.self, forKey: .config))
        if let m = try c.decodeIfPresent(PostfixCorrelator.self, forKey: .postfix) { postfixMachine = m; hasPostfix = true }
        if let m = try c.decodeIfPresent(SendmailCorrelator.self, forKey: .sendmail) { sendmailMachine = m; hasSendmail = true }
        if let m = try c.decodeIfPresent(EximCorrelator.self, forKey: .exim) { eximMachine = m; hasExim = true }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(host, forKey: .host)
        try c.encode(config, forKey: .config)
        if hasPostfix { try c.encode(postfixMachine, forKey: .postfix) }
        if hasSendmail { try c.encode(sendmailMachine, forKey: .sendmail) }
        if hasExim { try c.encode(eximMachine, forKey: .exim) }
    }

    /// Open transactions over all families.
    public var openTransactions: Int {
        (hasPostfix ? postfixMachine.openTransactions : 0) + (hasSendmail ? sendmailMachine.openTransactions : 0)
            + (hasExim ? eximMachine.openTransactions : 0)
    }

    /// Feeds one parsed Postfix line (the hot path; spans become Strings only where stored).
    public mutating func receive(_ ctx: LineContext, _ line: PostfixLine, into out: inout CorrelatorOutput) {
        hasPostfix = true
        postfixMachine.receive(ctx, line, into: &out)
    }

    public mutating func receive(_ ctx: LineContext, _ event: PostfixEvent, into out: inout CorrelatorOutput) {
        hasPostfix = true
        postfixMachine.receive(ctx, event, into: &out)
    }

    /// Feeds one parsed Sendmail line (the hot path; spans become Strings only where stored).
    public mutating func receive(_ ctx: LineContext, _ line: SendmailLine, into out: inout CorrelatorOutput) {
        hasSendmail = true
        sendmailMachine.receive(ctx, line, into: &out)
    }

    public mutating func receive(_ ctx: LineContext, _ event: SendmailEvent, into out: inout CorrelatorOutput) {
        hasSendmail = true
        sendmailMachine.receive(ctx, event, into: &out)
    }

    /// Feeds one parsed Exim line (the hot path; spans become Strings only where stored).
    public mutating func receive(_ ctx: LineContext, _ line: EximLine, into out: inout CorrelatorOutput) {
        hasExim = true
        eximMachine.receive(ctx, line, into: &out)
    }

    public mutating func receive(_ ctx: LineContext, _ event: EximEvent, into out: inout CorrelatorOutput) {
        hasExim = true
        eximMachine.receive(ctx, event, into: &out)
    }

    public mutating func receive(_ ctx: LineContext, _ event: UTMEvent, into out: inout CorrelatorOutput) {
        hasExim = true
        eximMachine.receive(ctx, event, into: &out)
    }

    /// Emits every held message of every family (end of a one-shot run).
    public mutating func flushHeld(into out: inout CorrelatorOutput) {
        if hasPostfix { postfixMachine.flushHeld(into: &out) }
        if hasSendmail { sendmailMachine.flushHeld(into: &out) }
        if hasExim { eximMachine.flushHeld(into: &out) }
    }
}
