/// TraceDocument: the JSON document of `mailtrail.trace_json()` as Swift values.
///
/// Contract: mirrors the JSON contract of sql/functions/trace_json.sql key for
/// key (`Codable` with the snake_case keys, so `JSONDecoder` reads the
/// server's text too; `JSONEncoder` leaves nil keys out instead of writing
/// null). `init(jsonText:)` reads the document with the
/// module's own `JSONValue` reader (no Foundation): unknown keys are ignored
/// (later versions may add keys), missing optional keys become nil, missing
/// required keys (`hops`, `hop`, `host`, `queue_id`, `received_at`,
/// `recipient`, `at`, `status`) are an error. `rawJSON` keeps the server's
/// text and is not part of the Codable shape; `prettyJSON` is that text
/// re-indented with the keys in the order the server wrote them (jsonb order:
/// shorter keys first, then bytewise), which is what `--format json` prints.
/// Times stay RFC 3339 strings exactly as the server wrote them.
/// Limits: numbers that do not fit the Swift type (e.g. a size beyond Int64)
/// become nil rather than an error.
public struct TraceDocument: Codable, Hashable, Sendable {
    /// The normalised message-id traced; nil for a trace by queue ID of a message without one.
    public var msgid: String?
    /// Hops in hop order (1-based `hop`).
    public var hops: [Hop]
    /// The document as the server sent it (empty when built in code).
    public var rawJSON: String = ""

    enum CodingKeys: String, CodingKey { case msgid, hops }

    public init(msgid: String?, hops: [Hop], rawJSON: String = "") {
        self.msgid = msgid; self.hops = hops; self.rawJSON = rawJSON
    }

    /// A network peer: `name[ip]:port`.
    public struct Peer: Codable, Hashable, Sendable {
        public var name: String?
        public var ip: String?
        public var port: Int?
        public init(name: String? = nil, ip: String? = nil, port: Int? = nil) {
            self.name = name; self.ip = ip; self.port = port
        }
    }

    /// TLS protocol and cipher of a connection.
    public struct TLS: Codable, Hashable, Sendable {
        public var proto: String?
        public var cipher: String?
        /// Symmetric key bits.
        public var bits: Int?
        /// Peer certificate trust: Verified, Trusted, Untrusted, Anonymous.
        public var trust: String?
        public init(proto: String? = nil, cipher: String? = nil, bits: Int? = nil, trust: String? = nil) {
            self.proto = proto; self.cipher = cipher; self.bits = bits; self.trust = trust
        }
    }

    /// DKIM result of a hop (`dkim_result`, `dkim_domain`).
    public struct DKIM: Codable, Hashable, Sendable {
        public var result: String?
        public var domain: String?
        public init(result: String? = nil, domain: String? = nil) { self.result = result; self.domain = domain }
    }

    /// Spam scanner verdict of a hop.
    public struct Spam: Codable, Hashable, Sendable {
        public var verdict: String?
        public var score: Double?
        public init(verdict: String? = nil, score: Double? = nil) { self.verdict = verdict; self.score = score }
    }

    /// The same-host transaction a hop came from (`origin_queue_id`, `origin_kind`).
    public struct Origin: Codable, Hashable, Sendable {
        public var queueID: String?
        public var kind: String?
        enum CodingKeys: String, CodingKey { case queueID = "queue_id", kind }
        public init(queueID: String? = nil, kind: String? = nil) { self.queueID = queueID; self.kind = kind }
    }

    /// One recipient × one attempt of a hop.
    public struct Delivery: Codable, Hashable, Sendable {
        public var recipient: String
        public var origRecipient: String?
        /// RFC 3339, UTC.
        public var at: String
        /// sent, deferred, bounced, expired, rejected, discarded (and the probe/softbounce statuses).
        public var status: String
        public var dsn: String?
        public var transport: String?
        public var relay: Peer?
        /// Total delay in seconds.
        public var delay: Double?
        public var tls: TLS?
        public var response: String?
        public var nextQueueID: String?
        /// Exim router (R=); nil for other MTAs.
        public var router: String?

        enum CodingKeys: String, CodingKey {
            case recipient, origRecipient = "orig_recipient", at, status, dsn, transport, relay, delay, tls, response
            case nextQueueID = "next_queue_id", router
        }

