/// PostfixLine: one parsed Postfix line as spans into its bytes — the form in
/// which the parser hands a line to the correlator on the hot path.
///
/// Contract: carries exactly the facts of the `PostfixEvent` of the same line
/// (`kind` names the case; the fields of that case are set, every other field
/// is absent/nil), but as `Span`s of `bytes` instead of Strings, so a line
/// costs no allocation until the correlator stores a value. Valid only while
/// `bytes` is (one call). `PostfixParser.parse(body:context:)` turns it into a
/// `PostfixEvent`; `PostfixLine.withLine(_:_:)` goes the other way (the
/// correlator's String API and its tests use it).
/// Known limits: the disconnect peer is kept unparsed (`rawPeer`) because
/// nothing downstream reads it (from the parser only where it starts: the
/// String API finds its end); `delays` holds four parts or none.

/// A peer `NAME[ADDR]:PORT` as spans.
public struct PeerSpans: Sendable {
    public var name: Span
    public var ip: Span
    public var port: Int?

    @inlinable public init(name: Span = .absent, ip: Span = .absent, port: Int? = nil) {
        self.name = name; self.ip = ip; self.port = port
    }
}

/// TLS facts as spans.
public struct TLSSpans: Sendable {
    public var proto: Span = .absent
    public var cipher: Span = .absent
    public var trust: Span = .absent
    public var bits: Int? = nil
    @inlinable public init() {}
}

/// One Postfix line's fact (see `PostfixEvent` for the cases and the meaning of the fields).
/// A view (one pointer) of `PostfixLine.Fields` held by a `PostfixLineBuffer`: passing it on copies
/// nothing, and the fields are read and written in place.
public struct PostfixLine: @unchecked Sendable {
    /// Which `PostfixEvent` case the line is.
    public enum Kind: UInt8, Sendable {
        case connect, disconnect, tls, client, pickup, messageID, queued, expired, removed, delivery,
             notification, reject, admin
    }

    /// The stored fields (see the accessors of `PostfixLine` for their meaning).
    public struct Fields {
        public var kind: Kind = .connect
        /// The bytes every span points into.
        public var bytes: LineBytes
        /// Queue ID (absent for session lines and NOQUEUE refusals).
        public var queueID: Span = .absent
        /// connect / tls / client= client / delivery relay / refusal client.
        public var peer = PeerSpans()
        /// disconnect: the `NAME[ADDR]` token, unparsed (from the parser: an empty span at its start).
        public var rawPeer: Span = .absent
        public var direction: TLSDirection = .inbound
        public var tls = TLSSpans()
        public var saslMethod: Span = .absent
        public var saslUsername: Span = .absent
        /// client= `orig_queue_id`, pickup `orig_id`.
        public var origQueueID: Span = .absent
        /// client= `orig_client`.
        public var origClient: PeerSpans? = nil
        public var uid: Int? = nil
        /// pickup / qmgr / expired `from=`, refusal `from=`.
        public var sender: Span = .absent
        public var messageID: Span = .absent
        public var size: Int64? = nil
        public var nrcpt: Int? = nil
        /// expired: status; removed: detail; admin: action; notification: kind.
        public var word: Span = .absent
        /// notification: the new queue ID.
        public var newQueueID: Span = .absent
        /// delivery `to=`, refusal `to=`.
        public var recipient: Span = .absent
        public var origRecipient: Span = .absent
        public var connUse: Int? = nil
        public var delay: Double? = nil
        /// The four parts of `delays=` (present only when all four are).
        public var delays: (Double, Double, Double, Double)? = nil
        public var tlsFeature: Span = .absent
        /// delivery or refusal enhanced status.
        public var dsn: Span = .absent
        public var status: DeliveryStatus = .sent
        public var response: Span = .absent
        public var nextQueueID: Span = .absent
        public var action: Span = .absent
        public var stage: Span = .absent
        public var code: Span = .absent
        /// Refusal reason; for header/body checks the checked content, with `reasonTail` the reply text
        /// after it (the stored reason is then `reason + ": " + reasonTail`).
        public var reason: Span = .absent
        public var reasonTail: Span = .absent
        public var proto: Span = .absent
        public var helo: Span = .absent
        /// Whether the lines share `strings` among the correlators they go to (a parser's buffer:
        /// all hosts of a parse): a message's sender, recipients and relays are logged again by
        /// the next hop's host seconds later, which a cache per host cannot hit. False in
        /// `withLine`'s buffers (the correlator then uses its own cache).
        public var sharesStrings = false
        /// The shared cache, made by the first correlator that uses it (so a parse of another MTA's
        /// log does not pay for it); kept across lines (`reset` leaves it).
        public var strings: StringCache? = nil
        /// The Message-IDs and keys the lines share (made on first use; kept across lines).
        public var messageIDs: MessageKey.Cache? = nil

