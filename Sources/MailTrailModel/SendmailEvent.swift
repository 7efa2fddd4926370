/// SendmailEvent: the facts the Sendmail parser reads from one line
/// (sendmail, sm-mta, sm-msp-queue), handed to `SendmailCorrelator`.
///
/// Contract: as for `PostfixEvent` — one fact per line (a `QID[n]:` record
/// split by sm_syslog is reassembled by the parser first), no look at other
/// lines; queue IDs as logged (14 characters, or more on hosts with pids of
/// 7+ digits). Addresses without angle brackets; `<>` is the empty string.
/// IP addresses normalised (`IPv6:` prefix dropped, IPv6 compressed) so they
/// compare with other MTAs' text. See docs/log-formats/sendmail.md.
/// `SendmailFrom`, `SendmailTo` and `SendmailReject` keep their fields in one
/// copy-on-write box (value semantics, equality by fields), so moving an
/// event between the parser and the correlator copies a reference, not a few
/// hundred bytes and a retain per field.
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
    /// The values, stored once behind a reference so the event enums stay small and a copy
    /// of the event is one retain (copy-on-write: a mutation of a shared copy copies them first).
    @usableFromInline struct Fields: Hashable, Sendable {
        @usableFromInline var sender: String
        @usableFromInline var size: Int64?
        @usableFromInline var msgClass: Int?
        @usableFromInline var nrcpts: Int?
        @usableFromInline var messageID: String?
        @usableFromInline var bodyType: String?
        @usableFromInline var proto: String?
        @usableFromInline var daemon: String?
        @usableFromInline var auth: String?
        @usableFromInline var relay: Peer
        @usableFromInline var identUser: String?
        @usableFromInline var mayBeForged: Bool
    }
    @usableFromInline var box: CoWBox<Fields>

    /// Envelope sender without `<>`; empty for the null sender.
    @inlinable public var sender: String {
        get { box.f.sender }
        _modify { makeUnique(); yield &box.f.sender }
    }
    @inlinable public var size: Int64? {
        get { box.f.size }
        _modify { makeUnique(); yield &box.f.size }
    }
    @inlinable public var msgClass: Int? {
        get { box.f.msgClass }
        _modify { makeUnique(); yield &box.f.msgClass }
    }
    @inlinable public var nrcpts: Int? {
        get { box.f.nrcpts }
        _modify { makeUnique(); yield &box.f.nrcpts }
    }
    /// Message-ID without `<>`; nil when not logged.
    @inlinable public var messageID: String? {
        get { box.f.messageID }
        _modify { makeUnique(); yield &box.f.messageID }
    }
    @inlinable public var bodyType: String? {
        get { box.f.bodyType }
        _modify { makeUnique(); yield &box.f.bodyType }
    }
    @inlinable public var proto: String? {
        get { box.f.proto }
        _modify { makeUnique(); yield &box.f.proto }
    }
    @inlinable public var daemon: String? {
        get { box.f.daemon }
        _modify { makeUnique(); yield &box.f.daemon }
    }
    /// `auth=` (compile-time option), when logged.
    @inlinable public var auth: String? {
        get { box.f.auth }
        _modify { makeUnique(); yield &box.f.auth }
    }
    /// Who sent it: `name [ip]`, `[ip]`; `user@host` for local submissions (user in `identUser`).
    @inlinable public var relay: Peer {
        get { box.f.relay }
        _modify { makeUnique(); yield &box.f.relay }
    }
    /// The `user@` part of `relay=` (ident answer or local submitter).
    @inlinable public var identUser: String? {
        get { box.f.identUser }
        _modify { makeUnique(); yield &box.f.identUser }
    }
    /// ` (may be forged)` after the relay.
    @inlinable public var mayBeForged: Bool {
        get { box.f.mayBeForged }
        _modify { makeUnique(); yield &box.f.mayBeForged }
    }

    @inlinable mutating func makeUnique() { CoWBox.makeUnique(&box) }

    public init(sender: String, size: Int64? = nil, msgClass: Int? = nil, nrcpts: Int? = nil, messageID: String? = nil,
                bodyType: String? = nil, proto: String? = nil, daemon: String? = nil, auth: String? = nil,
                relay: Peer = Peer(), identUser: String? = nil, mayBeForged: Bool = false) {
        box = CoWBox(Fields(sender: sender, size: size, msgClass: msgClass, nrcpts: nrcpts, messageID: messageID, bodyType: bodyType, proto: proto, daemon: daemon, auth: auth, relay: relay, identUser: identUser, mayBeForged: mayBeForged))
    }

    public static func == (a: SendmailFrom, b: SendmailFrom) -> Bool { a.box === b.box || a.box.f == b.box.f }
    public func hash(into h: inout Hasher) { box.f.hash(into: &h) }
}

