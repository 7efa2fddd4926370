/// SendmailLine: one parsed Sendmail line as spans into its bytes — the form
/// in which the parser hands a line to the correlator on the hot path.
///
/// Contract: carries exactly the facts of the `SendmailEvent` of the same
/// line. The frequent kinds (`from=`, `to=`, `STARTTLS=`, `AUTH=` and the
/// `ruleset=` refusals, kind `ruleset`) hold their fields as `Span`s of
/// `bytes` or numbers, so such a line costs no allocation until the
/// correlator stores a value; every other kind (links, splits, milter and
/// address refusals: a few per cent of lines) holds its `SendmailEvent` in
/// `event` (`kind == .other`). Valid only while `bytes` is (one call).
/// A `SendmailLine` is a view (one pointer) of `Fields` owned by a
/// `SendmailLineBuffer`: passing it on copies nothing. `event` turns the view
/// into a `SendmailEvent`; `withLine(_:_:)` goes the other way (the
/// correlator's String API and its tests use it), so both feed one grammar
/// and one state machine. A `.reject` event (which does not say whether a
/// `ruleset=` line made it) goes back as an `other` line; the correlator makes
/// the same rejection row from either form.
/// Known limits: a relay address that is not its logged bytes (IPv6
/// compressed, IPv4-mapped, `IPv6:` dropped) is carried as a String
/// (`Fields.ipText`); the recipient list's storage (`SpanList`) is reused
/// from line to line (it grows to the longest list seen). A parser's buffer
/// carries one `SharedStringCache` for all the correlators its lines reach (`Fields.strings`)
/// and a `SendmailRelayMemo` of recent `relay=` values' spans (`Fields.relayMemo`); its
/// `SendmailTLSTailMemo` and `SendmailRelayMemo` give each value they store a number unique in the
/// process (blocks of numbers from `SendmailMemoIDs` under a lock), carried as `Fields.tlsTailID`
/// and `RelaySpans.id`; a `SendmailIPTextMemo` keeps rewritten (IPv6) relay addresses' texts.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A list of spans whose storage is reused from line to line: kept in the `SendmailLineBuffer`'s
/// fields and freed with it, it grows to the longest list seen and is emptied by setting its count
/// (an Array's `removeAll(keepingCapacity:)` and `append` cost a uniqueness check each). Only the
/// buffer's own fields may grow it; a copy of the fields only reads.
public struct SpanList: @unchecked Sendable {
    public var base: UnsafeMutablePointer<Span>?
    public var capacity = 0
    public var count = 0

    @inlinable public init() {}

    @inlinable public var isEmpty: Bool { count == 0 }

    @inlinable public subscript(i: Int) -> Span {
        precondition(i >= 0 && i < count, "SpanList index out of range")
        return base![i]
    }

    @inlinable public mutating func append(_ s: Span) {
        if count == capacity { grow() }
        base![count] = s
        count += 1
    }

    @inlinable public mutating func removeAll() { count = 0 }

    public func map<T>(_ f: (Span) throws -> T) rethrows -> [T] {
        var out: [T] = []
        out.reserveCapacity(count)
        for i in 0..<count { out.append(try f(base![i])) }
        return out
    }

    @usableFromInline mutating func grow() {
        let n = Swift.max(8, capacity * 2)
        let p = UnsafeMutablePointer<Span>.allocate(capacity: n)
        if let old = base {
            p.initialize(from: old, count: count)
            old.deallocate()
        }
        base = p
        capacity = n
    }

    /// Frees the storage (by the buffer that owns it, once).
    mutating func deallocate() {
        base?.deallocate()
        base = nil
        capacity = 0
        count = 0
    }
}

/// A Sendmail `relay=` value as spans: `[user@]name [ip]`, ` (may be forged)`.
public struct RelaySpans: Sendable {
    /// The host name (trailing dots dropped), absent when none.
    public var name: Span = .absent
    /// The address as logged, absent when none or when it had to be rewritten.
    public var ip: Span = .absent
    /// The address had to be rewritten (IPv6): its text is the line's `ipText`.
    public var rewritten = false
    /// The `user@` part (ident answer or local submitter).
    public var user: Span = .absent
    /// ` (may be forged)` followed the value.
    public var forged = false
    /// The number the buffer's `SendmailRelayMemo` gave the value's bytes, nonzero only when the
    /// parser read the value through it: equal numbers mean equal value bytes (a number is given
    /// to one value once in the process), so equal Peers; 0 otherwise.
    public var id: UInt64 = 0
    @inlinable public init() {}
}

/// What a `ruleset=` line says was done: `reject=`, a trailing `discard`, or `quarantine=`.
public enum SendmailRulesetAction: UInt8, Sendable {
    case reject, discard, quarantine

    /// The action as stored (`SendmailReject.action`).
    @inlinable public var text: String {
        switch self {
        case .reject: return "reject"
        case .discard: return "discard"
        case .quarantine: return "quarantine"
        }
    }
}

/// The SMTP stage a ruleset (or milter stage) guards; `ruleset` = none known, the ruleset's own
/// name is the stage.
public enum SendmailStage: UInt8, Sendable {
    case connect, mail, rcpt, endOfMessage, data, starttls, helo, etrn, expn, vrfy, ruleset