        public init(recipient: String, origRecipient: String? = nil, at: String, status: String, dsn: String? = nil,
                    transport: String? = nil, relay: Peer? = nil, delay: Double? = nil, tls: TLS? = nil,
                    response: String? = nil, nextQueueID: String? = nil, router: String? = nil) {
            self.recipient = recipient; self.origRecipient = origRecipient; self.at = at; self.status = status
            self.dsn = dsn; self.transport = transport; self.relay = relay; self.delay = delay; self.tls = tls
            self.response = response; self.nextQueueID = nextQueueID; self.router = router
        }
    }

    /// One transaction on one host.
    public struct Hop: Codable, Hashable, Sendable {
        /// 1-based position; parents always come before their children unless the links form a cycle.
        public var hop: Int
        /// Hop numbers this hop came from (empty for a root).
        public var parents: [Int]
        /// Evidence of the link to the parents: queued-as, reinjection, bounce, requeue, forward,
        /// msgid+address, msgid+time; nil for a root.
        public var link: String?
        public var host: String
        public var instance: String?
        public var queueID: String
        /// RFC 3339, UTC.
        public var receivedAt: String
        /// Envelope sender; "" is the null sender `<>`.
        public var sender: String?
        public var messageID: String?
        public var client: Peer?
        public var size: Int64?
        public var nrcpt: Int?
        public var tls: TLS?
        public var saslUsername: String?
        public var origin: Origin?
        public var deliveries: [Delivery]
        /// Subject when the MTA logged it.
        public var subject: String?
        /// Local submitting user (uid or name).
        public var localUser: String?
        public var dkim: DKIM?
        public var spam: Spam?

        enum CodingKeys: String, CodingKey {
            case hop, parents, link, host, instance, queueID = "queue_id", receivedAt = "received_at", sender
            case messageID = "message_id", client, size, nrcpt, tls, saslUsername = "sasl_username", origin, deliveries
            case subject, localUser = "local_user", dkim, spam
        }

        public init(hop: Int, parents: [Int] = [], link: String? = nil, host: String, instance: String? = nil,
                    queueID: String, receivedAt: String, sender: String? = nil, messageID: String? = nil,
                    client: Peer? = nil, size: Int64? = nil, nrcpt: Int? = nil, tls: TLS? = nil,
                    saslUsername: String? = nil, origin: Origin? = nil, deliveries: [Delivery] = [],
                    subject: String? = nil, localUser: String? = nil, dkim: DKIM? = nil, spam: Spam? = nil) {
            self.hop = hop; self.parents = parents; self.link = link; self.host = host; self.instance = instance
            self.queueID = queueID; self.receivedAt = receivedAt; self.sender = sender; self.messageID = messageID
            self.client = client; self.size = size; self.nrcpt = nrcpt; self.tls = tls
            self.saslUsername = saslUsername; self.origin = origin; self.deliveries = deliveries
            self.subject = subject; self.localUser = localUser; self.dkim = dkim; self.spam = spam
        }
    }
}

/// A trace document that does not follow the contract.
public struct TraceDocumentError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "trace document: " + message }
}

extension TraceDocument {
    /// Reads the server's JSON text (see the type's contract).
    public init(jsonText: String) throws {
        let root: JSONValue
        do {
            root = try JSONValue.parse(jsonText)
        } catch let e as JSONValue.ParseError {
            throw TraceDocumentError(e.description)
        }
        try self.init(json: root)
        self.rawJSON = jsonText
    }

    /// Reads an already parsed document.
    public init(json root: JSONValue) throws {
        guard case .object = root else { throw TraceDocumentError("not an object") }
        guard let hops = root["hops"]?.arrayValue else { throw TraceDocumentError("no hops array") }
        self.init(msgid: root["msgid"]?.stringValue, hops: try hops.enumerated().map { try Hop(json: $1, index: $0) })
    }

    /// `rawJSON` re-indented (keys in the server's order); nil when there is no raw text or it is not JSON.
    public var prettyJSON: String? {
        guard !rawJSON.isEmpty, let v = try? JSONValue.parse(rawJSON) else { return nil }
        return v.pretty()
    }
}

