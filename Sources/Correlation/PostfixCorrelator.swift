/// PostfixCorrelator: a pure state machine that turns the Postfix events of
/// one host into message, delivery and rejection records.
///
/// Contract:
/// - Input: `receive(context, event, into:)` in log order. Time comes only
///   from the events (`LineContext.time`); there is no wall clock, no I/O.
/// - Output: records appended to a `CorrelatorOutput`. A record is emitted
///   once and never revised (the tables are append-only).
/// - A message row is emitted at qmgr's first `(queue active)` line, except a
///   content filter's re-injection (client on a loopback address, no known
///   origin), which is held until the original's `queued as NEW` links it,
///   until `removed`, or until `holdWindow` of log time has passed.
/// - Deliveries are emitted at each delivery line; qmgr's `status=expired`
///   emits an `expired` row for every recipient whose last attempt was not
///   final.
/// - Same-host links (re-injection, bounce, requeue, forward) may be seen
///   before the new transaction's first line (forward references): they wait
///   in `pendingOrigins` for `holdWindow`.
/// - Queue-ID reuse: `client=`/`uid=` for a queue ID that already has a
///   client, or that is older than `staleAfter`, opens a new transaction.
/// - The whole state is `Codable`: saved with a checkpoint, it resumes the
///   machine exactly where it stopped.
///
/// Limits: memory is bounded by the open transactions and smtpd sessions;
/// both are dropped after `staleAfter` of log time without a line. TLS of an
/// outbound connection is attached to deliveries of the same smtp process
/// and relay address (first transaction after the TLS line, or later ones
/// with `conn_use` ≥ 2); a reused cached connection served by another
/// process gets none.
import MailTrailModel

/// Tunables of the correlator; defaults suit Postfix's defaults.
public struct CorrelatorConfig: Codable, Hashable, Sendable {
    /// How long (log time) a re-injected message waits for its origin link, and a forward link for its message.
    public var holdWindowSeconds: Int64 = 600
    /// Open transactions and sessions with no line for this long are dropped (Postfix's queue lifetime is 5 days).
    public var staleAfterSeconds: Int64 = 7 * 86_400
    public init() {}
}

/// Records produced by the correlator, in emission order per table.
public struct CorrelatorOutput: Sendable {
    public var messages: [MessageRecord] = []
    public var deliveries: [DeliveryRecord] = []
    public var rejections: [RejectionRecord] = []
    public init() {}
    public var isEmpty: Bool { messages.isEmpty && deliveries.isEmpty && rejections.isEmpty }
    public mutating func removeAll() {
        messages.removeAll(keepingCapacity: true)
        deliveries.removeAll(keepingCapacity: true)
        rejections.removeAll(keepingCapacity: true)
    }
}

/// The correlator of one host.
public struct PostfixCorrelator: Codable, Sendable {
    public let host: String
    public var config: CorrelatorConfig
    /// Open transactions by instance and queue ID.
    var transactions: [TxKey: Transaction] = [:]
    /// smtpd sessions by process.
    var sessions: [ProcessKey: Session] = [:]
    /// Last outbound TLS handshake per delivery process.
    var outboundTLS: [ProcessKey: OutboundTLS] = [:]
    /// Links seen before the transaction they point to, by the new queue ID.
    var pendingOrigins: [String: PendingOrigin] = [:]
    /// Keys of messages held back (waiting for their origin).
    var held: [TxKey] = []
    /// Postfix instances seen on this host (a handful), for cross-instance links.
    var instances: Set<String> = []
    /// The instance of the previous event (not saved: a cache of `instances` membership).
    var lastInstance: String?
    /// Highest log time seen: the machine's notion of "now".
    public private(set) var now: Timestamp = Timestamp(micros: 0)
    var lastSweep: Timestamp = Timestamp(micros: 0)

    public init(host: String, config: CorrelatorConfig = CorrelatorConfig()) {
        self.host = host
        self.config = config
    }

    /// Number of open transactions (for metrics and memory bounds).
    public var openTransactions: Int { transactions.count }

    /// A transaction's key: queue IDs are unique per Postfix instance. Built
    /// from the line's (interned) strings, so making one allocates nothing.
    struct TxKey: Hashable, Codable, Sendable {
        var instance: String
        var queueID: String
        /// Queue IDs are nearly unique across instances: hashing the instance too costs more than it saves.
        func hash(into h: inout Hasher) { h.combine(queueID) }
    }

