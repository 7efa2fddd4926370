/// Records: the rows mailtrail stores, one type per fact table.
///
/// Contract: the correlator produces these; the loader writes them column for
/// column (see `sql/migrations` for the tables and `docs/schema.md`). Optional
/// fields are SQL NULL. Strings are stored as text after the loader's
/// documented rule for NUL and invalid UTF-8 (see `CopyBinary` in PostgresLoading).
///
/// Why the record initialisers are not `@inlinable` and each record stores its last field under
/// an internal name (`_spamScore`, `_router`, `_reason`, with the public name a computed
/// property): a hand-written initialiser of a struct this large makes the optimiser build the
/// value in a temporary and copy it out (one retain and one release per String field, about
/// 700 instructions per record); the compiler's memberwise initialiser builds it in place. The
/// internal name gives the memberwise initialiser a signature distinct from the public one, which
/// calls it. Coding keys and field order are unchanged.

/// A network peer as logged: `name[ip]:port`.
public struct Peer: Hashable, Sendable, Codable {
    public var name: String?
    public var ip: String?
    public var port: Int?
    @inlinable public init(name: String? = nil, ip: String? = nil, port: Int? = nil) {
        self.name = name; self.ip = ip; self.port = port
    }
}

/// TLS facts of one connection (inbound or outbound).
///
/// The four facts sit in one immutable object: a copy (from a session to a transaction, to each
/// row) is one retain, and dropping one is one release, where four optional fields went through
/// the runtime's value witnesses (~190 instructions per row). A setter makes a new object, so a
/// value never changes under another copy. Equality, hashing and coding are the fields' (the
/// coding writes what the synthesised one did: the present fields under their names).
public struct TLSInfo: Hashable, Sendable, Codable {
    @usableFromInline
    final class Storage: Sendable {
        @usableFromInline let proto: String?
        @usableFromInline let cipher: String?
        @usableFromInline let bits: Int?
        @usableFromInline let trust: String?
        @inlinable init(proto: String?, cipher: String?, bits: Int?, trust: String?) {
            self.proto = proto; self.cipher = cipher; self.bits = bits; self.trust = trust
        }
    }

    @usableFromInline var storage: Storage

    /// e.g. `TLSv1.3`.
    public var proto: String? {
        @inlinable get { storage.proto }
        set { storage = Storage(proto: newValue, cipher: cipher, bits: bits, trust: trust) }
    }
    /// e.g. `TLS_AES_256_GCM_SHA384`.
    public var cipher: String? {
        @inlinable get { storage.cipher }
        set { storage = Storage(proto: proto, cipher: newValue, bits: bits, trust: trust) }
    }
    /// Symmetric key bits actually used, e.g. 256.
    public var bits: Int? {
        @inlinable get { storage.bits }
        set { storage = Storage(proto: proto, cipher: cipher, bits: newValue, trust: trust) }
    }
    /// Postfix's trust word: Anonymous, Untrusted, Trusted, Verified.
    public var trust: String? {
        @inlinable get { storage.trust }
        set { storage = Storage(proto: proto, cipher: cipher, bits: bits, trust: newValue) }
    }

    @inlinable public init(proto: String? = nil, cipher: String? = nil, bits: Int? = nil, trust: String? = nil) {
        storage = Storage(proto: proto, cipher: cipher, bits: bits, trust: trust)
    }

    public static func == (a: TLSInfo, b: TLSInfo) -> Bool {
        a.storage === b.storage
            || (a.proto == b.proto && a.cipher == b.cipher && a.bits == b.bits && a.trust == b.trust)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(proto); hasher.combine(cipher); hasher.combine(bits); hasher.combine(trust)
    }

