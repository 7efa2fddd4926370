/// PackedRows: a batch of message or delivery rows, each either a record of Strings or a
/// packed row (plain values and `TextRef`s into the batch's `RowText`).
///
/// Contract: `MessageRows` and `DeliveryRows` read like `[MessageRecord]` and
/// `[DeliveryRecord]` (random-access collections in append order, elements made on access,
/// equality by elements, array literals, `append(_:)` of a record), and also take packed rows
/// (`appendPacked`) whose text a correlator copied from the line's bytes. `EncodedBatch` walks
/// `walkIndices` (each row's kind and index, in order) and `CopyBinary` writes a packed row from
/// its bytes; `forEachRow` gives each row as what it is; the `parse` JSON reads rows as records
/// (a packed row's Strings made then).
/// An element made from a packed row equals the record made of the same bytes with
/// `LineBytes.string`'s rule (invalid UTF-8 becomes U+FFFD).
/// - Why two kinds: rows made from the line's bytes (Sendmail's, Exim's, Postfix's deliveries)
///   stop paying for Strings they never needed, while rows whose values a transaction gathered
///   as Strings over several lines (Postfix's messages) stay records: copying Strings' bytes
///   into packed rows cost 8-11 % more instructions (round 12).
/// - The order of the two kinds is kept (`order`, made only when both are present: a log mixing
///   MTAs), so the JSON output and the loaded rows stay in log order.
/// Limits: a batch's packed text is at most 4 GiB (`RowText`).

/// A delivery whose text is in its batch's `RowText`; fields as `DeliveryRecord`'s. The last
/// field has an internal name for the reason `Records.swift` gives (a memberwise initialiser
/// builds the row in place; a hand-written one built it in a temporary and copied it out).
public struct PackedDelivery: Sendable {
    public var at: Timestamp
    public var msgKey: Int64
    public var host: String
    public var instance: String
    public var queueID: TextRef
    public var receivedAt: Timestamp?
    public var recipient: TextRef
    public var origRecipient: TextRef
    public var status: DeliveryStatus
    public var dsn: TextRef
    public var transport: TextRef
    public var relayName: TextRef
    public var relayIP: TextRef
    public var relayPort: Int?
    public var delay: Double?
    public var delays: Delays?
    public var connUse: Int?
    public var tlsFeature: TextRef
    public var tls: TLSInfo?
    public var response: TextRef
    public var nextQueueID: TextRef
    var _router: TextRef
    public var router: TextRef { get { _router } set { _router = newValue } }
}

extension PackedDelivery {
    public init(at: Timestamp, msgKey: Int64, host: String, instance: String, queueID: TextRef,
                receivedAt: Timestamp?, recipient: TextRef, origRecipient: TextRef = .none, status: DeliveryStatus,
                dsn: TextRef = .none, transport: TextRef = .none, relayName: TextRef = .none,
                relayIP: TextRef = .none, relayPort: Int? = nil, delay: Double? = nil, delays: Delays? = nil,
                connUse: Int? = nil, tlsFeature: TextRef = .none, tls: TLSInfo? = nil, response: TextRef = .none,
                nextQueueID: TextRef = .none, router: TextRef = .none) {
        self.init(at: at, msgKey: msgKey, host: host, instance: instance, queueID: queueID, receivedAt: receivedAt,
                  recipient: recipient, origRecipient: origRecipient, status: status, dsn: dsn, transport: transport,
                  relayName: relayName, relayIP: relayIP, relayPort: relayPort, delay: delay, delays: delays,
                  connUse: connUse, tlsFeature: tlsFeature, tls: tls, response: response, nextQueueID: nextQueueID,
                  _router: router)
    }

