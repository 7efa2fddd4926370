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
/// `EximArrival`, `EximDelivery` and `EximReject` keep their fields in one
/// copy-on-write box (value semantics, equality by fields), so moving an
/// event copies a reference, not a few hundred bytes and a retain per field.

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
    /// The values, stored once behind a reference so the event enums stay small and a copy
    /// of the event is one retain (copy-on-write: a mutation of a shared copy copies them first).
    @usableFromInline struct Fields: Hashable, Sendable {
        @usableFromInline var sender: String
        @usableFromInline var client: Peer
        @usableFromInline var helo: String?
        @usableFromInline var interface: Peer?
        @usableFromInline var localUser: String?
        @usableFromInline var proto: String?
        @usableFromInline var tls: TLSInfo?
        @usableFromInline var authenticator: String?
        @usableFromInline var authID: String?
        @usableFromInline var size: Int64?
        @usableFromInline var messageIDHeader: String?
        @usableFromInline var subject: String?
        @usableFromInline var reference: String?
        @usableFromInline var dkimDomain: String?
        @usableFromInline var recipients: [String]
        @usableFromInline var fakeReject: Bool
    }
    @usableFromInline var box: CoWBox<Fields>

    /// Envelope sender; empty for `<>`.
    @inlinable public var sender: String {
        get { box.f.sender }
        _modify { makeUnique(); yield &box.f.sender }
    }
    /// `H=`: name (verified), helo (in parentheses), `[ip]:port`.
    @inlinable public var client: Peer {
        get { box.f.client }
        _modify { makeUnique(); yield &box.f.client }
    }
    @inlinable public var helo: String? {
        get { box.f.helo }
        _modify { makeUnique(); yield &box.f.helo }
    }
    /// `I=[ip]:port`: the local interface.
    @inlinable public var interface: Peer? {
        get { box.f.interface }
        _modify { makeUnique(); yield &box.f.interface }
    }
    /// `U=`: local user (ident).
    @inlinable public var localUser: String? {
        get { box.f.localUser }
        _modify { makeUnique(); yield &box.f.localUser }
    }
    /// `P=`: esmtps, local, ...
    @inlinable public var proto: String? {
        get { box.f.proto }
        _modify { makeUnique(); yield &box.f.proto }
    }
    /// `X=` and `CV=`.
    @inlinable public var tls: TLSInfo? {
        get { box.f.tls }
        _modify { makeUnique(); yield &box.f.tls }
    }
    /// `A=authenticator[:id[:sender]]`.
    @inlinable public var authenticator: String? {
        get { box.f.authenticator }
        _modify { makeUnique(); yield &box.f.authenticator }
    }
    @inlinable public var authID: String? {
        get { box.f.authID }
        _modify { makeUnique(); yield &box.f.authID }
    }
    /// `S=`.
    @inlinable public var size: Int64? {
        get { box.f.size }
        _modify { makeUnique(); yield &box.f.size }
    }
    /// `id=` / `id*=` (the Message-ID header, without angle brackets).
    @inlinable public var messageIDHeader: String? {
        get { box.f.messageIDHeader }
        _modify { makeUnique(); yield &box.f.messageIDHeader }
    }
    /// `T="..."`, unescaped.
    @inlinable public var subject: String? {
        get { box.f.subject }
        _modify { makeUnique(); yield &box.f.subject }
    }
    /// `R=` on an arrival: the message that caused this one (bounce / warning / UTM re-injection).
    @inlinable public var reference: String? {
        get { box.f.reference }
        _modify { makeUnique(); yield &box.f.reference }
    }
    /// `DKIM=domain`.
    @inlinable public var dkimDomain: String? {
        get { box.f.dkimDomain }
        _modify { makeUnique(); yield &box.f.dkimDomain }
    }
    /// ` for a b c`.
    @inlinable public var recipients: [String] {
        get { box.f.recipients }
        _modify { makeUnique(); yield &box.f.recipients }
    }
    /// `(=`: accepted but reported to the client as rejected.
    @inlinable public var fakeReject: Bool {
        get { box.f.fakeReject }
        _modify { makeUnique(); yield &box.f.fakeReject }
    }

    @inlinable mutating func makeUnique() { CoWBox.makeUnique(&box) }

    public init(sender: String, client: Peer = Peer(), helo: String? = nil, interface: Peer? = nil,
                localUser: String? = nil, proto: String? = nil, tls: TLSInfo? = nil, authenticator: String? = nil,
                authID: String? = nil, size: Int64? = nil, messageIDHeader: String? = nil, subject: String? = nil,
                reference: String? = nil, dkimDomain: String? = nil, recipients: [String] = [],
                fakeReject: Bool = false) {
        box = CoWBox(Fields(sender: sender, client: client, helo: helo, interface: interface, localUser: localUser, proto: proto, tls: tls, authenticator: authenticator, authID: authID, size: size, messageIDHeader: messageIDHeader, subject: subject, reference: reference, dkimDomain: dkimDomain, recipients: recipients, fakeReject: fakeReject))
    }

    public static func == (a: EximArrival, b: EximArrival) -> Bool { a.box === b.box || a.box.f == b.box.f }
    public func hash(into h: inout Hasher) { box.f.hash(into: &h) }
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
    /// The values, stored once behind a reference so the event enums stay small and a copy
    /// of the event is one retain (copy-on-write: a mutation of a shared copy copies them first).
    @usableFromInline struct Fields: Hashable, Sendable {
        @usableFromInline var flag: EximDeliveryFlag
        @usableFromInline var recipient: String
        @usableFromInline var origRecipient: String?
        @usableFromInline var router: String?
        @usableFromInline var transport: String?
        @usableFromInline var relay: Peer
        @usableFromInline var tls: TLSInfo?
        @usableFromInline var response: String?
        @usableFromInline var dsn: String?
        @usableFromInline var nextQueueID: String?
        @usableFromInline var queueTime: Double?
        @usableFromInline var deliveryTime: Double?
        @usableFromInline var errno: Int?
    }
    @usableFromInline var box: CoWBox<Fields>

    @inlinable public var flag: EximDeliveryFlag {
        get { box.f.flag }
        _modify { makeUnique(); yield &box.f.flag }
    }
    @inlinable public var recipient: String {
        get { box.f.recipient }
        _modify { makeUnique(); yield &box.f.recipient }
    }
    /// `<original>` when it differs from the final address.
    @inlinable public var origRecipient: String? {
        get { box.f.origRecipient }
        _modify { makeUnique(); yield &box.f.origRecipient }
    }
    /// `R=`.
    @inlinable public var router: String? {
        get { box.f.router }
        _modify { makeUnique(); yield &box.f.router }
    }
    /// `T=`.
    @inlinable public var transport: String? {
        get { box.f.transport }
        _modify { makeUnique(); yield &box.f.transport }
    }
    /// `H=name [ip]:port`.
    @inlinable public var relay: Peer {
        get { box.f.relay }
        _modify { makeUnique(); yield &box.f.relay }
    }
    /// `X=` and `CV=`.
    @inlinable public var tls: TLSInfo? {
        get { box.f.tls }
        _modify { makeUnique(); yield &box.f.tls }
    }
    /// `C="..."` (success) or the message text after `: ` (`**`, `==`).
    @inlinable public var response: String? {
        get { box.f.response }
        _modify { makeUnique(); yield &box.f.response }
    }
    /// Enhanced status code found in the response (`2.0.0`).
    @inlinable public var dsn: String? {
        get { box.f.dsn }
        _modify { makeUnique(); yield &box.f.dsn }
    }
    /// Queue ID in the response (`queued as X`, `OK id=X`).
    @inlinable public var nextQueueID: String? {
        get { box.f.nextQueueID }
        _modify { makeUnique(); yield &box.f.nextQueueID }
    }
    /// `QT=` and `DT=` in seconds.
    @inlinable public var queueTime: Double? {
        get { box.f.queueTime }
        _modify { makeUnique(); yield &box.f.queueTime }
    }
    @inlinable public var deliveryTime: Double? {
        get { box.f.deliveryTime }
        _modify { makeUnique(); yield &box.f.deliveryTime }
    }
    /// `defer (N)` errno of a deferral.
    @inlinable public var errno: Int? {
        get { box.f.errno }
        _modify { makeUnique(); yield &box.f.errno }
    }

    @inlinable mutating func makeUnique() { CoWBox.makeUnique(&box) }

    public init(flag: EximDeliveryFlag, recipient: String, origRecipient: String? = nil, router: String? = nil,
                transport: String? = nil, relay: Peer = Peer(), tls: TLSInfo? = nil, response: String? = nil,
                dsn: String? = nil, nextQueueID: String? = nil, queueTime: Double? = nil,
                deliveryTime: Double? = nil, errno: Int? = nil) {
        box = CoWBox(Fields(flag: flag, recipient: recipient, origRecipient: origRecipient, router: router, transport: transport, relay: relay, tls: tls, response: response, dsn: dsn, nextQueueID: nextQueueID, queueTime: queueTime, deliveryTime: deliveryTime, errno: errno))
    }

    public static func == (a: EximDelivery, b: EximDelivery) -> Bool { a.box === b.box || a.box.f == b.box.f }
    public func hash(into h: inout Hasher) { box.f.hash(into: &h) }
}

