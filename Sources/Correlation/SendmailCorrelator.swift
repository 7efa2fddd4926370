/// SendmailCorrelator: a pure state machine that turns the Sendmail events of
/// one host into message, delivery and rejection records.
///
/// Contract: as `PostfixCorrelator` — events in log order, time only from the
/// log (`LineContext.time`), records emitted once, the whole state `Codable`.
/// - Transactions are keyed by queue ID alone: Sendmail IDs embed the UTC
///   second and the pid, so they are unique on a host for decades, and one
///   message is logged by several programs (`sendmail` submits, `sm-msp-queue`
///   retries). Records carry `mta = "sendmail"` and `instance` = the program
///   of the transaction's first line, with `sm-msp-queue` read as `sendmail`
///   (the MSP's queue): deliveries use their transaction's instance, so the
///   trace joins them to the message row.
/// - A message row is emitted at its `from=` line, which carries everything
///   (sender, size, nrcpts, msgid, proto, relay); TLS and SASL come from the
///   `STARTTLS=server` / `AUTH=server` lines of the same process before it,
///   only when `proto=` says so (`ESMTPS`/`ESMTPSA` → TLS, `ESMTPA`/`ESMTPSA`
///   → SASL) and the relay IP matches, so a reused pid cannot lend them.
///   `nrcpts=0` (all recipients refused, logged at RSET/QUIT) emits no row.
/// - Messages made on the host without a `from=` line — DSNs (`OLD: NEW: DSN:`
///   → origin OLD, kind bounce, null sender), clones and splits (kind split,
///   copying the original's Message-ID, size, client, TLS) — are held until
///   their first `to=` line, a `from=` line, `holdWindow`, or `flushHeld`.
/// - One delivery row per recipient of each `to=` line; outbound TLS from the
///   delivering process's `STARTTLS=client` line to the same relay.
/// - A transaction leaves the state when as many recipients as `nrcpts` had a
///   final status, or after `staleAfter` of log time without a line.
/// - Rows are packed (`PackedMessage`, `PackedDelivery`): their text is copied
///   from the line's bytes into the batch's `RowText`, so a `from=` or `to=`
///   line makes no String for its row; a held message's row is its record's
///   text copied. A transaction keeps its `from=` line's sender, client, proto,
///   local user and Message-ID as bytes (`FromText`, in slabs shared by transactions), made into
///   Strings only when a clone copies them or the state is saved (the JSON of
///   before); the Message-ID's key is hashed from its bytes. Values a
///   transaction holds as Strings (a made message's origin and copied values,
///   a decoded state) sit in one copy-on-write box (`Transaction.Rare`), so a
///   `from=` line's transaction holds no String but its instance and queue ID.
/// - Lines arrive as `SendmailLine`s (spans of the line's bytes): Strings are
///   made only for other stored values, repeated ones (session client
///   addresses — an inbound session keeps no name, only its address is ever
///   compared —, STARTTLS=client relays, ciphers, a `ruleset=` refusal's stage
///   and codes) through a
///   `SharedStringCache` (the parser's line buffer's, shared by all hosts' correlators; the commonest dsn, mailer, proto and mechanism words as
///   literals, `SendmailWords`), a `STARTTLS=` line's `TLSInfo` through a `SendmailMemo` of
///   recent ones (by the number the parser's tail memo gave the tail's bytes when it gave one,
///   `SendmailIDMemo`: one compare instead of a hash and a compare of the bytes; held as a shared immutable `TLSBox`: one retain per copy, saved as the `TLSInfo`), a `from=` line's client from its process's session when the
///   relay's bytes are the session client's (the same number from the parser's relay memo,
///   `Session.relayID`, or compared) (an `AUTH=` line with the session's
///   address makes no Peer, a `to=` line takes its relay's name from the process's
///   STARTTLS=client entry when the bytes match); an `AUTH=` line's login name as its bytes
///   (`SlabString`, in the correlator's `authSlab`; a `from=` line's transaction copies them into
///   its own slab); transactions are keyed by the queue ID's bytes held inline
///   (`QueueID`). `receive(_:_: SendmailEvent:into:)` feeds the same machine
///   (the frequent kinds through `SendmailLine.withLine`; a `.reject` event,
///   whichever line made it, through `other`, which makes the row a `ruleset`
///   line makes).
/// Limits: an RCPT-time refusal (`QID: <addr>... User unknown`) precedes its
/// `from=` line, so its client is unknown; xdelay, pri and class are parsed
/// but not stored.
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailTrailModel

public struct SendmailCorrelator: Codable, Sendable {
    public let host: String
    public var config: CorrelatorConfig
    /// Open transactions by queue ID (saved as a JSON object, as a `[String: Transaction]`).
    var transactions = TxMap()
    /// Inbound session facts (STARTTLS=server, AUTH=server) by process.
    var sessions = FastMap<ProcessKey, Session>()
    /// Last STARTTLS=client per delivering process.
    var outboundTLS = FastMap<ProcessKey, OutboundTLS>()
    /// Queue IDs of messages held back (made on the host, waiting for their first line).
    var held: [String] = []
    /// Highest log time seen: the machine's notion of "now".
    public private(set) var now: Timestamp = Timestamp(micros: 0)
    var lastSweep: Timestamp = Timestamp(micros: 0)
    /// Strings of values that repeat (senders, recipients, relays, mailers, TLS); not saved.
    var strings = SharedStringCache()
    /// `TLSInfo`s of recent `STARTTLS=` lines by their bytes; not saved.
    var tlsInfos = SendmailMemo<TLSBox>(bits: 6, maxKey: 128)
    /// The same by the number the parser's tail memo gave the bytes (`tlsTailID`); not saved.
    var tlsByID = SendmailIDMemo<TLSBox>(bits: 6)
    /// The slab the next `from=` line's `FromText` goes into; not saved.
    var fromSlab = FromText.CurrentSlab()
    /// The slab the next `AUTH=` line's login name goes into (`SlabString`; apart from `fromSlab`
    /// because sessions outlive transactions); not saved.
    var authSlab = FromText.CurrentSlab()

    enum CodingKeys: String, CodingKey {
        case host, config, transactions, sessions, outboundTLS, held, now, lastSweep
    }

    public init(host: String, config: CorrelatorConfig = CorrelatorConfig()) {
        self.host = host
        self.config = config
    }

    /// Number of open transactions (for metrics and memory bounds).
    public var openTransactions: Int { transactions.count }

    struct ProcessKey: FastKey, Codable, Sendable {
        var program: String
        var pid: Int32
        var fastHash: Int {
            let h = UInt64(UInt32(bitPattern: pid)) &* 0x9E37_79B9_7F4A_7C15
            return Int(truncatingIfNeeded: h ^ (h >> 29))
        }
        static func == (a: ProcessKey, b: ProcessKey) -> Bool { a.pid == b.pid && a.program == b.program }
    }

    /// A queue ID as a table key: its bytes inline, hashed by a few multiplications.
    struct TxKey: FastKey, Sendable {
        var id: QueueID
        var fastHash: Int { id.fastHash }
        init(_ id: QueueID) { self.id = id }
        init(_ s: String) { id = QueueID(s) }
    }

    /// Transactions by queue ID, saved exactly as a `[String: Transaction]` (a JSON object).
    struct TxMap: Sendable {
        var table = FastMap<TxKey, Transaction>()
        var count: Int { table.count }
        subscript(qid: String) -> Transaction? {
            get { table[TxKey(qid)] }
            set { table[TxKey(qid)] = newValue }
        }
    }