    /// The stage as stored (`SendmailReject.stage`); nil for `ruleset` (the caller uses the name).
    @inlinable public var text: String? {
        switch self {
        case .connect: return "CONNECT"
        case .mail: return "MAIL"
        case .rcpt: return "RCPT"
        case .endOfMessage: return "END-OF-MESSAGE"
        case .data: return "DATA"
        case .starttls: return "STARTTLS"
        case .helo: return "HELO"
        case .etrn: return "ETRN"
        case .expn: return "EXPN"
        case .vrfy: return "VRFY"
        case .ruleset: return nil
        }
    }
}

/// One Sendmail line's fact (see `SendmailEvent` for the cases and the meaning of the fields).
public struct SendmailLine: @unchecked Sendable {
    /// Which `SendmailEvent` case the line is (`ruleset`: a `.reject` of a `ruleset=` line);
    /// `other` = the event is in `event`.
    public enum Kind: UInt8, Sendable { case from, to, tls, auth, ruleset, other }

    /// The stored fields; only those of `kind` are meaningful (the parser sets each before use).
    public struct Fields {
        public var kind: Kind = .other
        /// The bytes every span points into.
        public var bytes: LineBytes
        /// from= / to= / ruleset= (absent without one): the queue ID.
        public var queueID: Span = .absent
        /// from= / to= / STARTTLS / AUTH / ruleset=: `relay=`.
        public var relay = RelaySpans()
        // from= (ruleset=: `sender`, the address of `arg1=` of `check_mail`)
        public var sender: Span = .absent
        public var size: Int64? = nil
        public var msgClass: Int? = nil
        public var nrcpts: Int? = nil
        public var messageID: Span = .absent
        public var bodyType: Span = .absent
        public var proto: Span = .absent
        public var daemon: Span = .absent
        public var auth: Span = .absent
        // to=
        /// The recipients' contents (without `<>`), in logged order; storage reused per line.
        public var recipients = SpanList()
        public var more = false
        public var ctladdr: Span = .absent
        public var delay: Double? = nil
        public var xdelay: Double? = nil
        public var mailer: Span = .absent
        public var priority: Int64? = nil
        public var dsn: Span = .absent
        public var reply: Span = .absent
        public var stat: Span = .absent
        public var status: DeliveryStatus = .deferred
        public var response: Span = .absent
        public var nextQueueID: Span = .absent
        public var ntries: Int? = nil
        // STARTTLS= / AUTH=
        public var direction: TLSDirection = .inbound
        public var tlsProto: Span = .absent
        public var cipher: Span = .absent
        public var verify: Span = .absent
        public var bits: Int? = nil
        /// STARTTLS: the bytes that decide the four TLS values (`version=`'s value to the line's
        /// end, when `verify=`, `cipher=` and `bits=` are not before it), so equal bytes mean an
        /// equal `TLSInfo`; absent otherwise (the correlator then builds it field by field).
        public var tlsKey: Span = .absent
        /// STARTTLS: the number the buffer's `SendmailTLSTailMemo` gave the `tlsKey`'s bytes (the
        /// tail), nonzero only when the parser read the tail through it: equal numbers mean equal
        /// tail bytes (a number is given to one tail once in the process, never again), so the
        /// correlator may key its `TLSInfo`s by it instead of by the bytes; 0 otherwise.
        public var tlsTailID: UInt64 = 0
        public var authid: Span = .absent
        public var mechanism: Span = .absent
        // ruleset= (also `queueID`, `relay`, `sender`, `dsn`)
        public var ruleset: Span = .absent
        public var arg1: Span = .absent
        public var arg2: Span = .absent
        /// The address of `arg1=` of `check_rcpt` / `tls_rcpt`.
        public var recipient: Span = .absent
        public var rulesetAction: SendmailRulesetAction = .reject
        public var stage: SendmailStage = .ruleset
        /// The reply's `NNN`, and its text after the code and enhanced status (`dsn`).
        public var code: Span = .absent
        public var reason: Span = .absent
        /// The relay address when it had to be rewritten (`relay.rewritten`).
        public var ipText: String? = nil
        /// kind == .other: the event.
        public var event: SendmailEvent? = nil
        /// Whether `event` or `ipText` may hold a value (so clearing them is skipped when not).
        public var holdsStrings = false
        /// Whether the lines share `strings` among the correlators they go to (a parser's buffer:
        /// all hosts of a parse): a message's sender, recipients and relays are logged again by
        /// the next hop's host seconds later, which a cache per host cannot hit. False in
        /// `withLine`'s buffers (the correlator then uses its own cache).
        public var sharesStrings = false
        /// The shared cache, made by the first correlator that uses it (so a parse of another MTA's
        /// log does not pay for it); kept across lines (`reset` leaves it).
        public var strings: SharedStringCache? = nil
        /// Spans of recent `relay=` values (the parser's), owned by the buffer; kept across lines.
        public var relayMemo = SendmailRelayMemo()
        /// What recent `STARTTLS=` lines' tails (`version=`'s value to the end) gave (the parser's),
        /// owned by the buffer; kept across lines.
        public var tlsTailMemo = SendmailTLSTailMemo()
        /// Recent rewritten relay addresses' texts (IPv6) by their bytes (the parser's), owned by
        /// the buffer; kept across lines.
        public var ipTextMemo = SendmailIPTextMemo()

