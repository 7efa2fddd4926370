/// EximEvent / UTMEvent: the facts the Exim parser reads from one line (Exim
/// mainlog, Exim through syslog, Sophos UTM exim-in/exim-out) and the facts
/// of Sophos UTM's own smtpd (QMGR, SCANNER, SecureMail), handed to
/// `EximCorrelator`.
///
/// Contract: as for `PostfixEvent` — one fact per line, no look at other
/// lines; message IDs as logged (old `6-6-2` and new `6-11-4` forms). `R=` is
/// read by line type: on `<=` it is the message this one was generated from,
/// on delivery lines the router, on UTM ACL lines the recipient. See
/// docs/log-formats/exim.md and docs/log-formats/sophos-utm.md.

/// One parsed Exim fact.
public enum EximEvent: Hashable, Sendable {
    /// `ID <= sender ...` (arrival) or `ID (= sender ...` (fakereject arrival).
    case arrival(messageID: String, EximArrival)
    /// `ID => / -> / >> / *> / ** / == recipient ...`.
    case delivery(messageID: String, EximDelivery)
    /// `ID Completed`: the spool files are gone.
    case completed(messageID: String)
    /// `ID DKIM: d=DOMAIN s=SEL ... [verification succeeded]` (one line per signature).
    case dkim(messageID: String, domain: String?, result: String)
    /// `ID ctasd reports 'VERDICT' RefID:...` (Sophos UTM's Commtouch/Cyren anti-spam verdict).
    case spamVerdict(messageID: String, verdict: String, score: Double?)
    /// Other lines about one message that store nothing: `Frozen`, `retry time not reached`,
    /// `SMTP error from remote mail server ...`, `Unfrozen by ...`, `spool file is locked`.
    case note(messageID: String, kind: String)
    /// `[ID ]H=... [F=<s>] [temporarily ]rejected WHAT: MESSAGE`, `NAME authenticator failed for ...`.
    case reject(messageID: String?, EximReject)
    /// The listener's `SMTP connection from NAME [IP]:PORT (TCP/IP connection count = N)`.
    case connection(client: Peer)
    /// An ACL `log_message` / `Warning:` line that names only the session
    /// (`H=... Warning: ...`, UTM `[ip] F=<s> R=<rcpt> Accepted: ...`).
    case sessionNote(client: Peer, sender: String?, recipient: String?, text: String)
}

/// Fields of an arrival (`<=`) line.
public struct EximArrival: Hashable, Sendable {
    /// Envelope sender; empty for `<>`.
    public var sender: String
    /// `H=`: name (verified), helo (in parentheses), `[ip]:port`.
    public var client: Peer
    public var helo: String?
    /// `I=[ip]:port`: the local interface.
    public var interface: Peer?
    /// `U=`: local user (ident).
    public var localUser: String?
    /// `P=`: esmtps, local, ...
    public var proto: String?
    /// `X=` and `CV=`.
    public var tls: TLSInfo?
    /// `A=authenticator[:id[:sender]]`.
    public var authenticator: String?
    public var authID: String?
    /// `S=`.
    public var size: Int64?
    /// `id=` / `id*=` (the Message-ID header, without angle brackets).
    public var messageIDHeader: String?
    /// `T="..."`, unescaped.
    public var subject: String?
    /// `R=` on an arrival: the message that caused this one (bounce / warning / UTM re-injection).
    public var reference: String?
    /// `DKIM=domain`.
    public var dkimDomain: String?
    /// ` for a b c`.
    public var recipients: [String]
    /// `(=`: accepted but reported to the client as rejected.
    public var fakeReject: Bool

    public init(sender: String, client: Peer = Peer(), helo: String? = nil, interface: Peer? = nil,
                localUser: String? = nil, proto: String? = nil, tls: TLSInfo? = nil, authenticator: String? = nil,
                authID: String? = nil, size: Int64? = nil, messageIDHeader: String? = nil, subject: String? = nil,
                reference: String? = nil, dkimDomain: String? = nil, recipients: [String] = [],
                fakeReject: Bool = false) {
        self.sender = sender; self.client = client; self.helo = helo; self.interface = interface
        self.localUser = localUser; self.proto = proto; self.tls = tls; self.authenticator = authenticator
        self.authID = authID; self.size = size; self.messageIDHeader = messageIDHeader; self.subject = subject
        self.reference = reference; self.dkimDomain = dkimDomain; self.recipients = recipients
        self.fakeReject = fakeReject
    }
}

