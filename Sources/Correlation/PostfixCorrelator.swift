/// PostfixCorrelator: a pure state machine that turns the Postfix events of
/// one host into message, delivery and rejection records.
///
/// Contract:
/// - Input: `receive(context, line, into:)` in log order (the parser's
///   `PostfixLine`, whose spans become Strings only for stored values; the
///   `PostfixEvent` overload feeds the same machine). Time comes only from
///   the events (`LineContext.time`); there is no wall clock, no I/O.
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
///   machine exactly where it stopped. After emission a transaction keeps
///   only what later lines read (its message ID, sender, TLS and SASL values
///   and client moved into the row; an empty client marks that it had one),
///   so a state saved then holds them no more; states saved before that (by
///   any version) are read as they were.
///
/// - Tables are `FastMap`s keyed by inline queue IDs (`QueueID`) and pids;
///   smtpd sessions keep only the client's address and port (all a later
///   `client=` line takes from them); a disconnect marks its session ended and
///   the process's next session reuses the entry (`ProcessTable`; outbound
///   TLS entries alike).
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
    public var messages = MessageRows()
    public var deliveries = DeliveryRows()
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
    var transactions = FastMap<TxKey, Transaction>()
    /// smtpd sessions by process (ended ones are kept for the process's next session, see `ProcessTable`).
    var sessions = ProcessTable<Session>()
    /// Last outbound TLS handshake per delivery process.
    var outboundTLS = ProcessTable<OutboundTLS>()
    /// Links seen before the transaction they point to, by the new queue ID.
    var pendingOrigins: [String: PendingOrigin] = [:]
    /// Keys of messages held back (waiting for their origin).
    var held: [TxKey] = []
    /// Postfix instances seen on this host (a handful), for cross-instance links.
    var instances: Set<String> = []
    /// The instance of the previous event (a cache of `instances` membership).
    var lastInstance: String?
    /// Highest log time seen: the machine's notion of "now".
    public private(set) var now: Timestamp = Timestamp(micros: 0)
    var lastSweep: Timestamp = Timestamp(micros: 0)
    /// Strings of values that repeat (TLS, peers, status codes, addresses); not saved. During a
    /// line of a parser's buffer, the buffer's cache shared by all hosts (see `receive`).
    var strings = StringCache()
    /// The TLS facts of recent TLS lines by their text (a handful per host): a line seen lately
    /// takes the same shared `TLSInfo`; not saved.
    var tlsMemo = PostfixTLSMemo()

    /// Entries of the cache a parser's lines share (all hosts' senders, recipients, relays).
    static let sharedCacheEntries = 4096

    enum CodingKeys: String, CodingKey {
        case host, config, transactions, sessions, outboundTLS, pendingOrigins, held, instances, lastInstance, now,
             lastSweep
    }

    public init(host: String, config: CorrelatorConfig = CorrelatorConfig()) {
        self.host = host
        self.config = config
    }

    /// Number of open transactions (for metrics and memory bounds).
    public var openTransactions: Int { transactions.count }

    /// A transaction's key: queue IDs are unique per Postfix instance. The instance is the
    /// line's interned string, so making a key allocates nothing.
    struct TxKey: FastKey, Codable, Sendable {
        var instance: String
        var queueID: QueueID
        /// Queue IDs are nearly unique across instances: only the ID is hashed.
        var fastHash: Int { queueID.fastHash }
        static func == (a: TxKey, b: TxKey) -> Bool { a.queueID == b.queueID && a.instance == b.instance }

        init(instance: String, queueID: QueueID) { self.instance = instance; self.queueID = queueID }

        // Saved as before the inline IDs: {"instance": ..., "queueID": "..."}.
        enum CodingKeys: String, CodingKey { case instance, queueID }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            instance = try c.decode(String.self, forKey: .instance)
            queueID = QueueID(try c.decode(String.self, forKey: .queueID))
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(instance, forKey: .instance)
            try c.encode(queueID.string, forKey: .queueID)
        }
    }

    /// A process: `instance/service/program[pid]` (pids of different services never mix). A key
    /// that is stored holds the line's shared `LineTag` (`owner`, one reference, not three
    /// strings); a key made only to look one up borrows the line's tag (`owner` nil, `ref` only),
    /// so making it costs no retain and dropping it no release.
    struct ProcessKey: FastKey, Codable, Sendable {
        /// The tag, held by stored keys; nil in a lookup key (the line holds the tag meanwhile).
        var owner: LineTag?
        /// The tag's identity, valid while `owner` or the line that made the key holds it.
        var ref: Unmanaged<LineTag>
        var pid: Int32
        /// Pids are nearly unique on a host: the tag is compared, not hashed.
        var fastHash: Int {
            let h = UInt64(UInt32(bitPattern: pid)) &* 0x9E37_79B9_7F4A_7C15
            return Int(truncatingIfNeeded: h ^ (h >> 29))
        }
        var tag: LineTag { ref.takeUnretainedValue() }
        // The tags of one program are one shared object: identity first, the fields only when it fails.
        static func == (a: ProcessKey, b: ProcessKey) -> Bool {
            a.pid == b.pid && (a.ref.toOpaque() == b.ref.toOpaque() || a.tag == b.tag)
        }

        /// A key to store: it holds `tag`.
        init(tag: LineTag, pid: Int32) { owner = tag; ref = Unmanaged.passUnretained(tag); self.pid = pid }

        /// A key to look up with while the caller holds `tag` (it does not hold it).
        init(borrowing tag: LineTag, pid: Int32) { owner = nil; ref = Unmanaged.passUnretained(tag); self.pid = pid }

        // Saved as when the parts were fields: {"instance", "service", "program", "pid"}.
        enum CodingKeys: String, CodingKey { case instance, service, program, pid }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(tag: LineTag(instance: try c.decode(String.self, forKey: .instance),
                                   service: try c.decode(String.self, forKey: .service),
                                   program: try c.decode(String.self, forKey: .program)),
                      pid: try c.decode(Int32.self, forKey: .pid))
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(tag.instance, forKey: .instance)
            try c.encode(tag.service, forKey: .service)
            try c.encode(tag.program, forKey: .program)
            try c.encode(pid, forKey: .pid)
        }
    }

    struct Transaction: Sendable {
        var instance: String
        var queueID: String
        var receivedAt: Timestamp
        var lastSeen: Timestamp
        var client: Peer?
        var tls: TLSInfo?
        var saslMethod: String?
        var saslUsername: String?
        var messageID: String?
        /// `MessageKey.forMessageID(messageID)` when known from the line (not saved: made again).
        var idKey: Int64? = nil
        var sender: String?
        var size: Int64?
        var nrcpt: Int?
        var originQueueID: String?
        var originKind: OriginKind?
        var queued = false
        var emitted = false
        var heldSince: Timestamp?
        var msgKey: Int64?
        /// Last status per recipient, in first-seen order, for `status=expired`.
        var recipients = OneOrMore<RecipientStatus>()
        /// The client is on a loopback address: a content filter's re-injection.
        var loopbackClient = false
        /// The last delivery line's identity, to drop an exact repeat of it (see `delivery`).
        var lastDelivery: LastDelivery?
        // No hand-written initialiser: the memberwise one builds the (large) value in place, where
        // a hand-written one made a temporary and copied it (see Records.swift).
    }

    struct RecipientStatus: Sendable {
        var address: String
        /// `TextKey(address)`, to compare a delivery line's recipient without reading the String.
        var key: TextKey
        var status: DeliveryStatus
    }

    /// `DeliveryIdentity` as a transaction holds it: the recipient is the one at `recipient` in
    /// its `recipients` (whose text equals the line's as Strings compare), so the identity holds
    /// no String of its own (no retain and release per delivery line).
    struct LastDelivery: Sendable {
        var recipient: Int
        var status: DeliveryStatus
        var at: Timestamp
        var pid: Int32
    }

    /// What makes two delivery lines the same attempt: one process never logs the same
    /// recipient's outcome twice at the same instant. (The saved form of `LastDelivery`.)
    struct DeliveryIdentity: Codable, Sendable, Equatable {
        var recipient: String
        /// `TextKey(recipient)` (not saved: made again when read).
        var key: TextKey
        var status: DeliveryStatus
        var at: Timestamp
        var pid: Int32

        init(recipient: String, key: TextKey, status: DeliveryStatus, at: Timestamp, pid: Int32) {
            self.recipient = recipient; self.key = key; self.status = status; self.at = at; self.pid = pid
        }

        enum CodingKeys: String, CodingKey { case recipient, status, at, pid }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            recipient = try c.decode(String.self, forKey: .recipient)
            key = TextKey(recipient)
            status = try c.decode(DeliveryStatus.self, forKey: .status)
            at = try c.decode(Timestamp.self, forKey: .at)
            pid = try c.decode(Int32.self, forKey: .pid)
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(recipient, forKey: .recipient)
            try c.encode(status, forKey: .status)
            try c.encode(at, forKey: .at)
            try c.encode(pid, forKey: .pid)
        }

        /// The cheap fields first: a line of another second or process is told apart without
        /// comparing the recipient's String (a repeat is rare; every delivery line asks).
        static func == (a: Self, b: Self) -> Bool {
            a.at == b.at && a.pid == b.pid && a.status == b.status && a.recipient == b.recipient
        }
    }

    struct Session: ProcessEntry {
        var client: Peer
        var started: Timestamp
        var tls: TLSInfo?
        /// Disconnected: the entry only waits for its process's next session (not saved).
        var ended = false

        enum CodingKeys: String, CodingKey { case client, started, tls }
    }

    /// An entry of a `ProcessTable`: `ended` marks it gone.
    protocol ProcessEntry: Codable, Sendable {
        var ended: Bool { get set }
    }

    /// Entries by process — smtpd sessions, outbound TLS connections. An entry that ends (a
    /// disconnect; an outbound TLS entry that a delivery does not match) is marked ended
    /// instead of removed, and the process's next entry reuses it in place: a Postfix process
    /// serves many sessions or connections one after another, so the table keeps about one
    /// entry per process and an entry costs no insertion and no removal. An ended entry is
    /// absent to every reader and is not saved (the saved table is that of the live entries,
    /// as when ending removed them); ended entries go with the sweep like live ones.
    struct ProcessTable<Value: ProcessEntry>: Codable, Sendable {
        var map = FastMap<ProcessKey, Value>()

        init() {}

        /// The index of the live entry of `key`, or nil.
        @inline(__always)
        func live(_ key: ProcessKey) -> Int? {
            guard let i = map.index(of: key), !map.values[i].ended else { return nil }
            return i
        }

        /// Sets the entry of the line's process (`key` borrows the tag, `stored` holds it).
        @inline(__always)
        mutating func set(_ key: ProcessKey, stored: @autoclosure () -> ProcessKey, _ entry: consuming Value) {
            var value = entry
            if let i = map.index(of: key) { map.withValue(at: i) { s in swap(&s, &value) } } else { map[stored()] = value }
        }

        /// Marks the entry at `i` ended.
        @inline(__always)
        mutating func end(at i: Int) { map.withValue(at: i) { s in s.ended = true } }

        init(from decoder: Decoder) throws { map = try FastMap(from: decoder) }

        func encode(to encoder: Encoder) throws {
            var saved = FastMap<ProcessKey, Value>()
            for i in map.keys.indices where !map.values[i].ended { saved[map.keys[i]] = map.values[i] }
            try saved.encode(to: encoder)
        }
    }

    struct OutboundTLS: ProcessEntry {
        var peer: Peer
        var info: TLSInfo
        var at: Timestamp
        /// The first queue ID delivered over this connection.
        var firstQueueID: String?
        /// Forgotten (it did not match a delivery): the entry only waits for its process's next
        /// TLS line (not saved).
        var ended = false

        enum CodingKeys: String, CodingKey { case peer, info, at, firstQueueID }
    }

    struct PendingOrigin: Codable, Sendable {
        var originQueueID: String
        var kind: OriginKind
        var at: Timestamp
    }

    // MARK: - Input

    /// Feeds one event given as Strings (tests, tools); the same machine as the line form.
    public mutating func receive(_ ctx: LineContext, _ event: PostfixEvent, into out: inout CorrelatorOutput) {
        PostfixLine.withLine(event) { receive(ctx, $0, into: &out) }
    }

    /// Feeds one parsed line; appends what it completes to `out`.
    public mutating func receive(_ ctx: LineContext, _ line: PostfixLine, into out: inout CorrelatorOutput) {
        // The parser's cache, shared by all hosts' correlators, stands in for this one's during the
        // line (swapped: no reference count changes).
        // (Swapped back at the end of this function, which has no other exit.)
        let shared = line.sharesStrings
        if shared { line.swapSharedStrings(&strings, entries: Self.sharedCacheEntries) }
        if ctx.time > now { now = ctx.time }
        // Identical interned strings compare by pointer: the set is hashed only when the instance changes.
        if ctx.instance != lastInstance {
            if !instances.contains(ctx.instance) { instances.insert(ctx.instance) }
            lastInstance = ctx.instance
        }
        let b = line.bytes
        switch line.kind {
        case .connect:
            let ip = short(line.peer.ip, b)
            sessions.set(sessionKey(ctx), stored: ProcessKey(tag: ctx.tag, pid: ctx.pid),
                         Session(client: Peer(ip: ip, port: line.peer.port), started: ctx.time, tls: nil))
        case .disconnect:
            if let i = sessions.live(sessionKey(ctx)) { sessions.end(at: i) }
        case .tls:
            var info: TLSInfo? = tlsInfo(line.tls, in: b)
            // Looked up with a borrowing key (the usual case: the entry exists); a holding key only
            // to add one. Values are swapped in, not assigned: a closure's captured value is
            // copied (a retain per String) and the original destroyed later.
            switch line.direction {
            case .inbound:
                if let i = sessions.live(sessionKey(ctx)) {
                    sessions.map.withValue(at: i) { s in swap(&s.tls, &info) }
                } else {
                    // The client's address String only for a new session (the usual inbound TLS
                    // line finds its session, which has it from the connect line).
                    let ip = short(line.peer.ip, b)
                    sessions.set(sessionKey(ctx), stored: ProcessKey(tag: ctx.tag, pid: ctx.pid),
                                 Session(client: Peer(ip: ip, port: line.peer.port), started: ctx.time, tls: take(&info)))
                }
            case .outbound:
                let ip = short(line.peer.ip, b)
                // Made in the argument (as the session above): a `let` handed over was copied and
                // then destroyed as well.
                outboundTLS.set(sessionKey(ctx), stored: ProcessKey(tag: ctx.tag, pid: ctx.pid),
                                OutboundTLS(peer: Peer(ip: ip), info: take(&info)!, at: ctx.time, firstQueueID: nil))
            }
        case .client:
            let key = TxKey(instance: ctx.instance, queueID: b.queueID(line.queueID))
            // The index found here serves the update too (nothing in between adds or removes).
            var known = transactions.index(of: key)
            if let i = known, transactions.values[i].client != nil || isStale(transactions.values[i].lastSeen) {
                finish(key, into: &out)
                known = nil
            }
            let ip = short(line.peer.ip, b)
            var port = line.peer.port
            // Only the session's TLS and (when the line has none) port are taken: read in place,
            // not a copy of the whole session.
            let si = sessions.live(sessionKey(ctx))
            var sessionTLS: TLSInfo? = nil
            if let si {
                sessionTLS = sessions.map.values[si].tls
                if port == nil, sessions.map.values[si].client.ip == ip { port = sessions.map.values[si].client.port }
            }
            // Swapped in, not assigned (a closure's captured value is copied: see the TLS line).
            var client: Peer? = Peer(name: short(line.peer.name, b), ip: ip, port: port)
            var method = short(line.saslMethod, b), user = strings.optionalString(line.saslUsername, in: b)
            let origQID = b.optionalString(line.origQueueID)
            let loopback = isLoopback(line.peer.ip, in: b)
            if let known {
                transactions.withValue(at: known) { tx in
                    tx.lastSeen = ctx.time
                    swap(&tx.client, &client)
                    swap(&tx.saslMethod, &method)
                    swap(&tx.saslUsername, &user)
                    if si != nil { swap(&tx.tls, &sessionTLS) }     // a move (see the TLS line)
                    tx.loopbackClient = loopback
                    if let origQID { tx.originQueueID = origQID; tx.originKind = .reinjection }
                }
            } else {
                // The usual case, a new queue ID: the transaction is made with the line's values
                // (moved in), not made empty and then changed (no defaults to swap out and destroy).
                _ = transactions.index(of: key, orMake: {
                    Transaction(instance: ctx.instance, queueID: Self.text(line.queueID, b), receivedAt: ctx.time,
                                lastSeen: ctx.time, client: take(&client), tls: take(&sessionTLS),
                                saslMethod: take(&method), saslUsername: take(&user),
                                originQueueID: origQID, originKind: origQID == nil ? nil : .reinjection,
                                loopbackClient: loopback)
                })
            }
            adoptPendingOrigin(key)
        case .pickup:
            pickup(ctx, line, into: &out)
        case .messageID:
            let key = TxKey(instance: ctx.instance, queueID: b.queueID(line.queueID))
            var known = transactions.index(of: key)
            if let i = known, transactions.values[i].emitted || isStale(transactions.values[i].lastSeen) {
                finish(key, into: &out)
                known = nil
            }
            update(key, known: known, ctx, line) { tx in
                if !line.messageID.isEmpty { (tx.messageID, tx.idKey) = line.messageIDValue(line.messageID) }
            }
            adoptPendingOrigin(key)
        case .queued:
            let key = TxKey(instance: ctx.instance, queueID: b.queueID(line.queueID))
            let i = transactions.index(of: key, orMake: { Self.newTransaction(ctx, line) }).index
            // Senders repeat (the same users send again): from the cache, made before the closure
            // (which holds the table) and only when the line will be taken.
            var sender: String? = transactions.values[i].queued ? nil : strings.string(line.sender, in: b)
            let emitted = transactions.withValue(at: i) { tx in
                tx.lastSeen = ctx.time
                if !tx.queued {
                    tx.queued = true
                    swap(&tx.sender, &sender)       // a move (see the client line)
                    tx.size = line.size
                    tx.nrcpt = line.nrcpt
                }
                return tx.emitted
            }
            // Neither adds nor removes a transaction: `i` stays valid.
            adoptPendingOrigin(at: i)
            if !emitted { emitOrHold(at: i, key, into: &out) }
        case .delivery:
            delivery(ctx, line, into: &out)
        case .expired:
            expired(ctx, line, into: &out)
        case .removed:
            finish(TxKey(instance: ctx.instance, queueID: b.queueID(line.queueID)), into: &out)
        case .notification:
            link(instance: ctx.instance, origin: b.string(line.queueID), newQueueID: line.newQueueID, in: b,
                 kind: .bounce, at: ctx.time, into: &out)
        case .reject:
            reject(ctx, line, into: &out)
        case .admin:
            break
        }
        if !held.isEmpty { releaseHeld(into: &out) }
        if now.micros - lastSweep.micros > 3_600_000_000 { sweep(into: &out) }
        if shared { line.swapSharedStrings(&strings, entries: Self.sharedCacheEntries) }
    }

    /// Emits everything held back (end of a one-shot ingest). The state stays
    /// valid: later lines of those transactions are still correlated.
    public mutating func flushHeld(into out: inout CorrelatorOutput) {
        for key in held { emit(key, into: &out) }
        held.removeAll()
    }

    // MARK: - Rare lines, out of line
    // Kept out of `receive` (@inline(never)): inlined, their code sat between the common cases'
    // and made the instructions a usual line runs span more cache lines.

    /// A pickup(8) line: a locally submitted message (its sender, its client `pickup`).
    @inline(never)
    private mutating func pickup(_ ctx: LineContext, _ line: PostfixLine, into out: inout CorrelatorOutput) {
        let b = line.bytes
        let key = TxKey(instance: ctx.instance, queueID: b.queueID(line.queueID))
        var known = transactions.index(of: key)
        if let i = known, transactions.values[i].client != nil || transactions.values[i].queued
            || isStale(transactions.values[i].lastSeen) {
            finish(key, into: &out)
            known = nil
        }
        update(key, known: known, ctx, line) { tx in
            tx.sender = b.string(line.sender)
            tx.client = Peer(name: "pickup")
            if line.origQueueID.isPresent { tx.originQueueID = b.string(line.origQueueID); tx.originKind = .requeue }
        }
        adoptPendingOrigin(key)
    }

    /// A queue-file expiry: every recipient without a final status gets an `expired` row.
    @inline(never)
    private mutating func expired(_ ctx: LineContext, _ line: PostfixLine, into out: inout CorrelatorOutput) {
        let b = line.bytes
        let key = TxKey(instance: ctx.instance, queueID: b.queueID(line.queueID))
        guard let i = transactions.index(of: key) else { return }
        let host = self.host
        let response = b.equals(line.word, "expired") ? "returned to sender" : b.string(line.word)
        transactions.withValue(at: i) { tx in
            tx.lastSeen = ctx.time
            let mk = Self.messageKey(&tx, host: host)
            for k in tx.recipients.indices where !Self.isFinal(tx.recipients[k].status) {
                // Packed as `delivery`'s rows, so a batch holds one kind of row (no order kept).
                out.deliveries.text.claim()
                let qref = out.deliveries.text.put(tx.queueID), recipient = out.deliveries.text.put(tx.recipients[k].address)
                let transport = out.deliveries.text.put(ctx.program), relayName = out.deliveries.text.put("none")
                let reply = out.deliveries.text.put(response)
                out.deliveries.appendPacked(PackedDelivery(
                    at: ctx.time, msgKey: mk, host: host, instance: ctx.instance, queueID: qref,
                    receivedAt: tx.receivedAt, recipient: recipient, status: .expired, transport: transport,
                    relayName: relayName, response: reply))
                tx.recipients[k].status = .expired
            }
        }
    }

    /// A refusal (smtpd/cleanup reject, warn, hold, discard...): one rejection row.
    @inline(never)
    private mutating func reject(_ ctx: LineContext, _ line: PostfixLine, into out: inout CorrelatorOutput) {
        let b = line.bytes
        var mk: Int64
        var qid: String? = nil
        if line.queueID.isPresent {
            let key = TxKey(instance: ctx.instance, queueID: b.queueID(line.queueID))
            if let i = transactions.index(of: key) {
                // Not cached: an RCPT reject comes before cleanup's message-id.
                let host = self.host
                let (k, q) = transactions.withValue(at: i) { tx -> (Int64, String) in
                    tx.lastSeen = ctx.time
                    return (tx.msgKey ?? MessageKey.forQueue(host: host, queueID: tx.queueID), tx.queueID)
                }
                mk = k
                qid = q
            } else {
                qid = b.string(line.queueID)
                mk = MessageKey.forQueue(host: host, queueID: qid!)
            }
        } else {
            let ip = line.peer.ip
            mk = MessageKey.forQueue(host: host, prefix: "NOQUEUE/",
                                     bytes: ip.isPresent ? b.buffer(ip) : UnsafeBufferPointer(start: nil, count: 0))
        }
        // Straight from the spans (no `PostfixReject` of Strings in between); the values that
        // repeat (action, stage, code, dsn, proto, client, helo, addresses) come from the cache.
        out.rejections.append(RejectionRecord(
            at: ctx.time, msgKey: mk, host: host, instance: ctx.instance, queueID: qid,
            program: ctx.program, action: strings.string(line.action, in: b),
            stage: strings.optionalString(line.stage, in: b),
            client: Peer(name: strings.optionalString(line.peer.name, in: b),
                         ip: strings.optionalString(line.peer.ip, in: b), port: line.peer.port),
            helo: strings.optionalString(line.helo, in: b), sender: strings.optionalString(line.sender, in: b),
            recipient: strings.optionalString(line.recipient, in: b), proto: strings.optionalString(line.proto, in: b),
            code: strings.optionalString(line.code, in: b), dsn: strings.optionalString(line.dsn, in: b),
            reason: line.reasonValue))
    }

    // MARK: - Steps

    /// `b.string(s)` with its first step written here, so that it is inlined (the model
    /// module's stays a call): up to 15 ASCII bytes (the usual queue ID) made in place.
    @inline(__always)
    static func text(_ s: Span, _ b: LineBytes) -> String {
        if s.isPresent, s.count <= 15, let v = SmallASCII.make(b.base + Int(s.lo), s.count) { return v }
        return b.string(s)
    }

    /// `strings.optionalString(s, in: b)` with its first step written here, so that it is
    /// inlined (the model module's stays a call): a value of up to 15 ASCII bytes (addresses,
    /// `unknown`, `PLAIN`, `2.0.0`) is made in place, anything longer goes to the cache.
    @inline(__always)
    mutating func short(_ s: Span, _ b: LineBytes) -> String? {
        guard s.isPresent else { return nil }
        if s.count <= 15, let v = SmallASCII.make(b.base + Int(s.lo), s.count) { return v }
        return strings.string(s, in: b)
    }

    /// The TLS facts of a TLS line, from the memo when seen lately. Out of line: inlined into
    /// `receive`, the memo's reference made every line retain and release the correlator's fields.
    @inline(never)
    private mutating func tlsInfo(_ t: TLSSpans, in b: LineBytes) -> TLSInfo {
        tlsMemo.info(t, in: b, strings: &strings)
    }

    private mutating func delivery(_ ctx: LineContext, _ line: PostfixLine, into out: inout CorrelatorOutput) {
        let b = line.bytes
        let key = TxKey(instance: ctx.instance, queueID: b.queueID(line.queueID))
        let host = self.host
        let rspan = line.recipient
        let status = line.status
        let at = ctx.time, pid = ctx.pid
        // The recipient is compared by its `TextKey` with the ones the transaction holds (String
        // equality where the key cannot tell, see `LineBytes.sameText`). Its String comes from the
        // cache (recipients repeat across messages), made before the closure, which holds the table.
        let rkey = TextKey(rspan, in: b)
        let made = strings.string(rspan, in: b)
        let step: (Int64, Timestamp, String, Bool)? = update(key, ctx, line) { tx, created in
            // A repeated line (a log pipeline's duplicate, or a damaged copy of the line that
            // follows it) would otherwise count one attempt twice. The cheap fields first.
            // Fields read in place (a copy of an entry would retain its String): the key test
            // first, the text only where the keys cannot tell.
            if let last = tx.lastDelivery, last.at == at, last.pid == pid, last.status == status,
               b.sameText(rspan, rkey, tx.recipients[last.recipient].address, tx.recipients[last.recipient].key) {
                return nil
            }
            var found: Int? = nil
            for k in tx.recipients.indices {
                let other = tx.recipients[k].key
                if other.hash != rkey.hash && other.isASCII && rkey.isASCII { continue }
                if b.sameText(rspan, rkey, tx.recipients[k].address, other) { found = k; break }
            }
            let k: Int
            if let f = found {
                k = f
                tx.recipients[k].status = status
            } else {
                k = tx.recipients.count
                tx.recipients.append(RecipientStatus(address: made, key: rkey, status: status))
            }
            tx.lastDelivery = LastDelivery(recipient: k, status: status, at: at, pid: pid)
            return (Self.messageKey(&tx, host: host), tx.receivedAt, tx.queueID, !created)
        }
        guard let (mk, receivedAt, qid, known) = step else { return }     // the repeat

        let tls = outboundTLS(ctx, line, queueID: qid)
        // The row packed from the line's bytes (no String made for it, none released when the
        // batch is emptied): recipient, original recipient, dsn, relay, TLS feature, reply and
        // next queue ID as they stand. The queue ID too: the key found the transaction, and a key
        // of up to 32 bytes is those bytes (longer ones only hashed: the transaction's String).
        // The transport from the tag's bytes.
        let hasNext = line.nextQueueID.isPresent
        out.deliveries.text.claim()
        let qref = line.queueID.count <= 32 ? out.deliveries.text.put(b, line.queueID) : out.deliveries.text.put(qid)
        let recipient = out.deliveries.text.putOrEmpty(b, rspan)
        let original = out.deliveries.text.put(b, line.origRecipient), dsn = out.deliveries.text.put(b, line.dsn)
        let transport = out.deliveries.text.put(ctx.tag.programUTF8)
        let relayName = out.deliveries.text.put(b, line.peer.name), relayIP = out.deliveries.text.put(b, line.peer.ip)
        let feature = out.deliveries.text.put(b, line.tlsFeature), response = out.deliveries.text.put(b, line.response)
        let next = out.deliveries.text.put(b, line.nextQueueID)
        out.deliveries.appendPacked(PackedDelivery(
            at: ctx.time, msgKey: mk, host: host, instance: ctx.instance, queueID: qref,
            receivedAt: known ? receivedAt : nil, recipient: recipient, origRecipient: original, status: status,
            dsn: dsn, transport: transport, relayName: relayName, relayIP: relayIP, relayPort: line.peer.port,
            delay: line.delay, delays: line.delaysValue, connUse: line.connUse, tlsFeature: feature, tls: tls,
            response: response, nextQueueID: next))

        // Same-host links: a filter's re-injection (loopback relay) or local(8) forwarding.
        if hasNext, status == .sent {
            // The byte test first; then the reply as a String, whose `hasPrefix` compares
            // characters (a combining mark after the space is no match). Few replies pass.
            let r = line.response
            if r.count >= 13, b[Int(r.lo)] == 0x66, b.hasPrefix(r, "forwarded as "),
               b.string(r).hasPrefix("forwarded as ") {
                link(instance: ctx.instance, origin: qid, newQueueID: line.nextQueueID, in: b, kind: .forward,
                     at: ctx.time, into: &out)
            } else if isLoopback(line.peer.ip, in: b) {
                link(instance: ctx.instance, origin: qid, newQueueID: line.nextQueueID, in: b, kind: .reinjection,
                     at: ctx.time, into: &out)
            }
        }
    }

    /// The outbound TLS of this process's connection to this line's relay, or nil; a connection
    /// that does not match (another relay, or a queue ID it cannot have carried) is forgotten.
    private mutating func outboundTLS(_ ctx: LineContext, _ line: PostfixLine, queueID qid: String) -> TLSInfo? {
        let pkey = sessionKey(ctx)
        guard let i = outboundTLS.live(pkey) else { return nil }
        let b = line.bytes
        let relayIP = line.peer.ip
        // A Bool out of the closure, then one copy of the info: returning the Optional from the
        // closure copied it and destroyed a temporary on every delivery.
        let matches: Bool = outboundTLS.map.withValue(at: i) { o in
            let sameRelay = o.peer.ip != nil && relayIP.isPresent && b.equals(relayIP, o.peer.ip)
            guard sameRelay && (o.firstQueueID == nil || o.firstQueueID == qid || (line.connUse ?? 1) >= 2) else {
                return false
            }
            if o.firstQueueID == nil { o.firstQueueID = qid }
            return true
        }
        guard matches else {
            outboundTLS.end(at: i)
            return nil
        }
        return outboundTLS.map.values[i].info
    }

    /// Records that `newQueueID` on this host came from `origin`; works in both orders.
    private mutating func link(instance: String, origin: String, newQueueID span: Span, in b: LineBytes,
                               kind: OriginKind, at: Timestamp, into out: inout CorrelatorOutput) {
        let newID = b.queueID(span)
        // The new transaction may live in another instance of the same host (multi-instance hand-over):
        // this instance first, then the others in name order.
        var found = transactions.index(of: TxKey(instance: instance, queueID: newID)).map { (instance, $0) }
        if found == nil && instances.count > 1 {
            for other in instances.subtracting([instance]).sorted() {
                if let i = transactions.index(of: TxKey(instance: other, queueID: newID)) { found = (other, i); break }
            }
        }
        if let (inst, i) = found {
            if transactions.values[i].emitted || transactions.values[i].originQueueID != nil { return }
            let heldNow = transactions.withValue(at: i) { tx -> Bool in
                tx.originQueueID = origin
                tx.originKind = kind
                return tx.heldSince != nil
            }
            if heldNow { emit(TxKey(instance: inst, queueID: newID), into: &out) }
            return
        }
        pendingOrigins[b.string(span)] = PendingOrigin(originQueueID: origin, kind: kind, at: at)
    }

    /// Gives the transaction `key` the link that waited for it, if any (inlined: the usual
    /// case, no link waiting, is one test at the call).
    @inline(__always)
    private mutating func adoptPendingOrigin(_ key: TxKey) {
        guard !pendingOrigins.isEmpty else { return }
        adoptPendingOriginLookingUp(key)
    }

    private mutating func adoptPendingOriginLookingUp(_ key: TxKey) {
        guard let i = transactions.index(of: key) else { return }
        adoptPendingOriginSlow(at: i)
    }

    /// `adoptPendingOrigin(_:)` for the transaction at index `i`.
    @inline(__always)
    private mutating func adoptPendingOrigin(at i: Int) {
        guard !pendingOrigins.isEmpty else { return }
        adoptPendingOriginSlow(at: i)
    }

    private mutating func adoptPendingOriginSlow(at i: Int) {
        guard transactions.values[i].originQueueID == nil,
              let p = pendingOrigins.removeValue(forKey: transactions.values[i].queueID) else { return }
        transactions.withValue(at: i) { tx in
            tx.originQueueID = p.originQueueID
            tx.originKind = p.kind
        }
    }

    private mutating func emitOrHold(at i: Int, _ key: TxKey, into out: inout CorrelatorOutput) {
        // nil: emit now; true: held from now on; false: already held.
        let hold = transactions.withValue(at: i) { tx -> Bool? in
            guard tx.loopbackClient && tx.originQueueID == nil else { return nil }
            guard tx.heldSince == nil else { return false }
            tx.heldSince = tx.lastSeen
            return true
        }
        switch hold {
        case nil: emit(at: i, into: &out)
        case true?: held.append(key)
        case false?: break
        }
    }

    private mutating func emit(_ key: TxKey, into out: inout CorrelatorOutput) {
        guard let i = transactions.index(of: key) else { return }
        emit(at: i, into: &out)
    }

    private mutating func emit(at i: Int, into out: inout CorrelatorOutput) {
        let host = self.host
        let wasHeld = transactions.withValue(at: i) { tx -> Bool in
            guard !tx.emitted, tx.queued else { return false }
            let mk = Self.messageKey(&tx, host: host)
            tx.emitted = true
            let wasHeld = tx.heldSince != nil
            tx.heldSince = nil
            // The values nothing reads after emission move into the row (no retain now, no
            // release when the transaction ends). Of `client` only its presence is read later
            // (queue-ID reuse asks whether the ID already had one): an empty Peer stays.
            let client: Peer
            switch take(&tx.client) {
            case .some(let c): client = c; tx.client = Peer()
            case .none: client = Peer()
            }
            out.messages.append(MessageRecord(
                receivedAt: tx.receivedAt, msgKey: mk, host: host, mta: "postfix", instance: tx.instance,
                queueID: tx.queueID, messageID: take(&tx.messageID), sender: take(&tx.sender),
                client: client, size: tx.size, nrcpt: tx.nrcpt, tls: take(&tx.tls),
                saslMethod: take(&tx.saslMethod), saslUsername: take(&tx.saslUsername),
                originQueueID: tx.originQueueID, originKind: tx.originKind))
            return wasHeld
        }
        if wasHeld {
            let key = transactions.keys[i]
            held.removeAll { $0 == key }
        }
    }

    /// Ends a transaction: emits its message if it was queued but not yet emitted, forgets it.
    private mutating func finish(_ key: TxKey, into out: inout CorrelatorOutput) {
        guard let i = transactions.index(of: key) else { return }
        // Read first: the usual transaction was emitted at its qmgr line (no change to make).
        if !transactions.values[i].emitted && transactions.values[i].queued { emit(at: i, into: &out) }
        transactions.remove(at: i)
        if !held.isEmpty { held.removeAll { $0 == key } }
    }

    private mutating func releaseHeld(into out: inout CorrelatorOutput) {
        let limit = now.micros - config.holdWindowSeconds * 1_000_000
        for key in held {
            if let i = transactions.index(of: key), let since = transactions.values[i].heldSince,
               since.micros <= limit {
                emit(at: i, into: &out)
            }
        }
    }

    /// Drops state nobody will complete: stale transactions, sessions, TLS entries, forward links.
    private mutating func sweep(into out: inout CorrelatorOutput) {
        lastSweep = now
        let stale = now.micros - config.staleAfterSeconds * 1_000_000
        var staleKeys: [TxKey] = []
        for i in 0..<transactions.count where transactions.values[i].lastSeen.micros < stale {
            staleKeys.append(transactions.keys[i])
        }
        for key in staleKeys { finish(key, into: &out) }
        let dayAgo = now.micros - 86_400_000_000
        sessions.map.filter { $0.started.micros >= dayAgo }
        let hourAgo = now.micros - 3_600_000_000
        outboundTLS.map.filter { $0.at.micros >= hourAgo }
        let holdLimit = now.micros - config.holdWindowSeconds * 1_000_000
        pendingOrigins = pendingOrigins.filter { $0.value.at.micros >= holdLimit }
    }

    // MARK: - Helpers

    private func isStale(_ lastSeen: Timestamp) -> Bool {
        now.micros - lastSeen.micros > config.staleAfterSeconds * 1_000_000
    }

    private static func messageKey(_ tx: inout Transaction, host: String) -> Int64 {
        if let k = tx.msgKey { return k }
        let k = tx.messageID.map { tx.idKey ?? MessageKey.forMessageID($0) }
            ?? MessageKey.forQueue(host: host, queueID: tx.queueID)
        tx.msgKey = k
        return k
    }

    /// Changes the transaction `key` in place (created when missing from the line's queue ID),
    /// stamping `lastSeen`; one hash lookup (none when the caller `known` its index) and no copy
    /// of the transaction.
    @inline(__always)
    @discardableResult
    private mutating func update<R>(_ key: TxKey, known: Int? = nil, _ ctx: LineContext, _ line: PostfixLine,
                                    _ body: (inout Transaction) -> R) -> R {
        update(key, known: known, ctx, line) { tx, _ in body(&tx) }
    }

    /// As `update(_:known:_:_:_:)`; `body` also learns whether the transaction had to be created.
    @inline(__always)
    private mutating func update<R>(_ key: TxKey, known: Int? = nil, _ ctx: LineContext, _ line: PostfixLine,
                                    _ body: (inout Transaction, _ created: Bool) -> R) -> R {
        let (i, created) = known.map { ($0, false) } ?? transactions.index(of: key, orMake: { Self.newTransaction(ctx, line) })
        return transactions.withValue(at: i) { tx in
            tx.lastSeen = ctx.time
            return body(&tx, created)
        }
    }

    /// A new transaction for the line's queue ID.
    @inline(__always)
    private static func newTransaction(_ ctx: LineContext, _ line: PostfixLine) -> Transaction {
        Transaction(instance: ctx.instance, queueID: line.bytes.string(line.queueID), receivedAt: ctx.time,
                    lastSeen: ctx.time)
    }

    /// The line's process, to look up (borrows the line's tag).
    private func sessionKey(_ ctx: LineContext) -> ProcessKey {
        ProcessKey(borrowing: ctx.tag, pid: ctx.pid)
    }


    private static func isFinal(_ s: DeliveryStatus) -> Bool {
        switch s {
        case .deferred, .softbounce: return false
        default: return true
        }
    }
}

