/// EximEvent / UTMEvent: the facts the Exim parser reads from one line (Exim
/// mainlog, Exim through syslog, Sophos UTM exim-in/exim-out) and the facts
/// of Sophos UTM's own smtpd (QMGR, SCANNER, SecureMail), handed to
/// `EximCorrelator`.
///
/// Contract: as for `PostfixEvent` — one fact per line, no look at other
/// lines; message IDs as logged. See docs/log-formats/exim.md and
/// docs/log-formats/sophos-utm.md.

/// One parsed Exim fact.
public enum EximEvent: Hashable, Sendable {
}

/// One parsed Sophos UTM smtpd / SecureMail fact.
public enum UTMEvent: Hashable, Sendable {
}