/// The flag of a delivery line.
public enum EximDeliveryFlag: String, Hashable, Sendable, Codable {
    /// `=>` first address of a delivery.
    case delivered
    /// `->` another address in the same delivery.
    case additional
    /// `>>` cutthrough delivery (logged before `<=`).
    case cutthrough
    /// `*>` delivery suppressed by `-N`.
    case suppressed
    /// `**` failed, bounced.
    case failed
    /// `==` deferred.
    case deferred
}

/// Fields of a delivery / deferral / failure line.
public struct EximDelivery: Hashable, Sendable {
    public var flag: EximDeliveryFlag
    public var recipient: String
    /// `<original>` when it differs from the final address.
    public var origRecipient: String?
    /// `R=`.
    public var router: String?
    /// `T=`.
    public var transport: String?
    /// `H=name [ip]:port`.
    public var relay: Peer
    /// `X=` and `CV=`.
    public var tls: TLSInfo?
    /// `C="..."` (success) or the message text after `: ` (`**`, `==`).
    public var response: String?
    /// Enhanced status code found in the response (`2.0.0`).
    public var dsn: String?
    /// Queue ID in the response (`queued as X`, `OK id=X`).
    public var nextQueueID: String?
    /// `QT=` and `DT=` in seconds.
    public var queueTime: Double?
    public var deliveryTime: Double?
    /// `defer (N)` errno of a deferral.
    public var errno: Int?

    public init(flag: EximDeliveryFlag, recipient: String, origRecipient: String? = nil, router: String? = nil,
                transport: String? = nil, relay: Peer = Peer(), tls: TLSInfo? = nil, response: String? = nil,
                dsn: String? = nil, nextQueueID: String? = nil, queueTime: Double? = nil,
                deliveryTime: Double? = nil, errno: Int? = nil) {
        self.flag = flag; self.recipient = recipient; self.origRecipient = origRecipient; self.router = router
        self.transport = transport; self.relay = relay; self.tls = tls; self.response = response; self.dsn = dsn
        self.nextQueueID = nextQueueID; self.queueTime = queueTime; self.deliveryTime = deliveryTime
        self.errno = errno
    }
}

/// Fields of a refusal line.
public struct EximReject: Hashable, Sendable {
    /// `rejected`, `temporarily rejected`, `auth-failed`.
    public var action: String
    /// CONNECT, EHLO, MAIL, RCPT, DATA, END-OF-MESSAGE, MIME, AUTH, VRFY, ETRN, ...
    public var stage: String?
    public var client: Peer
    public var helo: String?
    public var sender: String?
    public var recipient: String?
    public var tls: TLSInfo?
    public var code: String?
    public var dsn: String?
    public var reason: String?

    public init(action: String, stage: String? = nil, client: Peer = Peer(), helo: String? = nil,
                sender: String? = nil, recipient: String? = nil, tls: TLSInfo? = nil, code: String? = nil,
                dsn: String? = nil, reason: String? = nil) {
        self.action = action; self.stage = stage; self.client = client; self.helo = helo; self.sender = sender
        self.recipient = recipient; self.tls = tls; self.code = code; self.dsn = dsn; self.reason = reason
    }
}

/// One parsed Sophos UTM smtpd / SecureMail fact.
public enum UTMEvent: Hashable, Sendable {
    /// `QMGR[pid]: ID moved to work queue`: the proxy took exim-in's message ID.
    case movedToWorkQueue(queueID: String)
    /// `SCANNER[pid]: <Exim-style text>`: `NEW <= sender R=OLD P=INPUT S=n`, `OLD => work R=SCANNER T=SCANNER`,
    /// `OLD Completed`, in Exim's own grammar.
    case scanner(EximEvent)
    /// `SCANNER[pid]: id="1000" severity="info" sys="SecureMail" sub="smtp" name="email passed" ...`.
    case secureMail(UTMSecureMail)
}

/// A SecureMail key="value" event.
public struct UTMSecureMail: Hashable, Sendable {
    /// `id=` numeric event type (1000 = passed).
    public var eventID: Int?
    public var severity: String?
    /// `name=`: the disposition (`email passed`, `email rejected`, `email quarantined`, ...).
    public var name: String
    public var sourceIP: String?
    public var sender: String?
    public var recipient: String?
    public var subject: String?
    /// `queueid=`: the ID of the message in the output spool (exim-out's ID).
    public var queueID: String?
    public var size: Int64?

    public init(eventID: Int? = nil, severity: String? = nil, name: String, sourceIP: String? = nil,
                sender: String? = nil, recipient: String? = nil, subject: String? = nil, queueID: String? = nil,
                size: Int64? = nil) {
        self.eventID = eventID; self.severity = severity; self.name = name; self.sourceIP = sourceIP
        self.sender = sender; self.recipient = recipient; self.subject = subject; self.queueID = queueID
        self.size = size
    }
}