    private enum CodingKeys: String, CodingKey { case proto, cipher, bits, trust }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(proto: try c.decodeIfPresent(String.self, forKey: .proto),
                  cipher: try c.decodeIfPresent(String.self, forKey: .cipher),
                  bits: try c.decodeIfPresent(Int.self, forKey: .bits),
                  trust: try c.decodeIfPresent(String.self, forKey: .trust))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(proto, forKey: .proto)
        try c.encodeIfPresent(cipher, forKey: .cipher)
        try c.encodeIfPresent(bits, forKey: .bits)
        try c.encodeIfPresent(trust, forKey: .trust)
    }
}

/// Which evidence tied a transaction to the one it came from on the same host.
public enum OriginKind: String, Sendable, Codable {
    /// Content-filter re-injection (`queued as NEW` to a loopback relay, or XFORWARD `orig_queue_id`).
    case reinjection
    /// A non-delivery / delay / success notification created for the origin.
    case bounce
    /// `postsuper -r` requeue (`orig_id=`).
    case requeue
    /// local(8) forwarding (`forwarded as NEW`).
    case forward
    /// Sendmail envelope splitting (`QID: clone: ...` / `split`): one queue file became several.
    case split
}

/// One transaction (message) on one host: the `messages` table.
public struct MessageRecord: Hashable, Sendable, Codable {
    public var receivedAt: Timestamp
    public var msgKey: Int64
    public var host: String
    public var mta: String
    /// MTA instance: Postfix syslog_name prefix (`postfix`, `postfix-out`), Exim/UTM program
    /// (`exim`, `exim-in`, `smtpd`, `exim-out`), Sendmail program; queue IDs are unique per instance.
    public var instance: String
    public var queueID: String
    /// Message-ID without angle brackets; nil when the message had none logged.
    public var messageID: String?
    /// Envelope sender; empty string for the null sender `<>`.
    public var sender: String?
    public var client: Peer
    public var size: Int64?
    public var nrcpt: Int?
    public var proto: String?
    public var helo: String?
    public var tls: TLSInfo?
    public var saslMethod: String?
    public var saslUsername: String?
    public var originQueueID: String?
    public var originKind: OriginKind?
    /// Subject header, when the MTA logs it (Exim `T=` on arrival, UTM SecureMail `subject=`).
    public var subject: String?
    /// Local submitting user (Exim `U=`, Sendmail ctladdr, Postfix pickup uid).
    public var localUser: String?
    /// DKIM result of the best signature (`pass`, `fail`, `neutral`, `temperror`, `permerror`, `none`).
    public var dkimResult: String?
    /// Signing domain (`d=`) of the signature `dkimResult` describes.
    public var dkimDomain: String?
    /// Spam scanner verdict as logged.
    public var spamVerdict: String?
    var _spamScore: Double?
    public var spamScore: Double? { get { _spamScore } set { _spamScore = newValue } }

    enum CodingKeys: String, CodingKey {
        case receivedAt, msgKey, host, mta, instance, queueID, messageID, sender, client, size, nrcpt, proto, helo,
             tls, saslMethod, saslUsername, originQueueID, originKind, subject, localUser, dkimResult, dkimDomain,
             spamVerdict, _spamScore = "spamScore"
    }
}

extension MessageRecord {
    public init(receivedAt: Timestamp, msgKey: Int64, host: String, mta: String, instance: String,
                queueID: String, messageID: String? = nil, sender: String? = nil, client: Peer = Peer(),
                size: Int64? = nil, nrcpt: Int? = nil, proto: String? = nil, helo: String? = nil,
                tls: TLSInfo? = nil, saslMethod: String? = nil, saslUsername: String? = nil,
                originQueueID: String? = nil, originKind: OriginKind? = nil,
                subject: String? = nil, localUser: String? = nil, dkimResult: String? = nil,
                dkimDomain: String? = nil, spamVerdict: String? = nil, spamScore: Double? = nil) {
        self.init(receivedAt: receivedAt, msgKey: msgKey, host: host, mta: mta, instance: instance, queueID: queueID,
                  messageID: messageID, sender: sender, client: client, size: size, nrcpt: nrcpt, proto: proto,
                  helo: helo, tls: tls, saslMethod: saslMethod, saslUsername: saslUsername,
                  originQueueID: originQueueID, originKind: originKind, subject: subject, localUser: localUser,
                  dkimResult: dkimResult, dkimDomain: dkimDomain, spamVerdict: spamVerdict, _spamScore: spamScore)
    }
}

