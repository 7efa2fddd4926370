/// SendmailEvent: the facts the Sendmail parser reads from one line
/// (sendmail, sm-mta, sm-msp-queue), handed to `SendmailCorrelator`.
///
/// Contract: as for `PostfixEvent` — one fact per line (a `QID[n]:` record
/// split by sm_syslog is reassembled by the parser first), no look at other
/// lines; queue IDs as logged (14 characters, or more on hosts with pids of
/// 7+ digits). Addresses without angle brackets; `<>` is the empty string.
/// IP addresses normalised (`IPv6:` prefix dropped, IPv6 compressed) so they
/// compare with other MTAs' text. See docs/log-formats/sendmail.md.
public enum SendmailEvent: Hashable, Sendable {
    /// `QID: from=S, size=N, class=N, nrcpts=N, msgid=<ID>, bodytype=B, proto=P, daemon=D, relay=R`.
    case from(queueID: String, SendmailFrom)
    /// `QID: to=R1,R2, ctladdr=C (u/g), delay=, xdelay=, mailer=, pri=, relay=, dsn=, reply=, stat=`.
    case to(queueID: String, SendmailTo)
    /// `OLDQID: NEWQID: KIND: TEXT`, KIND ∈ `DSN`, `return to sender`, `sender notify`, `postmaster notify`.
    case notification(queueID: String, newQueueID: String, kind: String, text: String)
    /// `OLDQID: NEWQID: clone: owner=OWNER` (an owner- alias split into its own envelope).
    case clone(queueID: String, newQueueID: String, owner: String?)
    /// `QID: split: ... ids=A; B` / `QID: split: count=K, id=A` (queue-group / MaxRecipientsPerMessage).
    case split(queueID: String, newQueueIDs: [String])
    /// Ruleset (`ruleset=check_rcpt, ... reject=`), milter and address refusals, with or without a queue ID.
    case reject(queueID: String?, SendmailReject)
    /// `STARTTLS=server|client, relay=R, version=V, verify=W, cipher=C, bits=N/M` (no queue ID; join by pid).
    case tls(direction: TLSDirection, peer: Peer, info: TLSInfo, verify: String?)
    /// `AUTH=server, relay=R, authid=U, mech=M, bits=N` (no queue ID; join by pid).
    case auth(peer: Peer, authid: String, mechanism: String)
}

/// Fields of a `from=` line.
public struct SendmailFrom: Hashable, Sendable {
    /// Envelope sender without `<>`; empty for the null sender.
    public var sender: String
    public var size: Int64?
    public var msgClass: Int?
    public var nrcpts: Int?
    /// Message-ID without `<>`; nil when not logged.
    public var messageID: String?
    public var bodyType: String?
    public var proto: String?
    public var daemon: String?
    /// `auth=` (compile-time option), when logged.
    public var auth: String?
    /// Who sent it: `name [ip]`, `[ip]`; `user@host` for local submissions (user in `identUser`).
    public var relay: Peer
    /// The `user@` part of `relay=` (ident answer or local submitter).
    public var identUser: String?
    /// ` (may be forged)` after the relay.
    public var mayBeForged: Bool

    public init(sender: String, size: Int64? = nil, msgClass: Int? = nil, nrcpts: Int? = nil, messageID: String? = nil,
                bodyType: String? = nil, proto: String? = nil, daemon: String? = nil, auth: String? = nil,
                relay: Peer = Peer(), identUser: String? = nil, mayBeForged: Bool = false) {
        self.sender = sender; self.size = size; self.msgClass = msgClass; self.nrcpts = nrcpts
        self.messageID = messageID; self.bodyType = bodyType; self.proto = proto; self.daemon = daemon
        self.auth = auth; self.relay = relay; self.identUser = identUser; self.mayBeForged = mayBeForged
    }
}

/// Fields of a `to=` line (one delivery attempt of one or more recipients).
public struct SendmailTo: Hashable, Sendable {
    /// Recipients without `<>`, in logged order (a `[more]` line carries part of the list).
    public var recipients: [String]
    /// The line ended its list with `[more]`: further lines carry the rest.
    public var more: Bool
    /// Controlling user, without the ` (uid/gid)` part.
    public var ctladdr: String?
    /// Total age and this attempt's duration, in seconds (`[D+]HH:MM:SS`).
    public var delay: Double?
    public var xdelay: Double?
    public var mailer: String?
    public var priority: Int64?
    /// Host actually used (`name. [ip]`, trailing dot dropped); empty Peer when absent.
    public var relay: Peer
    public var dsn: String?
    /// `reply=` (8.16+): the remote server's reply on failures.
    public var reply: String?
    /// The `stat=` text as logged (`Sent (Ok: queued as X)`, `Deferred: ...`, `User unknown`).
    public var stat: String?
    public var status: DeliveryStatus
    /// Remote reply inside `Sent (...)`, or the failure text.
    public var response: String?
    /// The next hop's queue ID found in `Sent (...)`.
    public var nextQueueID: String?
    public var ntries: Int?

    public init(recipients: [String], more: Bool = false, ctladdr: String? = nil, delay: Double? = nil,
                xdelay: Double? = nil, mailer: String? = nil, priority: Int64? = nil, relay: Peer = Peer(),
                dsn: String? = nil, reply: String? = nil, stat: String? = nil, status: DeliveryStatus,
                response: String? = nil, nextQueueID: String? = nil, ntries: Int? = nil) {
        self.recipients = recipients; self.more = more; self.ctladdr = ctladdr; self.delay = delay
        self.xdelay = xdelay; self.mailer = mailer; self.priority = priority; self.relay = relay; self.dsn = dsn
        self.reply = reply; self.stat = stat; self.status = status; self.response = response
        self.nextQueueID = nextQueueID; self.ntries = ntries
    }
}

/// Fields of a refusal line.
public struct SendmailReject: Hashable, Sendable {
    /// reject, discard, quarantine, milter-reject, tempfail.
    public var action: String
    /// CONNECT, MAIL, RCPT, END-OF-MESSAGE, STARTTLS, or the ruleset name when unknown.
    public var stage: String?
    /// `check_rcpt`, ..., or `milter` / `milter=NAME`.
    public var ruleset: String?
    public var arg1: String?
    public var arg2: String?
    public var client: Peer
    public var sender: String?
    public var recipient: String?
    public var code: String?
    public var dsn: String?
    public var reason: String?

    public init(action: String, stage: String? = nil, ruleset: String? = nil, arg1: String? = nil, arg2: String? = nil,
                client: Peer = Peer(), sender: String? = nil, recipient: String? = nil, code: String? = nil,
                dsn: String? = nil, reason: String? = nil) {
        self.action = action; self.stage = stage; self.ruleset = ruleset; self.arg1 = arg1; self.arg2 = arg2
        self.client = client; self.sender = sender; self.recipient = recipient; self.code = code; self.dsn = dsn
        self.reason = reason
    }
}