        @inlinable public init(bytes: LineBytes) { self.bytes = bytes }
    }

    @usableFromInline let storage: UnsafeMutablePointer<Fields>
    @inlinable public init(storage: UnsafeMutablePointer<Fields>) { self.storage = storage }
    /// Clears the fields several kinds share and points the spans at `bytes`. The fields only one
    /// kind uses are cleared by that kind's `begin…` method, which the parser calls before it fills
    /// them (a line costs a dozen stores, not a 450-byte copy).
    @inlinable public func reset(bytes: LineBytes) {
        let f = storage
        f.pointee.kind = .connect; f.pointee.bytes = bytes; f.pointee.queueID = .absent; f.pointee.peer = PeerSpans()
        f.pointee.rawPeer = .absent; f.pointee.origQueueID = .absent; f.pointee.sender = .absent
        f.pointee.messageID = .absent; f.pointee.word = .absent; f.pointee.newQueueID = .absent
        f.pointee.recipient = .absent; f.pointee.dsn = .absent
    }

    /// Clears the fields of a TLS line.
    @inlinable public func beginTLS() { storage.pointee.direction = .inbound; storage.pointee.tls = TLSSpans() }

    /// Clears the fields of a `client=` line.
    @inlinable public func beginClient() {
        storage.pointee.saslMethod = .absent; storage.pointee.saslUsername = .absent; storage.pointee.origClient = nil
    }

    /// Clears the fields of a pickup line.
    @inlinable public func beginPickup() { storage.pointee.uid = nil }

    /// Clears the fields of a qmgr `from=` line.
    @inlinable public func beginQueued() { storage.pointee.size = nil; storage.pointee.nrcpt = nil }

    /// Clears the fields of a delivery line.
    @inlinable public func beginDelivery() {
        let f = storage
        f.pointee.origRecipient = .absent; f.pointee.connUse = nil; f.pointee.delay = nil; f.pointee.delays = nil
        f.pointee.tlsFeature = .absent; f.pointee.status = .sent; f.pointee.response = .absent
        f.pointee.nextQueueID = .absent
    }

    /// Clears the fields of a refusal.
    @inlinable public func beginReject() {
        let f = storage
        f.pointee.action = .absent; f.pointee.stage = .absent; f.pointee.code = .absent; f.pointee.reason = .absent
        f.pointee.reasonTail = .absent; f.pointee.proto = .absent; f.pointee.helo = .absent
    }

    /// Whether the line's buffer shares a Strings cache among correlators (`Fields.sharesStrings`).
    @inlinable public var sharesStrings: Bool { storage.pointee.sharesStrings }

    /// Swaps `cache` with the buffer's shared cache (made with `entries` entries on first use):
    /// a correlator swaps it in for a line and out again after.
    @inlinable @inline(__always)
    public func swapSharedStrings(_ cache: inout StringCache, entries: Int) {
        if storage.pointee.strings == nil { storage.pointee.strings = StringCache(entries: entries) }
        swap(&cache, &storage.pointee.strings!)
    }

    /// The String of the span `s` (as `string(_:)` makes it) and its `MessageKey.forMessageID`
    /// key: from the Message-IDs the buffer's lines share when it shares its caches, else made.
    public func messageIDValue(_ s: Span) -> (String, Int64) {
        if storage.pointee.sharesStrings && s.isPresent {
            if storage.pointee.messageIDs == nil { storage.pointee.messageIDs = MessageKey.Cache() }
            return storage.pointee.messageIDs!.value(bytes.buffer(s))
        }
        let v = string(s)
        return (v, MessageKey.forMessageID(v))
    }