/// Fields of a refusal line.
public struct EximReject: Hashable, Sendable {
    /// The values, stored once behind a reference so the event enums stay small and a copy
    /// of the event is one retain (copy-on-write: a mutation of a shared copy copies them first).
    @usableFromInline struct Fields: Hashable, Sendable {
        @usableFromInline var action: String
        @usableFromInline var stage: String?
        @usableFromInline var client: Peer
        @usableFromInline var helo: String?
        @usableFromInline var sender: String?
        @usableFromInline var recipient: String?
        @usableFromInline var tls: TLSInfo?
        @usableFromInline var code: String?
        @usableFromInline var dsn: String?
        @usableFromInline var reason: String?
    }
    @usableFromInline var box: CoWBox<Fields>

    /// `rejected`, `temporarily rejected`, `auth-failed`.
    @inlinable public var action: String {
        get { box.f.action }
        _modify { makeUnique(); yield &box.f.action }
    }
    /// CONNECT, EHLO, MAIL, RCPT, DATA, END-OF-MESSAGE, MIME, AUTH, VRFY, ETRN, ...
    @inlinable public var stage: String? {
        get { box.f.stage }
        _modify { makeUnique(); yield &box.f.stage }
    }
    @inlinable public var client: Peer {
        get { box.f.client }
        _modify { makeUnique(); yield &box.f.client }
    }
    @inlinable public var helo: String? {
        get { box.f.helo }
        _modify { makeUnique(); yield &box.f.helo }
    }
    @inlinable public var sender: String? {
        get { box.f.sender }
        _modify { makeUnique(); yield &box.f.sender }
    }
    @inlinable public var recipient: String? {
        get { box.f.recipient }
        _modify { makeUnique(); yield &box.f.recipient }
    }
    @inlinable public var tls: TLSInfo? {
        get { box.f.tls }
        _modify { makeUnique(); yield &box.f.tls }
    }
    @inlinable public var code: String? {
        get { box.f.code }
        _modify { makeUnique(); yield &box.f.code }
    }
    @inlinable public var dsn: String? {
        get { box.f.dsn }
        _modify { makeUnique(); yield &box.f.dsn }
    }
    @inlinable public var reason: String? {
        get { box.f.reason }
        _modify { makeUnique(); yield &box.f.reason }
    }

    @inlinable mutating func makeUnique() { CoWBox.makeUnique(&box) }

    public init(action: String, stage: String? = nil, client: Peer = Peer(), helo: String? = nil,
                sender: String? = nil, recipient: String? = nil, tls: TLSInfo? = nil, code: String? = nil,
                dsn: String? = nil, reason: String? = nil) {
        box = CoWBox(Fields(action: action, stage: stage, client: client, helo: helo, sender: sender, recipient: recipient, tls: tls, code: code, dsn: dsn, reason: reason))
    }

    public static func == (a: EximReject, b: EximReject) -> Bool { a.box === b.box || a.box.f == b.box.f }
    public func hash(into h: inout Hasher) { box.f.hash(into: &h) }
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