        @inlinable public init(bytes: LineBytes) { self.bytes = bytes }
    }

    @usableFromInline let storage: UnsafeMutablePointer<Fields>
    @inlinable public init(storage: UnsafeMutablePointer<Fields>) { self.storage = storage }

    /// The fields, read and written in place.
    @inlinable public var f: Fields {
        unsafeAddress { UnsafePointer(storage) }
        nonmutating unsafeMutableAddress { storage }
    }

    @inlinable public var kind: Kind { storage.pointee.kind }
    @inlinable public var bytes: LineBytes { storage.pointee.bytes }

    /// Points the spans at `bytes` and drops the previous line's event (the parser then sets
    /// the fields of the kind it finds).
    @inlinable public func reset(bytes: LineBytes) {
        storage.pointee.bytes = bytes
        storage.pointee.kind = .other
        if storage.pointee.holdsStrings {
            storage.pointee.event = nil
            storage.pointee.ipText = nil
            storage.pointee.holdsStrings = false
        }
    }

    /// Sets the relay; `ipText` is its address when it had to be rewritten.
    @inlinable public func setRelay(_ r: RelaySpans, ipText: String?) {
        storage.pointee.relay = r
        if let ipText {
            storage.pointee.ipText = ipText
            storage.pointee.holdsStrings = true
        } else if r.rewritten {
            storage.pointee.ipText = nil      // not an address: no earlier `relay=`'s text stays
        }
    }

    /// Clears the fields of a `from=` line.
    @inlinable public func beginFrom(queueID: Span) {
        let p = storage
        p.pointee.kind = .from; p.pointee.queueID = queueID; p.pointee.relay = RelaySpans()
        p.pointee.sender = .absent; p.pointee.size = nil; p.pointee.msgClass = nil; p.pointee.nrcpts = nil
        p.pointee.messageID = .absent; p.pointee.bodyType = .absent; p.pointee.proto = .absent
        p.pointee.daemon = .absent; p.pointee.auth = .absent
    }

    /// Clears the fields of a `to=` line (the recipient list keeps its storage).
    @inlinable public func beginTo(queueID: Span) {
        let p = storage
        p.pointee.kind = .to; p.pointee.queueID = queueID; p.pointee.relay = RelaySpans()
        p.pointee.recipients.removeAll()
        p.pointee.more = false; p.pointee.ctladdr = .absent; p.pointee.delay = nil; p.pointee.xdelay = nil
        p.pointee.mailer = .absent; p.pointee.priority = nil; p.pointee.dsn = .absent; p.pointee.reply = .absent
        p.pointee.stat = .absent; p.pointee.status = .deferred; p.pointee.response = .absent
        p.pointee.nextQueueID = .absent; p.pointee.ntries = nil
    }

    /// Clears the fields of a `STARTTLS=` line.
    @inlinable public func beginTLS(direction: TLSDirection) {
        let p = storage
        p.pointee.kind = .tls; p.pointee.direction = direction; p.pointee.relay = RelaySpans()
        p.pointee.tlsProto = .absent; p.pointee.cipher = .absent; p.pointee.verify = .absent; p.pointee.bits = nil
        p.pointee.tlsKey = .absent; p.pointee.tlsTailID = 0
    }

    /// Clears the fields of an `AUTH=server` line.
    @inlinable public func beginAuth() {
        let p = storage
        p.pointee.kind = .auth; p.pointee.relay = RelaySpans()
        p.pointee.authid = .absent; p.pointee.mechanism = .absent
    }

    /// Clears the fields of a `ruleset=` line (`queueID` absent when it has none).
    @inlinable public func beginRuleset(queueID: Span) {
        let p = storage
        p.pointee.kind = .ruleset; p.pointee.queueID = queueID; p.pointee.relay = RelaySpans()
        p.pointee.ruleset = .absent; p.pointee.arg1 = .absent; p.pointee.arg2 = .absent
        p.pointee.sender = .absent; p.pointee.recipient = .absent; p.pointee.rulesetAction = .reject
        p.pointee.stage = .ruleset; p.pointee.code = .absent; p.pointee.dsn = .absent; p.pointee.reason = .absent
    }

    /// Makes the line an event of another kind.
    @inlinable public func setOther(_ e: SendmailEvent) {
        storage.pointee.kind = .other
        storage.pointee.event = e
        storage.pointee.holdsStrings = true
    }

    // MARK: - values, as stored

    /// The relay as a `Peer`, its Strings made by `make` (e.g. through a `StringCache`).
    @inlinable public func peer(_ r: RelaySpans, make: (Span) -> String?) -> Peer {
        Peer(name: make(r.name), ip: r.rewritten ? storage.pointee.ipText : make(r.ip), port: nil)
    }

    /// The relay as a `Peer`.
    public func peer(_ r: RelaySpans) -> Peer { peer(r) { bytes.optionalString($0) } }