extension PostfixCorrelator.Transaction: Codable {
    // The layout saved before the inline tables: recipients as a map plus their order.
    enum CodingKeys: String, CodingKey {
        case instance, queueID, receivedAt, lastSeen, client, tls, saslMethod, saslUsername, messageID, sender, size,
             nrcpt, originQueueID, originKind, queued, emitted, heldSince, msgKey, recipients, recipientOrder,
             loopbackClient, lastDelivery
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        instance = try c.decode(String.self, forKey: .instance)
        queueID = try c.decode(String.self, forKey: .queueID)
        receivedAt = try c.decode(Timestamp.self, forKey: .receivedAt)
        lastSeen = try c.decode(Timestamp.self, forKey: .lastSeen)
        client = try c.decodeIfPresent(Peer.self, forKey: .client)
        tls = try c.decodeIfPresent(TLSInfo.self, forKey: .tls)
        saslMethod = try c.decodeIfPresent(String.self, forKey: .saslMethod)
        saslUsername = try c.decodeIfPresent(String.self, forKey: .saslUsername)
        messageID = try c.decodeIfPresent(String.self, forKey: .messageID)
        sender = try c.decodeIfPresent(String.self, forKey: .sender)
        size = try c.decodeIfPresent(Int64.self, forKey: .size)
        nrcpt = try c.decodeIfPresent(Int.self, forKey: .nrcpt)
        originQueueID = try c.decodeIfPresent(String.self, forKey: .originQueueID)
        originKind = try c.decodeIfPresent(OriginKind.self, forKey: .originKind)
        queued = try c.decode(Bool.self, forKey: .queued)
        emitted = try c.decode(Bool.self, forKey: .emitted)
        heldSince = try c.decodeIfPresent(Timestamp.self, forKey: .heldSince)
        msgKey = try c.decodeIfPresent(Int64.self, forKey: .msgKey)
        let statuses = try c.decode([String: DeliveryStatus].self, forKey: .recipients)
        let order = try c.decode([String].self, forKey: .recipientOrder)
        recipients = OneOrMore(order.map { PostfixCorrelator.RecipientStatus(address: $0, key: TextKey($0), status: statuses[$0] ?? .deferred) })
        loopbackClient = try c.decode(Bool.self, forKey: .loopbackClient)
        // The saved identity's recipient is one of `recipients` (the line added or found it).
        if let d = try c.decodeIfPresent(PostfixCorrelator.DeliveryIdentity.self, forKey: .lastDelivery),
           let k = recipients.firstIndex(where: { $0.address == d.recipient }) {
            lastDelivery = PostfixCorrelator.LastDelivery(recipient: k, status: d.status, at: d.at, pid: d.pid)
        } else {
            lastDelivery = nil
        }
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(instance, forKey: .instance)
        try c.encode(queueID, forKey: .queueID)
        try c.encode(receivedAt, forKey: .receivedAt)
        try c.encode(lastSeen, forKey: .lastSeen)
        try c.encodeIfPresent(client, forKey: .client)
        try c.encodeIfPresent(tls, forKey: .tls)
        try c.encodeIfPresent(saslMethod, forKey: .saslMethod)
        try c.encodeIfPresent(saslUsername, forKey: .saslUsername)
        try c.encodeIfPresent(messageID, forKey: .messageID)
        try c.encodeIfPresent(sender, forKey: .sender)
        try c.encodeIfPresent(size, forKey: .size)
        try c.encodeIfPresent(nrcpt, forKey: .nrcpt)
        try c.encodeIfPresent(originQueueID, forKey: .originQueueID)
        try c.encodeIfPresent(originKind, forKey: .originKind)
        try c.encode(queued, forKey: .queued)
        try c.encode(emitted, forKey: .emitted)
        try c.encodeIfPresent(heldSince, forKey: .heldSince)
        try c.encodeIfPresent(msgKey, forKey: .msgKey)
        var statuses: [String: DeliveryStatus] = [:]
        for r in recipients { statuses[r.address] = r.status }
        try c.encode(statuses, forKey: .recipients)
        try c.encode(recipients.map(\.address), forKey: .recipientOrder)
        try c.encode(loopbackClient, forKey: .loopbackClient)
        try c.encodeIfPresent(lastDelivery.map {
            PostfixCorrelator.DeliveryIdentity(recipient: recipients[$0.recipient].address, key: recipients[$0.recipient].key,
                                               status: $0.status, at: $0.at, pid: $0.pid)
        }, forKey: .lastDelivery)
    }
}

