/// TraceRenderer: a trace as a text tree, JSON or a Graphviz graph.
///
/// Contract:
/// * text: a header line, then roots first (hop order), each hop's
///   deliveries, then its children indented two more spaces (hop order).
///   A hop with several parents is shown under its first parent (lowest hop
///   number) and referenced under the others by a `↪ host  queue_id  (link,
///   see under host queue_id)` line. Hops left over (links forming a cycle)
///   are shown at the top level afterwards. Hop line:
///   `host  queue_id  received_at (+1.5s)  from=<sender>  client=name[ip]  [TLSv1.3 trust]
///   sasl=user  user=local  dkim=pass(domain)  spam=verdict(score)  (link)  subject="..."`
///   (the offset is the time since hop 1's receipt, left out when zero);
///   delivery line: `→ recipient  status  dsn  relay=name[ip]:port  at=time  delay=1.5
///   [TLSv1.3 trust]  router=r  "response"`; absent parts are left out. Responses are cut at 120 characters
///   (Unicode scalars, `…` appended) and quoted with `\"` and `\\` escaped.
///   Every piece of log content passes `escape`: C0/C1 controls and DEL as
///   `\xNN`, line/paragraph separators and bidi controls as `\u{XXXX}`, so
///   nothing from a log reaches the terminal raw. No ANSI colours.
/// * json: the server's document re-indented, keys in the server's order
///   (`TraceDocument.prettyJSON`); a document built in code is written in
///   the contract's key order.
/// * dot: `digraph trace { ... }`, one box per hop (`h<hop>`, label: host,
///   queue ID, received_at, sender), one edge per parent labelled with the
///   link; labels escaped for DOT (`\"`, `\\`, controls as above).
/// Every output ends with a newline.
/// Limits: a very wide fan-out renders as a long flat list; the DOT graph
/// carries no delivery details.
import MailTrailModel

public struct TraceRenderer: Sendable {
    public enum Format: String, CaseIterable, Sendable {
        case text, json, dot
    }

    /// Maximum response length in the text tree, in Unicode scalars.
    public var responseLimit: Int

    public init(responseLimit: Int = 120) {
        self.responseLimit = responseLimit
    }

    public func render(_ doc: TraceDocument, format: Format) -> String {
        switch format {
        case .text: return text(doc)
        case .json: return json(doc)
        case .dot: return dot(doc)
        }
    }

    // MARK: - Text tree

    public func text(_ doc: TraceDocument) -> String {
        var out = ""
        let count = doc.hops.count == 1 ? "1 hop" : "\(doc.hops.count) hops"
        if let id = doc.msgid {
            out += "message-id <\(TraceRenderer.escape(id))>: \(count)\n"
        } else {
            out += "no message-id: \(count)\n"
        }

        var byNumber: [Int: TraceDocument.Hop] = [:]
        for h in doc.hops where byNumber[h.hop] == nil { byNumber[h.hop] = h }
        let ordered = byNumber.values.sorted { $0.hop < $1.hop }
        // Parents that exist in the document, in hop order.
        func parents(_ h: TraceDocument.Hop) -> [Int] {
            Array(Set(h.parents.filter { byNumber[$0] != nil && $0 != h.hop })).sorted()
        }
        var children: [Int: [TraceDocument.Hop]] = [:]
        for h in ordered {
            for p in parents(h) { children[p, default: []].append(h) }
        }

        var shown = Set<Int>()
        func visit(_ h: TraceDocument.Hop, depth: Int) {
            shown.insert(h.hop)
            let pad = String(repeating: "  ", count: depth)
            out += pad + hopLine(h, start: ordered.first?.receivedAt) + "\n"
            for d in h.deliveries {
                out += pad + "  " + deliveryLine(d) + "\n"
            }
            for c in children[h.hop] ?? [] {
                if parents(c).first == h.hop && !shown.contains(c.hop) {
                    visit(c, depth: depth + 1)
                } else {
                    out += pad + "  " + referenceLine(c, primary: parents(c).first.flatMap { byNumber[$0] }) + "\n"
                }
            }
        }
        for h in ordered where parents(h).isEmpty && !shown.contains(h.hop) {
            visit(h, depth: 0)
        }
        for h in ordered where !shown.contains(h.hop) {
            visit(h, depth: 0)
        }
        return out
    }