    /// Sendmail's `verify=` in Postfix's trust words (TLSInfo.trust): TRUSTED (DANE) → Verified,
    /// OK → Trusted, NO/NOT/NONE (no certificate asked or given) → Anonymous, other failures → Untrusted.
    @inlinable public func trustWord(_ v: Span) -> String? {
        guard v.isPresent else { return nil }
        let b = bytes
        if b.equals(v, "TRUSTED") { return "Verified" }
        if b.equals(v, "OK") { return "Trusted" }
        if b.equals(v, "NO") || b.equals(v, "NOT") || b.equals(v, "NONE") { return "Anonymous" }
        return "Untrusted"
    }

    /// The event of the line (Strings made for every field).
    public var event: SendmailEvent {
        let b = bytes
        let p = storage.pointee
        switch p.kind {
        case .from:
            return .from(queueID: b.string(p.queueID), SendmailFrom(
                sender: b.string(p.sender), size: p.size, msgClass: p.msgClass, nrcpts: p.nrcpts,
                messageID: b.optionalString(p.messageID), bodyType: b.optionalString(p.bodyType),
                proto: b.optionalString(p.proto), daemon: b.optionalString(p.daemon), auth: b.optionalString(p.auth),
                relay: peer(p.relay), identUser: b.optionalString(p.relay.user), mayBeForged: p.relay.forged))
        case .to:
            return .to(queueID: b.string(p.queueID), SendmailTo(
                recipients: p.recipients.map { b.string($0) }, more: p.more, ctladdr: b.optionalString(p.ctladdr),
                delay: p.delay, xdelay: p.xdelay, mailer: b.optionalString(p.mailer), priority: p.priority,
                relay: peer(p.relay), dsn: b.optionalString(p.dsn), reply: b.optionalString(p.reply),
                stat: b.optionalString(p.stat), status: p.status, response: b.optionalString(p.response),
                nextQueueID: b.optionalString(p.nextQueueID), ntries: p.ntries))
        case .tls:
            let info = TLSInfo(proto: b.optionalString(p.tlsProto), cipher: b.optionalString(p.cipher), bits: p.bits,
                               trust: trustWord(p.verify))
            return .tls(direction: p.direction, peer: peer(p.relay), info: info, verify: b.optionalString(p.verify))
        case .auth:
            return .auth(peer: peer(p.relay), authid: b.string(p.authid), mechanism: b.string(p.mechanism))
        case .ruleset:
            let ruleset = b.string(p.ruleset)
            return .reject(queueID: b.optionalString(p.queueID), SendmailReject(
                action: p.rulesetAction.text, stage: p.stage.text ?? ruleset, ruleset: ruleset,
                arg1: b.optionalString(p.arg1), arg2: b.optionalString(p.arg2), client: peer(p.relay),
                sender: b.optionalString(p.sender), recipient: b.optionalString(p.recipient),
                code: b.optionalString(p.code), dsn: b.optionalString(p.dsn), reason: b.optionalString(p.reason)))
        case .other:
            return p.event ?? .reject(queueID: nil, SendmailReject(action: "reject"))
        }
    }

    // MARK: - from a SendmailEvent

    /// Calls `body` with the line form of `event` (its strings copied into one buffer).
    public static func withLine<R>(_ event: SendmailEvent, _ body: (SendmailLine) throws -> R) rethrows -> R {
        var buf: [UInt8] = []
        let holder = SendmailLineBuffer(sharedStrings: false)
        let line = holder.line
        func add(_ s: String?) -> Span {
            guard let s else { return .absent }
            let lo = buf.count
            buf.append(contentsOf: s.utf8)
            return Span(lo..<buf.count)
        }
        func addRelay(_ p: Peer, user: String? = nil, forged: Bool = false) {
            var r = RelaySpans()
            r.name = add(p.name); r.rewritten = p.ip != nil; r.user = add(user); r.forged = forged
            line.setRelay(r, ipText: p.ip)
        }
        switch event {
        case .from(let q, let f):
            line.beginFrom(queueID: add(q))
            line.f.sender = add(f.sender); line.f.size = f.size; line.f.msgClass = f.msgClass; line.f.nrcpts = f.nrcpts
            line.f.messageID = add(f.messageID); line.f.bodyType = add(f.bodyType); line.f.proto = add(f.proto)
            line.f.daemon = add(f.daemon); line.f.auth = add(f.auth)
            addRelay(f.relay, user: f.identUser, forged: f.mayBeForged)
        case .to(let q, let t):
            line.beginTo(queueID: add(q))
            for r in t.recipients { line.f.recipients.append(add(r)) }
            line.f.more = t.more; line.f.ctladdr = add(t.ctladdr); line.f.delay = t.delay; line.f.xdelay = t.xdelay
            line.f.mailer = add(t.mailer); line.f.priority = t.priority; addRelay(t.relay)
            line.f.dsn = add(t.dsn); line.f.reply = add(t.reply); line.f.stat = add(t.stat); line.f.status = t.status
            line.f.response = add(t.response); line.f.nextQueueID = add(t.nextQueueID); line.f.ntries = t.ntries
        case .tls(let d, let p, let info, let verify):
            line.beginTLS(direction: d)
            addRelay(p); line.f.tlsProto = add(info.proto); line.f.cipher = add(info.cipher)
            line.f.bits = info.bits; line.f.verify = add(verify)
        case .auth(let p, let authid, let mech):
            line.beginAuth()
            addRelay(p); line.f.authid = add(authid); line.f.mechanism = add(mech)
        default:
            line.setOther(event)
        }
        return try buf.withUnsafeBufferPointer { b in
            line.storage.pointee.bytes = LineBytes(b)
            return try withExtendedLifetime(holder) { try body(line) }
        }
    }
}