/// Outcome of one delivery attempt for one recipient.
public enum DeliveryStatus: String, Sendable, Codable, CaseIterable {
    case sent, deferred, bounced, expired, rejected, discarded
    /// Address-verification probe results (`deliverable` / `undeliverable`).
    case deliverable, undeliverable
    /// Postfix soft_bounce=yes turned a bounce into a deferral.
    case softbounce
}

/// One recipient × one attempt: the `deliveries` table.
/// Postfix's four delay parts (`delays=a/b/c/d`: before qmgr, in qmgr, connection setup,
/// transmission) held inline, so a delivery record costs no array allocation for them.
/// Reads like a four-element `[Double]` (indices 0...3, `Array(d)`); encoded as one.
public struct Delays: Hashable, Sendable, Codable, RandomAccessCollection, ExpressibleByArrayLiteral {
    public var parts: (Double, Double, Double, Double)
    @inlinable public init(_ a: Double, _ b: Double, _ c: Double, _ d: Double) { parts = (a, b, c, d) }
    /// Four values, else nil.
    @inlinable public init?(_ values: [Double]) {
        guard values.count == 4 else { return nil }
        parts = (values[0], values[1], values[2], values[3])
    }
    /// A literal of exactly four numbers (tests, fixtures); any other count is a programming error.
    public init(arrayLiteral values: Double...) {
        guard let d = Delays(values) else { preconditionFailure("Delays needs 4 numbers, got \(values.count)") }
        self = d
    }
    @inlinable public var startIndex: Int { 0 }
    @inlinable public var endIndex: Int { 4 }
    @inlinable public subscript(i: Int) -> Double {
        switch i {
        case 0: return parts.0
        case 1: return parts.1
        case 2: return parts.2
        case 3: return parts.3
        default: preconditionFailure("Delays index \(i) out of 0...3")
        }
    }
    public static func == (a: Delays, b: Delays) -> Bool { a.parts == b.parts }
    public func hash(into h: inout Hasher) { for x in self { h.combine(x) } }
    public init(from decoder: Decoder) throws {
        let values = try [Double](from: decoder)
        guard let d = Delays(values) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                                                    debugDescription: "delays: expected 4 numbers, got \(values.count)"))
        }
        self = d
    }
    public func encode(to encoder: Encoder) throws { try Array(self).encode(to: encoder) }
}

public struct DeliveryRecord: Hashable, Sendable, Codable {
    public var at: Timestamp
    public var msgKey: Int64
    public var host: String
    public var instance: String
    public var queueID: String
    /// When the message this attempt belongs to was received (nil when its start is not in the log).
    public var receivedAt: Timestamp?
    public var recipient: String
    public var origRecipient: String?
    public var status: DeliveryStatus
    public var dsn: String?
    /// Delivery agent: smtp, lmtp, local, virtual, pipe, error, ...
    public var transport: String?
    /// Next hop; `name` is `none`, `local`, a pipe service, or a host name.
    public var relay: Peer
    /// Total delay in seconds and Postfix's four parts (before qmgr, in qmgr, connection setup, transmission).
    public var delay: Double?
    public var delays: Delays?
    public var connUse: Int?
    /// Postfix 3.11+ `tls=` feature status on the delivery line.
    public var tlsFeature: String?
    public var tls: TLSInfo?
    public var response: String?
    /// The next hop's (or the same host's re-injection) queue ID taken from the response.
    public var nextQueueID: String?
    /// Exim router (`R=` on a delivery line).
    var _router: String?
    public var router: String? { get { _router } set { _router = newValue } }