    /// A process: `instance/service/program[pid]` (pids of different services never mix).
    struct ProcessKey: Hashable, Codable, Sendable {
        var instance: String
        var service: String
        var program: String
        var pid: Int32
        /// Pids are nearly unique on a host: the strings are compared, not hashed.
        func hash(into h: inout Hasher) { h.combine(pid) }
    }

    struct Transaction: Codable, Sendable {
        var instance: String
        var queueID: String
        var receivedAt: Timestamp
        var lastSeen: Timestamp
        var client: Peer?
        var tls: TLSInfo?
        var saslMethod: String?
        var saslUsername: String?
        var messageID: String?
        var sender: String?
        var size: Int64?
        var nrcpt: Int?
        var originQueueID: String?
        var originKind: OriginKind?
        var queued = false
        var emitted = false
        var heldSince: Timestamp?
        var msgKey: Int64?
        /// Last status per recipient, for `status=expired`.
        var recipients: [String: DeliveryStatus] = [:]
        var recipientOrder: [String] = []
        /// The client is on a loopback address: a content filter's re-injection.
        var loopbackClient = false
        /// The last delivery line's identity, to drop an exact repeat of it (see `delivery`).
        var lastDelivery: DeliveryIdentity?
    }

    /// What makes two delivery lines the same attempt: one process never logs the same
    /// recipient's outcome twice at the same instant.
    struct DeliveryIdentity: Codable, Sendable, Equatable {
        var recipient: String
        var status: DeliveryStatus
        var at: Timestamp
        var pid: Int32
    }

    struct Session: Codable, Sendable {
        var client: Peer
        var started: Timestamp
        var tls: TLSInfo?
    }

    struct OutboundTLS: Codable, Sendable {
        var peer: Peer
        var info: TLSInfo
        var at: Timestamp
        /// The first queue ID delivered over this connection.
        var firstQueueID: String?
    }

    struct PendingOrigin: Codable, Sendable {
        var originQueueID: String
        var kind: OriginKind
        var at: Timestamp
    }

    // MARK: - Input