    @inlinable public var kind: Kind {
        get { storage.pointee.kind }
        nonmutating set { storage.pointee.kind = newValue }
    }
    /// The bytes every span points into.
    @inlinable public var bytes: LineBytes {
        get { storage.pointee.bytes }
        nonmutating set { storage.pointee.bytes = newValue }
    }
    /// Queue ID (absent for session lines and NOQUEUE refusals).
    @inlinable public var queueID: Span {
        get { storage.pointee.queueID }
        nonmutating set { storage.pointee.queueID = newValue }
    }
    /// connect / tls / client= client / delivery relay / refusal client.
    @inlinable public var peer: PeerSpans {
        get { storage.pointee.peer }
        nonmutating set { storage.pointee.peer = newValue }
    }
    /// disconnect: the `NAME[ADDR]` token, unparsed; the parser sets an empty span where it starts
    /// (it ends at the next space, which only `PostfixParser.parse(body:context:)` looks for).
    @inlinable public var rawPeer: Span {
        get { storage.pointee.rawPeer }
        nonmutating set { storage.pointee.rawPeer = newValue }
    }
    @inlinable public var direction: TLSDirection {
        get { storage.pointee.direction }
        nonmutating set { storage.pointee.direction = newValue }
    }
    @inlinable public var tls: TLSSpans {
        get { storage.pointee.tls }
        nonmutating set { storage.pointee.tls = newValue }
    }
    @inlinable public var saslMethod: Span {
        get { storage.pointee.saslMethod }
        nonmutating set { storage.pointee.saslMethod = newValue }
    }
    @inlinable public var saslUsername: Span {
        get { storage.pointee.saslUsername }
        nonmutating set { storage.pointee.saslUsername = newValue }
    }
    /// client= `orig_queue_id`, pickup `orig_id`.
    @inlinable public var origQueueID: Span {
        get { storage.pointee.origQueueID }
        nonmutating set { storage.pointee.origQueueID = newValue }
    }
    /// client= `orig_client`.
    @inlinable public var origClient: PeerSpans? {
        get { storage.pointee.origClient }
        nonmutating set { storage.pointee.origClient = newValue }
    }
    @inlinable public var uid: Int? {
        get { storage.pointee.uid }
        nonmutating set { storage.pointee.uid = newValue }
    }
    /// pickup / qmgr / expired `from=`, refusal `from=`.
    @inlinable public var sender: Span {
        get { storage.pointee.sender }
        nonmutating set { storage.pointee.sender = newValue }
    }
    @inlinable public var messageID: Span {
        get { storage.pointee.messageID }
        nonmutating set { storage.pointee.messageID = newValue }
    }
    @inlinable public var size: Int64? {
        get { storage.pointee.size }
        nonmutating set { storage.pointee.size = newValue }
    }
    @inlinable public var nrcpt: Int? {
        get { storage.pointee.nrcpt }
        nonmutating set { storage.pointee.nrcpt = newValue }
    }
    /// expired: status; removed: detail; admin: action; notification: kind.
    @inlinable public var word: Span {
        get { storage.pointee.word }
        nonmutating set { storage.pointee.word = newValue }
    }
    /// notification: the new queue ID.
    @inlinable public var newQueueID: Span {
        get { storage.pointee.newQueueID }
        nonmutating set { storage.pointee.newQueueID = newValue }
    }
    /// delivery `to=`, refusal `to=`.
    @inlinable public var recipient: Span {
        get { storage.pointee.recipient }
        nonmutating set { storage.pointee.recipient = newValue }
    }
    @inlinable public var origRecipient: Span {
        get { storage.pointee.origRecipient }
        nonmutating set { storage.pointee.origRecipient = newValue }
    }
    @inlinable public var connUse: Int? {
        get { storage.pointee.connUse }
        nonmutating set { storage.pointee.connUse = newValue }
    }
    @inlinable public var delay: Double? {
        get { storage.pointee.delay }
        nonmutating set { storage.pointee.delay = newValue }
    }
    /// The four parts of `delays=` (present only when all four are).
    @inlinable public var delays: (Double, Double, Double, Double)? {
        get { storage.pointee.delays }
        nonmutating set { storage.pointee.delays = newValue }
    }
    @inlinable public var tlsFeature: Span {
        get { storage.pointee.tlsFeature }
        nonmutating set { storage.pointee.tlsFeature = newValue }
    }
    /// delivery or refusal enhanced status.
    @inlinable public var dsn: Span {
        get { storage.pointee.dsn }
        nonmutating set { storage.pointee.dsn = newValue }
    }
    @inlinable public var status: DeliveryStatus {
        get { storage.pointee.status }
        nonmutating set { storage.pointee.status = newValue }
    }
    @inlinable public var response: Span {
        get { storage.pointee.response }
        nonmutating set { storage.pointee.response = newValue }
    }
    @inlinable public var nextQueueID: Span {
        get { storage.pointee.nextQueueID }
        nonmutating set { storage.pointee.nextQueueID = newValue }
    }
    @inlinable public var action: Span {
        get { storage.pointee.action }
        nonmutating set { storage.pointee.action = newValue }
    }
    @inlinable public var stage: Span {
        get { storage.pointee.stage }
        nonmutating set { storage.pointee.stage = newValue }
    }
    @inlinable public var code: Span {
        get { storage.pointee.code }
        nonmutating set { storage.pointee.code = newValue }
    }
    /// Refusal reason; for header/body checks the checked content, with `reasonTail` the reply text
    /// after it (the stored reason is then `reason + ": " + reasonTail`).
    @inlinable public var reason: Span {
        get { storage.pointee.reason }
        nonmutating set { storage.pointee.reason = newValue }
    }
    @inlinable public var reasonTail: Span {
        get { storage.pointee.reasonTail }
        nonmutating set { storage.pointee.reasonTail = newValue }
    }
    @inlinable public var proto: Span {
        get { storage.pointee.proto }
        nonmutating set { storage.pointee.proto = newValue }
    }
    @inlinable public var helo: Span {
        get { storage.pointee.helo }
        nonmutating set { storage.pointee.helo = newValue }
    }


