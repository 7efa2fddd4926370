/// SendmailEvent: the facts the Sendmail parser reads from one line
/// (sendmail, sm-mta, sm-msp-queue), handed to `SendmailCorrelator`.
///
/// Contract: as for `PostfixEvent` — one fact per line, no look at other
/// lines; queue IDs as logged. See docs/log-formats/sendmail.md.
public enum SendmailEvent: Hashable, Sendable {
}