    /// The record of this row (its Strings made from `text`).
    public func record(_ text: RowText) -> DeliveryRecord {
        DeliveryRecord(
            at: at, msgKey: msgKey, host: host, instance: instance, queueID: text.string(queueID) ?? "",
            receivedAt: receivedAt, recipient: text.string(recipient) ?? "", origRecipient: text.string(origRecipient),
            status: status, dsn: text.string(dsn), transport: text.string(transport),
            relay: Peer(name: text.string(relayName), ip: text.string(relayIP), port: relayPort), delay: delay,
            delays: delays, connUse: connUse, tlsFeature: text.string(tlsFeature), tls: tls,
            response: text.string(response), nextQueueID: text.string(nextQueueID), router: text.string(router))
    }

    public func shifted(_ by: Int) -> PackedDelivery {
        var r = self
        r.queueID = queueID.shifted(by); r.recipient = recipient.shifted(by)
        r.origRecipient = origRecipient.shifted(by); r.dsn = dsn.shifted(by); r.transport = transport.shifted(by)
        r.relayName = relayName.shifted(by); r.relayIP = relayIP.shifted(by); r.tlsFeature = tlsFeature.shifted(by)
        r.response = response.shifted(by); r.nextQueueID = nextQueueID.shifted(by); r._router = _router.shifted(by)
        return r
    }
}

/// A message whose text is in its batch's `RowText`; fields as `MessageRecord`'s (the last one
/// under an internal name, as `PackedDelivery`'s).
public struct PackedMessage: Sendable {
    public var receivedAt: Timestamp
    public var msgKey: Int64
    public var host: String
    public var mta: String
    public var instance: String
    public var queueID: TextRef
    public var messageID: TextRef
    public var sender: TextRef
    public var clientName: TextRef
    public var clientIP: TextRef
    public var clientPort: Int?
    public var size: Int64?
    public var nrcpt: Int?
    public var proto: TextRef
    public var helo: TextRef
    public var tls: TLSInfo?
    public var saslMethod: TextRef
    public var saslUsername: TextRef
    public var originQueueID: TextRef
    public var originKind: OriginKind?
    public var subject: TextRef
    public var localUser: TextRef
    public var dkimResult: TextRef
    public var dkimDomain: TextRef
    public var spamVerdict: TextRef
    var _spamScore: Double?
    public var spamScore: Double? { get { _spamScore } set { _spamScore = newValue } }
}

extension PackedMessage {
    public init(receivedAt: Timestamp, msgKey: Int64, host: String, mta: String, instance: String, queueID: TextRef,
                messageID: TextRef = .none, sender: TextRef = .none, clientName: TextRef = .none,
                clientIP: TextRef = .none, clientPort: Int? = nil, size: Int64? = nil, nrcpt: Int? = nil,
                proto: TextRef = .none, helo: TextRef = .none, tls: TLSInfo? = nil, saslMethod: TextRef = .none,
                saslUsername: TextRef = .none, originQueueID: TextRef = .none, originKind: OriginKind? = nil,
                subject: TextRef = .none, localUser: TextRef = .none, dkimResult: TextRef = .none,
                dkimDomain: TextRef = .none, spamVerdict: TextRef = .none, spamScore: Double? = nil) {
        self.init(receivedAt: receivedAt, msgKey: msgKey, host: host, mta: mta, instance: instance, queueID: queueID,
                  messageID: messageID, sender: sender, clientName: clientName, clientIP: clientIP,
                  clientPort: clientPort, size: size, nrcpt: nrcpt, proto: proto, helo: helo, tls: tls,
                  saslMethod: saslMethod, saslUsername: saslUsername, originQueueID: originQueueID,
                  originKind: originKind, subject: subject, localUser: localUser, dkimResult: dkimResult,
                  dkimDomain: dkimDomain, spamVerdict: spamVerdict, _spamScore: spamScore)
    }