/// Owns the storage of one `SendmailLine` (a parser keeps one and refills it for every line),
/// and a scratch buffer for records the parser reassembles from parts.
public final class SendmailLineBuffer: @unchecked Sendable {
    /// The view of this buffer's fields (valid while the buffer lives).
    public let line: SendmailLine
    /// Bytes of a reassembled record (the line's spans point here when it is one).
    private var scratch: UnsafeMutablePointer<UInt8>
    private var scratchCapacity: Int

    /// A buffer for a parser's lines: with a Strings cache shared by the correlators its lines go to.
    public convenience init() { self.init(sharedStrings: true) }

    /// `sharedStrings`: whether its lines share a `strings` cache (not for one-off lines).
    public init(sharedStrings: Bool) {
        let p = UnsafeMutablePointer<SendmailLine.Fields>.allocate(capacity: 1)
        p.initialize(to: SendmailLine.Fields(bytes: LineBytes(base: LineBytes.emptyBase, count: 0)))
        p.pointee.sharesStrings = sharedStrings
        // A parser's buffer reads relay= values; a one-off line (`withLine`) is filled from an event.
        if sharedStrings {
            p.pointee.relayMemo.allocate(); p.pointee.tlsTailMemo.allocate(); p.pointee.ipTextMemo.allocate()
        }
        line = SendmailLine(storage: p)
        scratchCapacity = 256
        scratch = .allocate(capacity: scratchCapacity)
    }

    /// Copies `bytes` into the scratch buffer and returns it (valid until the next call).
    public func hold(_ bytes: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        if bytes.count > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = bytes.count
            scratch = .allocate(capacity: scratchCapacity)
        }
        if let b = bytes.baseAddress, bytes.count > 0 { scratch.update(from: b, count: bytes.count) }
        return UnsafeBufferPointer(start: scratch, count: bytes.count)
    }

    deinit {
        line.storage.pointee.recipients.deallocate()
        line.storage.pointee.relayMemo.deallocate()
        line.storage.pointee.tlsTailMemo.deallocate()
        line.storage.pointee.ipTextMemo.deallocate()
        line.storage.deinitialize(count: 1)
        line.storage.deallocate()
        scratch.deallocate()
    }
}

/// The spans a `relay=` value's bytes gave lately, relative to the value's start: the same value
/// (an inbound client's STARTTLS and from= lines, the next hop of every delivery) is then read
/// with a hash and a compare instead of the relay grammar.
///
/// Contract: `lookup` returns what `store` was given for exactly these bytes (compared in full),
/// or nil. The caller stores only what is a function of the bytes alone (so equal bytes give
/// equal spans); values of 1 to `maxKey` bytes, direct-mapped `slots` entries, so memory is fixed
/// whatever the input. Owned by a `SendmailLineBuffer` (allocated by a parser's buffer, freed with
/// it; a `withLine` buffer has none); a copy of the line's fields shares it and only the buffer's
/// parser writes it.
/// Known limits: conflicting values evict each other.
public struct SendmailRelayMemo: @unchecked Sendable {
    public static let slots = 256
    public static let maxKey = 64
    /// An entry: the hash (8 bytes), the length (8; -1 = empty), the spans (at 16, with their
    /// number), the key (at 56).
    @usableFromInline static let stride = 128
    @usableFromInline static let spansAt = 16
    @usableFromInline static let keyAt = 56
    /// Where the numbers to give next are kept, after the entries (`SendmailMemoIDs.newID`).
    @usableFromInline static let idsAt = slots * stride

    @usableFromInline var entries: UnsafeMutableRawPointer?

    @inlinable public init() {}

    /// Whether the memo has storage (a parser's buffer's line has; `lookup` finds nothing and
    /// `store` keeps nothing otherwise).
    @inlinable public var isAllocated: Bool { entries != nil }

    mutating func allocate() {
        precondition(MemoryLayout<RelaySpans>.size <= Self.keyAt - Self.spansAt, "RelaySpans outgrew its place")
        precondition(Self.keyAt + Self.maxKey <= Self.stride, "relay memo keys outgrew their place")
        let e = SendmailRelayMemo.emptyEntries(slots: Self.slots, stride: Self.stride, extra: 16)
        e.storeBytes(of: UInt64(0), toByteOffset: Self.idsAt, as: UInt64.self)
        e.storeBytes(of: UInt64(0), toByteOffset: Self.idsAt + 8, as: UInt64.self)
        entries = e
    }

    /// A number never given before in the process (for a value stored now).
    @usableFromInline func newID(_ e: UnsafeMutableRawPointer) -> UInt64 { SendmailMemoIDs.newID(e + Self.idsAt) }

    /// `slots` entries of `stride` bytes, each marked empty (hash 0, length -1): the layout the
    /// relay memo and the TLS tail memo share (hash, length, value, key bytes).
    static func emptyEntries(slots: Int, stride: Int, extra: Int = 0) -> UnsafeMutableRawPointer {
        let e = UnsafeMutableRawPointer.allocate(byteCount: slots * stride + extra, alignment: 16)
        for i in 0..<slots {
            e.storeBytes(of: 0, toByteOffset: i * stride, as: UInt64.self)
            e.storeBytes(of: -1, toByteOffset: i * stride + 8, as: Int.self)
        }
        return e
    }

