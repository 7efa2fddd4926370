/// MTAEvent: what a parser understood from one log line, handed to the correlator.
///
/// Contract: an event carries the line's context (UTC time, host, MTA instance,
/// program, pid, position) and one fact. Parsers never look at other lines;
/// the correlator sees bytes only through the spans of a `PostfixLine` (the
/// hot-path form of `PostfixEvent`). New facts are new cases; consumers must
/// ignore cases they do not know.

/// The three parts of a syslog tag (`instance/service/program`), shared: the framer makes one per
/// distinct tag, so a context changes its tag with one reference and equal tags are usually the same object.
public final class LineTag: Hashable, Sendable {
    public let instance: String
    public let service: String
    public let program: String
    /// `program`'s UTF-8, for rows packed from bytes (a delivery's transport): copying it from
    /// here costs a few instructions, from the String a call that copies a small String out first.
    public let programUTF8: [UInt8]

    public init(instance: String, service: String = "", program: String) {
        self.instance = instance; self.service = service; self.program = program
        programUTF8 = Array(program.utf8)
    }

    /// The empty tag (no instance, service or program).
    public static let empty = LineTag(instance: "", program: "")

    public static func == (a: LineTag, b: LineTag) -> Bool {
        a === b || (a.program == b.program && a.instance == b.instance && a.service == b.service)
    }

    public func hash(into h: inout Hasher) {
        h.combine(instance); h.combine(program); h.combine(service)
    }
}

/// Where a line came from and when it was written (from the log, never the wall clock).
public struct LineContext: Hashable, Sendable, Codable {
    public var time: Timestamp
    public var host: String
    /// The syslog tag's parts (`instance`, `service`, `program` below read it).
    public var tag: LineTag
    public var pid: Int32
    /// Byte offset of the line in its source stream.
    public var offset: Int64

    /// MTA instance: for Postfix the first component of the syslog tag (`postfix`, `postfix-out`);
    /// empty for a one-component tag (`sm-mta`, `exim4`, `exim-in`), whose name is in `program`.
    public var instance: String {
        get { tag.instance }
        set { tag = LineTag(instance: newValue, service: tag.service, program: tag.program) }
    }
    /// Daemon: the last component of the tag (`smtpd`, `qmgr`, `smtp`, ...).
    public var program: String {
        get { tag.program }
        set { tag = LineTag(instance: tag.instance, service: tag.service, program: newValue) }
    }
    /// Middle components of a Postfix tag (`submission` in `postfix/submission/smtpd`), else empty.
    public var service: String {
        get { tag.service }
        set { tag = LineTag(instance: tag.instance, service: newValue, program: tag.program) }
    }

    public init(time: Timestamp, host: String, instance: String, program: String, service: String = "",
                pid: Int32, offset: Int64 = 0) {
        self.init(time: time, host: host, tag: LineTag(instance: instance, service: service, program: program),
                  pid: pid, offset: offset)
    }

    public init(time: Timestamp, host: String, tag: LineTag, pid: Int32, offset: Int64 = 0) {
        self.time = time; self.host = host; self.tag = tag; self.pid = pid; self.offset = offset
    }

    // Equality, hashing and coding as when the tag's parts were stored fields (same JSON keys and order).
    public static func == (a: LineContext, b: LineContext) -> Bool {
        a.time == b.time && a.pid == b.pid && a.offset == b.offset && a.host == b.host && a.tag == b.tag
    }

    public func hash(into h: inout Hasher) {
        h.combine(time); h.combine(host); h.combine(tag); h.combine(pid); h.combine(offset)
    }

    enum CodingKeys: String, CodingKey { case time, host, instance, program, service, pid, offset }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        time = try c.decode(Timestamp.self, forKey: .time)
        host = try c.decode(String.self, forKey: .host)
        tag = LineTag(instance: try c.decode(String.self, forKey: .instance),
                      service: try c.decode(String.self, forKey: .service),
                      program: try c.decode(String.self, forKey: .program))
        pid = try c.decode(Int32.self, forKey: .pid)
        offset = try c.decode(Int64.self, forKey: .offset)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(time, forKey: .time)
        try c.encode(host, forKey: .host)
        try c.encode(tag.instance, forKey: .instance)
        try c.encode(tag.program, forKey: .program)
        try c.encode(tag.service, forKey: .service)
        try c.encode(pid, forKey: .pid)
        try c.encode(offset, forKey: .offset)
    }
}

/// Which way a TLS connection went, seen from the logging host.
public enum TLSDirection: String, Sendable, Codable { case inbound, outbound }