    /// The packed row of a record, its Strings' bytes copied into `text`.
    public init(_ r: MessageRecord, text: inout RowText) {
        self.init(receivedAt: r.receivedAt, msgKey: r.msgKey, host: r.host, mta: r.mta, instance: r.instance,
                  queueID: text.add(r.queueID), messageID: text.add(r.messageID), sender: text.add(r.sender),
                  clientName: text.add(r.client.name), clientIP: text.add(r.client.ip), clientPort: r.client.port,
                  size: r.size, nrcpt: r.nrcpt, proto: text.add(r.proto), helo: text.add(r.helo), tls: r.tls,
                  saslMethod: text.add(r.saslMethod), saslUsername: text.add(r.saslUsername),
                  originQueueID: text.add(r.originQueueID), originKind: r.originKind, subject: text.add(r.subject),
                  localUser: text.add(r.localUser), dkimResult: text.add(r.dkimResult),
                  dkimDomain: text.add(r.dkimDomain), spamVerdict: text.add(r.spamVerdict), spamScore: r.spamScore)
    }

    /// The record of this row (its Strings made from `text`).
    public func record(_ text: RowText) -> MessageRecord {
        MessageRecord(
            receivedAt: receivedAt, msgKey: msgKey, host: host, mta: mta, instance: instance,
            queueID: text.string(queueID) ?? "", messageID: text.string(messageID), sender: text.string(sender),
            client: Peer(name: text.string(clientName), ip: text.string(clientIP), port: clientPort), size: size,
            nrcpt: nrcpt, proto: text.string(proto), helo: text.string(helo), tls: tls,
            saslMethod: text.string(saslMethod), saslUsername: text.string(saslUsername),
            originQueueID: text.string(originQueueID), originKind: originKind, subject: text.string(subject),
            localUser: text.string(localUser), dkimResult: text.string(dkimResult),
            dkimDomain: text.string(dkimDomain), spamVerdict: text.string(spamVerdict), spamScore: spamScore)
    }

    public func shifted(_ by: Int) -> PackedMessage {
        var r = self
        r.queueID = queueID.shifted(by); r.messageID = messageID.shifted(by); r.sender = sender.shifted(by)
        r.clientName = clientName.shifted(by); r.clientIP = clientIP.shifted(by); r.proto = proto.shifted(by)
        r.helo = helo.shifted(by); r.saslMethod = saslMethod.shifted(by); r.saslUsername = saslUsername.shifted(by)
        r.originQueueID = originQueueID.shifted(by); r.subject = subject.shifted(by)
        r.localUser = localUser.shifted(by); r.dkimResult = dkimResult.shifted(by)
        r.dkimDomain = dkimDomain.shifted(by); r.spamVerdict = spamVerdict.shifted(by)
        return r
    }
}

/// A packed row: plain values and `TextRef`s into its batch's `RowText`.
public protocol PackedRow: Sendable {
    associatedtype Record
    /// The record of this row (its Strings made from `text`).
    func record(_ text: RowText) -> Record
    /// This row with its refs moved `by` bytes (its text appended behind `by` others).
    func shifted(_ by: Int) -> Self
}

extension PackedDelivery: PackedRow {}
extension PackedMessage: PackedRow {}

/// Where the rows of a mixed batch are: bit 31 set = packed, the rest = the index in its array.
@usableFromInline let packedBit: UInt32 = 1 << 31

/// A batch of message rows (see the file's contract).
public typealias MessageRows = PackedRows<MessageRecord, PackedMessage>
/// A batch of delivery rows (see the file's contract).
public typealias DeliveryRows = PackedRows<DeliveryRecord, PackedDelivery>

/// A batch of rows of one table, records or packed (see the file's contract).
public struct PackedRows<Record: Equatable & Sendable, Packed: PackedRow>: Sendable where Packed.Record == Record {
    /// Rows given as records, in order.
    @inlinable public var records: [Record] { _records }
    /// Rows given packed, in order; their text is `text`.
    @inlinable public var packed: [Packed] { _packed }
    @usableFromInline var _records: [Record] = []
    @usableFromInline var _packed: [Packed] = []
    /// The packed rows' text; a correlator appends to it and then calls `appendPacked`.
    public var text = RowText()
    /// The order of both kinds when both are present (else empty).
    @usableFromInline var order: [UInt32] = []

    @inlinable public init() {}