    /// Feeds one event; appends what it completes to `out`.
    public mutating func receive(_ ctx: LineContext, _ event: PostfixEvent, into out: inout CorrelatorOutput) {
        if ctx.time > now { now = ctx.time }
        // Identical interned strings compare by pointer: the set is hashed only when the instance changes.
        if ctx.instance != lastInstance {
            if !instances.contains(ctx.instance) { instances.insert(ctx.instance) }
            lastInstance = ctx.instance
        }
        switch event {
        case .connect(let client):
            sessions[sessionKey(ctx)] = Session(client: client, started: ctx.time, tls: nil)
        case .disconnect:
            sessions[sessionKey(ctx)] = nil
        case .tls(let direction, let peer, let info):
            switch direction {
            case .inbound:
                let key = sessionKey(ctx)
                if sessions[key] == nil { sessions[key] = Session(client: peer, started: ctx.time, tls: nil) }
                sessions[key]?.tls = info
            case .outbound:
                outboundTLS[sessionKey(ctx)] = OutboundTLS(peer: peer, info: info, at: ctx.time, firstQueueID: nil)
            }
        case .client(let qid, let client, let method, let user, let origQID, _):
            let key = txKey(ctx.instance, qid)
            if let old = transactions[key], old.client != nil || isStale(old) {
                finish(key, into: &out)
            }
            let session = sessions[sessionKey(ctx)]
            update(key, ctx, qid) { tx in
                tx.client = client
                tx.saslMethod = method
                tx.saslUsername = user
                if let session {
                    tx.tls = session.tls
                    if tx.client?.port == nil, session.client.ip == client.ip { tx.client?.port = session.client.port }
                }
                tx.loopbackClient = isLoopback(client.ip)
                if let origQID { tx.originQueueID = origQID; tx.originKind = .reinjection }
            }
            adoptPendingOrigin(key)
        case .pickup(let qid, _, let sender, let origID):
            let key = txKey(ctx.instance, qid)
            if let old = transactions[key], old.client != nil || old.queued || isStale(old) {
                finish(key, into: &out)
            }
            update(key, ctx, qid) { tx in
                tx.sender = sender
                tx.client = Peer(name: "pickup")
                if let origID { tx.originQueueID = origID; tx.originKind = .requeue }
            }
            adoptPendingOrigin(key)
        case .messageID(let qid, let id):
            let key = txKey(ctx.instance, qid)
            if let old = transactions[key], old.emitted || isStale(old) { finish(key, into: &out) }
            update(key, ctx, qid) { tx in
                if !id.isEmpty { tx.messageID = id }
            }
            adoptPendingOrigin(key)
        case .queued(let qid, let sender, let size, let nrcpt):
            let key = txKey(ctx.instance, qid)
            let emitted = update(key, ctx, qid) { tx in
                if !tx.queued {
                    tx.queued = true
                    tx.sender = sender
                    tx.size = size
                    tx.nrcpt = nrcpt
                }
                return tx.emitted
            }
            adoptPendingOrigin(key)
            if !emitted { emitOrHold(key, into: &out) }
        case .delivery(let qid, let d):
            delivery(ctx, qid, d, into: &out)
        case .expired(let qid, _, let status):
            let key = txKey(ctx.instance, qid)
            guard var tx = transactions[key] else { break }
            tx.lastSeen = ctx.time
            let mk = messageKey(&tx)
            for r in tx.recipientOrder where !isFinal(tx.recipients[r] ?? .deferred) {
                out.deliveries.append(DeliveryRecord(
                    at: ctx.time, msgKey: mk, host: host, instance: ctx.instance, queueID: qid,
                    receivedAt: tx.receivedAt, recipient: r, status: .expired, transport: ctx.program,
                    relay: Peer(name: "none"), response: status == "expired" ? "returned to sender" : status))
                tx.recipients[r] = .expired
            }
            transactions[key] = tx
        case .removed(let qid, _):
            finish(txKey(ctx.instance, qid), into: &out)
        case .notification(let qid, _, let newQID):
            link(instance: ctx.instance, origin: qid, newQueueID: newQID, kind: .bounce, at: ctx.time, into: &out)
        case .reject(let qid, let r):
            var mk: Int64
            if let qid, let tx = transactions[txKey(ctx.instance, qid)] {
                // Not cached: an RCPT reject comes before cleanup's message-id.
                mk = tx.msgKey ?? MessageKey.forQueue(host: host, queueID: qid)
                transactions[txKey(ctx.instance, qid)]?.lastSeen = ctx.time
            } else if let qid {
                mk = MessageKey.forQueue(host: host, queueID: qid)
            } else {
                mk = MessageKey.forQueue(host: host, queueID: "NOQUEUE/" + (r.client.ip ?? ""))
            }
            out.rejections.append(RejectionRecord(
                at: ctx.time, msgKey: mk, host: host, instance: ctx.instance, queueID: qid,
                program: ctx.program, action: r.action, stage: r.stage, client: r.client, helo: r.helo,
                sender: r.sender, recipient: r.recipient, proto: r.proto, code: r.code, dsn: r.dsn,
                reason: r.reason))
        case .admin:
            break
        }
        releaseHeld(into: &out)
        if now.micros - lastSweep.micros > 3_600_000_000 { sweep(into: &out) }
    }

    /// Emits everything held back (end of a one-shot ingest). The state stays
    /// valid: later lines of those transactions are still correlated.
    public mutating func flushHeld(into out: inout CorrelatorOutput) {
        for key in held { emit(key, into: &out) }
        held.removeAll()
    }

    // MARK: - Steps

