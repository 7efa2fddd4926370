// VectorOracleTests: the corpus' expected-result files as oracles.
// * whyscream/postfix-grok-patterns `vectors.jsonl` (191 body-only cases, grok
//   field names): every non-fragment case must be understood, and where a
//   grok field maps to one of our fields the values must be equal.
// * msimerson/postfix-parser `test_vectors.json` (exact expected objects):
//   full syslog lines via LineParser and body-only lines via PostfixParser.

import Foundation
import Testing
import MailTrailModel
import SyslogFraming
import MTAParsing

// MARK: - shared field access

/// The peer a line is about (client for smtpd-side events, relay for delivery/outbound TLS).
func clientPeer(_ e: PostfixEvent) -> Peer? {
    switch e {
    case .connect(let p), .disconnect(let p): return p
    case .client(_, let p, _, _, _, _): return p
    case .reject(_, let r): return r.client
    case .tls(let d, let p, _): return d == .inbound ? p : nil
    default: return nil
    }
}

func relayPeer(_ e: PostfixEvent) -> Peer? {
    switch e {
    case .delivery(_, let d): return d.relay
    case .tls(let dir, let p, _): return dir == .outbound ? p : nil
    default: return nil
    }
}

/// `key=value` items of a grok keyvalue run (`, ` or space separated; `<...>` kept whole).
func keyValues(_ text: String) -> [String: String] {
    var out: [String: String] = [:]
    var rest = Substring(text)
    while let eq = rest.firstIndex(of: "=") {
        let key = rest[..<eq].trimmingCharacters(in: CharacterSet(charactersIn: ", "))
        var v = rest[rest.index(after: eq)...]
        var value: Substring
        if v.first == "<", let close = v.range(of: ">, ") ?? v.range(of: "> ") {
            value = v[v.index(after: v.startIndex)..<close.lowerBound]; v = v[close.upperBound...]
        } else if v.first == "<", v.last == ">" {
            value = v.dropFirst().dropLast(); v = v[v.endIndex...]
        } else if let sep = v.range(of: ", ") ?? v.range(of: " ") {
            value = v[..<sep.lowerBound]; v = v[sep.upperBound...]
        } else {
            value = v; v = v[v.endIndex...]
        }
        if value.hasSuffix(",") { value = value.dropLast() }
        out[String(key.split(separator: " ").last ?? "")] = String(value)
        rest = v
    }
    return out
}

// MARK: - whyscream

struct GrokVector: Decodable, Sendable, CustomTestStringConvertible {
    var file: String
    var daemon: String?
    var fragment_only: Bool
    var data: String
    var results: [String: String]
    var testDescription: String { file }
}

let grokVectors: [GrokVector] = {
    let url = Fixtures.url("postfix/whyscream-postfix-grok-patterns/vectors.jsonl")
    guard let text = try? String(contentsOf: url, encoding: .utf8) else { return [] }
    return text.split(separator: "\n").compactMap { try? JSONDecoder().decode(GrokVector.self, from: Data($0.utf8)) }
}()

/// Grok cases whose pattern is a fragment of a line, not a line (POSTFIX_RELAY matches only `host[socket]`).
let grokFragments: Set<String> = ["test/relay_0001.yaml"]

/// Grok daemon names that differ from the syslog program name.
func programName(grokDaemon d: String) -> String {
    switch d {
    case "trivial_rewrite": return "trivial-rewrite"
    case "script": return "postfix-script"
    default: return d
    }
}

/// Grok fields whose presence means the line carries a fact we store.
let grokEventFields: Set<String> = ["postfix_status", "postfix_message-id", "postfix_bounce_queueid", "postfix_action",
                                    "postfix_tls_cipher", "postfix_postsuper_action", "postfix_milter_result",
                                    "postfix_proxy_result", "postfix_prepend_type"]