    @inlinable public init<S: Sequence>(_ records: S) where S.Element == Record { _records = Array(records) }

    @inlinable public mutating func append(_ r: __owned Record) {
        if _slowPath(!_packed.isEmpty) { noteRecord() }
        _records.append(r)
    }

    /// Appends a packed row whose refs point into `text`.
    @inlinable public mutating func appendPacked(_ r: __owned Packed) {
        if _slowPath(!_records.isEmpty) { notePacked() }
        _packed.append(r)
    }

    @inlinable public mutating func append<S: Sequence>(contentsOf rows: S) where S.Element == Record {
        for r in rows { append(r) }
    }

    /// Appends another batch's rows (its text copied behind this one's).
    @inlinable public mutating func append(contentsOf other: PackedRows) {
        let shift = text.append(other.text)
        other.forEachRow { row in
            switch row {
            case .record(let r): append(r)
            case .packed(let p): appendPacked(p.shifted(shift))
            }
        }
    }

    @inlinable @inline(never) mutating func noteRecord() {
        if order.isEmpty { order = (0..<_packed.count).map { UInt32($0) | packedBit } }
        order.append(UInt32(_records.count))
    }

    @inlinable @inline(never) mutating func notePacked() {
        if order.isEmpty { order = (0..<_records.count).map { UInt32($0) } }
        order.append(UInt32(_packed.count) | packedBit)
    }

    @inlinable public mutating func removeAll(keepingCapacity keep: Bool = true) {
        _records.removeAll(keepingCapacity: keep)
        _packed.removeAll(keepingCapacity: keep)
        order.removeAll(keepingCapacity: keep)
        text.reset()
    }

    /// Room for `n` rows of either kind.
    @inlinable public mutating func reserveCapacity(_ n: Int) {
        _records.reserveCapacity(n)
        _packed.reserveCapacity(n)
    }

    /// A row as it was given.
    public enum Row {
        case record(Record)
        case packed(Packed)
    }

    /// Calls `body` with each row in order (the text of packed rows is `text`).
    @inlinable
    public func forEachRow(_ body: (Row) throws -> Void) rethrows {
        try walkIndices { isPacked, i in try body(isPacked ? .packed(_packed[i]) : .record(_records[i])) }
    }

    /// Calls `body` with each row's kind and index in its array (`records` or `packed`), in order.
    @inlinable
    public func walkIndices(_ body: (_ packed: Bool, _ index: Int) throws -> Void) rethrows {
        if order.isEmpty {
            for i in 0..<_records.count { try body(false, i) }
            for i in 0..<_packed.count { try body(true, i) }
        } else {
            for o in order { try body(o & packedBit != 0, Int(o & ~packedBit)) }
        }
    }
}

extension PackedRows: RandomAccessCollection {
    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { _records.count + _packed.count }
    @inlinable public var count: Int { _records.count + _packed.count }
    @inlinable public var isEmpty: Bool { _records.isEmpty && _packed.isEmpty }
    @inlinable public subscript(i: Int) -> Record {
        if order.isEmpty { return _records.isEmpty ? _packed[i].record(text) : _records[i] }
        let o = order[i]
        return o & packedBit != 0 ? _packed[Int(o & ~packedBit)].record(text) : _records[Int(o)]
    }
}

extension PackedRows: Equatable {
    @inlinable public static func == (a: PackedRows, b: PackedRows) -> Bool { a.count == b.count && a.elementsEqual(b) }
    /// Equal when the rows are the records, in order.
    @inlinable public static func == (a: PackedRows, b: [Record]) -> Bool { a.count == b.count && a.elementsEqual(b) }
    @inlinable public static func == (a: [Record], b: PackedRows) -> Bool { b == a }
}

extension PackedRows: ExpressibleByArrayLiteral {
    @inlinable public init(arrayLiteral records: Record...) { self.init(records) }
}

extension PackedRows: CustomStringConvertible {
    public var description: String { Array(self).description }
}