    mutating func deallocate() {
        entries?.deallocate()
        entries = nil
    }

    /// A hash of `n` (1...maxKey) bytes: the length and the first and last words (the bytes
    /// themselves when fewer than 8); values are compared in full, so a collision only costs a miss.
    @inlinable @inline(__always)
    public static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        let raw = UnsafeRawPointer(p)
        var a: UInt64, b: UInt64
        if n >= 8 {
            a = raw.loadUnaligned(as: UInt64.self)
            b = raw.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
        } else {
            a = 0
            var k = 0
            while k < n { a |= UInt64(p[k]) << (UInt64(k) &* 8); k &+= 1 }
            b = 0
        }
        var h = (a &* 0xC2B2_AE3D_27D4_EB4F) ^ (b &* 0x1656_67B1_9E37_79F9) ^ (UInt64(truncatingIfNeeded: n) &* 0x9E37_79B9_7F4A_7C15)
        h ^= h >> 29
        return h &* 0x2545_F491_4F6C_DD1D
    }

    /// Whether the `n` (1...maxKey) bytes at `a` and `b` are equal: word by word in place (the
    /// last word overlapping), no memcmp call.
    @inlinable @inline(__always)
    public static func equal(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ n: Int) -> Bool {
        guard n >= 8 else {
            var k = 0
            while k < n {
                if a.load(fromByteOffset: k, as: UInt8.self) != b.load(fromByteOffset: k, as: UInt8.self) { return false }
                k &+= 1
            }
            return true
        }
        var k = 0
        while k &+ 8 < n {
            if a.loadUnaligned(fromByteOffset: k, as: UInt64.self) != b.loadUnaligned(fromByteOffset: k, as: UInt64.self) {
                return false
            }
            k &+= 8
        }
        return a.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self) == b.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
    }

    /// Sets `spans` to what was stored for exactly the `n` bytes at `p` (hash `h`), relative to
    /// `p`, and returns true; false (and `spans` untouched) when they are not kept.
    @inlinable @inline(__always)
    public func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, into spans: inout RelaySpans) -> Bool {
        guard let entries else { return false }
        let e = entries + Int(truncatingIfNeeded: h >> 56) &* Self.stride
        guard e.load(as: UInt64.self) == h, e.load(fromByteOffset: 8, as: Int.self) == n,
              Self.equal(UnsafeRawPointer(e + Self.keyAt), UnsafeRawPointer(p), n) else { return false }
        spans = e.load(fromByteOffset: Self.spansAt, as: RelaySpans.self)
        return true
    }

    /// Keeps `spans` (relative to `p`) for the `n` bytes at `p` (1...maxKey, hash `h`), with a new
    /// number for these bytes (`RelaySpans.id`), which it returns (0 when nothing was kept).
    @inlinable @inline(__always) @discardableResult
    public func store(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, _ spans: RelaySpans) -> UInt64 {
        guard let entries, n >= 1, n <= Self.maxKey else { return 0 }
        let e = entries + Int(truncatingIfNeeded: h >> 56) &* Self.stride
        (e + Self.keyAt).copyMemory(from: UnsafeRawPointer(p), byteCount: n)
        e.storeBytes(of: h, as: UInt64.self)
        e.storeBytes(of: n, toByteOffset: 8, as: Int.self)
        var r = spans
        r.id = newID(entries)
        e.storeBytes(of: r, toByteOffset: Self.spansAt, as: RelaySpans.self)
        return r.id
    }
}

/// What the usual tail of a `STARTTLS=` line (`V, verify=X, cipher=C, bits=N/M`, from `version=`'s
/// value to the end of the line) gives, relative to the tail's start: the parser's fast path reads
/// it once per distinct tail (a handful of versions, verify results and ciphers) and then takes it
/// from `SendmailTLSTailMemo` by the bytes.
public struct SendmailTLSTail: Sendable {
    public var proto: Span
    public var verify: Span
    public var cipher: Span
    /// `bits=`'s first number; -1 for none.
    public var bits: Int64
    /// Where `bits=`'s value starts.
    public var bitsAt: Int64
    /// The number the memo gave these tail bytes when it stored them (`SendmailLine.Fields.tlsTailID`).
    public var id: UInt64 = 0
    @inlinable public init(proto: Span, verify: Span, cipher: Span, bits: Int?, bitsAt: Int) {
        self.proto = proto; self.verify = verify; self.cipher = cipher
        self.bits = bits.map { Int64($0) } ?? -1
        self.bitsAt = Int64(bitsAt)
    }
}

/// Hands out blocks of numbers for `SendmailTLSTailMemo` entries, unique in the process (a lock
/// per block of 65,536; numbers start at 1, so 0 is never given).
final class SendmailMemoIDs: @unchecked Sendable {
    static let shared = SendmailMemoIDs()
    static let block: UInt64 = 1 << 16
    /// The mutex at an address of its own (`&` on a stored property gives no stable address).
    private let lock: UnsafeMutablePointer<pthread_mutex_t>
    private var next: UInt64 = 1

