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
/// nothing downstream reads it; `delays` holds four parts or none.

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
public struct PostfixLine: Sendable {
    /// Which `PostfixEvent` case the line is.
    public enum Kind: UInt8, Sendable {
        case connect, disconnect, tls, client, pickup, messageID, queued, expired, removed, delivery,
             notification, reject, admin
    }

    public var kind: Kind = .connect
    /// The bytes every span points into.
    public var bytes: LineBytes
    /// Queue ID (absent for session lines and NOQUEUE refusals).
    public var queueID: Span = .absent
    /// connect / tls / client= client / delivery relay / refusal client.
    public var peer = PeerSpans()
    /// disconnect: the `NAME[ADDR]` token, unparsed.
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

    @inlinable public init(bytes: LineBytes) { self.bytes = bytes }

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
        var line = PostfixLine(bytes: LineBytes(base: LineBytes.emptyBase, count: 0))
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
            return try body(line)
        }
    }
}