    struct Transaction: Codable, Sendable {
        var instance: String
        var queueID: String
        var receivedAt: Timestamp
        var lastSeen: Timestamp
        /// The Message-ID: from `fromText` when the `from=` line gave one (its bytes, no String
        /// made), else the value set (a clone's, a decoded one's, an earlier line's).
        var messageID: String? {
            get { fromText?.string(FromText.messageID) ?? _messageID }
            set { materialize(); _messageID = newValue }
        }
        /// The sender, client, proto and local user: from `fromText` when the `from=` line gave
        /// them (its bytes, no String made), else the values set (a made message's, a decoded one's).
        var sender: String? {
            get { fromText != nil ? fromText!.string(FromText.sender) : _sender }
            set { materialize(); _sender = newValue }
        }
        var client: Peer {
            get { fromText.map { Peer(name: $0.string(FromText.clientName), ip: $0.string(FromText.clientIP)) } ?? _client }
            set { materialize(); _client = newValue }
        }
        var proto: String? {
            get { fromText != nil ? fromText!.string(FromText.proto) : _proto }
            set { materialize(); _proto = newValue }
        }
        var localUser: String? {
            get { fromText?.string(FromText.localUser) ?? _localUser }
            set { materialize(); _localUser = newValue }
        }
        var _messageID: String? {
            get { rare?.messageID }
            set { if newValue != nil || rare != nil { withRare { $0.messageID = newValue } } }
        }
        var _sender: String? {
            get { rare?.sender }
            set { if newValue != nil || rare != nil { withRare { $0.sender = newValue } } }
        }
        var _client: Peer {
            get { rare?.client ?? Peer() }
            set { if newValue != Peer() || rare != nil { withRare { $0.client = newValue } } }
        }
        var _proto: String? {
            get { rare?.proto }
            set { if newValue != nil || rare != nil { withRare { $0.proto = newValue } } }
        }
        var _localUser: String? {
            get { rare?.localUser }
            set { if newValue != nil || rare != nil { withRare { $0.localUser = newValue } } }
        }
        var originQueueID: String? {
            get { rare?.originQueueID }
            set { if newValue != nil || rare != nil { withRare { $0.originQueueID = newValue } } }
        }
        /// The values held as Strings: a message made on the host (its origin, a clone's copied
        /// values), a decoded state, a `from=` line too long for `fromText`. One reference, nil
        /// for a transaction of a `from=` line (why: each String field cost a release when the
        /// transaction was dropped, and its bytes a move each time the table moved it).
        var rare: Rare?

        final class Rare: @unchecked Sendable {
            var messageID: String?
            var sender: String?
            var client = Peer()
            var proto: String?
            var localUser: String?
            var originQueueID: String?

            init() {}

            func copy() -> Rare {
                let r = Rare()
                r.messageID = messageID; r.sender = sender; r.client = client; r.proto = proto
                r.localUser = localUser; r.originQueueID = originQueueID
                return r
            }
        }

        /// Changes `rare`, made or copied first so that no other transaction sees the change.
        mutating func withRare(_ body: (Rare) -> Void) {
            if rare == nil { rare = Rare() } else if !isKnownUniquelyReferenced(&rare!) { rare = rare!.copy() }
            body(rare!)
        }
        /// The `from=` line's sender, client, proto, local user and Message-ID as bytes (in a slab).
        var fromText: FromText?
        var size: Int64?
        var nrcpt: Int?
        var tls: TLSBox?
        var saslMethod: String?
        /// The SASL login name as bytes (a copy of its session's `saslUser`, in the `from=` line's slab).
        var saslUser: SlabString?
        var saslUsername: String? {
            get { saslUser?.string }
            set { saslUser = newValue.map(SlabString.init) }
        }
        var originKind: OriginKind?
        var sawFrom = false
        var emitted = false
        var heldSince: Timestamp?
        var msgKey: Int64?
        /// Recipients whose last attempt was final (sent, bounced, ...).
        var finalRecipients = 0

        init(instance: String, queueID: String, receivedAt: Timestamp, lastSeen: Timestamp) {
            self.instance = instance; self.queueID = queueID; self.receivedAt = receivedAt; self.lastSeen = lastSeen
        }

        /// `fromText`'s values as the Strings they stand for (before one of them is set).
        mutating func materialize() {
            guard let t = fromText else { return }
            _sender = t.string(FromText.sender)
            _client = Peer(name: t.string(FromText.clientName), ip: t.string(FromText.clientIP))
            _proto = t.string(FromText.proto)
            if let u = t.string(FromText.localUser) { _localUser = u }
            if let m = t.string(FromText.messageID) { _messageID = m }
            fromText = nil
        }