    private init() {
        lock = .allocate(capacity: 1)
        lock.initialize(to: pthread_mutex_t())
        pthread_mutex_init(lock, nil)
    }

    /// The first number of a fresh block of `block` numbers.
    func takeBlock() -> UInt64 {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        let v = next
        next += Self.block
        return v
    }

    /// A number never given before in the process, from the block whose next number and end are
    /// the two words at `header` (both 0 at first: a block is taken then, and when one runs out).
    static func newID(_ header: UnsafeMutableRawPointer) -> UInt64 {
        var next = header.load(as: UInt64.self)
        if next == header.load(fromByteOffset: 8, as: UInt64.self) {
            next = shared.takeBlock()
            header.storeBytes(of: next &+ block, toByteOffset: 8, as: UInt64.self)
        }
        header.storeBytes(of: next &+ 1, as: UInt64.self)
        return next
    }
}

/// `SendmailTLSTail`s by the tail's bytes — as `SendmailRelayMemo` (word compare, a value only for
/// exactly the bytes it was stored for, fixed memory, owned by a parser's `SendmailLineBuffer`),
/// two-way (a set of two entries by the hash: the frequent tails are few and alike), keys of up
/// to `maxKey` bytes.
/// Known limits: conflicting tails evict each other; longer tails are read every time.
public struct SendmailTLSTailMemo: @unchecked Sendable {
    public static let slots = 128
    public static let maxKey = 112
    /// An entry: the hash (8 bytes), the length (8; -1 = empty), the tail (at 16), the key (at 64).
    @usableFromInline static let stride = 176
    @usableFromInline static let valueAt = 16
    @usableFromInline static let keyAt = 64

    @usableFromInline var entries: UnsafeMutableRawPointer?

    @inlinable public init() {}

    @inlinable public var isAllocated: Bool { entries != nil }

    /// A hash of `n` (1...maxKey) bytes: the length and the words at 0, 8, 16, the middle, n - 16
    /// and n - 8 (tails share their first and last words — `TLSv1.3,`, `256/256` — and differ in
    /// the verify result at 16 and the cipher between); the bytes themselves below 16.
    @inlinable @inline(__always)
    public static func hash(_ p: UnsafePointer<UInt8>, _ n: Int) -> UInt64 {
        guard n >= 16 else { return SendmailRelayMemo.hash(p, n) }
        let raw = UnsafeRawPointer(p)
        @inline(__always) func word(_ i: Int) -> UInt64 { raw.loadUnaligned(fromByteOffset: i, as: UInt64.self) }
        var h = (UInt64(truncatingIfNeeded: n) ^ word(0)) &* 0x9E37_79B9_7F4A_7C15
        h = (h ^ (h >> 29) ^ word(8)) &* 0xC2B2_AE3D_27D4_EB4F
        h = (h ^ (h >> 29) ^ word(n >= 24 ? 16 : n &- 8)) &* 0x2545_F491_4F6C_DD1D
        h = (h ^ (h >> 29) ^ word((n &- 8) / 2)) &* 0x1656_67B1_9E37_79F9
        h = (h ^ (h >> 29) ^ word(n &- 16)) &* 0x27D4_EB2F_1656_67C5
        h = (h ^ (h >> 29) ^ word(n &- 8)) &* 0x9E37_79B9_7F4A_7C15
        return h ^ (h >> 31)
    }

    /// Where the numbers to give next are kept, after the entries: the next one, the end of its block.
    @usableFromInline static let idsAt = slots * stride

    mutating func allocate() {
        precondition(MemoryLayout<SendmailTLSTail>.size <= Self.keyAt - Self.valueAt, "SendmailTLSTail outgrew its place")
        // The entries, then the next number to give and the end of its block (a block is taken at
        // the first store).
        let e = SendmailRelayMemo.emptyEntries(slots: Self.slots, stride: Self.stride, extra: 16)
        e.storeBytes(of: UInt64(0), toByteOffset: Self.idsAt, as: UInt64.self)
        e.storeBytes(of: UInt64(0), toByteOffset: Self.idsAt + 8, as: UInt64.self)
        entries = e
    }

    /// A number never given before in the process (for a tail stored now).
    @usableFromInline func newID(_ e: UnsafeMutableRawPointer) -> UInt64 { SendmailMemoIDs.newID(e + Self.idsAt) }

    mutating func deallocate() {
        entries?.deallocate()
        entries = nil
    }

    /// Whether entry `e` holds the `n` bytes at `p` (hash `h`).
    @inlinable @inline(__always)
    static func holds(_ e: UnsafeMutableRawPointer, _ p: UnsafePointer<UInt8>, _ n: Int, _ h: UInt64) -> Bool {
        e.load(as: UInt64.self) == h && e.load(fromByteOffset: 8, as: Int.self) == n
            && SendmailRelayMemo.equal(UnsafeRawPointer(e + Self.keyAt), UnsafeRawPointer(p), n)
    }

