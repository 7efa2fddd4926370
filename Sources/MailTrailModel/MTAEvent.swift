/// MTAEvent: what a parser understood from one log line, handed to the correlator.
///
/// Contract: an event carries the line's context (UTC time, host, MTA instance,
/// program, pid, position) and one fact. Parsers never look at other lines;
/// the correlator sees bytes only through the spans of a `PostfixLine` (the
/// hot-path form of `PostfixEvent`). New facts are new cases; consumers must
/// ignore cases they do not know.

/// Where a line came from and when it was written (from the log, never the wall clock).
public struct LineContext: Hashable, Sendable, Codable {
    public var time: Timestamp
    public var host: String
    /// MTA instance: for Postfix the first component of the syslog tag (`postfix`, `postfix-out`);
    /// empty for a one-component tag (`sm-mta`, `exim4`, `exim-in`), whose name is in `program`.
    public var instance: String
    /// Daemon: the last component of the tag (`smtpd`, `qmgr`, `smtp`, ...).
    public var program: String
    /// Middle components of a Postfix tag (`submission` in `postfix/submission/smtpd`), else empty.
    public var service: String
    public var pid: Int32
    /// Byte offset of the line in its source stream.
    public var offset: Int64

    public init(time: Timestamp, host: String, instance: String, program: String, service: String = "",
                pid: Int32, offset: Int64 = 0) {
        self.time = time; self.host = host; self.instance = instance; self.program = program
        self.service = service; self.pid = pid; self.offset = offset
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