extension TraceDocument.Hop {
    init(json: JSONValue, index: Int) throws {
        func required(_ key: String) throws -> JSONValue {
            guard let v = json[key], !v.isNull else { throw TraceDocumentError("hop #\(index + 1) has no \(key)") }
            return v
        }
        guard case .object = json else { throw TraceDocumentError("hop #\(index + 1) is not an object") }
        guard let hop = try required("hop").intValue else { throw TraceDocumentError("hop #\(index + 1): hop is not an integer") }
        guard let host = try required("host").stringValue,
              let queueID = try required("queue_id").stringValue,
              let receivedAt = try required("received_at").stringValue
        else { throw TraceDocumentError("hop \(hop): host, queue_id and received_at must be strings") }
        let parents = (json["parents"]?.arrayValue ?? []).compactMap { $0.intValue }
        let deliveries = try (json["deliveries"]?.arrayValue ?? []).map { try TraceDocument.Delivery(json: $0, hop: hop) }
        self.init(hop: hop, parents: parents, link: json["link"]?.stringValue, host: host,
                  instance: json["instance"]?.stringValue, queueID: queueID, receivedAt: receivedAt,
                  sender: json["sender"]?.stringValue, messageID: json["message_id"]?.stringValue,
                  client: json["client"].flatMap(TraceDocument.Peer.init(json:)),
                  size: json["size"]?.int64Value, nrcpt: json["nrcpt"]?.intValue,
                  tls: json["tls"].flatMap(TraceDocument.TLS.init(json:)),
                  saslUsername: json["sasl_username"]?.stringValue,
                  origin: json["origin"].flatMap(TraceDocument.Origin.init(json:)),
                  deliveries: deliveries, subject: json["subject"]?.stringValue,
                  localUser: json["local_user"]?.stringValue,
                  dkim: json["dkim"].flatMap(TraceDocument.DKIM.init(json:)),
                  spam: json["spam"].flatMap(TraceDocument.Spam.init(json:)))
    }
}

extension TraceDocument.Delivery {
    init(json: JSONValue, hop: Int) throws {
        guard case .object = json else { throw TraceDocumentError("hop \(hop): a delivery is not an object") }
        guard let recipient = json["recipient"]?.stringValue, let at = json["at"]?.stringValue,
              let status = json["status"]?.stringValue
        else { throw TraceDocumentError("hop \(hop): a delivery lacks recipient, at or status") }
        self.init(recipient: recipient, origRecipient: json["orig_recipient"]?.stringValue, at: at, status: status,
                  dsn: json["dsn"]?.stringValue, transport: json["transport"]?.stringValue,
                  relay: json["relay"].flatMap(TraceDocument.Peer.init(json:)),
                  delay: json["delay"]?.doubleValue,
                  tls: json["tls"].flatMap(TraceDocument.TLS.init(json:)),
                  response: json["response"]?.stringValue, nextQueueID: json["next_queue_id"]?.stringValue,
                  router: json["router"]?.stringValue)
    }
}

extension TraceDocument.Peer {
    /// nil for JSON null or a non-object.
    init?(json: JSONValue) {
        guard case .object = json else { return nil }
        self.init(name: json["name"]?.stringValue, ip: json["ip"]?.stringValue, port: json["port"]?.intValue)
    }
}

extension TraceDocument.TLS {
    init?(json: JSONValue) {
        guard case .object = json else { return nil }
        self.init(proto: json["proto"]?.stringValue, cipher: json["cipher"]?.stringValue,
                  bits: json["bits"]?.intValue, trust: json["trust"]?.stringValue)
    }
}

extension TraceDocument.DKIM {
    init?(json: JSONValue) {
        guard case .object = json else { return nil }
        self.init(result: json["result"]?.stringValue, domain: json["domain"]?.stringValue)
    }
}

extension TraceDocument.Spam {
    init?(json: JSONValue) {
        guard case .object = json else { return nil }
        self.init(verdict: json["verdict"]?.stringValue, score: json["score"]?.doubleValue)
    }
}

extension TraceDocument.Origin {
    init?(json: JSONValue) {
        guard case .object = json else { return nil }
        self.init(queueID: json["queue_id"]?.stringValue, kind: json["kind"]?.stringValue)
    }
}