/// Fields of a `to=` line (one delivery attempt of one or more recipients).
public struct SendmailTo: Hashable, Sendable {
    /// The values, stored once behind a reference so the event enums stay small and a copy
    /// of the event is one retain (copy-on-write: a mutation of a shared copy copies them first).
    @usableFromInline struct Fields: Hashable, Sendable {
        @usableFromInline var recipients: [String]
        @usableFromInline var more: Bool
        @usableFromInline var ctladdr: String?
        @usableFromInline var delay: Double?
        @usableFromInline var xdelay: Double?
        @usableFromInline var mailer: String?
        @usableFromInline var priority: Int64?
        @usableFromInline var relay: Peer
        @usableFromInline var dsn: String?
        @usableFromInline var reply: String?
        @usableFromInline var stat: String?
        @usableFromInline var status: DeliveryStatus
        @usableFromInline var response: String?
        @usableFromInline var nextQueueID: String?
        @usableFromInline var ntries: Int?
    }
    @usableFromInline var box: CoWBox<Fields>

    /// Recipients without `<>`, in logged order (a `[more]` line carries part of the list).
    @inlinable public var recipients: [String] {
        get { box.f.recipients }
        _modify { makeUnique(); yield &box.f.recipients }
    }
    /// The line ended its list with `[more]`: further lines carry the rest.
    @inlinable public var more: Bool {
        get { box.f.more }
        _modify { makeUnique(); yield &box.f.more }
    }
    /// Controlling user, without the ` (uid/gid)` part.
    @inlinable public var ctladdr: String? {
        get { box.f.ctladdr }
        _modify { makeUnique(); yield &box.f.ctladdr }
    }
    /// Total age and this attempt's duration, in seconds (`[D+]HH:MM:SS`).
    @inlinable public var delay: Double? {
        get { box.f.delay }
        _modify { makeUnique(); yield &box.f.delay }
    }
    @inlinable public var xdelay: Double? {
        get { box.f.xdelay }
        _modify { makeUnique(); yield &box.f.xdelay }
    }
    @inlinable public var mailer: String? {
        get { box.f.mailer }
        _modify { makeUnique(); yield &box.f.mailer }
    }
    @inlinable public var priority: Int64? {
        get { box.f.priority }
        _modify { makeUnique(); yield &box.f.priority }
    }
    /// Host actually used (`name. [ip]`, trailing dot dropped); empty Peer when absent.
    @inlinable public var relay: Peer {
        get { box.f.relay }
        _modify { makeUnique(); yield &box.f.relay }
    }
    @inlinable public var dsn: String? {
        get { box.f.dsn }
        _modify { makeUnique(); yield &box.f.dsn }
    }
    /// `reply=` (8.16+): the remote server's reply on failures.
    @inlinable public var reply: String? {
        get { box.f.reply }
        _modify { makeUnique(); yield &box.f.reply }
    }
    /// The `stat=` text as logged (`Sent (Ok: queued as X)`, `Deferred: ...`, `User unknown`).
    @inlinable public var stat: String? {
        get { box.f.stat }
        _modify { makeUnique(); yield &box.f.stat }
    }
    @inlinable public var status: DeliveryStatus {
        get { box.f.status }
        _modify { makeUnique(); yield &box.f.status }
    }
    /// Remote reply inside `Sent (...)`, or the failure text.
    @inlinable public var response: String? {
        get { box.f.response }
        _modify { makeUnique(); yield &box.f.response }
    }
    /// The next hop's queue ID found in `Sent (...)`.
    @inlinable public var nextQueueID: String? {
        get { box.f.nextQueueID }
        _modify { makeUnique(); yield &box.f.nextQueueID }
    }
    @inlinable public var ntries: Int? {
        get { box.f.ntries }
        _modify { makeUnique(); yield &box.f.ntries }
    }