        // Saved as before `fromText` (the same keys and values: a state written by either reads in either).
        enum CodingKeys: String, CodingKey {
            case instance, queueID, receivedAt, lastSeen, messageID, sender, client, size, nrcpt, proto, tls,
                 saslMethod, saslUsername, localUser, originQueueID, originKind, sawFrom, emitted, heldSince, msgKey,
                 finalRecipients
        }

        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            instance = try c.decode(String.self, forKey: .instance)
            queueID = try c.decode(String.self, forKey: .queueID)
            receivedAt = try c.decode(Timestamp.self, forKey: .receivedAt)
            lastSeen = try c.decode(Timestamp.self, forKey: .lastSeen)
            _messageID = try c.decodeIfPresent(String.self, forKey: .messageID)
            _sender = try c.decodeIfPresent(String.self, forKey: .sender)
            _client = try c.decodeIfPresent(Peer.self, forKey: .client) ?? Peer()
            size = try c.decodeIfPresent(Int64.self, forKey: .size)
            nrcpt = try c.decodeIfPresent(Int.self, forKey: .nrcpt)
            _proto = try c.decodeIfPresent(String.self, forKey: .proto)
            tls = try c.decodeIfPresent(TLSBox.self, forKey: .tls)
            saslMethod = try c.decodeIfPresent(String.self, forKey: .saslMethod)
            saslUsername = try c.decodeIfPresent(String.self, forKey: .saslUsername)
            _localUser = try c.decodeIfPresent(String.self, forKey: .localUser)
            originQueueID = try c.decodeIfPresent(String.self, forKey: .originQueueID)
            originKind = try c.decodeIfPresent(OriginKind.self, forKey: .originKind)
            sawFrom = try c.decodeIfPresent(Bool.self, forKey: .sawFrom) ?? false
            emitted = try c.decodeIfPresent(Bool.self, forKey: .emitted) ?? false
            heldSince = try c.decodeIfPresent(Timestamp.self, forKey: .heldSince)
            msgKey = try c.decodeIfPresent(Int64.self, forKey: .msgKey)
            finalRecipients = try c.decodeIfPresent(Int.self, forKey: .finalRecipients) ?? 0
        }

        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(instance, forKey: .instance)
            try c.encode(queueID, forKey: .queueID)
            try c.encode(receivedAt, forKey: .receivedAt)
            try c.encode(lastSeen, forKey: .lastSeen)
            try c.encodeIfPresent(messageID, forKey: .messageID)
            try c.encodeIfPresent(sender, forKey: .sender)
            try c.encode(client, forKey: .client)
            try c.encodeIfPresent(size, forKey: .size)
            try c.encodeIfPresent(nrcpt, forKey: .nrcpt)
            try c.encodeIfPresent(proto, forKey: .proto)
            try c.encodeIfPresent(tls, forKey: .tls)
            try c.encodeIfPresent(saslMethod, forKey: .saslMethod)
            try c.encodeIfPresent(saslUsername, forKey: .saslUsername)
            try c.encodeIfPresent(localUser, forKey: .localUser)
            try c.encodeIfPresent(originQueueID, forKey: .originQueueID)
            try c.encodeIfPresent(originKind, forKey: .originKind)
            try c.encode(sawFrom, forKey: .sawFrom)
            try c.encode(emitted, forKey: .emitted)
            try c.encodeIfPresent(heldSince, forKey: .heldSince)
            try c.encodeIfPresent(msgKey, forKey: .msgKey)
            try c.encode(finalRecipients, forKey: .finalRecipients)
        }
    }

    /// A `from=` line's sender, client name and address, proto, local user and Message-ID as bytes
    /// in a slab shared with other transactions (a String each cost a lookup in the shared cache
    /// or an allocation): the line's bytes from the first of them to the last, copied at once
    /// (why: one copy of ~150 bytes costs less than six of a few bytes each), after a header with
    /// each value's offset and length; a rewritten (IPv6) address is not in the line, so then the
    /// values are copied back to back. A value's String is made only when asked (a clone copying
    /// its origin, a saved state): `String(decoding:as:)` of the bytes, the String the cache would
    /// have given. Absent values have length `absent`; a span of 65,535 bytes or more is not held
    /// (`make` returns nil and the caller keeps Strings).
    ///
    /// Slabs: the correlator appends each `from=` line's header and bytes to its current slab of
    /// `slabCapacity` bytes and starts a new one when it is full (why: a buffer per transaction
    /// cost an allocation and a free, ~250 instructions a message, where a slab's are shared by
    /// ~16). Bytes once written never change (a copied correlator appends after them: the count
    /// of bytes used is the slab's own), and a slab is freed with the last transaction holding
    /// bytes in it. Limit: a long-lived transaction keeps its whole slab, so memory is at worst
    /// `slabCapacity` bytes per open transaction; values over a quarter of a slab get a slab of
    /// their own. Two copies of one correlator may be read (a saved state) anywhere, but must not
    /// both take lines at the same time on different threads (they append to one slab).
    struct FromText: @unchecked Sendable {
        static let sender = 0, clientName = 1, clientIP = 2, proto = 3, localUser = 4, messageID = 5
        static let absent = UInt16.max
        typealias Lengths = (UInt16, UInt16, UInt16, UInt16, UInt16, UInt16)
        struct Header {
            var lengths: Lengths
            var offsets: Lengths
        }
        /// Bytes (each entry: a `Header`, then its values), the count used in the header.
        typealias Slab = ManagedBuffer<Int, UInt8>
        static let slabCapacity = 4096
        static let headerSize = MemoryLayout<Header>.size
        /// A correlator's current slab (Sendable as `FromText` is: its written bytes never change).
        struct CurrentSlab: @unchecked Sendable { var slab: Slab? }
        /// The slab holding this entry, and the entry's offset in it (a multiple of 8).
        let slab: Slab
        let at: Int32

        /// A span's byte count (0: absent).
        @inline(__always) static func len(_ s: Span) -> Int { s.isPresent ? max(0, s.count) : 0 }
        /// A span's length as the header keeps it (`absent`: absent).
        @inline(__always) static func l(_ s: Span) -> UInt16 { s.isPresent ? UInt16(truncatingIfNeeded: max(0, s.count)) : absent }

        /// Room for a header and `n` bytes: a slab of its own for an entry over a quarter of a slab,
        /// else in `current` when they fit, else in a new slab, which becomes current. Returns the
        /// slab and the offset.
        @inline(__always)
        static func reserve(_ n: Int, in current: inout Slab?) -> (Slab, Int) { reserve(bytes: headerSize &+ n, in: &current) }

        /// `reserve` of `bytes` without a header (`SlabString`).
        @inline(__always)
        static func reserve(bytes: Int, in current: inout Slab?) -> (Slab, Int) {
            let need = (bytes &+ 7) & ~7
            if need > slabCapacity / 4 { return (Slab.create(minimumCapacity: need) { _ in need }, 0) }
            if let c = current {
                // Through the header's pointer: `header`'s accessor checks exclusivity at run time.
                let at = c.withUnsafeMutablePointerToHeader { h -> Int in
                    let used = h.pointee
                    guard used &+ need <= slabCapacity else { return -1 }
                    h.pointee = used &+ need
                    return used
                }
                if at >= 0 { return (c, at) }
            }
            let c = Slab.create(minimumCapacity: slabCapacity) { _ in need }
            current = c
            return (c, 0)
        }

        /// The six values (nil: absent), in `slab` or a new slab; nil when they are too long to hold.
        @inline(__always)
        static func make(_ b: LineBytes, sender: Span, name: Span, ip: Span, ipText: String?, proto: Span,
                         user: Span, messageID: Span, slab: inout Slab?) -> FromText? {
            if let ipText {
                return packed(b, sender: sender, name: name, ipText: ipText, proto: proto, user: user, messageID: messageID, slab: &slab)
            }
            // The sender is never absent: `SharedStringCache.string` gives "" for a missing span.
            var lo = Int32.max, hi = Int32.min
            @inline(__always) func cover(_ s: Span) {
                if s.isPresent && s.hi > s.lo { lo = min(lo, s.lo); hi = max(hi, s.hi) }
            }
            cover(sender); cover(name); cover(ip); cover(proto); cover(user); cover(messageID)
            if lo > hi { lo = 0; hi = 0 }
            let n = Int(hi) - Int(lo)
            guard n < Int(absent) else { return nil }
            @inline(__always) func o(_ s: Span) -> UInt16 { s.isPresent && s.hi > s.lo ? UInt16(truncatingIfNeeded: s.lo &- lo) : 0 }
            let header = Header(lengths: (UInt16(truncatingIfNeeded: len(sender)), l(name), l(ip), l(proto), l(user), l(messageID)),
                                offsets: (o(sender), o(name), o(ip), o(proto), o(user), o(messageID)))
            let (s, at) = reserve(n, in: &slab)
            s.withUnsafeMutablePointerToElements { p in
                UnsafeMutableRawPointer(p + at).storeBytes(of: header, as: Header.self)
                if n > 0 { RowText.copy(p + at + headerSize, b.base + Int(lo), n) }
            }
            return FromText(slab: s, at: Int32(truncatingIfNeeded: at))
        }

        /// `make` with a rewritten address: the values back to back.
        static func packed(_ b: LineBytes, sender: Span, name: Span, ipText: String, proto: Span,
                           user: Span, messageID: Span, slab: inout Slab?) -> FromText? {
            let ipLen = ipText.utf8.count
            let n = len(sender) + len(name) + ipLen + len(proto) + len(user) + len(messageID)
            guard n < Int(absent) else { return nil }
            let lengths = (UInt16(truncatingIfNeeded: len(sender)), l(name), UInt16(truncatingIfNeeded: ipLen), l(proto), l(user), l(messageID))
            var offsets: Lengths = (0, 0, 0, 0, 0, 0)
            let (s, at) = reserve(n, in: &slab)
            s.withUnsafeMutablePointerToElements { base in
                let p = base + at + headerSize
                var o = 0
                @inline(__always) func copy(_ s: Span) -> UInt16 {
                    let at = UInt16(truncatingIfNeeded: o)
                    guard s.isPresent, s.count > 0 else { return at }
                    RowText.copy(p + o, b.base + Int(s.lo), s.count); o &+= s.count
                    return at
                }
                offsets.0 = copy(sender); offsets.1 = copy(name)
                offsets.2 = UInt16(truncatingIfNeeded: o)
                var t = ipText
                t.withUTF8 { u in if let q = u.baseAddress, u.count > 0 { RowText.copy(p + o, q, u.count); o &+= u.count } }
                offsets.3 = copy(proto); offsets.4 = copy(user); offsets.5 = copy(messageID)
                UnsafeMutableRawPointer(base + at).storeBytes(of: Header(lengths: lengths, offsets: offsets), as: Header.self)
            }
            return FromText(slab: s, at: Int32(truncatingIfNeeded: at))
        }

        @inline(__always)
        static func pick(_ t: Lengths, _ k: Int) -> UInt16 {
            switch k {
            case 0: return t.0
            case 1: return t.1
            case 2: return t.2
            case 3: return t.3
            case 4: return t.4
            default: return t.5
            }
        }

        /// Value `k`'s String (nil: absent).
        func string(_ k: Int) -> String? {
            slab.withUnsafeMutablePointerToElements { p in
                let h = UnsafeRawPointer(p + Int(at)).load(as: Header.self)
                let n = Self.pick(h.lengths, k)
                guard n != Self.absent else { return nil }
                let o = Int(Self.pick(h.offsets, k))
                return String(decoding: UnsafeBufferPointer(start: p + Int(at) + Self.headerSize + o, count: Int(n)), as: UTF8.self)
            }
        }
    }

    /// An inbound connection's facts (`STARTTLS=server`, `AUTH=server`). Its client is kept
    /// as its address alone: only the address is compared (with a later `from=` or `AUTH=`
    /// line's relay), and the name, a String per line (the cache's lookup, often a miss: client
    /// names vary), was never read; a state saved with names reads as before (a decoded name
    /// is kept, and still never read).
    /// The SASL login name is held as bytes (`saslUser`, in the correlator's `authSlab`): made
    /// into a String only when the state is saved or a held row needs it (why: the shared cache's
    /// lookup for it, one of thousands of names, missed the core's cache on most `AUTH=` lines).
    struct Session: Codable, Sendable {
        var client: Peer
        var started: Timestamp
        var tls: TLSBox?
        var saslMethod: String?
        var saslUser: SlabString?
        /// The parser's number for the relay bytes `client` was made of (`RelaySpans.id`; 0: none
        /// or not known, as after a restore); not saved.
        var relayID: UInt64 = 0

        var saslUsername: String? {
            get { saslUser?.string }
            set { saslUser = newValue.map(SlabString.init) }
        }

        // Saved as before `saslUser` (the keys and values of the synthesized coding of Strings).
        enum CodingKeys: String, CodingKey { case client, started, tls, saslMethod, saslUsername }
    }

    struct OutboundTLS: Codable, Sendable {
        var peer: Peer
        var info: TLSBox
        var at: Timestamp
    }

    /// A `TLSInfo` held by reference, immutable: copying it from the memo to a session, a
    /// transaction or an outbound entry is one retain, where a `TLSInfo?` copy goes through the
    /// runtime's generic Optional witness (~170 instructions); a row's `TLSInfo` is made from the
    /// fields read in place (`info`). Saved exactly as the `TLSInfo` it holds.
    final class TLSBox: Codable, Sendable {
        let stored: TLSInfo
        init(_ info: TLSInfo) { stored = info }
        init(from decoder: Decoder) throws { stored = try TLSInfo(from: decoder) }
        func encode(to encoder: Encoder) throws { try stored.encode(to: encoder) }
        /// The `TLSInfo` for a row (one retain: a `TLSInfo` shares its facts).
        @inline(__always)
        var info: TLSInfo { stored }
    }

    // MARK: - Input

    /// Feeds one parsed line (spans valid for this call); appends what it completes to `out`.
    public mutating func receive(_ ctx: LineContext, _ line: SendmailLine, into out: inout CorrelatorOutput) {
        // The parser's cache, shared by all hosts' correlators, stands in for this one's during the
        // line (swapped: no reference count changes).
        let shared = line.f.sharesStrings
        if shared {
            if line.f.strings == nil { line.f.strings = SharedStringCache(bits: 12) }
            swap(&strings, &line.f.strings!)
        }
        defer { if shared { swap(&strings, &line.f.strings!) } }
        if ctx.time > now { now = ctx.time }
        switch line.kind {
        case .from: from(ctx, line, into: &out)
        case .to: to(ctx, line, into: &out)
        case .tls: tls(ctx, line)
        case .auth: auth(ctx, line)
        case .ruleset: ruleset(ctx, line, into: &out)
        case .other: if let e = line.f.event { other(ctx, e, into: &out) }
        }
        afterLine(into: &out)
    }

    /// Feeds one event; appends what it completes to `out`.
    public mutating func receive(_ ctx: LineContext, _ event: SendmailEvent, into out: inout CorrelatorOutput) {
        switch event {
        case .from, .to, .tls, .auth:
            SendmailLine.withLine(event) { line in self.receive(ctx, line, into: &out) }
        default:
            if ctx.time > now { now = ctx.time }
            other(ctx, event, into: &out)
            afterLine(into: &out)
        }
    }

    @inline(__always)
    private mutating func afterLine(into out: inout CorrelatorOutput) {
        if !held.isEmpty { releaseHeld(into: &out) }   // tested here: the call is not inlined
        if now.micros - lastSweep.micros > 3_600_000_000 { sweep(into: &out) }
    }

    /// The events without a span form: links, splits, milter and address refusals (and, from the
    /// String API, `ruleset=` refusals: the row `ruleset(_:_:into:)` makes from the line).
    private mutating func other(_ ctx: LineContext, _ event: SendmailEvent, into out: inout CorrelatorOutput) {
        switch event {
        case .notification(let qid, let newQID, _, _):
            made(ctx, newQID, from: qid, kind: .bounce, sender: "", copy: false, into: &out)
        case .clone(let qid, let newQID, let owner):
            made(ctx, newQID, from: qid, kind: .split, sender: owner, copy: true, into: &out)
        case .split(let qid, let ids):
            for id in ids where id != qid {
                made(ctx, id, from: qid, kind: .split, sender: nil, copy: true, into: &out)
            }
        case .reject(let qid, let r):
            var mk: Int64
            var instance = SendmailCorrelator.instance(ctx.program)
            if let qid, let ti = transactions.table.index(of: TxKey(qid)) {
                // In place: a copy of the transaction would retain and release each of its strings.
                let host = self.host
                (mk, instance) = transactions.table.withValue(at: ti) { tx in
                    let k = Self.messageKey(&tx, host: host)
                    tx.lastSeen = ctx.time
                    return (k, tx.instance)
                }
            } else if let qid {
                mk = MessageKey.forQueue(host: host, queueID: qid)
            } else {
                mk = MessageKey.forQueue(host: host, queueID: "NOQUEUE/" + (r.client.ip ?? ""))
            }
            out.rejections.append(RejectionRecord(
                at: ctx.time, msgKey: mk, host: host, instance: instance, queueID: qid, program: ctx.program,
                action: r.action, stage: r.stage, client: r.client, sender: r.sender, recipient: r.recipient,
                code: r.code, dsn: r.dsn, reason: r.reason))
        case .from, .to, .tls, .auth:
            break   // handled as lines
        }
    }

    /// Emits everything held back (end of a one-shot ingest). The state stays valid.
    public mutating func flushHeld(into out: inout CorrelatorOutput) {
        for qid in held { emit(qid, into: &out) }
        held.removeAll()
    }

    // MARK: - Steps

    /// The relay as stored (names and addresses through the cache).
    @inline(__always)
    private mutating func peer(_ r: RelaySpans, _ b: LineBytes, ipText: String?) -> Peer {
        let name = strings.optionalString(r.name, in: b)
        if r.rewritten { return Peer(name: name, ip: ipText, port: nil) }
        return Peer(name: name, ip: strings.optionalString(r.ip, in: b), port: nil)
    }

    /// A session's client: the relay's address alone (see `Session`).
    @inline(__always)
    private mutating func sessionClient(_ r: RelaySpans, _ b: LineBytes, ipText: String?) -> Peer {
        Peer(name: nil, ip: r.rewritten ? ipText : strings.optionalString(r.ip, in: b), port: nil)
    }

    private mutating func tls(_ ctx: LineContext, _ line: SendmailLine) {
        let b = line.bytes
        // Optionals so that the one entry made below takes them (`take()`: moved, not copied).
        var peer: Peer? = line.f.direction == .inbound ? sessionClient(line.f.relay, b, ipText: line.f.ipText)
                                                       : peer(line.f.relay, b, ipText: line.f.ipText)
        // By the parser's number for the tail bytes when it gave one (one compare), else by the bytes.
        let id = line.f.tlsTailID
        var info: TLSBox?
        if id != 0, line.f.tlsKey.isPresent {
            info = tlsByID.value(forID: id) { Self.tlsBox(line, b, &strings) }
        } else {
            info = tlsInfos.value(for: line.f.tlsKey, in: b) { Self.tlsBox(line, b, &strings) }
        }
        let key = ProcessKey(program: ctx.program, pid: ctx.pid)
        // Stored in place (the subscript's setter would copy the new entry once more).
        let time = ctx.time
        let rid = line.f.relay.id
        switch line.f.direction {
        case .inbound:
            sessions.withValue(key, make: { Session(client: peer.take()!, started: time, tls: info.take(), relayID: rid) }) { s, created in
                if !created { s = Session(client: peer.take()!, started: time, tls: info.take(), relayID: rid) }
            }
        case .outbound:
            outboundTLS.withValue(key, make: { OutboundTLS(peer: peer.take()!, info: info.take()!, at: time) }) { o, created in
                if !created { o = OutboundTLS(peer: peer.take()!, info: info.take()!, at: time) }
            }
        }
    }

    /// A `STARTTLS=` line's `TLSInfo` from its fields (Strings through the cache): a function of
    /// the `tlsKey`'s bytes when the line has one.
    @inline(__always)
    static func tlsBox(_ line: SendmailLine, _ b: LineBytes, _ strings: inout SharedStringCache) -> TLSBox {
        TLSBox(TLSInfo(proto: strings.optionalString(line.f.tlsProto, in: b),
                       cipher: strings.optionalString(line.f.cipher, in: b), bits: line.f.bits,
                       trust: line.trustWord(line.f.verify)))
    }

    private mutating func auth(_ ctx: LineContext, _ line: SendmailLine) {
        let b = line.bytes
        let key = ProcessKey(program: ctx.program, pid: ctx.pid)
        let found = sessions.index(of: key)
        let r = line.f.relay
        if let i = found, !r.rewritten,
           (r.id != 0 && sessions.values[i].relayID == r.id) || Self.same(sessions.values[i].client.ip, r.ip, b) {
            // The session's client has the relay's address (made of the same relay bytes, by the
            // parser's number, or compared): only the SASL facts change (no Peer made).
            let mech = SendmailWords.literal(line.f.mechanism, b) ?? strings.string(line.f.mechanism, in: b)
            let authid = SlabString(b, line.f.authid, slab: &authSlab.slab)
            sessions.withValue(at: i) { s in s.saslMethod = mech; s.saslUser = authid }
            return
        }
        let peer = sessionClient(r, b, ipText: line.f.ipText)
        let mech = SendmailWords.literal(line.f.mechanism, b) ?? strings.string(line.f.mechanism, in: b)
        let authid = SlabString(b, line.f.authid, slab: &authSlab.slab)
        if let i = found {
            let time = ctx.time
            sessions.withValue(at: i) { s in
                if s.client.ip == peer.ip { s.saslMethod = mech; s.saslUser = authid }
                else { s = Session(client: peer, started: time, tls: nil, saslMethod: mech, saslUser: authid, relayID: r.id) }
            }
        } else {
            sessions.withValue(key, make: {
                Session(client: peer, started: ctx.time, tls: nil, saslMethod: mech, saslUser: authid, relayID: r.id)
            }) { _, _ in }
        }
    }

    /// A `ruleset=` refusal: `other`'s `.reject` row, its Strings made from the spans (repeated
    /// values through the cache) and a NOQUEUE key hashed from the relay address's bytes.
    private mutating func ruleset(_ ctx: LineContext, _ line: SendmailLine, into out: inout CorrelatorOutput) {
        let b = line.bytes
        let mk: Int64
        var instance: String
        var qid: String? = nil
        if line.f.queueID.isPresent {
            if let ti = transactions.table.index(of: TxKey(b.queueID(line.f.queueID))) {
                // In place: a copy of the transaction would retain and release each of its strings.
                let host = self.host
                let time = ctx.time
                (mk, instance, qid) = transactions.table.withValue(at: ti) { tx in
                    let k = Self.messageKey(&tx, host: host)
                    tx.lastSeen = time
                    return (k, tx.instance, tx.queueID)
                }
            } else {
                let s = b.string(line.f.queueID)
                qid = s
                mk = MessageKey.forQueue(host: host, queueID: s)
                instance = SendmailCorrelator.instance(ctx.program)
            }
        } else {
            instance = SendmailCorrelator.instance(ctx.program)
            let r = line.f.relay
            if r.rewritten {
                mk = MessageKey.forQueue(host: host, queueID: "NOQUEUE/" + (line.f.ipText ?? ""))
            } else {
                mk = MessageKey.forQueue(host: host, prefix: "NOQUEUE/",
                                         bytes: r.ip.isPresent ? b.buffer(r.ip) : UnsafeBufferPointer(start: nil, count: 0))
            }
        }
        let client = peer(line.f.relay, b, ipText: line.f.ipText)
        let stage = line.f.stage.text ?? strings.string(line.f.ruleset, in: b)
        out.rejections.append(RejectionRecord(
            at: ctx.time, msgKey: mk, host: host, instance: instance, queueID: qid, program: ctx.program,
            action: line.f.rulesetAction.text, stage: stage, client: client,
            sender: strings.optionalString(line.f.sender, in: b), recipient: strings.optionalString(line.f.recipient, in: b),
            code: SendmailWords.literal(line.f.code, b) ?? strings.optionalString(line.f.code, in: b),
            dsn: SendmailWords.literal(line.f.dsn, b) ?? strings.optionalString(line.f.dsn, in: b),
            reason: b.optionalString(line.f.reason)))
    }

    private mutating func from(_ ctx: LineContext, _ line: SendmailLine, into out: inout CorrelatorOutput) {
        let b = line.bytes
        let key = TxKey(b.queueID(line.f.queueID))
        var found = transactions.table.index(of: key)
        if let i = found, transactions.table.values[i].sawFrom || isStale(transactions.table.values[i]) {
            finish(at: i, into: &out)
            found = nil
        }
        let i: Int
        if let found {
            i = found
        } else {
            // Made in place (the subscript's setter would copy the new transaction once more).
            transactions.table.withValue(key, make: {
                Transaction(instance: SendmailCorrelator.instance(ctx.program), queueID: b.string(line.f.queueID),
                            receivedAt: ctx.time, lastSeen: ctx.time)
            }) { _, _ in }
            i = transactions.table.count - 1
        }
        let nrcpts = line.f.nrcpts
        let time = ctx.time
        if transactions.table.values[i].emitted {
            // Its row was made already (an emitted transaction is not held): only the times change.
            transactions.table.withValue(at: i) { tx in tx.lastSeen = time; tx.sawFrom = true }
            return
        }
        if nrcpts == 0 && transactions.table.values[i].originQueueID == nil {
            // Every recipient was refused: a rejected transaction, not a message (its refusals are stored).
            let qid = transactions.table.values[i].queueID
            transactions.table.remove(at: i)
            held.removeAll { $0 == qid }
            return
        }
        do {
            // The Message-ID's key from its bytes (its String only when the state is saved or a clone copies it).
            let lineHasID = line.f.messageID.isPresent
            let msgKey = lineHasID ? MessageKey.forMessageID(bytes: b.buffer(line.f.messageID)) : 0
            // The process's STARTTLS=server / AUTH=server facts, read in place (no copy of the session).
            let session = sessions.index(of: ProcessKey(program: ctx.program, pid: ctx.pid))
            let r = line.f.relay
            let ipText = line.f.ipText
            let relayHasIP = r.rewritten ? ipText != nil : r.ip.isPresent
            let userSpan = relayHasIP ? Span.absent : r.user
            let size = line.f.size
            // Optionals that the transaction below takes (`take()`: moved, not copied; a value the
            // closure only read was retained into the transaction and released here).
            var useTLS = false, useSASL = false
            var tls: TLSBox?, saslMethod: String?, saslUser: SlabString?
            if line.f.proto.isPresent, let si = session,
               (r.id != 0 && sessions.values[si].relayID == r.id) || Self.sameIP(sessions.values[si].client.ip, r, b, ipText: ipText) {
                // The session's client has the relay's address (the same relay bytes by the parser's
                // number, or compared). ESMTPS / ESMTPSA: TLS; ESMTPA / ESMTPSA: SASL (the span's
                // last bytes: when ASCII, they are the String's).
                let ps = line.f.proto
                let last: UInt8? = ps.count >= 1 ? b[Int(ps.hi) - 1] : nil
                let beforeLast: UInt8? = ps.count >= 2 ? b[Int(ps.hi) - 2] : nil
                if last == UInt8(ascii: "S") || (last == UInt8(ascii: "A") && beforeLast == UInt8(ascii: "S")) {
                    useTLS = true
                    tls = sessions.values[si].tls
                }
                if last == UInt8(ascii: "A") {
                    useSASL = true
                    saslMethod = sessions.values[si].saslMethod; saslUser = sessions.values[si].saslUser
                }
            }
            // The session's login name copied beside them (a transaction keeps no session's slab).
            if useSASL { saslUser = saslUser?.copy(into: &fromSlab.slab) }
            // The sender, client, proto, local user and Message-ID as the line's bytes (no String made).
            let text = FromText.make(b, sender: line.f.sender, name: r.name, ip: r.ip, ipText: r.rewritten ? ipText : nil,
                                     proto: line.f.proto, user: userSpan, messageID: line.f.messageID, slab: &fromSlab.slab)
            // One visit: the line's facts, then the row (`emit(at:)`'s steps), its text from the
            // line's bytes where the line has the value (the transaction's Strings are those bytes).
            let host = self.host
            let heldID = transactions.table.withValue(at: i) { tx -> String? in
                tx.lastSeen = time
                tx.sawFrom = true
                tx.size = size
                tx.nrcpt = nrcpts
                if lineHasID { tx.msgKey = msgKey }
                if let text {
                    // Earlier bytes become Strings first, so a line without a Message-ID keeps the
                    // earlier one (a guard: today a transaction with `fromText` is emitted, and an
                    // emitted one's later `from=` lines change only its times).
                    if tx.fromText != nil { tx.materialize() }
                    tx.fromText = text
                } else {
                    Self.setFromStrings(&tx, b, line, userSpan)   // values too long for `FromText`
                }
                if useTLS { tx.tls = tls.take() }
                if useSASL { tx.saslMethod = saslMethod.take(); tx.saslUser = saslUser.take() }
                let mk = Self.messageKey(&tx, host: host)
                tx.emitted = true
                let wasHeld = tx.heldSince != nil
                tx.heldSince = nil
                out.messages.text.claim()
                let row = PackedMessage(
                    receivedAt: tx.receivedAt, msgKey: mk, host: host, mta: "sendmail", instance: tx.instance,
                    queueID: out.messages.text.put(b, line.f.queueID),
                    messageID: lineHasID ? out.messages.text.put(b, line.f.messageID) : out.messages.text.put(tx.messageID),
                    sender: out.messages.text.putOrEmpty(b, line.f.sender),
                    clientName: out.messages.text.put(b, r.name),
                    clientIP: r.rewritten ? out.messages.text.put(ipText) : out.messages.text.put(b, r.ip),
                    size: size, nrcpt: nrcpts, proto: out.messages.text.put(b, line.f.proto), tls: tx.tls?.info,
                    saslMethod: out.messages.text.put(tx.saslMethod), saslUsername: tx.saslUser?.put(into: &out.messages.text) ?? .none,
                    originQueueID: out.messages.text.put(tx.originQueueID), originKind: tx.originKind,
                    localUser: userSpan.isPresent ? out.messages.text.put(b, userSpan) : out.messages.text.put(tx._localUser))
                out.messages.appendPacked(row)
                return wasHeld ? tx.queueID : nil
            }
            if let qid = heldID { held.removeAll { $0 == qid } }
        }
    }

    private mutating func to(_ ctx: LineContext, _ line: SendmailLine, into out: inout CorrelatorOutput) {
        let b = line.bytes
        let key = TxKey(b.queueID(line.f.queueID))
        var index = transactions.table.index(of: key)
        if let j = index, isStale(transactions.table.values[j]) { finish(at: j, into: &out); index = nil }
        if let j = index, transactions.table.values[j].heldSince != nil { emit(at: j, into: &out) }
        let mk: Int64
        var receivedAt: Timestamp? = nil
        let instance: String
        let status = line.f.status
        let n = line.f.recipients.count
        // Whether every recipient is done after this line (then nothing more is correlated): the
        // count is the line's, so it is taken with the transaction's other facts in one visit.
        var done = false
        if let j = index {
            let host = self.host
            (mk, receivedAt, instance, done) = transactions.table.withValue(at: j) { tx in
                let mk = Self.messageKey(&tx, host: host)
                tx.lastSeen = ctx.time
                if status != .deferred { tx.finalRecipients += n }
                let done = tx.emitted && tx.nrcpt.map { tx.finalRecipients >= $0 } == true
                return (mk, tx.receivedAt, tx.instance, done)
            }
        } else {
            mk = MessageKey.forQueue(host: host, prefix: "", bytes: b.buffer(line.f.queueID))
            instance = SendmailCorrelator.instance(ctx.program)
        }
        // Outbound TLS of this process's connection to this relay: the entry's box (one retain).
        var tlsBox: TLSBox?
        let r = line.f.relay
        let pkey = ProcessKey(program: ctx.program, pid: ctx.pid)
        if let oi = outboundTLS.index(of: pkey) {
            // Read in place: a copy of the entry would retain and release each of its strings.
            // Through the buffer: `values[oi].peer` as an argument copied the Peer (a retain and
            // release of each String).
            let ipText = line.f.ipText
            if outboundTLS.values.withUnsafeBufferPointer({ Self.entryIsRelay($0[oi].peer, r, b, ipText: ipText) }) {
                tlsBox = outboundTLS.values[oi].info
            } else {
                outboundTLS.remove(at: oi)
            }
        }
        // The row's text from the line's bytes: the values all recipients share once, then each
        // recipient. `to=marie, ctladdr=<marie@example.org>`: LocalRecipient's rule, read on the
        // bytes. A ctladdr beside a full address is only the controlling user, not an original
        // recipient, so it is stored only when a recipient without `@` takes it (the original is
        // then that recipient, which cannot equal an address with `@`).
        out.deliveries.text.claim()
        let qid = out.deliveries.text.put(b, line.f.queueID)
        let dsn = out.deliveries.text.put(b, line.f.dsn), mailer = out.deliveries.text.put(b, line.f.mailer)
        let relayName = out.deliveries.text.put(b, r.name)
        let relayIP = r.rewritten ? out.deliveries.text.put(line.f.ipText) : out.deliveries.text.put(b, r.ip)
        let response = out.deliveries.text.put(b, line.f.response)
        let next = out.deliveries.text.put(b, line.f.nextQueueID)
        let delay = line.f.delay
        let ctlSpan = line.f.ctladdr
        let ctlHasAt = ctlSpan.isPresent && Self.hasAt(b, ctlSpan)
        var ctladdr = TextRef.none
        let tls = tlsBox?.info
        for k in 0..<n {
            let span = line.f.recipients[k]
            var recipient = out.deliveries.text.putOrEmpty(b, span)
            var original = TextRef.none
            if ctlHasAt, !Self.hasAt(b, span) {
                if !ctladdr.isPresent { ctladdr = out.deliveries.text.put(b, ctlSpan) }
                original = recipient; recipient = ctladdr
            }
            out.deliveries.appendPacked(PackedDelivery(
                at: ctx.time, msgKey: mk, host: host, instance: instance, queueID: qid, receivedAt: receivedAt,
                recipient: recipient, origRecipient: original, status: status, dsn: dsn, transport: mailer,
                relayName: relayName, relayIP: relayIP, delay: delay, tls: tls, response: response, nextQueueID: next))
        }
        if done, let j = index { transactions.table.remove(at: j) }   // every recipient is done
    }

    /// The `from=` values as Strings, for a line `FromText` cannot hold (65,535 bytes or more in all).
    @inline(never)
    private static func setFromStrings(_ tx: inout Transaction, _ b: LineBytes, _ line: SendmailLine, _ user: Span) {
        let r = line.f.relay
        tx.sender = b.string(line.f.sender)
        tx.proto = b.optionalString(line.f.proto)
        tx.client = Peer(name: b.optionalString(r.name), ip: r.rewritten ? line.f.ipText : b.optionalString(r.ip))
        if user.isPresent { tx.localUser = b.string(user) }
        if line.f.messageID.isPresent { tx.messageID = b.string(line.f.messageID) }
    }

    /// Whether a session's client address is the relay's address as `peer(_:_:ipText:)` makes it.
    @inline(__always)
    static func sameIP(_ ip: String?, _ r: RelaySpans, _ b: LineBytes, ipText: String?) -> Bool {
        if r.rewritten { return ip == ipText }
        guard r.ip.isPresent else { return ip == nil }
        guard let ip else { return false }
        return equalText(ip, r.ip, b)
    }

    /// Whether a STARTTLS=client entry's peer is the relay of a `to=` line: `sameHost` of the
    /// entry's peer and the `Peer` `peer(_:_:ipText:)` would make of the relay, read on the bytes.
    @inline(__always)
    static func entryIsRelay(_ e: Peer, _ r: RelaySpans, _ b: LineBytes, ipText: String?) -> Bool {
        if !r.rewritten, r.name.isPresent, same(e.name, r.name, b) {
            // The same name: their addresses when both have one, else the names (equal).
            if let x = e.ip, r.ip.isPresent { return equalText(x, r.ip, b) }
            return true
        }
        if r.rewritten {
            if let x = e.ip, let y = ipText { return x == y }
        } else if let x = e.ip, r.ip.isPresent {
            return equalText(x, r.ip, b)
        }
        if let x = e.name, r.name.isPresent { return sameName(x, b.string(r.name)) }
        return false
    }

    /// Whether `s` equals (as Strings compare) the String `LineBytes.string` makes of a present
    /// span: the bytes when they are equal; non-ASCII bytes that differ through the Strings
    /// (invalid UTF-8 repaired, canonically equivalent forms equal).
    @inline(__always)
    static func equalText(_ s: String, _ span: Span, _ b: LineBytes) -> Bool {
        same(s, span, b) || (!(s.utf8.allSatisfy { $0 < 0x80 } && RowText.isASCII(b.buffer(span))) && s == b.string(span))
    }

    /// A message made on this host from `origin` (DSN, clone, split): created and held.
    private mutating func made(_ ctx: LineContext, _ qid: String, from origin: String, kind: OriginKind, sender: String?,
                               copy: Bool, into out: inout CorrelatorOutput) {
        if var tx = transactions[qid] {
            if !tx.emitted && tx.originQueueID == nil {
                tx.originQueueID = origin; tx.originKind = kind
                transactions[qid] = tx
            }
            return
        }
        var tx = Transaction(instance: SendmailCorrelator.instance(ctx.program), queueID: qid,
                             receivedAt: ctx.time, lastSeen: ctx.time)
        tx.originQueueID = origin
        tx.originKind = kind
        tx.sender = sender
        if var o = transactions[origin] {
            o.lastSeen = ctx.time
            transactions[origin] = o
            tx.instance = o.instance
            if copy {
                tx.messageID = o.messageID; tx.size = o.size; tx.client = o.client; tx.proto = o.proto
                tx.tls = o.tls; tx.saslMethod = o.saslMethod; tx.saslUser = o.saslUser
                tx.localUser = o.localUser
                if tx.sender == nil { tx.sender = o.sender }
            }
        }
        tx.heldSince = ctx.time
        transactions[qid] = tx
        held.append(qid)
    }

    private mutating func emit(_ qid: String, into out: inout CorrelatorOutput) {
        guard let i = transactions.table.index(of: TxKey(qid)) else { return }
        emit(at: i, into: &out)
    }

    private mutating func emit(at i: Int, into out: inout CorrelatorOutput) {
        guard !transactions.table.values[i].emitted else { return }
        let host = self.host
        let heldID = transactions.table.withValue(at: i) { tx -> String? in Self.emitRow(&tx, host: host, into: &out) }
        if let qid = heldID { held.removeAll { $0 == qid } }
    }

    /// Marks the transaction emitted and appends its message row; returns its queue ID when it
    /// was held (the caller drops it from `held`). Inlined into the visit that changes `tx`.
    @inline(__always)
    private static func emitRow(_ tx: inout Transaction, host: String, into out: inout CorrelatorOutput) -> String? {
        let mk = messageKey(&tx, host: host)
        tx.emitted = true
        let wasHeld = tx.heldSince != nil
        tx.heldSince = nil
        // Packed like the `from=` rows (one kind per batch: no order to keep); a held row is rare.
        out.messages.appendPacked(PackedMessage(messageRecord(tx, msgKey: mk, host: host), text: &out.messages.text))
        return wasHeld ? tx.queueID : nil
    }

    /// The message row of a transaction (its values copied).
    @inline(__always)
    static func messageRecord(_ tx: borrowing Transaction, msgKey mk: Int64, host: String) -> MessageRecord {
        MessageRecord(
            receivedAt: tx.receivedAt, msgKey: mk, host: host, mta: "sendmail", instance: tx.instance,
            queueID: tx.queueID, messageID: tx.messageID, sender: tx.sender, client: tx.client, size: tx.size,
            nrcpt: tx.nrcpt, proto: tx.proto, tls: tx.tls?.info, saslMethod: tx.saslMethod,
            saslUsername: tx.saslUsername, originQueueID: tx.originQueueID, originKind: tx.originKind,
            localUser: tx.localUser)
    }

    /// Ends a transaction: emits it if it is still held, forgets it.
    private mutating func finish(at i: Int, into out: inout CorrelatorOutput) {
        let qid = transactions.table.values[i].queueID
        if transactions.table.values[i].heldSince != nil { emit(at: i, into: &out) }
        transactions.table.remove(at: i)
        held.removeAll { $0 == qid }
    }

    private mutating func releaseHeld(into out: inout CorrelatorOutput) {
        guard !held.isEmpty else { return }
        let limit = now.micros - config.holdWindowSeconds * 1_000_000
        for qid in held {
            guard let i = transactions.table.index(of: TxKey(qid)) else { continue }
            if let since = transactions.table.values[i].heldSince, since.micros <= limit { emit(at: i, into: &out) }
        }
    }

    /// Drops state nobody will complete: stale transactions, old sessions and TLS entries.
    private mutating func sweep(into out: inout CorrelatorOutput) {
        lastSweep = now
        let stale = now.micros - config.staleAfterSeconds * 1_000_000
        // Collected first, without holding the array: a lazy view kept `values` shared, so the
        // first removal below copied every open transaction (and released the old buffer after).
        // Their keys, as Exim's sweep does (no key made again from a queue ID String).
        var staleKeys: [TxKey] = []
        for i in transactions.table.values.indices where transactions.table.values[i].lastSeen.micros < stale {
            staleKeys.append(transactions.table.keys[i])
        }
        for key in staleKeys {
            if let i = transactions.table.index(of: key) { finish(at: i, into: &out) }
        }
        let hourAgo = now.micros - 3_600_000_000
        sessions.filter { $0.started.micros >= hourAgo }
        outboundTLS.filter { $0.at.micros >= hourAgo }
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

    /// Whether `s` is the text of `span` (nil: the span is absent), compared as bytes: then it is
    /// the String the cache makes of the span (equal bytes, valid UTF-8).
    @inline(__always)
    static func same(_ s: String?, _ span: Span, _ b: LineBytes) -> Bool {
        guard let s else { return !span.isPresent }
        guard span.isPresent else { return false }
        return s.utf8.withContiguousStorageIfAvailable { u in
            u.count == span.count && (u.count == 0 || memcmp(u.baseAddress!, b.base + Int(span.lo), u.count) == 0)
        } ?? false
    }

    /// Whether a present span holds an `@`.
    @inline(__always)
    static func hasAt(_ b: LineBytes, _ s: Span) -> Bool {
        s.count > 0 && memchr(b.base + Int(s.lo), Int32(UInt8(ascii: "@")), s.count) != nil
    }

    /// The instance a program's transactions belong to: the MSP queue runner shares the MSP's queue.
    @inline(__always)
    static func instance(_ program: String) -> String {
        // The length first: a String compare that fails (`sm-mta` is not `sm-msp-queue`) takes
        // the runtime's slow path.
        program.utf8.count == 12 && program == "sm-msp-queue" ? "sendmail" : program
    }

    /// Whether a STARTTLS=client peer is the relay of a to= line (same IP, or same name ignoring case):
    /// the rule `entryIsRelay` applies to the line's bytes (tests compare the two).
    static func sameHost(_ a: Peer, _ b: Peer) -> Bool {
        if let x = a.ip, let y = b.ip { return x == y }
        if let x = a.name, let y = b.name { return sameName(x, y) }
        return false
    }

    /// `x.lowercased() == y.lowercased()`, without allocating when both are equal or ASCII.
    static func sameName(_ x: String, _ y: String) -> Bool {
        if x == y { return true }
        var xs = x, ys = y
        let ascii: Bool? = xs.withUTF8 { a in
            ys.withUTF8 { b -> Bool? in
                guard a.count == b.count else { return a.allSatisfy { $0 < 0x80 } && b.allSatisfy { $0 < 0x80 } ? false : nil }
                for k in 0..<a.count {
                    let p = a[k], q = b[k]
                    if p >= 0x80 || q >= 0x80 { return nil }
                    if p == q { continue }
                    let lp = p &- 0x41 < 26 ? p | 0x20 : p, lq = q &- 0x41 < 26 ? q | 0x20 : q
                    if lp != lq { return false }
                }
                return true
            }
        }
        return ascii ?? (x.lowercased() == y.lowercased())
    }
}