    enum CodingKeys: String, CodingKey {
        case at, msgKey, host, instance, queueID, receivedAt, recipient, origRecipient, status, dsn, transport, relay,
             delay, delays, connUse, tlsFeature, tls, response, nextQueueID, _router = "router"
    }
}

extension DeliveryRecord {
    public init(at: Timestamp, msgKey: Int64, host: String, instance: String, queueID: String,
                receivedAt: Timestamp? = nil, recipient: String, origRecipient: String? = nil,
                status: DeliveryStatus, dsn: String? = nil, transport: String? = nil, relay: Peer = Peer(),
                delay: Double? = nil, delays: Delays? = nil, connUse: Int? = nil, tlsFeature: String? = nil,
                tls: TLSInfo? = nil, response: String? = nil, nextQueueID: String? = nil, router: String? = nil) {
        self.init(at: at, msgKey: msgKey, host: host, instance: instance, queueID: queueID, receivedAt: receivedAt,
                  recipient: recipient, origRecipient: origRecipient, status: status, dsn: dsn, transport: transport,
                  relay: relay, delay: delay, delays: delays, connUse: connUse, tlsFeature: tlsFeature, tls: tls,
                  response: response, nextQueueID: nextQueueID, _router: router)
    }
}

/// A refusal: NOQUEUE rejects, RCPT rejects inside a transaction, milter and
/// header/body-check rejects: the `rejections` table.
public struct RejectionRecord: Hashable, Sendable, Codable {
    public var at: Timestamp
    public var msgKey: Int64
    public var host: String
    public var instance: String
    /// Set when the refusal happened inside a transaction that had a queue ID.
    public var queueID: String?
    /// Program that refused: smtpd, postscreen, cleanup.
    public var program: String
    /// reject, reject_warning, milter-reject, hangup, discard, hold, ...
    public var action: String
    /// CONNECT, HELO, EHLO, MAIL, RCPT, DATA, END-OF-MESSAGE, header, body, ...
    public var stage: String?
    public var client: Peer
    public var helo: String?
    public var sender: String?
    public var recipient: String?
    public var proto: String?
    /// SMTP reply code (e.g. `554`) and enhanced status (e.g. `5.7.1`).
    public var code: String?
    public var dsn: String?
    var _reason: String?
    public var reason: String? { get { _reason } set { _reason = newValue } }

    enum CodingKeys: String, CodingKey {
        case at, msgKey, host, instance, queueID, program, action, stage, client, helo, sender, recipient, proto, code,
             dsn, _reason = "reason"
    }
}

extension RejectionRecord {
    public init(at: Timestamp, msgKey: Int64, host: String, instance: String, queueID: String? = nil,
                program: String, action: String, stage: String? = nil, client: Peer = Peer(),
                helo: String? = nil, sender: String? = nil, recipient: String? = nil, proto: String? = nil,
                code: String? = nil, dsn: String? = nil, reason: String? = nil) {
        self.init(at: at, msgKey: msgKey, host: host, instance: instance, queueID: queueID, program: program,
                  action: action, stage: stage, client: client, helo: helo, sender: sender, recipient: recipient,
                  proto: proto, code: code, dsn: dsn, _reason: reason)
    }
}

/// A line the pipeline could not understand, kept byte for byte: the `unparsed_lines` table.
public struct UnparsedLine: Hashable, Sendable {
    /// Time of the line when its envelope could be read, else of the last good line before it.
    public var at: Timestamp
    public var host: String?
    /// 1-based line number in the source (decompressed) stream.
    public var lineNumber: Int64
    /// Byte offset of the line's first byte in the source (decompressed) stream.
    public var offset: Int64
    public var reason: String
    public var raw: [UInt8]

    @inlinable public init(at: Timestamp, host: String?, lineNumber: Int64, offset: Int64, reason: String, raw: [UInt8]) {
        self.at = at; self.host = host; self.lineNumber = lineNumber; self.offset = offset
        self.reason = reason; self.raw = raw
    }
}