    private mutating func delivery(_ ctx: LineContext, _ qid: String, _ d: PostfixDelivery,
                                   into out: inout CorrelatorOutput) {
        let key = txKey(ctx.instance, qid)
        var known = true
        let host = self.host
        // A repeated line (a log pipeline's duplicate, or a damaged copy of the line that
        // follows it) would otherwise count one attempt twice.
        let identity = DeliveryIdentity(recipient: d.recipient, status: d.status, at: ctx.time, pid: ctx.pid)
        let (mk, receivedAt, repeated) = update(key, ctx, qid, created: &known) { tx in
            if tx.lastDelivery == identity { return (Int64(0), tx.receivedAt, true) }
            tx.lastDelivery = identity
            if tx.recipients.updateValue(d.status, forKey: d.recipient) == nil { tx.recipientOrder.append(d.recipient) }
            return (Self.messageKey(&tx, host: host), tx.receivedAt, false)
        }
        if repeated { return }

        // Outbound TLS of this process's connection to this relay.
        var tls: TLSInfo? = nil
        let pkey = sessionKey(ctx)
        if var o = outboundTLS[pkey] {
            let sameRelay = o.peer.ip != nil && o.peer.ip == d.relay.ip
            if sameRelay && (o.firstQueueID == nil || o.firstQueueID == qid || (d.connUse ?? 1) >= 2) {
                tls = o.info
                if o.firstQueueID == nil { o.firstQueueID = qid; outboundTLS[pkey] = o }
            } else {
                outboundTLS[pkey] = nil
            }
        }
        out.deliveries.append(DeliveryRecord(
            at: ctx.time, msgKey: mk, host: host, instance: ctx.instance, queueID: qid,
            receivedAt: known ? receivedAt : nil, recipient: d.recipient, origRecipient: d.origRecipient,
            status: d.status, dsn: d.dsn, transport: ctx.program, relay: d.relay, delay: d.delay,
            delays: d.delays, connUse: d.connUse, tlsFeature: d.tlsFeature, tls: tls, response: d.response,
            nextQueueID: d.nextQueueID))

        // Same-host links: a filter's re-injection (loopback relay) or local(8) forwarding.
        if let next = d.nextQueueID, d.status == .sent {
            if let resp = d.response, resp.hasPrefix("forwarded as ") {
                link(instance: ctx.instance, origin: qid, newQueueID: next, kind: .forward, at: ctx.time, into: &out)
            } else if isLoopback(d.relay.ip) {
                link(instance: ctx.instance, origin: qid, newQueueID: next, kind: .reinjection, at: ctx.time,
                     into: &out)
            }
        }
    }

    /// Records that `newQueueID` on this host came from `origin`; works in both orders.
    private mutating func link(instance: String, origin: String, newQueueID: String, kind: OriginKind,
                               at: Timestamp, into out: inout CorrelatorOutput) {
        // The new transaction may live in another instance of the same host (multi-instance hand-over).
        let candidates = [txKey(instance, newQueueID)]
            + instances.subtracting([instance]).sorted().map { txKey($0, newQueueID) }
        for key in candidates {
            guard var tx = transactions[key] else { continue }
            if tx.emitted || tx.originQueueID != nil { return }
            tx.originQueueID = origin
            tx.originKind = kind
            transactions[key] = tx
            if tx.heldSince != nil { emit(key, into: &out) }
            return
        }
        pendingOrigins[newQueueID] = PendingOrigin(originQueueID: origin, kind: kind, at: at)
    }

    private mutating func adoptPendingOrigin(_ key: TxKey) {
        guard !pendingOrigins.isEmpty, var tx = transactions[key], tx.originQueueID == nil,
              let p = pendingOrigins.removeValue(forKey: tx.queueID) else { return }
        tx.originQueueID = p.originQueueID
        tx.originKind = p.kind
        transactions[key] = tx
    }

    private mutating func emitOrHold(_ key: TxKey, into out: inout CorrelatorOutput) {
        guard var tx = transactions[key] else { return }
        if tx.loopbackClient && tx.originQueueID == nil {
            if tx.heldSince == nil {
                tx.heldSince = tx.lastSeen
                transactions[key] = tx
                held.append(key)
            }
            return
        }
        emit(key, into: &out)
    }

    private mutating func emit(_ key: TxKey, into out: inout CorrelatorOutput) {
        let host = self.host
        var wasHeld = false
        let found: Transaction? = Self.modify(&transactions[key]) { tx in
            guard !tx.emitted, tx.queued else { return nil }
            tx.msgKey = Self.messageKey(&tx, host: host)
            tx.emitted = true
            if tx.heldSince != nil { tx.heldSince = nil; wasHeld = true }
            return tx
        }
        guard let tx = found, let mk = tx.msgKey else { return }
        if wasHeld { held.removeAll { $0 == key } }
        out.messages.append(MessageRecord(
            receivedAt: tx.receivedAt, msgKey: mk, host: host, mta: "postfix", instance: tx.instance,
            queueID: tx.queueID, messageID: tx.messageID, sender: tx.sender, client: tx.client ?? Peer(),
            size: tx.size, nrcpt: tx.nrcpt, tls: tx.tls, saslMethod: tx.saslMethod,
            saslUsername: tx.saslUsername, originQueueID: tx.originQueueID, originKind: tx.originKind))
    }