    @inlinable mutating func makeUnique() { CoWBox.makeUnique(&box) }

    public init(recipients: [String], more: Bool = false, ctladdr: String? = nil, delay: Double? = nil,
                xdelay: Double? = nil, mailer: String? = nil, priority: Int64? = nil, relay: Peer = Peer(),
                dsn: String? = nil, reply: String? = nil, stat: String? = nil, status: DeliveryStatus,
                response: String? = nil, nextQueueID: String? = nil, ntries: Int? = nil) {
        box = CoWBox(Fields(recipients: recipients, more: more, ctladdr: ctladdr, delay: delay, xdelay: xdelay, mailer: mailer, priority: priority, relay: relay, dsn: dsn, reply: reply, stat: stat, status: status, response: response, nextQueueID: nextQueueID, ntries: ntries))
    }

    public static func == (a: SendmailTo, b: SendmailTo) -> Bool { a.box === b.box || a.box.f == b.box.f }
    public func hash(into h: inout Hasher) { box.f.hash(into: &h) }
}

/// Fields of a refusal line.
public struct SendmailReject: Hashable, Sendable {
    /// The values, stored once behind a reference so the event enums stay small and a copy
    /// of the event is one retain (copy-on-write: a mutation of a shared copy copies them first).
    @usableFromInline struct Fields: Hashable, Sendable {
        @usableFromInline var action: String
        @usableFromInline var stage: String?
        @usableFromInline var ruleset: String?
        @usableFromInline var arg1: String?
        @usableFromInline var arg2: String?
        @usableFromInline var client: Peer
        @usableFromInline var sender: String?
        @usableFromInline var recipient: String?
        @usableFromInline var code: String?
        @usableFromInline var dsn: String?
        @usableFromInline var reason: String?
    }
    @usableFromInline var box: CoWBox<Fields>

    /// reject, discard, quarantine, milter-reject, tempfail.
    @inlinable public var action: String {
        get { box.f.action }
        _modify { makeUnique(); yield &box.f.action }
    }
    /// CONNECT, MAIL, RCPT, END-OF-MESSAGE, STARTTLS, or the ruleset name when unknown.
    @inlinable public var stage: String? {
        get { box.f.stage }
        _modify { makeUnique(); yield &box.f.stage }
    }
    /// `check_rcpt`, ..., or `milter` / `milter=NAME`.
    @inlinable public var ruleset: String? {
        get { box.f.ruleset }
        _modify { makeUnique(); yield &box.f.ruleset }
    }
    @inlinable public var arg1: String? {
        get { box.f.arg1 }
        _modify { makeUnique(); yield &box.f.arg1 }
    }
    @inlinable public var arg2: String? {
        get { box.f.arg2 }
        _modify { makeUnique(); yield &box.f.arg2 }
    }
    @inlinable public var client: Peer {
        get { box.f.client }
        _modify { makeUnique(); yield &box.f.client }
    }
    @inlinable public var sender: String? {
        get { box.f.sender }
        _modify { makeUnique(); yield &box.f.sender }
    }
    @inlinable public var recipient: String? {
        get { box.f.recipient }
        _modify { makeUnique(); yield &box.f.recipient }
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

    public init(action: String, stage: String? = nil, ruleset: String? = nil, arg1: String? = nil, arg2: String? = nil,
                client: Peer = Peer(), sender: String? = nil, recipient: String? = nil, code: String? = nil,
                dsn: String? = nil, reason: String? = nil) {
        box = CoWBox(Fields(action: action, stage: stage, ruleset: ruleset, arg1: arg1, arg2: arg2, client: client, sender: sender, recipient: recipient, code: code, dsn: dsn, reason: reason))
    }

    public static func == (a: SendmailReject, b: SendmailReject) -> Bool { a.box === b.box || a.box.f == b.box.f }
    public func hash(into h: inout Hasher) { box.f.hash(into: &h) }
}