/// `v`'s value, leaving nil in its place (a move: no retain of what it holds).
@inline(__always)
private func take<T>(_ v: inout T?) -> T? {
    var r: T? = nil
    swap(&r, &v)
    return r
}

/// True for 127.0.0.0/8 and ::1 (a content filter's re-injection comes from there).
func isLoopback(_ ip: String?) -> Bool {
    guard let ip else { return false }
    return ip.hasPrefix("127.") || ip == "::1" || ip == "::ffff:127.0.0.1"
}

/// `isLoopback(_:)` of the span's text, on the bytes when they are ASCII (where String prefix and
/// equality are byte prefix and equality), else on the String.
@inline(__always)
func isLoopback(_ ip: Span, in b: LineBytes) -> Bool {
    guard ip.isPresent else { return false }
    // The first two bytes decide most addresses: an ASCII byte other than `1` and `:` first, or
    // `1` then an ASCII byte other than `2`, starts no text that is `127.…`, `::1` or
    // `::ffff:127.0.0.1` as a String (ASCII characters have no canonical equivalents, and an
    // ASCII byte after an ASCII one starts a new Character). Inlined; the rest is a call.
    if ip.count >= 2 {
        let c0 = b[Int(ip.lo)], c1 = b[Int(ip.lo) + 1]
        if c0 < 0x80 && c0 != 0x31 && c0 != 0x3A && c1 < 0x80 { return false }
        if c0 == 0x31 && c1 < 0x80 && c1 != 0x32 { return false }
    }
    return isLoopbackRest(ip, in: b)
}

/// `isLoopback(_:in:)` past its two-byte test.
func isLoopbackRest(_ ip: Span, in b: LineBytes) -> Bool {
    guard TextKey.isASCII(b.buffer(ip)) else { return isLoopback(b.string(ip)) }
    return b.hasPrefix(ip, "127.") || b.equals(ip, "::1") || b.equals(ip, "::ffff:127.0.0.1")
}
