/// RecordJSON: one JSON object per record, for `mailtrail parse`.
///
/// Contract: each call appends one line (`{...}\n`) to a byte buffer. Keys
/// are snake_case like the table columns plus `"kind"` (`message`,
/// `delivery`, `rejection`, `unparsed`); NULL fields are written as `null`;
/// strings are escaped per RFC 8259 (control characters as `\u00XX`; C1
/// controls, line/paragraph separators, bidi controls and U+FEFF as `\uXXXX`
/// too, so a terminal never acts on them), so the
/// output is valid JSON whatever the log contained. Raw bytes of unparsed
/// lines are not printed (they may not be UTF-8); `file`, `line`, `offset`
/// and `reason` locate them.
import MailTrailModel

struct JSONLine {
    var buf: [UInt8]
    var first = true

    init(into buffer: [UInt8]) { buf = buffer }

    mutating func open(kind: String) {
        buf.append(UInt8(ascii: "{"))
        first = true
        key("kind"); string(kind)
    }

    mutating func close() {
        buf.append(UInt8(ascii: "}"))
        buf.append(0x0a)
    }

    mutating func key(_ k: String) {
        if !first { buf.append(UInt8(ascii: ",")) }
        first = false
        buf.append(UInt8(ascii: "\""))
        buf.append(contentsOf: k.utf8)
        buf.append(contentsOf: "\":".utf8)
    }

    mutating func string(_ s: String?) {
        guard var s else { buf.append(contentsOf: "null".utf8); return }
        buf.append(UInt8(ascii: "\""))
        s.withUTF8 { u in
            var i = 0
            while i < u.count {
                let b = u[i]
                switch b {
                case UInt8(ascii: "\""): buf.append(contentsOf: "\\\"".utf8)
                case UInt8(ascii: "\\"): buf.append(contentsOf: "\\\\".utf8)
                case 0x0a: buf.append(contentsOf: "\\n".utf8)
                case 0x0d: buf.append(contentsOf: "\\r".utf8)
                case 0x09: buf.append(contentsOf: "\\t".utf8)
                case 0..<0x20, 0x7f: unicodeEscape(UInt32(b))
                case 0xC2 where i + 1 < u.count && u[i + 1] >= 0x80 && u[i + 1] < 0xA0:
                    // C1 controls (U+0080-U+009F): a terminal may act on them.
                    unicodeEscape(UInt32(u[i + 1])); i += 1
                case 0xE2 where i + 2 < u.count:
                    let v = 0x2000 | UInt32(u[i + 1] & 0x3F) << 6 | UInt32(u[i + 2] & 0x3F)
                    if TerminalText.isUnsafe(v) { unicodeEscape(v); i += 2 } else { buf.append(b) }
                case 0xEF where i + 2 < u.count && u[i + 1] == 0xBB && u[i + 2] == 0xBF:
                    unicodeEscape(0xFEFF); i += 2
                default: buf.append(b)
                }
                i += 1
            }
        }
        buf.append(UInt8(ascii: "\""))
    }

    /// `\uXXXX` (lower-case hex) for a BMP scalar.
    mutating func unicodeEscape(_ v: UInt32) {
        let hex: [UInt8] = Array("0123456789abcdef".utf8)
        buf.append(contentsOf: "\\u".utf8)
        for shift in stride(from: 12, through: 0, by: -4) { buf.append(hex[Int((v >> UInt32(shift)) & 0xF)]) }
    }

    mutating func int<I: BinaryInteger>(_ v: I?) {
        guard let v else { buf.append(contentsOf: "null".utf8); return }
        buf.append(contentsOf: String(v).utf8)
    }

    mutating func double(_ v: Double?) {
        guard let v, v.isFinite else { buf.append(contentsOf: "null".utf8); return }
        buf.append(contentsOf: String(v).utf8)
    }

    mutating func field(_ k: String, _ s: String?) { key(k); string(s) }
    mutating func field<I: BinaryInteger>(_ k: String, _ v: I?) { key(k); int(v) }
    mutating func field(_ k: String, _ v: Double?) { key(k); double(v) }

    mutating func peer(_ prefix: String, _ p: Peer) {
        field(prefix + "_name", p.name); field(prefix + "_ip", p.ip); field(prefix + "_port", p.port)
    }

    mutating func tls(_ t: TLSInfo?) {
        field("tls_proto", t?.proto); field("tls_cipher", t?.cipher); field("tls_bits", t?.bits)
    }

    mutating func message(_ m: MessageRecord) {
        open(kind: "message")
        field("received_at", m.receivedAt.rfc3339); field("msg_key", m.msgKey); field("host", m.host)
        field("mta", m.mta); field("instance", m.instance); field("queue_id", m.queueID)
        field("message_id", m.messageID); field("sender", m.sender); peer("client", m.client)
        field("size", m.size); field("nrcpt", m.nrcpt); tls(m.tls); field("tls_trust", m.tls?.trust)
        field("sasl_method", m.saslMethod); field("sasl_username", m.saslUsername)
        field("origin_queue_id", m.originQueueID); field("origin_kind", m.originKind?.rawValue)
        field("subject", m.subject); field("local_user", m.localUser); field("dkim_result", m.dkimResult)
        field("dkim_domain", m.dkimDomain); field("spam_verdict", m.spamVerdict); field("spam_score", m.spamScore)
        close()
    }

    mutating func delivery(_ d: DeliveryRecord) {
        open(kind: "delivery")
        field("at", d.at.rfc3339); field("msg_key", d.msgKey); field("host", d.host); field("instance", d.instance)
        field("queue_id", d.queueID); field("received_at", d.receivedAt?.rfc3339); field("recipient", d.recipient)
        field("orig_recipient", d.origRecipient); field("status", d.status.rawValue); field("dsn", d.dsn)
        field("transport", d.transport); peer("relay", d.relay); field("delay", d.delay)
        key("delays")
        if let ds = d.delays {
            buf.append(UInt8(ascii: "["))
            for (i, x) in ds.enumerated() {
                if i > 0 { buf.append(UInt8(ascii: ",")) }
                double(x)
            }
            buf.append(UInt8(ascii: "]"))
        } else {
            buf.append(contentsOf: "null".utf8)
        }
        field("conn_use", d.connUse); field("tls_feature", d.tlsFeature); tls(d.tls)
        field("tls_trust", d.tls?.trust); field("response", d.response); field("next_queue_id", d.nextQueueID)
        field("router", d.router)
        close()
    }

    mutating func rejection(_ r: RejectionRecord) {
        open(kind: "rejection")
        field("at", r.at.rfc3339); field("msg_key", r.msgKey); field("host", r.host); field("instance", r.instance)
        field("queue_id", r.queueID); field("program", r.program); field("action", r.action)
        field("stage", r.stage); peer("client", r.client); field("helo", r.helo); field("sender", r.sender)
        field("recipient", r.recipient); field("proto", r.proto); field("code", r.code); field("dsn", r.dsn)
        field("reason", r.reason)
        close()
    }

    mutating func unparsed(_ u: UnparsedLine, file: String) {
        open(kind: "unparsed")
        field("file", file); field("line", u.lineNumber); field("offset", u.offset); field("host", u.host)
        field("reason", u.reason)
        close()
    }
}