    // MARK: - values, as stored

    @inlinable public func string(_ s: Span) -> String { bytes.string(s) }
    @inlinable public func optionalString(_ s: Span) -> String? { bytes.optionalString(s) }

    @inlinable public func peerValue(_ p: PeerSpans) -> Peer {
        Peer(name: bytes.optionalString(p.name), ip: bytes.optionalString(p.ip), port: p.port)
    }

    public var tlsInfo: TLSInfo {
        TLSInfo(proto: bytes.optionalString(tls.proto), cipher: bytes.optionalString(tls.cipher), bits: tls.bits,
                trust: bytes.optionalString(tls.trust))
    }

    public var delaysArray: [Double]? { delays.map { [$0.0, $0.1, $0.2, $0.3] } }

    /// `delays` as the record stores it (inline, no array).
    @inlinable public var delaysValue: Delays? { delays.map { Delays($0.0, $0.1, $0.2, $0.3) } }

    /// The refusal reason as stored.
    public var reasonValue: String? {
        if reasonTail.isPresent { return bytes.string(reason) + ": " + bytes.string(reasonTail) }
        return bytes.optionalString(reason)
    }

    public var delivery: PostfixDelivery {
        PostfixDelivery(recipient: string(recipient), origRecipient: optionalString(origRecipient),
                        relay: peerValue(peer), connUse: connUse, delay: delay, delays: delaysArray,
                        tlsFeature: optionalString(tlsFeature), dsn: optionalString(dsn), status: status,
                        response: optionalString(response), nextQueueID: optionalString(nextQueueID))
    }

    public var reject: PostfixReject {
        PostfixReject(action: string(action), stage: optionalString(stage), client: peerValue(peer),
                      code: optionalString(code), dsn: optionalString(dsn), reason: reasonValue,
                      sender: optionalString(sender), recipient: optionalString(recipient),
                      proto: optionalString(proto), helo: optionalString(helo))
    }

    /// The event, given the disconnect peer (which only the parser can read from `rawPeer`).
    public func event(disconnectPeer: Peer) -> PostfixEvent {
        let q = string(queueID)
        switch kind {
        case .connect: return .connect(client: peerValue(peer))
        case .disconnect: return .disconnect(client: disconnectPeer)
        case .tls: return .tls(direction: direction, peer: peerValue(peer), info: tlsInfo)
        case .client:
            return .client(queueID: q, client: peerValue(peer), saslMethod: optionalString(saslMethod),
                           saslUsername: optionalString(saslUsername), origQueueID: optionalString(origQueueID),
                           origClient: origClient.map(peerValue))
        case .pickup: return .pickup(queueID: q, uid: uid, sender: string(sender), origID: optionalString(origQueueID))
        case .messageID: return .messageID(queueID: q, messageID: string(messageID))
        case .queued: return .queued(queueID: q, sender: string(sender), size: size, nrcpt: nrcpt)
        case .expired: return .expired(queueID: q, sender: string(sender), status: string(word))
        case .removed: return .removed(queueID: q, detail: optionalString(word))
        case .delivery: return .delivery(queueID: q, delivery)
        case .notification: return .notification(queueID: q, kind: string(word), newQueueID: string(newQueueID))
        case .reject: return .reject(queueID: optionalString(queueID), reject)
        case .admin: return .admin(queueID: q, action: string(word))
        }
    }

    // MARK: - from a PostfixEvent

