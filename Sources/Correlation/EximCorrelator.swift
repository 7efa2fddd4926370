/// EximCorrelator: a pure state machine that turns the Exim events of one
/// host (every Exim instance on it, including Sophos UTM's exim-in and
/// exim-out) and the UTM smtpd events into message, delivery and rejection
/// records.
///
/// Contract: as `PostfixCorrelator` — events in log order, time only from the
/// log, records emitted once, the whole state `Codable`.
/// - Transactions are keyed by (instance, message ID); instance is the
///   program (`exim`, `exim4`, `exim-in`, `exim-out`; UTM's proxy stage is
///   `smtpd`). mta = "exim" for all rows.
/// - Exim: a message row is emitted at its `<=` line, which carries
///   everything (`id=`, `S=`, `H=`, `P=`, `X=`/`CV=`, `A=`, `U=`, `T=`). DKIM
///   verbose lines and UTM's ctasd verdict come BEFORE `<=` (logged during
///   DATA): they are kept on a pre-arrival transaction and stored with it.
///   The best DKIM signature wins (pass over anything else, else the first).
/// - `<= <> R=ID`: the new message's origin is ID, kind `.bounce` (a
///   non-empty sender with `R=` is `.reinjection`).
/// - One delivery row per `=>`/`->`/`>>` (sent), `*>` (discarded), `**`
///   (bounced), `==` (deferred): router `R=`, transport `T=`, relay `H=`, TLS
///   `X=`/`CV=`, response `C=` (or the failure text) with its queue ID,
///   delay = `QT=` else `DT=`.
/// - Sophos UTM (see docs/log-formats/sophos-utm.md): exim-in message A;
///   smtpd stage (instance `smtpd`, queue ID A, origin A, `.reinjection`)
///   opened by `QMGR: A moved to work queue` (or the first SCANNER line
///   about A) and held until SCANNER's `A => work` / `A Completed`, so the
///   SecureMail disposition (`name=`, stored as its spam verdict) and
///   subject reach it; exim-out message B opened by `SCANNER: B <= sender
///   R=A` (received then; Message-ID taken from A) and held until its
///   SecureMail line or first exim-out line. The smtpd stage's `A => work`
///   delivery carries next_queue_id B, which links the stage to B in a
///   trace. `SCANNER: C <= sender R=B` where B is an exim-out message is a
///   requeue: C's origin is B, kind `.requeue`.
/// - `Completed` ends a transaction; transactions, links and held rows are
///   dropped/emitted after `staleAfter`/`holdWindow` of log time. An emitted
///   transaction keeps only what later lines read (IDs, times, Message-ID,
///   sender, size, message key): its other facts (`Transaction.facts`, boxed
///   copy-on-write, nil once emitted) move into the message row, so a saved
///   state holds them only for transactions not yet emitted; the saved JSON
///   keeps the former flat layout (EximTransactionCodingTests).
/// - Hot path: `receive(_:_: EximLine, into:)` reads the parser's spans and
///   makes Strings only for stored values (`EximStrings`: up to 15 ASCII bytes
///   built in place, repeated longer ones through a `StringCache`; queue IDs
///   through the parser's memo of recent IDs (`EximIDMemo`), an arrival's
///   Message-ID with its message key through the parser's shared
///   `MessageKey.Cache`; senders, recipients and quoted subjects made afresh:
///   a lookup in a cache shared by all hosts reads a cold entry and retains a
///   String stored elsewhere, which cost more CPU time than making the String
///   (docs/performance-history.md, round 12), although the next hop logs the same
///   values again; on the general path, an arrival's client name through
///   the host's own cache, as relay names (a host's relays repeat: the
///   submission host's name on every mailbox host); responses, refused
///   senders and refused clients' names made afresh; a line's TLS facts from a memo of the last
///   16 `X=` values and `CV=` codes, by their bytes); transactions are keyed by the message ID inline
///   (`QueueID`); a new message's arrival packs its row straight from the
///   line's bytes (`arriveDirect`, `PackedMessage`: only the values later lines
///   and the saved state read become Strings; the row and state of
///   `fillArrival` then `emit`, tested against them, EximDirectArrivalTests),
///   and `emit` packs a held message's record, so a batch holds one kind of
///   row; a delivery line's row is packed (`PackedDelivery`): its
///   recipient, original, router, transport, relay, dsn and reply copied from
///   the line's bytes into the batch's `RowText`, no String made (an escaped
///   reply unescaped first; EximPackedDeliveryTests against the String API's
///   record). The String API (`receive(_:_: EximEvent, into:)`) feeds the
///   same state machine (an arrival's facts are stored into its transaction
///   in place by `fillArrival`, a delivery's straight into its record).
///   Saved states keep their JSON layout.
/// Limits: pid-only session lines (`SMTP connection from`, ACL `Warning:`,
/// UTM `F=<..> R=<..> Accepted`) store nothing: no column takes their facts;
/// they are counted as parsed. An smtpd stage or exim-out message whose
/// exim-in message was not in the log gets no Message-ID (its key is
/// host/queue ID).
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailTrailModel

public struct EximCorrelator: Codable, Sendable {
    public let host: String
    public var config: CorrelatorConfig
    var transactions = FastMap<TxKey, Transaction>()
    var held: [TxKey] = []
    /// UTM: exim-in ID A -> the output ID B the scanner made from it.
    var nextByOrigin: [String: Link] = [:]
    /// UTM: output ID B -> exim-in ID A.
    var originByNext: [String: Link] = [:]
    /// ACL notes of an SMTP session waiting for the session's next arrival, by process.
    /// Optional so that states saved before it existed still decode.
    var sessionNotes: [SessionKey: [SessionNote]]?
    /// Listener `SMTP connection from` lines by client `ip:port`, waiting for their session's
    /// arrival (the listener logs before it forks, so the pid differs). Kept when empty (its
    /// storage is reused by the next connection); saved only when not empty, absent in old states,
    /// as a JSON object keyed by the `ip:port` text (the former `[String: Link]`).
    var connections = FastMap<ConnectionKey, Link>()
    public private(set) var now = Timestamp(micros: 0)
    var lastSweep = Timestamp(micros: 0)
    /// Strings of stored values that repeat (not part of the saved state). Optional so that the hot
    /// path can move them out of `self` (no copy, no retain) while it fills a transaction in place.
    var caches: Caches? = Caches()
    /// Whether the hot path writes a new message's row straight from its arrival line
    /// (`arriveDirect`); false sends every arrival through `arrival` and `fillArrival` (tests
    /// compare the two). Not part of the saved state.
    var directArrivals = true

    /// The hot path's String caches.
    struct Caches {
        /// Values that repeat (up to 32 bytes; up to 15 ASCII bytes made in place).
        var strings = EximStrings()
        /// Long repeated values (ciphers).
        var long = FewStrings()

        /// `strings.optionalString(s, in: b)`, written here so that it is inlined (the optimiser
        /// kept the model module's as a call): an absent span costs a test.
        @inline(__always)
        mutating func optional(_ s: Span, _ b: LineBytes) -> String? {
            guard s.isPresent else { return nil }
            if s.count <= 15, let v = SmallASCII.make(b.base + Int(s.lo), s.count) { return v }
            return strings.cached(s, in: b)
        }

        /// Queue IDs that the line's `EximIDMemo` does not take (`queueID(_:_:_:)`: one-off
        /// lines, IDs of another length): the parser's cache shared by the correlators of all
        /// hosts (swapped in for an arrival or delivery line, `EximLine.Fields.strings`), else
        /// this one: small, since only one-off lines (tests) use it, and every entry costs at
        /// teardown.
        var ids = SharedStringCache(bits: 6)
        /// Message-IDs and their message keys: the parser's cache shared by the correlators of
        /// all hosts (swapped in with `ids`, `EximLine.Fields.idKeys`); nil for one-off lines,
        /// whose Message-IDs are made afresh and keyed by `MessageKey.forMessageID`.
        var keys: MessageKey.Cache? = nil
        /// The last few distinct TLS facts (`X=` with `CV=`: a handful per host, one per TLS stack
        /// and trust result), found by comparing the `X=` value's bytes, so that a line's `TLSInfo` is a copy.
        var tls = TLSMemo()