    /// The tail stored for exactly the `n` (1...maxKey) bytes at `p` (hash `h`), or nil. Two-way:
    /// the top six bits of the hash pick a set of two entries, either may hold the tail.
    @inlinable @inline(__always)
    public func lookup(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64) -> SendmailTLSTail? {
        guard let entries else { return nil }
        let e = entries + Int(truncatingIfNeeded: h >> 58) &* (2 &* Self.stride)
        if Self.holds(e, p, n, h) { return e.load(fromByteOffset: Self.valueAt, as: SendmailTLSTail.self) }
        let f = e + Self.stride
        if Self.holds(f, p, n, h) { return f.load(fromByteOffset: Self.valueAt, as: SendmailTLSTail.self) }
        return nil
    }

    /// Keeps `tail` for the `n` (1...maxKey) bytes at `p` (hash `h`): in the first entry of its set,
    /// the one there moved to the second (so the two latest tails of a set stay). Returns the
    /// number given to these bytes (kept as the stored tail's `id`), 0 when nothing was kept.
    @inlinable @inline(__always) @discardableResult
    public func store(_ p: UnsafePointer<UInt8>, _ n: Int, hash h: UInt64, _ tail: SendmailTLSTail) -> UInt64 {
        guard let entries, n >= 1, n <= Self.maxKey else { return 0 }
        let e = entries + Int(truncatingIfNeeded: h >> 58) &* (2 &* Self.stride)
        (e + Self.stride).copyMemory(from: UnsafeRawPointer(e), byteCount: Self.stride)
        (e + Self.keyAt).copyMemory(from: UnsafeRawPointer(p), byteCount: n)
        e.storeBytes(of: h, as: UInt64.self)
        e.storeBytes(of: n, toByteOffset: 8, as: Int.self)
        var t = tail
        t.id = newID(entries)
        e.storeBytes(of: t, toByteOffset: Self.valueAt, as: SendmailTLSTail.self)
        return t.id
    }
}

/// The text a relay address that had to be rewritten (IPv6: compressed, `IPv6:` dropped,
/// IPv4-mapped as IPv4; nil when not an address) was given, by the address's bytes as logged: a
/// client's STARTTLS and `from=` lines log the same address, which then costs one `inet_pton`
/// and one text (~1,700 instructions) instead of two.
///
/// Contract: `text(_:_:make:)` returns `make()` for those bytes (the caller's `make` must be a
/// function of them alone): from the memo when the same bytes were seen lately (compared in
/// full), else made and kept. Direct-mapped, `slots` entries of keys up to `maxKey` bytes (longer
/// ones are made every time); owned by a parser's `SendmailLineBuffer` (a `withLine` buffer has
/// none: `make` every time); read and written only by the buffer's parser.
/// Known limits: conflicting addresses evict each other.
public struct SendmailIPTextMemo: @unchecked Sendable {
    public static let slots = 64
    public static let maxKey = 48
    @usableFromInline var hashes: UnsafeMutablePointer<UInt64>?
    @usableFromInline var lengths: UnsafeMutablePointer<Int>?
    @usableFromInline var keys: UnsafeMutablePointer<UInt8>?
    @usableFromInline var texts: UnsafeMutablePointer<String?>?

    @inlinable public init() {}

    @inlinable public var isAllocated: Bool { texts != nil }

    mutating func allocate() {
        hashes = .allocate(capacity: Self.slots); hashes!.initialize(repeating: 0, count: Self.slots)
        lengths = .allocate(capacity: Self.slots); lengths!.initialize(repeating: -1, count: Self.slots)
        keys = .allocate(capacity: Self.slots * Self.maxKey)
        texts = .allocate(capacity: Self.slots); texts!.initialize(repeating: nil, count: Self.slots)
    }

    mutating func deallocate() {
        texts?.deinitialize(count: Self.slots)
        texts?.deallocate(); hashes?.deallocate(); lengths?.deallocate(); keys?.deallocate()
        texts = nil; hashes = nil; lengths = nil; keys = nil
    }

    /// The text for the `n` bytes at `p` (see the contract).
    public func text(_ p: UnsafePointer<UInt8>, _ n: Int, make: () -> String?) -> String? {
        guard let texts, let hashes, let lengths, let keys, n >= 1, n <= Self.maxKey else { return make() }
        let h = SendmailRelayMemo.hash(p, n)
        let i = Int(truncatingIfNeeded: h >> 58)
        let k = keys + i * Self.maxKey
        if hashes[i] == h, lengths[i] == n, SendmailRelayMemo.equal(UnsafeRawPointer(k), UnsafeRawPointer(p), n) {
            return texts[i]
        }
        let t = make()
        k.update(from: p, count: n)
        hashes[i] = h; lengths[i] = n; texts[i] = t
        return t
    }
}

extension Span {
    /// The span moved by `d` bytes (an absent span stays absent: its bounds are negative, and
    /// the shift is masked off by the sign of `lo`).
    @inlinable @inline(__always) public func shifted(by d: Int) -> Span {
        let m = Int32(truncatingIfNeeded: d) & ~(lo >> 31)
        return Span(lo: lo &+ m, hi: hi &+ m)
    }
}

extension RelaySpans {
    /// The spans moved by `d` bytes (absent ones stay absent).
    @inlinable @inline(__always) public func shifted(by d: Int) -> RelaySpans {
        var r = self
        r.name = name.shifted(by: d); r.ip = ip.shifted(by: d); r.user = user.shifted(by: d)
        return r
    }
}