    /// Calls `body` with the line form of `event` (its strings copied into one buffer).
    public static func withLine<R>(_ event: PostfixEvent, _ body: (PostfixLine) throws -> R) rethrows -> R {
        var buf: [UInt8] = []
        let holder = PostfixLineBuffer(sharedStrings: false)
        let line = holder.line
        func add(_ s: String?) -> Span {
            guard let s else { return .absent }
            let lo = buf.count
            buf.append(contentsOf: s.utf8)
            return Span(lo..<buf.count)
        }
        func addPeer(_ p: Peer) -> PeerSpans { PeerSpans(name: add(p.name), ip: add(p.ip), port: p.port) }
        func addTLS(_ t: TLSInfo) -> TLSSpans {
            var s = TLSSpans()
            s.proto = add(t.proto); s.cipher = add(t.cipher); s.trust = add(t.trust); s.bits = t.bits
            return s
        }
        switch event {
        case .connect(let c): line.kind = .connect; line.peer = addPeer(c)
        case .disconnect(let c):
            line.kind = .disconnect
            line.rawPeer = add((c.name ?? "") + (c.ip.map { "[" + $0 + "]" } ?? ""))
        case .tls(let d, let p, let info):
            line.kind = .tls; line.direction = d; line.peer = addPeer(p); line.tls = addTLS(info)
        case .client(let q, let c, let m, let u, let oq, let oc):
            line.kind = .client; line.queueID = add(q); line.peer = addPeer(c); line.saslMethod = add(m)
            line.saslUsername = add(u); line.origQueueID = add(oq); line.origClient = oc.map(addPeer)
        case .pickup(let q, let uid, let sender, let origID):
            line.kind = .pickup; line.queueID = add(q); line.uid = uid; line.sender = add(sender)
            line.origQueueID = add(origID)
        case .messageID(let q, let id): line.kind = .messageID; line.queueID = add(q); line.messageID = add(id)
        case .queued(let q, let sender, let size, let nrcpt):
            line.kind = .queued; line.queueID = add(q); line.sender = add(sender); line.size = size; line.nrcpt = nrcpt
        case .expired(let q, let sender, let status):
            line.kind = .expired; line.queueID = add(q); line.sender = add(sender); line.word = add(status)
        case .removed(let q, let detail): line.kind = .removed; line.queueID = add(q); line.word = add(detail)
        case .delivery(let q, let d):
            line.kind = .delivery; line.queueID = add(q); line.recipient = add(d.recipient)
            line.origRecipient = add(d.origRecipient); line.peer = addPeer(d.relay); line.connUse = d.connUse
            line.delay = d.delay; line.tlsFeature = add(d.tlsFeature); line.dsn = add(d.dsn); line.status = d.status
            line.response = add(d.response); line.nextQueueID = add(d.nextQueueID)
            // The parser gives four parts or none; another length is dropped here.
            if let ds = d.delays, ds.count == 4 { line.delays = (ds[0], ds[1], ds[2], ds[3]) }
        case .notification(let q, let kind, let new):
            line.kind = .notification; line.queueID = add(q); line.word = add(kind); line.newQueueID = add(new)
        case .reject(let q, let r):
            line.kind = .reject; line.queueID = add(q); line.action = add(r.action); line.stage = add(r.stage)
            line.peer = addPeer(r.client); line.code = add(r.code); line.dsn = add(r.dsn); line.reason = add(r.reason)
            line.sender = add(r.sender); line.recipient = add(r.recipient); line.proto = add(r.proto)
            line.helo = add(r.helo)
        case .admin(let q, let action): line.kind = .admin; line.queueID = add(q); line.word = add(action)
        }
        return try buf.withUnsafeBufferPointer { b in
            line.bytes = LineBytes(b)
            return try withExtendedLifetime(holder) { try body(line) }
        }
    }
}

/// Owns the storage of one `PostfixLine` (a parser keeps one and refills it for every line).
public final class PostfixLineBuffer: @unchecked Sendable {
    /// The view of this buffer's fields (valid while the buffer lives).
    public let line: PostfixLine

    /// A buffer for a parser's lines: with a Strings cache shared by the correlators its lines go to.
    public convenience init() { self.init(sharedStrings: true) }

    /// `sharedStrings`: whether its lines share a `strings` cache (not for one-off lines).
    public init(sharedStrings: Bool) {
        let p = UnsafeMutablePointer<PostfixLine.Fields>.allocate(capacity: 1)
        p.initialize(to: PostfixLine.Fields(bytes: LineBytes(base: LineBytes.emptyBase, count: 0)))
        p.pointee.sharesStrings = sharedStrings
        line = PostfixLine(storage: p)
    }

    deinit {
        line.storage.deinitialize(count: 1)
        line.storage.deallocate()
    }
}