    func hopLine(_ h: TraceDocument.Hop, start: String?) -> String {
        var parts = [TraceRenderer.escape(h.host), TraceRenderer.escape(h.queueID), TraceRenderer.escape(h.receivedAt)]
        if let start, let a = TraceRenderer.micros(start), let b = TraceRenderer.micros(h.receivedAt), a != b {
            parts[2] += " (" + TraceRenderer.offset(b - a) + ")"
        }
        if let s = h.sender {
            parts.append("from=<\(TraceRenderer.escape(s))>")
        }
        if let c = h.client, let p = TraceRenderer.peer(name: c.name, ip: c.ip, port: nil) {
            parts.append("client=" + p)
        }
        if let t = h.tls, let label = TraceRenderer.tlsLabel(t) {
            parts.append("[" + label + "]")
        }
        if let u = h.saslUsername { parts.append("sasl=" + TraceRenderer.escape(u)) }
        if let u = h.localUser { parts.append("user=" + TraceRenderer.escape(u)) }
        if let d = h.dkim {
            parts.append("dkim=" + TraceRenderer.escape(d.result ?? "?") + (d.domain.map { "(" + TraceRenderer.escape($0) + ")" } ?? ""))
        }
        if let sp = h.spam {
            parts.append("spam=" + TraceRenderer.escape(sp.verdict ?? "?") + (sp.score.map { "(" + TraceRenderer.seconds($0) + ")" } ?? ""))
        }
        if let l = h.link {
            parts.append("(" + TraceRenderer.escape(l) + ")")
        }
        if let subj = h.subject { parts.append("subject=" + quoted(subj)) }
        return parts.joined(separator: "  ")
    }

    /// `TLSv1.3` or `TLSv1.3 Verified`; nil when nothing is known.
    static func tlsLabel(_ t: TraceDocument.TLS) -> String? {
        guard let p = t.proto ?? t.cipher else { return nil }
        return escape(p) + (t.trust.map { " " + escape($0) } ?? "")
    }

    /// Microseconds since the epoch of an RFC 3339 UTC text as the server writes it; nil otherwise.
    static func micros(_ s: String) -> Int64? {
        guard let t = try? TimeSpec.parse(s, now: Timestamp(micros: 0)) else { return nil }
        return t.micros
    }

    /// `+1.5s`, `+17m02s`, `+2h03m`, `-0.2s` for a time difference.
    static func offset(_ micros: Int64) -> String {
        let sign = micros < 0 ? "-" : "+"
        let m = abs(micros)
        if m < 60_000_000 {
            let tenths = (m + 50_000) / 100_000
            return sign + String(tenths / 10) + "." + String(tenths % 10) + "s"
        }
        let secs = m / 1_000_000
        func two(_ v: Int64) -> String { v < 10 ? "0" + String(v) : String(v) }
        if secs < 3600 { return sign + String(secs / 60) + "m" + two(secs % 60) + "s" }
        return sign + String(secs / 3600) + "h" + two((secs % 3600) / 60) + "m"
    }

    func deliveryLine(_ d: TraceDocument.Delivery) -> String {
        var parts = ["→ " + TraceRenderer.escape(d.recipient), TraceRenderer.escape(d.status)]
        if let dsn = d.dsn { parts.append(TraceRenderer.escape(dsn)) }
        if let r = d.relay, let p = TraceRenderer.peer(name: r.name, ip: r.ip, port: r.port) {
            parts.append("relay=" + p)
        }
        parts.append("at=" + TraceRenderer.escape(d.at))
        if let delay = d.delay { parts.append("delay=" + TraceRenderer.seconds(delay)) }
        if let t = d.tls, let label = TraceRenderer.tlsLabel(t) { parts.append("[" + label + "]") }
        if let r = d.router { parts.append("router=" + TraceRenderer.escape(r)) }
        if let r = d.response { parts.append(quoted(r)) }
        return parts.joined(separator: "  ")
    }

    func referenceLine(_ h: TraceDocument.Hop, primary: TraceDocument.Hop?) -> String {
        var note = h.link.map { TraceRenderer.escape($0) + ", " } ?? ""
        if let p = primary {
            note += "see under " + TraceRenderer.escape(p.host) + " " + TraceRenderer.escape(p.queueID)
        } else {
            note += "shown elsewhere"
        }
        return "↪ " + TraceRenderer.escape(h.host) + "  " + TraceRenderer.escape(h.queueID) + "  (" + note + ")"
    }

    /// `"text"` cut at `responseLimit` scalars, with `"` and `\` escaped and controls as `\xNN`.
    func quoted(_ s: String) -> String {
        var scalars = String.UnicodeScalarView()
        var n = 0
        var cut = false
        for u in s.unicodeScalars {
            if n == responseLimit { cut = true; break }
            scalars.append(u)
            n += 1
        }
        var body = ""
        for u in scalars {
            switch u {
            case "\"": body += "\\\""
            case "\\": body += "\\\\"
            default: body += TraceRenderer.escape(String(u))
            }
        }
        return "\"" + body + (cut ? "…" : "") + "\""
    }

    // MARK: - JSON

    public func json(_ doc: TraceDocument) -> String {
        (doc.prettyJSON ?? doc.jsonValue.pretty()) + "\n"
    }

    // MARK: - Graphviz