        /// The line's TLS facts: `EximLine.tlsInfo(cache:long:)`, reused from the memo when the
        /// same `X=` value (byte for byte) and `CV=` were seen lately.
        @inline(__always)
        mutating func tlsInfo(_ e: EximLine) -> TLSInfo? {
            guard let t = e.storage.pointee.tls else { return nil }       // (its spans may be pending)
            let b = e.bytes
            let v = t.value
            let trust = e.trust
            if v.isPresent, v.count >= 8, v.count <= TLSMemo.width {
                let p = b.base + Int(v.lo)
                if let info = tls.find(p, v.count, trust: trust) { return info }
                let info = e.tlsInfo(cache: &strings, long: &long)!
                tls.add(p, v.count, trust: trust, info)
                return info
            }
            return e.tlsInfo(cache: &strings, long: &long)
        }
    }

    /// The TLS facts of the last 16 distinct `X=` values with their `CV=` code (the facts are a
    /// function of those bytes and that code: `EximFields.tlsSpans`, `EximLine.tlsInfo`), the
    /// oldest replaced first. Each entry keeps the value's bytes (8 to `width` of them), its length
    /// with the trust code and its last eight bytes (compared before the bytes). A copy shares the
    /// storage until it adds an entry (then it starts an empty one). A table of 64 hints (by a hash of
    /// the two key words: the entry stored last with it) is tried before the scan; entries are
    /// distinct, so a verified hint is the scan's answer. Not part of any saved state.
    struct TLSMemo: @unchecked Sendable {
        static let slots = 16
        static let width = 120

        final class Storage {
            let bytes = UnsafeMutablePointer<UInt8>.allocate(capacity: TLSMemo.slots * TLSMemo.width)
            /// Per entry: the length | trust << 32, then the last eight bytes.
            let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: 2 * TLSMemo.slots)
            let infos = UnsafeMutablePointer<TLSInfo>.allocate(capacity: TLSMemo.slots)
            /// Per `hint(key, last)`: the entry last stored with that hash, plus one (0: none).
            let hints = UnsafeMutablePointer<UInt8>.allocate(capacity: TLSMemo.hintSlots)
            var filled = 0
            init() { hints.initialize(repeating: 0, count: TLSMemo.hintSlots) }
            deinit {
                infos.deinitialize(count: filled)
                infos.deallocate(); keys.deallocate(); bytes.deallocate(); hints.deallocate()
            }
        }

        static let hintSlots = 64

        /// The hint slot of an entry's two key words.
        @inline(__always)
        static func hint(_ key: UInt64, _ last: UInt64) -> Int {
            Int(truncatingIfNeeded: ((last ^ key) &* 0x9E37_79B9_7F4A_7C15) >> 58)
        }

        var storage = Storage()
        var count = 0
        var next = 0

        /// The facts stored for the `n` bytes at `p` (8 <= n <= width) with `trust`, if any.
        @inline(__always)
        func find(_ p: UnsafePointer<UInt8>, _ n: Int, trust: UInt8) -> TLSInfo? {
            let key = UInt64(n) | UInt64(trust) << 32
            let last = UnsafeRawPointer(p).loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            let st = storage
            // The entry stored last under this hash first (entries are distinct: any match is the one).
            let h = Int(st.hints[TLSMemo.hint(key, last)]) - 1
            if h >= 0 && h < count && st.keys[2 * h] == key && st.keys[2 * h + 1] == last
                && memcmp(st.bytes + h * TLSMemo.width, p, n) == 0 {
                return st.infos[h]
            }
            var i = 0
            while i < count {
                if st.keys[2 * i] == key && st.keys[2 * i + 1] == last
                    && memcmp(st.bytes + i * TLSMemo.width, p, n) == 0 {
                    return st.infos[i]
                }
                i += 1
            }
            return nil
        }