@Suite struct WhyscreamVectorTests {
    @Test func vectorsAreLoaded() { #expect(grokVectors.count == 191) }

    @Test(arguments: grokVectors.filter { !$0.fragment_only && $0.daemon != nil })
    func vectorFieldsMatch(_ v: GrokVector) throws {
        let outcome = parseBody(v.data, program: programName(grokDaemon: v.daemon!))
        if grokFragments.contains(v.file) {
            #expect(outcome.isUnparsed)
            return
        }
        #expect(!outcome.isUnparsed, "\(outcome)")
        let r = v.results
        let mustBeEvent = !grokEventFields.isDisjoint(with: r.keys)
            || (r["postfix_keyvalue_data"].map { $0.hasPrefix("to=") || $0.hasPrefix("from=") || $0.hasPrefix("client=")
                                                   || $0.hasPrefix("uid=") } ?? false)
        guard let e = outcome.event else {
            #expect(!mustBeEvent, "expected an event, got \(outcome)")
            return
        }
        if let q = r["postfix_queueid"] { #expect(e.queueID == (q == "NOQUEUE" ? nil : q)) }
        if let c = clientPeer(e) {
            if let h = r["postfix_client_hostname"] { #expect(c.name == h) }
            if let ip = r["postfix_client_ip"] { #expect(c.ip == ip) }
            if let port = r["postfix_client_port"] { #expect(c.port == Int(port)) }
            if r["postfix_client_ip_unknown"] != nil { #expect(c.ip == nil) }
        }
        if let rp = relayPeer(e) {
            if let h = r["postfix_relay_hostname"] { #expect(rp.name == h) }
            if let ip = r["postfix_relay_ip"] { #expect(rp.ip == ip) }
            if let port = r["postfix_relay_port"] { #expect(rp.port == Int(port)) }
        }
        switch e {
        case .delivery(_, let d):
            if let s = r["postfix_status"] {
                #expect(d.status.rawValue == (s == "undeliverable-but-not-cached" ? "undeliverable" : s))
            }
            for k in ["postfix_smtp_response", "postfix_pipe_response", "postfix_local_response", "postfix_error_response"] {
                if let t = r[k] { #expect(d.response == t) }
            }
            if let kv = r["postfix_keyvalue_data"] {
                let items = keyValues(kv)
                if let to = items["to"] { #expect(d.recipient == to) }
                if let o = items["orig_to"] { #expect(d.origRecipient == o) }
                if let dsn = items["dsn"] { #expect(d.dsn == dsn) }
                if let delay = items["delay"] { #expect(d.delay == Double(delay)) }
                if let delays = items["delays"] { #expect(d.delays == delays.split(separator: "/").map { Double($0)! }) }
                if let relay = items["relay"], !relay.contains("[") { #expect(d.relay.name == relay) }
            }
        case .messageID(_, let id):
            #expect(id == r["postfix_message-id"])
        case .notification(_, let kind, let newQ):
            #expect(newQ == r["postfix_bounce_queueid"])
            if let who = r["postfix_bounce_recipient"], let why = r["postfix_bounce_reason"] { #expect(kind == who + " " + why) }
        case .tls(_, _, let info):
            if let t = r["postfix_tls_trustlevel"] { #expect(info.trust == t) }
            if let t = r["postfix_tls_version"] { #expect(info.proto == t) }
            if let t = r["postfix_tls_cipher"] { #expect(info.cipher == t) }
            if let t = r["postfix_tls_cipher_size"] { #expect(info.bits == Int(t.split(separator: "/")[0])) }
        case .reject(_, let rej):
            if let a = r["postfix_action"] { #expect(rej.action == a) }
            if let a = r["postfix_milter_result"] { #expect(rej.action == "milter-" + a) }
            if let a = r["postfix_proxy_result"] { #expect(rej.action == "proxy-" + a) }
            if let a = r["postfix_message_level"] { #expect(rej.action == a) }
            if r["postfix_prepend_type"] != nil { #expect(rej.action == "prepend") }
            if let st = r["postfix_smtp_stage"] ?? r["postfix_proxy_smtp_stage"] { #expect(rej.stage == st) }
            if let c = r["postfix_status_code"] ?? r["postfix_proxy_status_code"] { #expect(rej.code == c) }
            if let d = r["postfix_status_code_enhanced"] ?? r["postfix_proxy_status_code_enhanced"] { #expect(rej.dsn == d) }
            if let m = r["postfix_status_message"], let reason = rej.reason { #expect(reason.hasSuffix(m)) }
            if let kv = r["postfix_keyvalue_data"] {
                let items = keyValues(kv)
                if let f = items["from"] { #expect(rej.sender == f) }
                if let t = items["to"] { #expect(rej.recipient == t) }
                if let p = items["proto"] { #expect(rej.proto == p) }
                if let h = items["helo"] { #expect(rej.helo == h) }
            }
        case .admin(_, let action):
            #expect(action == r["postfix_postsuper_action"])
        case .removed:
            #expect(r["postfix_postsuper_action"] == "removed" || r["postfix_message"] == "removed")
        case .expired(_, let sender, let status):
            #expect(sender == r["postfix_from"]); #expect(status == r["postfix_status"])
        case .queued(_, let sender, let size, let nrcpt):
            let items = keyValues(r["postfix_keyvalue_data"] ?? "")
            #expect(sender == items["from"]); #expect(size == items["size"].flatMap { Int64($0) })
            #expect(nrcpt == items["nrcpt"].flatMap { Int($0) })
        case .pickup(_, let uid, let sender, _):
            let items = keyValues(r["postfix_keyvalue_data"] ?? "")
            #expect(uid == items["uid"].flatMap { Int($0) }); #expect(sender == items["from"])
        case .client(_, let c, _, _, _, _):
            let items = keyValues(r["postfix_keyvalue_data"] ?? "")
            if let raw = items["client"] { #expect(raw == "\(c.name ?? "")[\(c.ip ?? "")]") }
        case .connect, .disconnect:
            break
        }
    }
}

// MARK: - msimerson

struct MsimersonFile: Decodable {
    struct SyslogLine: Decodable { var name: String; var line: String; var expected: [String: String]? }
    struct BodyLine: Decodable { var type: String; var desc: String?; var line: String; var expected: [String: String]? }
    var syslog_lines: [SyslogLine]
    var postfix_lines: [BodyLine]
}

let msimerson: MsimersonFile? = {
    let url = Fixtures.url("postfix/msimerson-postfix-parser/test_vectors.json")
    guard let data = try? Data(contentsOf: url) else { return nil }
    return try? JSONDecoder().decode(MsimersonFile.self, from: data)
}()

struct MsCase: Sendable, CustomTestStringConvertible {
    var program: String; var line: String; var expected: [String: String]?; var full: Bool; var label: String
    var testDescription: String { label }
}

let msCases: [MsCase] = {
    guard let m = msimerson else { return [] }
    return m.syslog_lines.enumerated().map { MsCase(program: "", line: $1.line, expected: $1.expected, full: true,
                                                   label: "syslog \($0): \($1.name)") }
        + m.postfix_lines.enumerated().map { i, b in
            MsCase(program: String(b.type.split(separator: "/").last ?? ""), line: b.line, expected: b.expected,
                   full: b.type == "syslog", label: "body \(i): \(b.type) \(b.desc ?? "")") }
}()

/// msimerson body-only lines without a queue ID: the facts need a queue ID to be stored, so they are unparsed here.
func msExpectsUnparsedWithoutQueueID(_ c: MsCase) -> Bool {
    c.label.contains("w/o queue ID") || c.label.contains("w/o qid")
}

func msFields(_ e: PostfixEvent) -> [String: String] {
    var f: [String: String] = [:]
    if let q = e.queueID { f["qid"] = q }
    func relay(_ p: Peer) -> String {
        (p.name ?? "") + (p.ip.map { "[\($0)]" } ?? "") + (p.port.map { ":\($0)" } ?? "")
    }
    switch e {
    case .messageID(_, let id): f["message-id"] = id
    case .queued(_, let s, let size, let n): f["from"] = s; f["size"] = size.map(String.init); f["nrcpt"] = n.map(String.init)
    case .expired(_, let s, let st): f["from"] = s; f["status"] = st + ", returned to sender"
    case .removed: f["msg"] = "removed"
    case .admin(_, let a): f["msg"] = a
    case .notification(_, _, let n): f["dsnQid"] = n
    case .pickup(_, let uid, let s, _): f["uid"] = uid.map(String.init); f["from"] = s
    case .client(_, let c, let m, let u, _, _):
        f["client"] = relay(c); f["sasl_method"] = m; f["sasl_username"] = u
    case .delivery(_, let d):
        f["to"] = d.recipient; f["orig_to"] = d.origRecipient; f["relay"] = relay(d.relay)
        f["conn_use"] = d.connUse.map(String.init); f["dsn"] = d.dsn
        f["status"] = d.status.rawValue + (d.response.map { " (\($0))" } ?? "")
        if let r = d.response, r.hasPrefix("forwarded as ") { f["status"] = "forwarded"; f["forwardedAs"] = d.nextQueueID }
    default: break
    }
    return f
}

@Suite struct MsimersonVectorTests {
    @Test func vectorsAreLoaded() { #expect(msCases.count == 63) }

    @Test(arguments: msCases)
    func vectorMatches(_ c: MsCase) throws {
        var parser = LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2015))
        let outcome: ParseOutcome = c.full
            ? Array(c.line.utf8).withUnsafeBufferPointer { parser.parse($0, offset: 0) }
            : parseBody(c.line, program: c.program)
        guard let exp = c.expected else {
            // null: the parser must reject the line (spamd is not a Postfix line: ignored as another program)
            if case .ignored(let cat) = outcome { #expect(cat == "program:spamd") } else { #expect(outcome.isUnparsed) }
            return
        }
        if msExpectsUnparsedWithoutQueueID(c) {
            #expect(outcome.isUnparsed)
            return
        }
        #expect(!outcome.isUnparsed, "\(outcome)")
        if c.full, let ctx = parser.lastContext {
            #expect(ctx.host == exp["host"])
            #expect(String(ctx.pid) == exp["pid"])
            #expect([ctx.instance, ctx.service, ctx.program].filter { !$0.isEmpty }.joined(separator: "/") == exp["prog"])
            if let d = exp["date"] {
                // "Jul  5 06:52:11" in 2015, UTC
                let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
                let parts = d.split(separator: " ")
                let m = months.firstIndex(of: String(parts[0]))! + 1
                let hms = parts[2].split(separator: ":").map { Int64($0)! }
                let secs = CivilDate(year: 2015, month: m, day: Int(parts[1])!).daysSinceEpoch * 86_400
                    + hms[0] * 3600 + hms[1] * 60 + hms[2]
                #expect(ctx.time == Timestamp(seconds: secs))
            }
        }
        guard let e = outcome.event else { return }   // ignored lines carry nothing we store
        let ours = msFields(e)
        for (k, v) in exp where !["date", "host", "prog", "pid", "msg"].contains(k) || (k == "msg" && ours["msg"] != nil) {
            switch k {
            case "delay": if case .delivery(_, let d) = e { #expect(d.delay == Double(v)) }
            case "delays": if case .delivery(_, let d) = e { #expect(d.delays == v.split(separator: "/").map { Double($0)! }) }
            case "relay":
                // ours drops an ADDR that is not a valid IP (e.g. 66.100.32.07 or 199.200.300.131)
                if case .delivery(_, let d) = e {
                    #expect(v.hasPrefix(d.relay.name ?? "<nil>"))
                    if let p = d.relay.port { #expect(v.hasSuffix(":\(p)")) }
                    if let ip = d.relay.ip { #expect(v.contains("[\(ip)]")) }
                }
            default:
                #expect(ours[k] == v, "field \(k)")
            }
        }
    }
}

// MARK: - RemoteQueueID

struct RemoteIDCase: Sendable, CustomTestStringConvertible {
    var response: String; var id: String?
    var testDescription: String { response }
}

let remoteIDCases: [RemoteIDCase] = [
    .init(response: "250 2.0.0 Ok: queued as 4T9x2C0d3Hz1Wbq", id: "4T9x2C0d3Hz1Wbq"),
    .init(response: "250 2.0.0 Ok: queued as 153053D", id: "153053D"),
    .init(response: "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4PbCNs434mz3tG3", id: "4PbCNs434mz3tG3"),
    .init(response: "250 2.0.0 Ok: 4821 bytes queued as C3CD21F3E90", id: "C3CD21F3E90"),
    .init(response: "250 OK id=1tUHfW-000000004Sd-2k8P", id: "1tUHfW-000000004Sd-2k8P"),
    .init(response: "250 2.0.0 t5UI2nBt018923 Message accepted for delivery", id: "t5UI2nBt018923"),
    .init(response: "250 2.0.0 8f3a2b1c Message accepted for delivery", id: "8f3a2b1c"),
    .init(response: "forwarded as 3mLQKK4rDdz7sVS", id: "3mLQKK4rDdz7sVS"),
    .init(response: "250 2.0.0 OK  1632412662 aaaaaaaaaaaaaaa.511 - gsmtp", id: nil),
    .init(response: "250 2.6.0 <20111025103822.7F94E1C0299@HOST> [InternalId=274498] Queued mail for delivery", id: nil),
    .init(response: "250 Queued! 1108907778 qp 18309 <x@example.net>", id: nil),
    .init(response: "delivered via dovecot service", id: nil),
    .init(response: "250 2.0.0 <x@example.org> Message accepted for delivery", id: nil),
    .init(response: "250 Ok: queued as ", id: nil),
    .init(response: "", id: nil),
]

@Suite struct RemoteQueueIDTests {
    @Test(arguments: remoteIDCases)
    func extractsTheNextHopsQueueID(_ c: RemoteIDCase) {
        #expect(RemoteQueueID.extract(fromResponse: c.response) == c.id)
    }
}