extension SendmailCorrelator.TxMap: Codable {
    init(from decoder: Decoder) throws {
        self.init()
        for (k, v) in try [String: SendmailCorrelator.Transaction](from: decoder) { self[k] = v }
    }

    func encode(to encoder: Encoder) throws {
        var d: [String: SendmailCorrelator.Transaction] = [:]
        for v in table.values { d[v.queueID] = v }
        try d.encode(to: encoder)
    }
}

// Apart from the type: an initializer in its body would take away the memberwise one, through
// which the steps make sessions in place (with these, a new session was copied once more).
extension SendmailCorrelator.Session {
    init(client: Peer, started: Timestamp, tls: SendmailCorrelator.TLSBox?, saslMethod: String?, saslUsername: String?) {
        self.init(client: client, started: started, tls: tls, saslMethod: saslMethod,
                  saslUser: saslUsername.map(SendmailCorrelator.SlabString.init))
    }

    init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(client: try c.decode(Peer.self, forKey: .client), started: try c.decode(Timestamp.self, forKey: .started),
                  tls: try c.decodeIfPresent(SendmailCorrelator.TLSBox.self, forKey: .tls),
                  saslMethod: try c.decodeIfPresent(String.self, forKey: .saslMethod),
                  saslUser: try c.decodeIfPresent(String.self, forKey: .saslUsername).map(SendmailCorrelator.SlabString.init))
    }

    func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(client, forKey: .client)
        try c.encode(started, forKey: .started)
        try c.encodeIfPresent(tls, forKey: .tls)
        try c.encodeIfPresent(saslMethod, forKey: .saslMethod)
        try c.encodeIfPresent(saslUsername, forKey: .saslUsername)
    }
}