/// One parsed Postfix fact.
public enum PostfixEvent: Hashable, Sendable {
    /// smtpd `connect from NAME[ADDR]`.
    case connect(client: Peer)
    /// smtpd `disconnect from NAME[ADDR] ...`.
    case disconnect(client: Peer)
    /// `... TLS connection established from|to NAME[ADDR]: PROTO with cipher C (n/m bits)`.
    case tls(direction: TLSDirection, peer: Peer, info: TLSInfo)
    /// smtpd `QID: client=NAME[ADDR][, sasl_method=M][, sasl_username=U][, orig_queue_id=Q][, orig_client=...]`.
    case client(queueID: String, client: Peer, saslMethod: String?, saslUsername: String?,
                origQueueID: String?, origClient: Peer?)
    /// pickup `QID: uid=N from=<S>[ orig_id=Q]`.
    case pickup(queueID: String, uid: Int?, sender: String, origID: String?)
    /// cleanup `QID: message-id=<ID>` (ID without brackets; empty when `<>`).
    case messageID(queueID: String, messageID: String)
    /// qmgr `QID: from=<S>, size=N, nrcpt=N (queue active)`.
    case queued(queueID: String, sender: String, size: Int64?, nrcpt: Int?)
    /// qmgr `QID: from=<S>, status=expired, returned to sender` (or force-expired).
    case expired(queueID: String, sender: String, status: String)
    /// qmgr/postsuper `QID: removed` (and `removed (canceled|discarded)`).
    case removed(queueID: String, detail: String?)
    /// A delivery agent's per-recipient line.
    case delivery(queueID: String, PostfixDelivery)
    /// bounce `QID: sender non-delivery notification: NEWQID` (and delay/success/postmaster variants).
    case notification(queueID: String, kind: String, newQueueID: String)
    /// smtpd/postscreen/cleanup refusals and policy actions, with or without a queue ID.
    case reject(queueID: String?, PostfixReject)
    /// postsuper `QID: requeued`, `placed on hold`, `released from hold`, `expired`.
    case admin(queueID: String, action: String)
}

/// Fields of a delivery line (`to=<R>, orig_to=<O>, relay=..., delay=..., status=... (TEXT)`).
public struct PostfixDelivery: Hashable, Sendable {
    public var recipient: String
    public var origRecipient: String?
    public var relay: Peer
    public var connUse: Int?
    public var delay: Double?
    public var delays: [Double]?
    public var tlsFeature: String?
    public var dsn: String?
    public var status: DeliveryStatus
    public var response: String?
    /// Queue ID found in the response (`queued as X`, `id=X`, `X Message accepted`, `forwarded as X`).
    public var nextQueueID: String?

    public init(recipient: String, origRecipient: String? = nil, relay: Peer = Peer(), connUse: Int? = nil,
                delay: Double? = nil, delays: [Double]? = nil, tlsFeature: String? = nil, dsn: String? = nil,
                status: DeliveryStatus, response: String? = nil, nextQueueID: String? = nil) {
        self.recipient = recipient; self.origRecipient = origRecipient; self.relay = relay
        self.connUse = connUse; self.delay = delay; self.delays = delays; self.tlsFeature = tlsFeature
        self.dsn = dsn; self.status = status; self.response = response; self.nextQueueID = nextQueueID
    }
}

/// Fields of a refusal / policy-action line.
public struct PostfixReject: Hashable, Sendable {
    /// reject, reject_warning, milter-reject, hangup, discard, hold, warning, ...
    public var action: String
    /// RCPT, CONNECT, END-OF-MESSAGE, header, body, ...
    public var stage: String?
    public var client: Peer
    public var code: String?
    public var dsn: String?
    public var reason: String?
    public var sender: String?
    public var recipient: String?
    public var proto: String?
    public var helo: String?

    public init(action: String, stage: String? = nil, client: Peer = Peer(), code: String? = nil,
                dsn: String? = nil, reason: String? = nil, sender: String? = nil, recipient: String? = nil,
                proto: String? = nil, helo: String? = nil) {
        self.action = action; self.stage = stage; self.client = client; self.code = code; self.dsn = dsn
        self.reason = reason; self.sender = sender; self.recipient = recipient; self.proto = proto
        self.helo = helo
    }
}

/// The result of parsing one line.
public enum ParseOutcome: Hashable, Sendable {
    case postfix(LineContext, PostfixEvent)
    case sendmail(LineContext, SendmailEvent)
    case exim(LineContext, EximEvent)
    /// Sophos UTM smtpd (QMGR/SCANNER/SecureMail) lines; its exim-in/exim-out lines are `.exim`.
    case utm(LineContext, UTMEvent)
    /// A line that was recognised and deliberately not stored (e.g. `postfix/anvil` statistics).
    case ignored(category: String)
    /// A line that was not understood; `reason` says what was missing.
    case unparsed(reason: String)
}