        /// Stores `info` for the `n` bytes at `p` with `trust` (in a free entry, else the oldest).
        mutating func add(_ p: UnsafePointer<UInt8>, _ n: Int, trust: UInt8, _ info: TLSInfo) {
            if !isKnownUniquelyReferenced(&storage) { storage = Storage(); count = 0; next = 0 }
            let st = storage
            let i: Int
            if count < TLSMemo.slots {
                i = count
                (st.infos + i).initialize(to: info)
                count += 1
                st.filled = count
            } else {
                i = next
                st.infos[i] = info
                next = (next + 1) % TLSMemo.slots
            }
            (st.bytes + i * TLSMemo.width).update(from: p, count: n)
            st.keys[2 * i] = UInt64(n) | UInt64(trust) << 32
            st.keys[2 * i + 1] = UnsafeRawPointer(p).loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            st.hints[TLSMemo.hint(st.keys[2 * i], st.keys[2 * i + 1])] = UInt8(i + 1)
        }
    }

    enum CodingKeys: String, CodingKey {
        case host, config, transactions, held, nextByOrigin, originByNext, sessionNotes, connections, now, lastSweep
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        host = try c.decode(String.self, forKey: .host)
        config = try c.decode(CorrelatorConfig.self, forKey: .config)
        transactions = try c.decode(FastMap<TxKey, Transaction>.self, forKey: .transactions)
        held = try c.decode([TxKey].self, forKey: .held)
        nextByOrigin = try c.decode([String: Link].self, forKey: .nextByOrigin)
        originByNext = try c.decode([String: Link].self, forKey: .originByNext)
        sessionNotes = try c.decodeIfPresent([SessionKey: [SessionNote]].self, forKey: .sessionNotes)
        for (k, v) in try c.decodeIfPresent([String: Link].self, forKey: .connections) ?? [:] {
            connections[ConnectionKey(k)] = v
        }
        now = try c.decode(Timestamp.self, forKey: .now)
        lastSweep = try c.decode(Timestamp.self, forKey: .lastSweep)
    }

    /// The layout of the former synthesized form (`connections` absent when empty).
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(host, forKey: .host)
        try c.encode(config, forKey: .config)
        try c.encode(transactions, forKey: .transactions)
        try c.encode(held, forKey: .held)
        try c.encode(nextByOrigin, forKey: .nextByOrigin)
        try c.encode(originByNext, forKey: .originByNext)
        try c.encodeIfPresent(sessionNotes, forKey: .sessionNotes)
        if !connections.isEmpty {
            var text: [String: Link] = [:]
            for (k, v) in zip(connections.keys, connections.values) { text[k.string] = v }
            try c.encode(text, forKey: .connections)
        }
        try c.encode(now, forKey: .now)
        try c.encode(lastSweep, forKey: .lastSweep)
    }

    public init(host: String, config: CorrelatorConfig = CorrelatorConfig()) {
        self.host = host
        self.config = config
    }

    /// Number of open transactions (for metrics and memory bounds).
    public var openTransactions: Int { transactions.count }

    /// (instance, message ID); the ID inline (Exim's are 16 or 23 bytes; a longer one, which only a
    /// UTM `R=` could bring, is kept as its first 24 bytes and a hash: see `QueueID`).
    struct TxKey: FastKey, Codable, Sendable {
        let instance: String
        let queueID: QueueID

        init(instance: String, queueID: QueueID) {
            self.instance = instance; self.queueID = queueID
        }

        init(instance: String, queueID: String) {
            self.init(instance: instance, queueID: QueueID(queueID))
        }

        /// Of the queue ID only (IDs are nearly unique across instances).
        var fastHash: Int { queueID.fastHash }

        static func == (a: TxKey, b: TxKey) -> Bool {
            a.queueID == b.queueID && a.instance == b.instance
        }

        enum CodingKeys: String, CodingKey { case instance, queueID }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            self.init(instance: try c.decode(String.self, forKey: .instance),
                      queueID: try c.decode(String.self, forKey: .queueID))
        }
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(instance, forKey: .instance)
            try c.encode(queueID.string, forKey: .queueID)
        }
    }

    /// The key of a waiting listener connection: the client's `ip:port` text, held inline when it
    /// is at most 32 ASCII bytes without a NUL (every well-formed address), else as its String;
    /// two keys are equal exactly when their texts are equal Strings (as the former String keys).
    struct ConnectionKey: FastKey, Sendable {
        /// The text's bytes (all zero when `text` holds it).
        let id: QueueID
        /// The text, for keys that are not held inline.
        let text: String?

        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            var inline = bytes.count <= 32
            if inline { for b in bytes where b == 0 || b >= 0x80 { inline = false; break } }
            if inline {
                id = QueueID(bytes); text = nil
            } else {
                id = QueueID(UnsafeBufferPointer(start: nil, count: 0)); text = String(decoding: bytes, as: UTF8.self)
            }
        }

        init(_ s: String) {
            var copy = s
            self = copy.withUTF8 { ConnectionKey($0) }
        }

        /// An inline key (its bytes: at most 32, ASCII, no NUL).
        init(id: QueueID) { self.id = id; text = nil }

        /// The `ip:port` text.
        var string: String { text ?? id.string }

        var fastHash: Int { text?.hashValue ?? id.fastHash }

        static func == (a: ConnectionKey, b: ConnectionKey) -> Bool { a.id == b.id && a.text == b.text }
    }

    /// An Exim process: notes and the arrival they belong to are logged by the same session pid.
    struct SessionKey: Hashable, Codable, Sendable {
        var instance: String
        var pid: Int32
    }

    /// A pid-only ACL line (`H=... Warning: ...`, UTM `[ip] F=<s> R=<r> Accepted: ...`).
    struct SessionNote: Codable, Sendable {
        var at: Timestamp
        var program: String
        var client: Peer
        var sender: String?
        var recipient: String?
        var text: String
    }

    /// How long a note waits for its session's arrival; longer gaps mean the pid was reused.
    static let noteWindowMicros: Int64 = 600_000_000

    struct Link: Codable, Sendable {
        var id: String
        var at: Timestamp
    }

    struct Transaction: Codable, Sendable {
        var instance: String
        var queueID: String
        var receivedAt: Timestamp
        var lastSeen: Timestamp
        var arrived = false
        var emitted = false
        var heldSince: Timestamp?
        var msgKey: Int64?
        var messageID: String?
        var sender: String?
        var size: Int64?
        var nrcpt: Int?
        var originKind: OriginKind?
        var spamScore: Double?
        /// The facts only the message row takes (moved into it when it is emitted), nil while none
        /// is set: an emitted transaction (the usual one) holds none, so removing it releases a
        /// handful of Strings instead of twenty, and moving it copies a third of the bytes.
        var facts: Facts? {
            get { factsBox?.f }
            set { factsBox = newValue.map(FactsBox.init) }
        }
        /// `facts` on the heap, shared by copies until one writes (copy-on-write).
        private var factsBox: FactsBox?

        final class FactsBox: @unchecked Sendable {
            var f: Facts
            init(_ f: Facts) { self.f = f }
        }

        /// Changes the facts in place (made when there are none; copied first when shared).
        @inline(__always)
        private mutating func withFacts(_ body: (inout Facts) -> Void) {
            if factsBox == nil { factsBox = FactsBox(Facts()) }
            else if !isKnownUniquelyReferenced(&factsBox) { factsBox = FactsBox(factsBox!.f) }
            body(&factsBox!.f)
        }

        struct Facts: Sendable {
            var client = Peer()
            var helo: String?
            var proto: String?
            var tls: TLSInfo?
            var saslMethod: String?
            var saslUsername: String?
            var localUser: String?
            var subject: String?
            var originQueueID: String?
            var dkimResult: String?
            var dkimDomain: String?
            var spamVerdict: String?
        }

        var client: Peer {
            get { facts?.client ?? Peer() }
            set { withFacts { $0.client = newValue } }
        }
        var helo: String? {
            get { facts?.helo }
            set { withFacts { $0.helo = newValue } }
        }
        var proto: String? {
            get { facts?.proto }
            set { withFacts { $0.proto = newValue } }
        }
        var tls: TLSInfo? {
            get { facts?.tls }
            set { withFacts { $0.tls = newValue } }
        }
        var saslMethod: String? {
            get { facts?.saslMethod }
            set { withFacts { $0.saslMethod = newValue } }
        }
        var saslUsername: String? {
            get { facts?.saslUsername }
            set { withFacts { $0.saslUsername = newValue } }
        }
        var localUser: String? {
            get { facts?.localUser }
            set { withFacts { $0.localUser = newValue } }
        }
        var subject: String? {
            get { facts?.subject }
            set { withFacts { $0.subject = newValue } }
        }
        var originQueueID: String? {
            get { facts?.originQueueID }
            set { withFacts { $0.originQueueID = newValue } }
        }
        var dkimResult: String? {
            get { facts?.dkimResult }
            set { withFacts { $0.dkimResult = newValue } }
        }
        var dkimDomain: String? {
            get { facts?.dkimDomain }
            set { withFacts { $0.dkimDomain = newValue } }
        }
        var spamVerdict: String? {
            get { facts?.spamVerdict }
            set { withFacts { $0.spamVerdict = newValue } }
        }

        init(instance: String, queueID: String, at: Timestamp) {
            self.instance = instance; self.queueID = queueID; self.receivedAt = at; self.lastSeen = at
        }

        /// The keys and order of the former synthesized form (all facts flat).
        enum CodingKeys: String, CodingKey {
            case instance, queueID, receivedAt, lastSeen, arrived, emitted, heldSince, msgKey, messageID, sender,
                 client, helo, size, nrcpt, proto, tls, saslMethod, saslUsername, localUser, subject,
                 originQueueID, originKind, dkimResult, dkimDomain, spamVerdict, spamScore
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            instance = try c.decode(String.self, forKey: .instance)
            queueID = try c.decode(String.self, forKey: .queueID)
            receivedAt = try c.decode(Timestamp.self, forKey: .receivedAt)
            lastSeen = try c.decode(Timestamp.self, forKey: .lastSeen)
            arrived = try c.decode(Bool.self, forKey: .arrived)
            emitted = try c.decode(Bool.self, forKey: .emitted)
            heldSince = try c.decodeIfPresent(Timestamp.self, forKey: .heldSince)
            msgKey = try c.decodeIfPresent(Int64.self, forKey: .msgKey)
            messageID = try c.decodeIfPresent(String.self, forKey: .messageID)
            sender = try c.decodeIfPresent(String.self, forKey: .sender)
            let client = try c.decode(Peer.self, forKey: .client)
            let helo = try c.decodeIfPresent(String.self, forKey: .helo)
            size = try c.decodeIfPresent(Int64.self, forKey: .size)
            nrcpt = try c.decodeIfPresent(Int.self, forKey: .nrcpt)
            let f = Facts(
                client: client, helo: helo, proto: try c.decodeIfPresent(String.self, forKey: .proto),
                tls: try c.decodeIfPresent(TLSInfo.self, forKey: .tls),
                saslMethod: try c.decodeIfPresent(String.self, forKey: .saslMethod),
                saslUsername: try c.decodeIfPresent(String.self, forKey: .saslUsername),
                localUser: try c.decodeIfPresent(String.self, forKey: .localUser),
                subject: try c.decodeIfPresent(String.self, forKey: .subject),
                originQueueID: try c.decodeIfPresent(String.self, forKey: .originQueueID),
                dkimResult: try c.decodeIfPresent(String.self, forKey: .dkimResult),
                dkimDomain: try c.decodeIfPresent(String.self, forKey: .dkimDomain),
                spamVerdict: try c.decodeIfPresent(String.self, forKey: .spamVerdict))
            originKind = try c.decodeIfPresent(OriginKind.self, forKey: .originKind)
            spamScore = try c.decodeIfPresent(Double.self, forKey: .spamScore)
            factsBox = FactsBox(f)
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            let f = facts ?? Facts()
            try c.encode(instance, forKey: .instance)
            try c.encode(queueID, forKey: .queueID)
            try c.encode(receivedAt, forKey: .receivedAt)
            try c.encode(lastSeen, forKey: .lastSeen)
            try c.encode(arrived, forKey: .arrived)
            try c.encode(emitted, forKey: .emitted)
            try c.encodeIfPresent(heldSince, forKey: .heldSince)
            try c.encodeIfPresent(msgKey, forKey: .msgKey)
            try c.encodeIfPresent(messageID, forKey: .messageID)
            try c.encodeIfPresent(sender, forKey: .sender)
            try c.encode(f.client, forKey: .client)
            try c.encodeIfPresent(f.helo, forKey: .helo)
            try c.encodeIfPresent(size, forKey: .size)
            try c.encodeIfPresent(nrcpt, forKey: .nrcpt)
            try c.encodeIfPresent(f.proto, forKey: .proto)
            try c.encodeIfPresent(f.tls, forKey: .tls)
            try c.encodeIfPresent(f.saslMethod, forKey: .saslMethod)
            try c.encodeIfPresent(f.saslUsername, forKey: .saslUsername)
            try c.encodeIfPresent(f.localUser, forKey: .localUser)
            try c.encodeIfPresent(f.subject, forKey: .subject)
            try c.encodeIfPresent(f.originQueueID, forKey: .originQueueID)
            try c.encodeIfPresent(originKind, forKey: .originKind)
            try c.encodeIfPresent(f.dkimResult, forKey: .dkimResult)
            try c.encodeIfPresent(f.dkimDomain, forKey: .dkimDomain)
            try c.encodeIfPresent(f.spamVerdict, forKey: .spamVerdict)
            try c.encodeIfPresent(spamScore, forKey: .spamScore)
        }
    }

    static let smtpdInstance = "smtpd"
    static let utmIn = "exim-in"
    static let utmOut = "exim-out"

    // MARK: - Exim

    /// Stores an arrival line's facts in `tx` (values made once and stored once; repeated ones
    /// through the caches `cs`).
    @inline(__always)
    static func fillArrival(_ tx: inout Transaction, _ e: EximLine, _ cs: inout Caches) {
        let b = e.bytes
        let tls = cs.tlsInfo(e)
        let sender = EximStrings.fresh(in: b, e.sender)
        let bounce = sender.isEmpty
        tx.sender = sender
        let c = e.client
        tx.client = Peer(name: cs.optional(c.name, b), ip: cs.optional(c.ip, b), port: c.port)
        tx.helo = cs.optional(e.helo, b)
        tx.size = e.size
        tx.nrcpt = e.recipientCount == 0 ? nil : e.recipientCount
        tx.proto = cs.optional(e.proto, b)
        tx.tls = tls
        tx.saslMethod = cs.optional(e.authenticator, b)
        tx.saslUsername = cs.optional(e.authID, b)
        tx.localUser = cs.optional(e.localUser, b)
        tx.subject = e.subject.isAbsent ? nil : e.subjectEscapeFree ? EximStrings.fresh(in: b, e.subject) : EximLine.unescaped(b, e.subject)
        if e.messageIDHeader.isPresent { tx.messageID = EximStrings.fresh(in: b, e.messageIDHeader); tx.msgKey = nil }
        if tx.dkimResult == nil, e.dkimDomain.isPresent {
            tx.dkimResult = "pass"; tx.dkimDomain = cs.strings.string(e.dkimDomain, in: b)
        }
        if e.reference.isPresent {
            tx.originQueueID = Self.queueID(e, e.reference, &cs)
            tx.originKind = bounce ? .bounce : .reinjection
        }
    }

    /// Stores an arrival event's facts in `tx` (the String API's form of `fillArrival`).
    static func fillArrival(_ tx: inout Transaction, _ a: EximArrival) {
        tx.sender = a.sender
        tx.client = a.client
        tx.helo = a.helo
        tx.size = a.size
        tx.nrcpt = a.recipients.isEmpty ? nil : a.recipients.count
        tx.proto = a.proto
        tx.tls = a.tls
        tx.saslMethod = a.authenticator
        tx.saslUsername = a.authID
        tx.localUser = a.localUser
        tx.subject = a.subject
        if let m = a.messageIDHeader { tx.messageID = m; tx.msgKey = nil }
        if tx.dkimResult == nil, let d = a.dkimDomain { tx.dkimResult = "pass"; tx.dkimDomain = d }
        if let ref = a.reference {
            tx.originQueueID = ref
            tx.originKind = a.sender.isEmpty ? .bounce : .reinjection
        }
    }

    /// The delivery status of an Exim delivery flag.
    static func status(_ flag: EximDeliveryFlag) -> DeliveryStatus {
        switch flag {
        case .delivered, .additional, .cutthrough: return .sent
        case .suppressed: return .discarded
        case .failed: return .bounced
        case .deferred: return .deferred
        }
    }

    /// Feeds one parsed Exim line (any instance; the hot path); appends what it completes to `out`.
    public mutating func receive(_ ctx: LineContext, _ line: EximLine, into out: inout CorrelatorOutput) {
        tick(ctx.time)
        let instance = ctx.program
        let b = line.bytes
        // The common kinds each in a function of their own: one body holding them all grew past
        // the optimiser's inlining limits, so the line's accessors and the String makers were calls.
        switch line.kind {
        case .arrival:
            receiveArrival(ctx, line, into: &out)
        case .delivery:
            receiveDelivery(ctx, line, into: &out)
        case .completed:
            finish(TxKey(instance: instance, queueID: b.queueID(line.messageID)), into: &out)
        case .note:
            let key = TxKey(instance: instance, queueID: b.queueID(line.messageID))
            if let i = transactions.index(of: key) { transactions.withValue(at: i) { $0.lastSeen = ctx.time } }
        case .connection:
            let c = line.client
            if c.ip.isPresent, let port = c.port {
                connections[Self.connectionKey(b.buffer(c.ip), port)] =
                    Link(id: caches!.strings.optionalString(c.name, in: b) ?? "", at: ctx.time)
            }
        case .reject:
            receiveReject(ctx, line, into: &out)
        case .other:
            if let e = line.event { exim(ctx, instance: instance, e, into: &out) }
        }
        afterEvent(into: &out)
    }

    /// An arrival line (`receive`).
    @inline(never)
    private mutating func receiveArrival(_ ctx: LineContext, _ line: EximLine, into out: inout CorrelatorOutput) {
        let instance = ctx.program
        let b = line.bytes
        let key = TxKey(instance: instance, queueID: b.queueID(line.messageID))
        let c = line.client
        let connection = !connections.isEmpty && c.ip.isPresent && c.port != nil
            ? takeConnection(Self.connectionKey(b.buffer(c.ip), c.port!)) : nil
        // The caches leave `self` while the transaction is filled in place (values made once,
        // stored once: no facts struct to copy and destroy).
        var cs = take(&caches)!
        let shared = Self.borrowShared(line, &cs)
        let id = Self.queueID(line, line.messageID, &cs)
        // One lookup: the transaction is made here when new (the usual case, its row then made
        // straight from the line); an existing one takes the general path.
        let (i, created) = directArrivals
            ? transactions.index(of: key, orMake: { Transaction(instance: instance, queueID: id, at: ctx.time) })
            : (-1, false)
        if created {
            let host = self.host
            let wantIP = sessionNotes != nil
            let clientIP = transactions.withValue(at: i) { tx in
                Self.arriveDirect(&tx, ctx, line, connection, host: host, wantIP: wantIP, &cs, into: &out)
            }
            if sessionNotes != nil { sessionArrived(ctx, instance: instance, id, clientIP: clientIP, into: &out) }
        } else {
            arrival(ctx, instance: instance, key, id, connection: connection, into: &out) { tx in
                Self.fillArrival(&tx, line, &cs)
            }
        }
        if shared { Self.returnShared(line, &cs) }
        putBack(consume cs)
    }

    /// A delivery line (`receive`).
    @inline(never)
    private mutating func receiveDelivery(_ ctx: LineContext, _ line: EximLine, into out: inout CorrelatorOutput) {
        let instance = ctx.program
        let b = line.bytes
        let key = TxKey(instance: instance, queueID: b.queueID(line.messageID))
        var cs = take(&caches)!
        let shared = Self.borrowShared(line, &cs)
        let id: String, mk: Int64, receivedAt: Timestamp?
        if let t = deliveryTarget(ctx, key, into: &out) {
            (id, mk, receivedAt) = t
        } else {
            id = Self.queueID(line, line.messageID, &cs)
            (mk, receivedAt) = (MessageKey.forQueue(host: host, queueID: id), nil)
        }
        let status = Self.status(line.flag)
        var next = line.nextQueueID.isAbsent ? nil : Self.queueID(line, line.nextQueueID, &cs)
        if next == nil, instance == EximCorrelator.smtpdInstance, status == .sent { next = nextByOrigin[id]?.id }
        // `=> alice <alice@example.com>`: LocalRecipient's rule, read on the bytes.
        let local = line.origRecipient.isPresent && !b.buffer(line.recipient).contains(0x40)
            && b.buffer(line.origRecipient).contains(0x40)
        let tls = cs.tlsInfo(line)
        if shared { Self.returnShared(line, &cs) }
        putBack(consume cs)
        // The row packed from the line's bytes (no String made for it): the recipient and
        // original (swapped for a local part), router, transport, relay, dsn and a plain or
        // escape-free reply as they stand; an escaped reply unescaped first.
        out.deliveries.text.claim()
        let qid = out.deliveries.text.put(id)
        let recipient = local ? out.deliveries.text.put(b, line.origRecipient) : out.deliveries.text.putOrEmpty(b, line.recipient)
        let original = local ? out.deliveries.text.putOrEmpty(b, line.recipient) : out.deliveries.text.put(b, line.origRecipient)
        let router = out.deliveries.text.put(b, line.router), transport = out.deliveries.text.put(b, line.transport)
        let relayName = out.deliveries.text.put(b, line.relay.name), relayIP = out.deliveries.text.put(b, line.relay.ip)
        let response = line.response.isPresent && line.responseQuoted && !line.responseEscapeFree
            ? out.deliveries.text.put(EximLine.unescaped(b, line.response)) : out.deliveries.text.put(b, line.response)
        let dsn = out.deliveries.text.put(b, line.dsn), nextRef = out.deliveries.text.put(next)
        out.deliveries.appendPacked(PackedDelivery(
            at: ctx.time, msgKey: mk, host: host, instance: instance, queueID: qid, receivedAt: receivedAt,
            recipient: recipient, origRecipient: original, status: status, dsn: dsn, transport: transport,
            relayName: relayName, relayIP: relayIP, relayPort: line.relay.port, delay: line.queueTime ?? line.deliveryTime,
            tls: tls, response: response, nextQueueID: nextRef, router: router))
    }

    /// A refusal line (`receive`).
    @inline(never)
    private mutating func receiveReject(_ ctx: LineContext, _ line: EximLine, into out: inout CorrelatorOutput) {
        let instance = ctx.program
        let b = line.bytes
        // As `exim`'s `.reject` (Strings of repeated values through the cache).
        var id: String? = nil
        let mk: Int64
        if line.messageID.isPresent {
            let key = TxKey(instance: instance, queueID: b.queueID(line.messageID))
            if let i = transactions.index(of: key) {
                id = transactions.values[i].queueID
                let host = self.host
                mk = transactions.withValue(at: i) { Self.messageKey(&$0, host: host) }
            } else {
                let s = caches!.strings.string(line.messageID, in: b)
                id = s
                mk = MessageKey.forQueue(host: host, queueID: s)
            }
        } else {
            let c = line.client
            mk = MessageKey.forQueue(host: host, prefix: "NOQUEUE/",
                                     bytes: c.ip.isPresent ? b.buffer(c.ip) : UnsafeBufferPointer(start: nil, count: 0))
        }
        var cs = take(&caches)!
        let shared = Self.borrowShared(line, &cs)
        // Refused senders, recipients and client names: made afresh (see the file comment).
        let c = line.client
        let record = RejectionRecord(
            at: ctx.time, msgKey: mk, host: host, instance: instance, queueID: id, program: ctx.program,
            action: line.rejectActionText, stage: line.rejectStage,
            client: Peer(name: EximStrings.optionalFresh(in: b, c.name), ip: cs.optional(c.ip, b), port: c.port),
            helo: cs.optional(line.helo, b), sender: EximStrings.optionalFresh(in: b, line.sender),
            recipient: EximStrings.optionalFresh(in: b, line.recipient),
            code: cs.optional(line.code, b), dsn: cs.optional(line.dsn, b),
            reason: line.reasonText { EximStrings.fresh(in: b, $0) })
        if shared { Self.returnShared(line, &cs) }
        putBack(consume cs)
        out.rejections.append(record)
    }

    /// Puts the caches `take(&caches)` moved out back into `caches` (nil since): initialized in
    /// place, since an assignment would first destroy the nil (an outlined call through the
    /// type's metadata, ~60 instructions a line). A nil holds nothing, so skipping it leaks nothing.
    @inline(__always)
    private mutating func putBack(_ cs: consuming Caches) {
        assert({ if case .none = caches { return true } else { return false } }(), "putBack without take")
        withUnsafeMutablePointer(to: &caches) { $0.initialize(to: cs) }
    }

    /// Puts the line's shared cache (made on first use) in place of `cs.ids` when the line shares
    /// one (swapped: no reference count changes); whether it did (then `returnShared` must follow).
    @inline(__always)
    static func borrowShared(_ line: EximLine, _ cs: inout Caches) -> Bool {
        guard line.storage.pointee.sharesStrings else { return false }
        if line.storage.pointee.strings == nil { line.storage.pointee.strings = SharedStringCache(bits: 12) }
        swap(&cs.ids, &line.storage.pointee.strings!)
        if line.storage.pointee.idKeys == nil { line.storage.pointee.idKeys = MessageKey.Cache() }
        swap(&cs.keys, &line.storage.pointee.idKeys)
        return true
    }

    /// The queue ID at `s` (present) of `line`: from the line's shared memo of recent IDs when the
    /// line shares its caches and the span has an Exim ID's length (the arrival makes the String,
    /// the previous hop's `250 OK id=` a few lines later finds it), else through `cs.ids`.
    @inline(__always)
    static func queueID(_ line: EximLine, _ s: Span, _ cs: inout Caches) -> String {
        let n = s.count
        guard line.storage.pointee.sharesStrings, EximIDMemo.fits(n) else { return cs.ids.string(s, in: line.bytes) }
        if line.storage.pointee.queueIDs == nil { line.storage.pointee.queueIDs = EximIDMemo.make() }
        return line.storage.pointee.queueIDs.unsafelyUnwrapped.string(line.bytes.base + Int(s.lo), n)
    }

    /// Gives the shared cache `borrowShared` took back to the line.
    @inline(__always)
    static func returnShared(_ line: EximLine, _ cs: inout Caches) {
        swap(&cs.ids, &line.storage.pointee.strings!)
        swap(&cs.keys, &line.storage.pointee.idKeys)
    }

    /// Feeds one Exim event (any instance); appends what it completes to `out`.
    public mutating func receive(_ ctx: LineContext, _ event: EximEvent, into out: inout CorrelatorOutput) {
        tick(ctx.time)
        exim(ctx, instance: ctx.program, event, into: &out)
        afterEvent(into: &out)
    }

    private mutating func exim(_ ctx: LineContext, instance: String, _ event: EximEvent,
                               into out: inout CorrelatorOutput) {
        switch event {
        case .arrival(let id, let a):
            let connection = !connections.isEmpty && a.client.ip != nil && a.client.port != nil
                ? takeConnection(Self.connectionKey(a.client.ip!, a.client.port!)) : nil
            arrival(ctx, instance: instance, TxKey(instance: instance, queueID: id), id, connection: connection,
                    into: &out) { tx in Self.fillArrival(&tx, a) }
        case .delivery(let id, let d):
            let (_, mk, receivedAt) = deliveryTarget(ctx, TxKey(instance: instance, queueID: id), into: &out)
                ?? (id, MessageKey.forQueue(host: host, queueID: id), nil)
            let status = Self.status(d.flag)
            var next = d.nextQueueID
            if next == nil, instance == EximCorrelator.smtpdInstance, status == .sent { next = nextByOrigin[id]?.id }
            // `=> alice <alice@example.com>`: see LocalRecipient.
            let (recipient, original) = LocalRecipient.resolve(logged: d.recipient, other: d.origRecipient)
            out.deliveries.append(DeliveryRecord(
                at: ctx.time, msgKey: mk, host: host, instance: instance, queueID: id, receivedAt: receivedAt,
                recipient: recipient, origRecipient: original, status: status, dsn: d.dsn,
                transport: d.transport, relay: d.relay, delay: d.queueTime ?? d.deliveryTime, tls: d.tls,
                response: d.response, nextQueueID: next, router: d.router))
        case .completed(let id):
            finish(TxKey(instance: instance, queueID: id), into: &out)
        case .dkim(let id, let domain, let result):
            let key = TxKey(instance: instance, queueID: id)
            var tx = openTx(key, id, ctx.time)
            if tx.dkimResult == nil || (tx.dkimResult != "pass" && result == "pass") {
                tx.dkimResult = result
                tx.dkimDomain = domain
            }
            transactions[key] = tx
        case .spamVerdict(let id, let verdict, let score):
            let key = TxKey(instance: instance, queueID: id)
            var tx = openTx(key, id, ctx.time)
            tx.spamVerdict = verdict
            tx.spamScore = score
            transactions[key] = tx
        case .note(let id, _):
            transactions[TxKey(instance: instance, queueID: id)]?.lastSeen = ctx.time
        case .reject(let id, let r):
            var mk: Int64
            if let id, var tx = transactions[TxKey(instance: instance, queueID: id)] {
                mk = messageKey(&tx)
                transactions[TxKey(instance: instance, queueID: id)] = tx
            } else if let id {
                mk = MessageKey.forQueue(host: host, queueID: id)
            } else {
                mk = MessageKey.forQueue(host: host, queueID: "NOQUEUE/" + (r.client.ip ?? ""))
            }
            out.rejections.append(RejectionRecord(
                at: ctx.time, msgKey: mk, host: host, instance: instance, queueID: id, program: ctx.program,
                action: r.action, stage: r.stage, client: r.client, helo: r.helo, sender: r.sender,
                recipient: r.recipient, code: r.code, dsn: r.dsn, reason: r.reason))
        case .sessionNote(let client, let sender, let recipient, let text):
            let key = SessionKey(instance: instance, pid: ctx.pid)
            // A note of another client, or after a long gap, means the pid now serves a new
            // session: the old notes belong to no message.
            if let last = sessionNotes?[key]?.last,
               ctx.time.micros - last.at.micros > Self.noteWindowMicros
                || (last.client.ip != nil && client.ip != nil && last.client.ip != client.ip) {
                flushNotes(key, queueID: nil, instance: instance, into: &out)
            }
            sessionNotes = sessionNotes ?? [:]
            sessionNotes![key, default: []].append(SessionNote(at: ctx.time, program: ctx.program, client: client,
                                                               sender: sender, recipient: recipient, text: text))
        case .connection(let client):
            // The listener logs the connection before it forks the session process, so only the
            // client's ip:port joins it to the session; its name fills in an arrival logged
            // without one.
            if let ip = client.ip, let port = client.port {
                connections[Self.connectionKey(ip, port)] = Link(id: client.name ?? "", at: ctx.time)
            }
        }
    }

    /// The `connections` key of a client: `connectionKeyPlain`'s, with the usual `a.b.c.d:port`
    /// (8 to 16 bytes of address, none of them NUL or over 0x7F, a port of at most five digits)
    /// written with two word stores for the address and one byte store per other byte.
    @inline(__always)
    static func connectionKey(_ ip: UnsafeBufferPointer<UInt8>, _ port: Int) -> ConnectionKey {
        let n = ip.count
        guard n >= 8, n <= 16, port >= 0, port < 100_000, let p = ip.baseAddress else {
            return connectionKeyPlain(ip, port)
        }
        let raw = UnsafeRawPointer(p)
        let first = raw.loadUnaligned(as: UInt64.self), last = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        // No byte over 0x7F, none zero (the words cover the address's bytes and nothing else).
        let highs: UInt64 = 0x8080_8080_8080_8080, lows: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        @inline(__always) func zeroBytes(_ x: UInt64) -> UInt64 { ~(((x & lows) &+ lows) | x | lows) }
        guard (first | last) & highs == 0, zeroBytes(first) | zeroBytes(last) == 0 else {
            return connectionKeyPlain(ip, port)
        }
        var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)      // QueueID's bytes
        withUnsafeMutableBytes(of: &words) { w in
            w.storeBytes(of: first, as: UInt64.self)
            w.storeBytes(of: last, toByteOffset: n - 8, as: UInt64.self)
            w[n] = 0x3A
            let digits = port < 10 ? 1 : port < 100 ? 2 : port < 1_000 ? 3 : port < 10_000 ? 4 : 5
            var v = port, k = n + 1 + digits
            repeat { k -= 1; w[k] = UInt8(truncatingIfNeeded: 0x30 &+ v % 10); v /= 10 } while v > 0
        }
        var id = QueueID(UnsafeBufferPointer(start: nil, count: 0))
        id.w0 = words.0; id.w1 = words.1; id.w2 = words.2; id.w3 = words.3
        return ConnectionKey(id: id)
    }

    /// The `connections` key of a client: `ip:port` (the text of `"\(ip):\(port)"`), written
    /// straight into the inline words when it fits them (no allocation), else made as a String.
    static func connectionKeyPlain(_ ip: UnsafeBufferPointer<UInt8>, _ port: Int) -> ConnectionKey {
        var m = port.magnitude, digits = 1
        while m >= 10 { m /= 10; digits += 1 }
        let sign = port < 0 ? 1 : 0
        if ip.count + 1 + sign + digits <= 32 {
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)      // QueueID's bytes
            let inline = withUnsafeMutableBytes(of: &words) { w -> Bool in
                var o = 0
                for x in ip {
                    if x == 0 || x >= 0x80 { return false }
                    w[o] = x; o += 1
                }
                w[o] = 0x3A; o += 1
                if sign == 1 { w[o] = 0x2D; o += 1 }
                var n = port.magnitude, k = o + digits
                repeat { k -= 1; w[k] = UInt8(truncatingIfNeeded: 0x30 &+ n % 10); n /= 10 } while n > 0
                return true
            }
            if inline {
                var id = QueueID(UnsafeBufferPointer(start: nil, count: 0))
                id.w0 = words.0; id.w1 = words.1; id.w2 = words.2; id.w3 = words.3
                return ConnectionKey(id: id)
            }
        }
        return ConnectionKey(connectionText(ip, port))
    }

    /// The text of `"\(ip):\(port)"` (the key's String, for keys not held inline).
    static func connectionText(_ ip: UnsafeBufferPointer<UInt8>, _ port: Int) -> String {
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        return withUnsafeMutableBytes(of: &digits) { d -> String in
            var n = port.magnitude
            var k = 24
            repeat { k -= 1; d[k] = UInt8(truncatingIfNeeded: 0x30 &+ n % 10); n /= 10 } while n > 0
            if port < 0 { k -= 1; d[k] = 0x2D }
            let tail = UnsafeRawBufferPointer(rebasing: d[k..<24])
            return String(unsafeUninitializedCapacity: ip.count + 1 + tail.count) { out in
                var o = 0
                for x in ip { out[o] = x; o += 1 }
                out[o] = 0x3A; o += 1
                for x in tail { out[o] = x; o += 1 }
                return o
            }
        }
    }

    static func connectionKey(_ ip: String, _ port: Int) -> ConnectionKey {
        var ip = ip
        return ip.withUTF8 { connectionKey($0, port) }
    }

    /// Writes the pending notes of session `key` as policy rows: attached to the message
    /// `queueID` (its arrival came from the same process) or, when nil, to none.
    private mutating func flushNotes(_ key: SessionKey, queueID: String?, instance: String,
                                     into out: inout CorrelatorOutput) {
        guard let notes = sessionNotes?.removeValue(forKey: key), !notes.isEmpty else { return }
        if sessionNotes?.isEmpty == true { sessionNotes = nil }
        var mk: Int64? = nil
        if let q = queueID, var tx = transactions[TxKey(instance: instance, queueID: q)] {
            mk = messageKey(&tx)
            transactions[TxKey(instance: instance, queueID: q)] = tx
        }
        for n in notes {
            let action = n.text.hasPrefix("Warning") ? "warning" : n.text.hasPrefix("Accepted") ? "accepted" : "note"
            out.rejections.append(RejectionRecord(
                at: n.at, msgKey: mk ?? MessageKey.forQueue(host: host, queueID: "NOQUEUE/" + (n.client.ip ?? "")),
                host: host, instance: instance, queueID: queueID, program: n.program, action: action,
                stage: n.recipient == nil ? nil : "RCPT", client: n.client, sender: n.sender,
                recipient: n.recipient, reason: n.text))
        }
    }

    /// Removes and returns the listener connection of client `key` (`ip:port`), if one waits.
    private mutating func takeConnection(_ key: ConnectionKey) -> Link? {
        guard let i = connections.index(of: key) else { return nil }
        let link = connections.value(at: i)
        connections.remove(at: i)
        return link
    }

    /// An arrival of message `key`: `fill` stores the line's facts in its transaction, which is
    /// then emitted; `connection` is the client's listener line, if one waited.
    private mutating func arrival(_ ctx: LineContext, instance: String, _ key: TxKey, _ id: String,
                                  connection: Link?, into out: inout CorrelatorOutput,
                                  fill: (inout Transaction) -> Void) {
        var index = transactions.index(of: key)
        if let i = index, transactions.values[i].arrived { finish(key, into: &out); index = nil }
        let wantIP = sessionNotes != nil
        // The transaction's dense index is known (found, or appended last): emitted without a
        // second lookup.
        let clientIP: String?
        let at: Int
        if let i = index {
            at = i
            clientIP = transactions.withValue(at: i) { Self.arrive(&$0, ctx, connection, wantIP, fill) }
        } else {
            clientIP = transactions.withValue(key, make: { Transaction(instance: instance, queueID: id, at: ctx.time) }) {
                tx, _ in Self.arrive(&tx, ctx, connection, wantIP, fill)
            }
            at = transactions.count - 1
        }
        emit(at: at, into: &out)
        if wantIP { sessionArrived(ctx, instance: instance, id, clientIP: clientIP, into: &out) }
    }

    /// A message `id` arrived from `clientIP` in the session of `ctx.pid`: the ACL notes the
    /// session logged before it belong to it, when they are recent and of the same client (a
    /// reused pid serves another client).
    private mutating func sessionArrived(_ ctx: LineContext, instance: String, _ id: String, clientIP: String?,
                                         into out: inout CorrelatorOutput) {
        let skey = SessionKey(instance: instance, pid: ctx.pid)
        if let notes = sessionNotes?[skey], let first = notes.first {
            let sameClient = notes.allSatisfy { $0.client.ip == nil || clientIP == nil || $0.client.ip == clientIP }
            let recent = ctx.time.micros - first.at.micros <= Self.noteWindowMicros
            flushNotes(skey, queueID: sameClient && recent ? id : nil, instance: instance, into: &out)
        }
    }

    /// The arrival of a new message (`tx` just made, nothing else stored in it) on the hot path:
    /// its row packed straight from the line's bytes, and `tx` left as `emit` leaves it: the
    /// values, row and state of `arrive` with `fillArrival` then `emit`, without a String for a
    /// value only the row reads (client, HELO, proto, SASL, subject, local user, DKIM, origin) and
    /// without a record to destroy. Returns the client IP when `wantIP` (session notes).
    @inline(__always)
    private static func arriveDirect(_ tx: inout Transaction, _ ctx: LineContext, _ e: EximLine, _ connection: Link?,
                                     host: String, wantIP: Bool, _ cs: inout Caches,
                                     into out: inout CorrelatorOutput) -> String? {
        let b = e.bytes
        tx.arrived = true
        tx.emitted = true
        let tls = cs.tlsInfo(e)
        // The values the transaction keeps (saved state, UTM stages, the next hop's Message-ID).
        tx.sender = EximStrings.fresh(in: b, e.sender)
        tx.size = e.size
        tx.nrcpt = e.recipientCount == 0 ? nil : e.recipientCount
        if e.messageIDHeader.isPresent {
            if cs.keys != nil {
                // The shared cache's String and key (the next hop's arrival finds both).
                let (v, k) = cs.keys!.value(b.buffer(e.messageIDHeader))
                tx.messageID = v
                tx.msgKey = k
            } else {
                tx.messageID = EximStrings.fresh(in: b, e.messageIDHeader)
            }
        }
        if e.reference.isPresent { tx.originKind = tx.sender!.isEmpty ? .bounce : .reinjection }
        let c = e.client
        // `arrive`: the waiting listener line's client name, for a line without one.
        let listenerName = c.name.isAbsent ? connection.flatMap { l in
            ctx.time.micros - l.at.micros <= Self.noteWindowMicros && !l.id.isEmpty ? l.id : nil
        } : nil
        let mk = Self.messageKey(&tx, host: host)
        // `emit`, packed: each value's bytes as the line has them (what the String path's
        // `String(decoding:)` of the same span reads as), a subject with escapes unescaped first.
        out.messages.text.claim()
        let row = PackedMessage(
            receivedAt: tx.receivedAt, msgKey: mk, host: host, mta: "exim", instance: tx.instance,
            queueID: out.messages.text.put(b, e.messageID), messageID: out.messages.text.put(b, e.messageIDHeader),
            sender: out.messages.text.putOrEmpty(b, e.sender),
            clientName: listenerName.map { out.messages.text.put($0) } ?? out.messages.text.put(b, c.name),
            clientIP: out.messages.text.put(b, c.ip), clientPort: c.port, size: tx.size, nrcpt: tx.nrcpt,
            proto: out.messages.text.put(b, e.proto), helo: out.messages.text.put(b, e.helo), tls: tls,
            saslMethod: out.messages.text.put(b, e.authenticator), saslUsername: out.messages.text.put(b, e.authID),
            originQueueID: out.messages.text.put(b, e.reference), originKind: tx.originKind,
            subject: e.subject.isAbsent || e.subjectEscapeFree ? out.messages.text.put(b, e.subject)
                : out.messages.text.put(EximLine.unescaped(b, e.subject)),
            localUser: out.messages.text.put(b, e.localUser),
            dkimResult: e.dkimDomain.isPresent ? out.messages.text.put("pass") : .none, dkimDomain: out.messages.text.put(b, e.dkimDomain))
        out.messages.appendPacked(row)
        return wantIP ? cs.optional(c.ip, b) : nil
    }

    /// Marks `tx` arrived at `ctx.time`, stores the line's facts (`fill`) and the waiting listener
    /// connection's name; the client IP when `wantIP`.
    @inline(__always)
    private static func arrive(_ tx: inout Transaction, _ ctx: LineContext, _ connection: Link?, _ wantIP: Bool,
                               _ fill: (inout Transaction) -> Void) -> String? {
        tx.receivedAt = ctx.time
        tx.lastSeen = ctx.time
        tx.arrived = true
        fill(&tx)
        if let c = connection {
            if ctx.time.micros - c.at.micros <= Self.noteWindowMicros, tx.client.name == nil, !c.id.isEmpty {
                tx.client.name = c.id
            }
        }
        return wantIP ? tx.client.ip : nil
    }

    /// The transaction a delivery of `key` belongs to: its ID's text, message key and arrival time
    /// (nil when it never arrived); emits it if it was held. Nil when there is no transaction.
    private mutating func deliveryTarget(_ ctx: LineContext, _ key: TxKey,
                                         into out: inout CorrelatorOutput) -> (String, Int64, Timestamp?)? {
        guard let i = transactions.index(of: key) else { return nil }
        let id = transactions.values[i].queueID
        if transactions.values[i].heldSince != nil { emit(at: i, into: &out) }
        if transactions.values[i].arrived {
            let host = self.host
            let (mk, receivedAt) = transactions.withValue(at: i) { tx in
                tx.lastSeen = ctx.time
                return (Self.messageKey(&tx, host: host), tx.receivedAt)
            }
            return (id, mk, receivedAt)
        }
        return (id, MessageKey.forQueue(host: host, queueID: id), nil)
    }

    // MARK: - Sophos UTM smtpd

    /// Feeds one UTM smtpd event; appends what it completes to `out`.
    public mutating func receive(_ ctx: LineContext, _ event: UTMEvent, into out: inout CorrelatorOutput) {
        tick(ctx.time)
        let stage = EximCorrelator.smtpdInstance
        switch event {
        case .movedToWorkQueue(let a):
            openStage(a, ctx.time)
        case .scanner(let e):
            switch e {
            case .arrival(let b, let arr):
                scannerArrival(ctx, b, arr, into: &out)
            case .delivery(let a, _), .completed(let a):
                openStage(a, ctx.time)
                emit(TxKey(instance: stage, queueID: a), into: &out)
                exim(ctx, instance: stage, e, into: &out)
            default:
                exim(ctx, instance: stage, e, into: &out)
            }
        case .secureMail(let m):
            guard let b = m.queueID else { break }
            let outKey = TxKey(instance: EximCorrelator.utmOut, queueID: b)
            if var tx = transactions[outKey] {
                if tx.subject == nil { tx.subject = m.subject }
                tx.lastSeen = ctx.time
                transactions[outKey] = tx
                emit(outKey, into: &out)
            }
            if let a = originByNext[b]?.id {
                let stageKey = TxKey(instance: stage, queueID: a)
                if var tx = transactions[stageKey] {
                    if tx.subject == nil { tx.subject = m.subject }
                    tx.spamVerdict = m.name
                    tx.lastSeen = ctx.time
                    transactions[stageKey] = tx
                }
            }
        }
        afterEvent(into: &out)
    }

    /// Opens (if new) the smtpd stage of exim-in message `a`, held until SCANNER is done with it.
    private mutating func openStage(_ a: String, _ at: Timestamp) {
        let key = TxKey(instance: EximCorrelator.smtpdInstance, queueID: a)
        if let tx = transactions[key], tx.arrived { transactions[key]?.lastSeen = at; return }
        var tx = transactions[key] ?? Transaction(instance: key.instance, queueID: a, at: at)
        tx.receivedAt = at
        tx.lastSeen = at
        tx.arrived = true
        tx.originQueueID = a
        tx.originKind = .reinjection
        if let src = transactions[TxKey(instance: EximCorrelator.utmIn, queueID: a)] {
            tx.messageID = src.messageID
            tx.sender = src.sender
            tx.size = src.size
        }
        tx.heldSince = at
        transactions[key] = tx
        held.append(key)
    }

    private mutating func scannerArrival(_ ctx: LineContext, _ b: String, _ arr: EximArrival,
                                         into out: inout CorrelatorOutput) {
        let key = TxKey(instance: EximCorrelator.utmOut, queueID: b)
        if let old = transactions[key], old.arrived { finish(key, into: &out) }
        var tx = transactions[key] ?? Transaction(instance: key.instance, queueID: b, at: ctx.time)
        tx.receivedAt = ctx.time
        tx.lastSeen = ctx.time
        tx.arrived = true
        tx.sender = arr.sender
        tx.size = arr.size
        tx.proto = arr.proto
        if let ref = arr.reference {
            if transactions[TxKey(instance: EximCorrelator.utmOut, queueID: ref)] != nil
                || originByNext[ref] != nil {
                // The scanner re-queued an output message that exim-out failed to deliver.
                tx.originQueueID = ref
                tx.originKind = .requeue
                let src = transactions[TxKey(instance: EximCorrelator.utmOut, queueID: ref)]
                tx.messageID = src?.messageID
            } else {
                openStage(ref, ctx.time)
                nextByOrigin[ref] = Link(id: b, at: ctx.time)
                originByNext[b] = Link(id: ref, at: ctx.time)
                let stage = transactions[TxKey(instance: EximCorrelator.smtpdInstance, queueID: ref)]
                tx.messageID = stage?.messageID
            }
        }
        tx.msgKey = nil
        tx.heldSince = ctx.time
        transactions[key] = tx
        held.append(key)
    }

    // MARK: - Emission

    /// Emits everything held back (end of a one-shot ingest).
    public mutating func flushHeld(into out: inout CorrelatorOutput) {
        for key in held { emit(key, into: &out) }
        held.removeAll()
        let pending = (sessionNotes?.keys).map(Array.init) ?? []
        for key in pending.sorted(by: { ($0.instance, $0.pid) < ($1.instance, $1.pid) }) {
            flushNotes(key, queueID: nil, instance: key.instance, into: &out)
        }
    }

    private mutating func emit(_ key: TxKey, into out: inout CorrelatorOutput) {
        guard let i = transactions.index(of: key) else { return }
        emit(at: i, into: &out)
    }

    private mutating func emit(at i: Int, into out: inout CorrelatorOutput) {
        guard transactions.values[i].arrived, !transactions.values[i].emitted else { return }
        let host = self.host
        let wasHeld = transactions.withValue(at: i) { tx -> Bool in
            let mk = Self.messageKey(&tx, host: host)
            tx.emitted = true
            let wasHeld = tx.heldSince != nil
            tx.heldSince = nil
            // Facts no later line reads leave the transaction (taken, not copied) for the record,
            // whose bytes are packed like a direct arrival's row (one kind per batch: no order to
            // keep; this path is rare); the IDs, sender and size stay (deliveries, UTM stages).
            let f = take(&tx.facts) ?? Transaction.Facts()
            out.messages.appendPacked(PackedMessage(MessageRecord(
                receivedAt: tx.receivedAt, msgKey: mk, host: host, mta: "exim", instance: tx.instance,
                queueID: tx.queueID, messageID: tx.messageID, sender: tx.sender, client: f.client, size: tx.size,
                nrcpt: tx.nrcpt, proto: f.proto, helo: f.helo, tls: f.tls,
                saslMethod: f.saslMethod, saslUsername: f.saslUsername,
                originQueueID: f.originQueueID, originKind: tx.originKind, subject: f.subject,
                localUser: f.localUser, dkimResult: f.dkimResult, dkimDomain: f.dkimDomain,
                spamVerdict: f.spamVerdict, spamScore: tx.spamScore), text: &out.messages.text))
            return wasHeld
        }
        if wasHeld {
            let key = transactions.keys[i]
            held.removeAll { $0 == key }
        }
    }

    private mutating func finish(_ key: TxKey, into out: inout CorrelatorOutput) {
        guard let i = transactions.index(of: key) else { return }
        emit(at: i, into: &out)
        transactions.remove(at: i)
        if !held.isEmpty { held.removeAll { $0 == key } }
    }

    private mutating func tick(_ t: Timestamp) { if t > now { now = t } }

    /// Emits held transactions whose window passed and sweeps hourly; the test for whether either
    /// is due is inlined (every line makes it), the work is not.
    @inline(__always)
    private mutating func afterEvent(into out: inout CorrelatorOutput) {
        if !held.isEmpty || now.micros - lastSweep.micros > 3_600_000_000 { afterEventWork(into: &out) }
    }

    @inline(never)
    private mutating func afterEventWork(into out: inout CorrelatorOutput) {
        if !held.isEmpty {
            let limit = now.micros - config.holdWindowSeconds * 1_000_000
            for key in held {
                if let i = transactions.index(of: key), let since = transactions.values[i].heldSince,
                   since.micros <= limit {
                    emit(at: i, into: &out)
                }
            }
        }
        if now.micros - lastSweep.micros > 3_600_000_000 { sweep(into: &out) }
    }

    /// Drops state nobody will complete: stale transactions (emitted if they arrived) and old UTM links.
    private mutating func sweep(into out: inout CorrelatorOutput) {
        lastSweep = now
        let stale = now.micros - config.staleAfterSeconds * 1_000_000
        var staleKeys: [TxKey] = []
        for i in 0..<transactions.count where transactions.values[i].lastSeen.micros < stale {
            staleKeys.append(transactions.keys[i])
        }
        for key in staleKeys { finish(key, into: &out) }
        let dayAgo = now.micros - 86_400_000_000
        nextByOrigin = nextByOrigin.filter { $0.value.at.micros >= dayAgo }
        let noteLimit = now.micros - Self.noteWindowMicros
        if !connections.isEmpty { connections.filter { $0.at.micros >= noteLimit } }
        let expired = (sessionNotes ?? [:]).filter { ($0.value.last?.at.micros ?? 0) < noteLimit }.keys
        for key in expired.sorted(by: { ($0.instance, $0.pid) < ($1.instance, $1.pid) }) {
            flushNotes(key, queueID: nil, instance: key.instance, into: &out)
        }
        originByNext = originByNext.filter { $0.value.at.micros >= dayAgo }
    }

    private func openTx(_ key: TxKey, _ id: String, _ at: Timestamp) -> Transaction {
        var tx = transactions[key] ?? Transaction(instance: key.instance, queueID: id, at: at)
        tx.lastSeen = at
        return tx
    }

    private func messageKey(_ tx: inout Transaction) -> Int64 { Self.messageKey(&tx, host: host) }

    private static func messageKey(_ tx: inout Transaction, host: String) -> Int64 {
        if let k = tx.msgKey { return k }
        let k = tx.messageID.map(MessageKey.forMessageID) ?? MessageKey.forQueue(host: host, queueID: tx.queueID)
        tx.msgKey = k
        return k
    }
}

/// Moves the value out of `x`, leaving nil (no retain/release pair, unlike a copy and a reset).
@inline(__always)
private func take<T>(_ x: inout T?) -> T? {
    var v: T? = nil
    swap(&v, &x)
    return v
}

/// Moves the String out of `x`, leaving "".
@inline(__always)
private func take(_ x: inout String) -> String {
    var v = ""
    swap(&v, &x)
    return v
}