    /// Ends a transaction: emits its message if it was queued but not yet emitted, forgets it.
    private mutating func finish(_ key: TxKey, into out: inout CorrelatorOutput) {
        guard transactions[key] != nil else { return }
        emit(key, into: &out)
        transactions[key] = nil
        held.removeAll { $0 == key }
    }

    private mutating func releaseHeld(into out: inout CorrelatorOutput) {
        guard !held.isEmpty else { return }
        let limit = now.micros - config.holdWindowSeconds * 1_000_000
        for key in held {
            if let since = transactions[key]?.heldSince, since.micros <= limit { emit(key, into: &out) }
        }
    }

    /// Drops state nobody will complete: stale transactions, sessions, TLS entries, forward links.
    private mutating func sweep(into out: inout CorrelatorOutput) {
        lastSweep = now
        let stale = now.micros - config.staleAfterSeconds * 1_000_000
        for (key, tx) in transactions where tx.lastSeen.micros < stale { finish(key, into: &out) }
        let dayAgo = now.micros - 86_400_000_000
        sessions = sessions.filter { $0.value.started.micros >= dayAgo }
        let hourAgo = now.micros - 3_600_000_000
        outboundTLS = outboundTLS.filter { $0.value.at.micros >= hourAgo }
        let holdLimit = now.micros - config.holdWindowSeconds * 1_000_000
        pendingOrigins = pendingOrigins.filter { $0.value.at.micros >= holdLimit }
    }

    // MARK: - Helpers

    private func isStale(_ tx: Transaction) -> Bool {
        now.micros - tx.lastSeen.micros > config.staleAfterSeconds * 1_000_000
    }

    private func messageKey(_ tx: inout Transaction) -> Int64 { Self.messageKey(&tx, host: host) }

    private static func messageKey(_ tx: inout Transaction, host: String) -> Int64 {
        if let k = tx.msgKey { return k }
        let k = tx.messageID.map(MessageKey.forMessageID) ?? MessageKey.forQueue(host: host, queueID: tx.queueID)
        tx.msgKey = k
        return k
    }

    private func txKey(_ instance: String, _ qid: String) -> TxKey { TxKey(instance: instance, queueID: qid) }

    /// Applies `body` to an optional dictionary value in place; nil when absent.
    @inline(__always)
    private static func modify<R>(_ slot: inout Transaction?, _ body: (inout Transaction) -> R?) -> R? {
        guard slot != nil else { return nil }
        return body(&slot!)
    }

    /// Changes the transaction `key` in place (created when missing), stamping `lastSeen`;
    /// one hash lookup and no copy of the transaction.
    @inline(__always)
    @discardableResult
    private mutating func update<R>(_ key: TxKey, _ ctx: LineContext, _ qid: String,
                                    _ body: (inout Transaction) -> R) -> R {
        var known = true
        return update(key, ctx, qid, created: &known, body)
    }

    /// As `update(_:_:_:_:)`; `known` becomes false when the transaction had to be created.
    @inline(__always)
    private mutating func update<R>(_ key: TxKey, _ ctx: LineContext, _ qid: String, created known: inout Bool,
                                    _ body: (inout Transaction) -> R) -> R {
        var wasKnown = true
        func stamped(_ tx: inout Transaction) -> R {
            tx.lastSeen = ctx.time
            return body(&tx)
        }
        let r = stamped(&transactions[key, default: {
            wasKnown = false
            return Transaction(instance: ctx.instance, queueID: qid, receivedAt: ctx.time, lastSeen: ctx.time)
        }()])
        known = wasKnown
        return r
    }

    private func sessionKey(_ ctx: LineContext) -> ProcessKey {
        ProcessKey(instance: ctx.instance, service: ctx.service, program: ctx.program, pid: ctx.pid)
    }

    private func isFinal(_ s: DeliveryStatus) -> Bool {
        switch s {
        case .deferred, .softbounce: return false
        default: return true
        }
    }
}

/// True for 127.0.0.0/8 and ::1 (a content filter's re-injection comes from there).
func isLoopback(_ ip: String?) -> Bool {
    guard let ip else { return false }
    return ip.hasPrefix("127.") || ip == "::1" || ip == "::ffff:127.0.0.1"
}