    public func dot(_ doc: TraceDocument) -> String {
        var out = "digraph trace {\n"
        if let id = doc.msgid {
            out += "  label=\"" + TraceRenderer.dotEscape("<" + id + ">") + "\";\n"
            out += "  labelloc=t;\n"
        }
        out += "  node [shape=box];\n"
        let numbers = Set(doc.hops.map(\.hop))
        for h in doc.hops {
            var lines = [h.host, h.queueID, h.receivedAt]
            if let s = h.sender { lines.append("from=<" + s + ">") }
            let label = lines.map(TraceRenderer.dotEscape).joined(separator: "\\n")
            out += "  h\(h.hop) [label=\"\(label)\"];\n"
        }
        for h in doc.hops {
            for p in Array(Set(h.parents)).sorted() where numbers.contains(p) {
                let label = h.link.map { " [label=\"" + TraceRenderer.dotEscape($0) + "\"]" } ?? ""
                out += "  h\(p) -> h\(h.hop)\(label);\n"
            }
        }
        return out + "}\n"
    }

    // MARK: - Escaping

    /// Log content made safe for a terminal (see `SafeText.escape`).
    public static func escape(_ s: String) -> String { SafeText.escape(s) }

    static func hex(_ v: UInt32, width: Int) -> String { SafeText.hex(v, width: width) }

    /// A DOT double-quoted string body: `escape`d, then `\` and `"` backslashed.
    public static func dotEscape(_ s: String) -> String {
        var out = ""
        for c in escape(s).unicodeScalars {
            switch c {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// `name[ip]:port`, `name`, `[ip]:port`; nil when there is neither name nor ip.
    static func peer(name: String?, ip: String?, port: Int?) -> String? {
        guard name != nil || ip != nil else { return nil }
        var s = name.map(escape) ?? ""
        if let ip { s += "[" + escape(ip) + "]" }
        if let port, ip != nil || name != nil { s += ":" + String(port) }
        return s
    }

    /// Seconds without a trailing `.0`: 1.5 -> "1.5", 3.0 -> "3".
    static func seconds(_ v: Double) -> String {
        if v.isFinite, v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return String(v)
    }
}

extension TraceDocument {
    /// The document as a JSON value in the contract's key order (for documents built in code).
    public var jsonValue: JSONValue {
        func str(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        func int<I: BinaryInteger>(_ i: I?) -> JSONValue { i.map { .number(String($0)) } ?? .null }
        func peer(_ p: Peer?) -> JSONValue {
            guard let p else { return .null }
            return .object([("name", str(p.name)), ("ip", str(p.ip)), ("port", int(p.port))])
        }
        func tls(_ t: TLS?) -> JSONValue {
            guard let t else { return .null }
            return .object([("proto", str(t.proto)), ("cipher", str(t.cipher)), ("bits", int(t.bits)),
                            ("trust", str(t.trust))])
        }
        let hops: [JSONValue] = hops.map { h in
            let deliveries: [JSONValue] = h.deliveries.map { d in
                .object([
                    ("recipient", .string(d.recipient)), ("orig_recipient", str(d.origRecipient)),
                    ("at", .string(d.at)), ("status", .string(d.status)), ("dsn", str(d.dsn)),
                    ("transport", str(d.transport)), ("relay", peer(d.relay)),
                    ("delay", d.delay.flatMap { $0.isFinite ? JSONValue.number(TraceRenderer.seconds($0)) : nil } ?? .null),
                    ("tls", tls(d.tls)), ("response", str(d.response)), ("next_queue_id", str(d.nextQueueID)),
                    ("router", str(d.router)),
                ])
            }
            let origin: JSONValue = h.origin.map { .object([("queue_id", str($0.queueID)), ("kind", str($0.kind))]) } ?? .null
            return .object([
                ("hop", int(h.hop)), ("parents", .array(h.parents.map { int($0) })), ("link", str(h.link)),
                ("host", .string(h.host)), ("instance", str(h.instance)), ("queue_id", .string(h.queueID)),
                ("received_at", .string(h.receivedAt)), ("sender", str(h.sender)), ("message_id", str(h.messageID)),
                ("client", peer(h.client)), ("size", int(h.size)), ("nrcpt", int(h.nrcpt)), ("tls", tls(h.tls)),
                ("sasl_username", str(h.saslUsername)), ("subject", str(h.subject)), ("local_user", str(h.localUser)),
                ("dkim", h.dkim.map { .object([("result", str($0.result)), ("domain", str($0.domain))]) } ?? .null),
                ("spam", h.spam.map { .object([("verdict", str($0.verdict)),
                                               ("score", $0.score.flatMap { $0.isFinite ? JSONValue.number(TraceRenderer.seconds($0)) : nil } ?? .null)]) } ?? .null),
                ("origin", origin), ("deliveries", .array(deliveries)),
            ])
        }
        return .object([("msgid", str(msgid)), ("hops", .array(hops))])
    }
}
