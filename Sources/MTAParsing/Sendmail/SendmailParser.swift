// SendmailParser: the body of one sendmail / sm-mta / sm-msp-queue line ->
// ParseOutcome.
//
// Contract: reads only the bytes it is given (the part after `tag[pid]: `)
// and the line's context; every line ends as `.sendmail`, `.ignored` or
// `.unparsed(reason:)`. Recognised records (docs/log-formats/sendmail.md):
//   `QID: from=...`, `QID: to=...` (incl. `[more]` lists), `OLD: NEW: DSN|
//   return to sender|sender notify|postmaster notify: ...`, `OLD: NEW: clone:
//   owner=`, `QID: split: ...ids=A; B`, `[QID|NOQUEUE]: ruleset=..., reject=|
//   discard|quarantine=`, milter rejects, `QID: <addr>... TEXT` address
//   refusals, pre-greeting refusals, `STARTTLS=server|client, ...`,
//   `AUTH=server, ...`; lines that carry nothing stored (daemon status,
//   session noise, milter header edits, TLS/AUTH errors) are `.ignored`.
// The one exception to "one line, one fact": sm_syslog cuts records longer
// than its buffer into `QID[1]: part ...`, ..., `QID[n]: last part`; the
// parser keeps the parts per (pid, QID) and parses the whole record at the
// last part (earlier parts are `.ignored(category: "sendmail-part")`).
// Values that repeat (relays, senders, recipients, ciphers, mailers) are
// made through the parser's StringCache: one allocation per distinct value.
// Known limits: parts pending when a run ends are lost (not checkpointed);
// at most 64 records (64 KiB each) are pending at once, older ones dropped.
import MailTrailModel

/// Parses Sendmail line bodies.
public struct SendmailParser: Sendable {
    /// Parts of split records not yet complete, by (pid, queue ID).
    private var pending: [PartKey: [UInt8]] = [:]
    private var pendingOrder: [PartKey] = []
    /// Strings of values that repeat (relays, ciphers, mailers, senders): one allocation per distinct value.
    private var strings = StringCache()

    private struct PartKey: Hashable, Sendable {
        var pid: Int32
        var queueID: String
    }

    public init() {}

    /// Parses one body (the text after `tag[pid]: `).
    public mutating func parse(body: UnsafeBufferPointer<UInt8>, context ctx: LineContext) -> ParseOutcome {
        let s = ByteScanner(body)
        // `QID[n]: part` — a record split by sm_syslog.
        let idEnd = s.smIDEnd(from: 0)
        if idEnd < s.end, s[idEnd] == Byte.lbracket, s.smIsQueueID(0..<idEnd) {
            return part(s, idEnd: idEnd, ctx)
        }
        return SendmailParser.parseRecord(s, ctx, &strings)
    }

    private mutating func part(_ s: ByteScanner, idEnd: Int, _ ctx: LineContext) -> ParseOutcome {
        guard let rb = s.find(Byte.rbracket, from: idEnd + 1), let n = s.int((idEnd + 1)..<rb),
              s.has(": ", at: rb + 1) else {
            return .unparsed(reason: "queue ID followed by '[' but not '[n]: '")
        }
        let key = PartKey(pid: ctx.pid, queueID: s.string(0..<idEnd))
        let text = (rb + 3)..<s.end
        let isLast = !(text.count >= 4 && s.has(" ...", at: s.end - 4))
        if s.has("log terminated, too many parts", at: text.lowerBound) {
            drop(key)
            return .ignored(category: "sendmail-part")
        }
        if n == 1 {
            drop(key)
            var buf = Array(s.buffer(0..<idEnd))
            buf.append(contentsOf: ": ".utf8)
            buf.append(contentsOf: s.buffer(text.lowerBound..<(isLast ? text.upperBound : text.upperBound - 4)))
            if isLast { return buf.withUnsafeBufferPointer { SendmailParser.parseRecord(ByteScanner($0), ctx, &strings) } }
            store(key, buf)
            return .ignored(category: "sendmail-part")
        }
        guard var buf = pending[key] else {
            return .unparsed(reason: "part [\(n)] of a split record whose first part is not in the log")
        }
        buf.append(contentsOf: s.buffer(text.lowerBound..<(isLast ? text.upperBound : text.upperBound - 4)))
        if !isLast {
            if buf.count > 65_536 { drop(key); return .unparsed(reason: "split record longer than 64 KiB") }
            pending[key] = buf
            return .ignored(category: "sendmail-part")
        }
        drop(key)
        return buf.withUnsafeBufferPointer { SendmailParser.parseRecord(ByteScanner($0), ctx, &strings) }
    }

    private mutating func store(_ key: PartKey, _ buf: [UInt8]) {
        if pendingOrder.count >= 64 { pending[pendingOrder.removeFirst()] = nil }
        pending[key] = buf
        pendingOrder.append(key)
    }

    private mutating func drop(_ key: PartKey) {
        guard pending.removeValue(forKey: key) != nil else { return }
        pendingOrder.removeAll { $0 == key }
    }

    // MARK: - Records

    /// Parses one whole record `[QID: |NOQUEUE: ]TEXT`.
    @inline(__always)
    static func parseRecord(_ s: ByteScanner, _ ctx: LineContext, _ c: inout StringCache) -> ParseOutcome {
        guard s.end > 0 else { return .unparsed(reason: "empty Sendmail line") }
        if s.has("NOQUEUE: ", at: 0) { return noQueue(s, from: 9, ctx, &c) }
        let idEnd = s.smIDEnd(from: 0)
        if s.has(": ", at: idEnd), s.smIsQueueID(0..<idEnd) {
            return withQueueID(s, qid: 0..<idEnd, at: idEnd + 2, ctx, &c)
        }
        return noQueue(s, from: 0, ctx, &c)
    }

    /// Lines without a queue ID (connection- and daemon-level).
    static func noQueue(_ s: ByteScanner, from i: Int, _ ctx: LineContext, _ c: inout StringCache) -> ParseOutcome {
        if s.has("STARTTLS=", at: i) { return tls(s, at: i, ctx, &c) }
        if s.has("AUTH=", at: i) { return auth(s, at: i, ctx, &c) }
        if s.has("ruleset=", at: i) { return ruleset(s, at: i, qid: nil, ctx) }
        if let o = sessionNoise(s, at: i, qid: nil, ctx) { return o }
        for p in daemonPrefixes where s.has(p, at: i) { return .ignored(category: "sendmail-daemon") }
        return .unparsed(reason: "unknown Sendmail line without queue ID")
    }

    /// Process-level status lines (no queue ID) that carry nothing stored.
    static let daemonPrefixes: [StaticString] = [
        "starting daemon", "rejecting connections on daemon", "accepting connections again", "grew WorkList",
        "File descriptors missing", "runqueue", "alias database", "SYSERR", "restarting", "Authentication-Warning",
        "/etc/mail/", "gethostbyaddr", "unable to qualify my own domain name", "my unqualified host name",
        "daemon ", "stopping daemon", "Milter", "milter", "setsender", "tls_srv_features", "tls_clt_features",
        "AUTH failure", "STARTTLS",
    ]

    @inline(__always)
    static func withQueueID(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext,
                            _ c: inout StringCache) -> ParseOutcome {
        if s.has("from=", at: i) { return from(s, qid: qid, at: i, ctx, &c) }
        if s.has("to=", at: i) { return to(s, qid: qid, at: i, ctx, &c) }
        if s.has("ruleset=", at: i) { return ruleset(s, at: i, qid: qid, ctx) }
        // `OLD: NEW: KIND: text`
        let id2End = s.smIDEnd(from: i)
        if s.has(": ", at: id2End), s.smIsQueueID(i..<id2End) {
            return link(s, qid: qid, newQID: i..<id2End, at: id2End + 2, ctx)
        }
        if s.has("split: ", at: i) { return split(s, qid: qid, at: i + 7, ctx) }
        if s.has("Milter", at: i) || s.has("milter=", at: i) { return milter(s, qid: qid, at: i, ctx) }
        if s.has("STARTTLS=", at: i) { return tls(s, at: i, ctx, &c) }
        if s.has("AUTH=", at: i) { return auth(s, at: i, ctx, &c) }
        if s.has("done", at: i) { return .ignored(category: "sendmail-done") }
        if s.has("<", at: i), let o = addressRefusal(s, qid: qid, at: i, ctx) { return o }
        if let o = sessionNoise(s, at: i, qid: qid, ctx) { return o }
        for p in queueNoise where s.has(p, at: i) { return .ignored(category: "sendmail-message-note") }
        return .unparsed(reason: "unknown Sendmail line with queue ID")
    }

    /// Per-message notes with a queue ID that carry nothing stored.
    static let queueNoise: [StaticString] = [
        "SMTP outgoing connect", "collect: ", "message size (", "Fixed MIME", "SYSERR", "Authentication-Warning",
        "headers too large", "discarded", "Syntax error in mailbox address", "DSN: ", "AUTH failure",
        "makeconnection", "sender notify", "return to sender", "postmaster notify", "queueup", "timeout writing",
        "reply: ", "Warning:", "alias ", "forward ", "forward:", "cannot ", "Losing ", "lost input channel",
        "timeout waiting", "premature", "putbody", "Too many hops",
    ]

    /// Connection-level lines that carry no stored fact, or the pre-greeting refusal.
    static func sessionNoise(_ s: ByteScanner, at i: Int, qid: Range<Int>?, _ ctx: LineContext) -> ParseOutcome? {
        if s.has("rejecting commands from ", at: i), let due = s.find(" due to ", from: i + 24) {
            let peer = s.smRelay((i + 24)..<due).peer
            let r = SendmailReject(action: "reject", stage: "CONNECT", client: peer, reason: s.string((due + 8)..<s.end))
            return .sendmail(ctx, .reject(queueID: qid.map(s.string), r))
        }
        if s.has("lost input channel", at: i) || s.has("timeout waiting for input", at: i)
            || s.find(" did not issue MAIL/EXPN/VRFY/ETRN", from: i) != nil
            || s.find(": possible SMTP attack", from: i) != nil || s.find("Possible SMTP RCPT flood", from: i) != nil
            || s.find(" [rejected]", from: i) != nil || s.find(": ETRN ", from: i) != nil
            || s.find("SMTP DATA-2 protocol error", from: i) != nil || s.find(": SMTP ", from: i) != nil {
            return .ignored(category: "sendmail-session")
        }
        return nil
    }

    // MARK: from= / to=

    static func from(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext,
                     _ c: inout StringCache) -> ParseOutcome {
        var f = SendmailFrom(sender: "")
        var sawFrom = false
        s.smFields(from: i, to: s.end) { k, v in
            if s.equals(k, "from") { f.sender = s.cached(s.smAddress(v), &c); sawFrom = true }
            else if s.equals(k, "size") { f.size = s.int(v).map(Int64.init) }
            else if s.equals(k, "class") { f.msgClass = s.int(v) ?? intSigned(s, v) }
            else if s.equals(k, "nrcpts") { f.nrcpts = s.int(v) }
            else if s.equals(k, "msgid") {
                let c = s.smAddress(v)
                if !c.isEmpty { f.messageID = s.string(c) }
            }
            else if s.equals(k, "bodytype") { f.bodyType = s.cached(v, &c) }
            else if s.equals(k, "proto") { f.proto = s.cached(v, &c) }
            else if s.equals(k, "daemon") { f.daemon = s.cached(v, &c) }
            else if s.equals(k, "auth") { f.auth = s.cached(v, &c) }
            else if s.equals(k, "relay") {
                let r = s.smRelay(v) { s.cached($0, &c) }
                f.relay = r.peer; f.identUser = r.user; f.mayBeForged = r.forged
            }
        }
        guard sawFrom else { return .unparsed(reason: "from= line without a sender") }
        return .sendmail(ctx, .from(queueID: s.string(qid), f))
    }

    private static func intSigned(_ s: ByteScanner, _ v: Range<Int>) -> Int? {
        guard v.count > 1, s[v.lowerBound] == Byte.minus, let n = s.int((v.lowerBound + 1)..<v.upperBound) else { return nil }
        return -n
    }

    static func to(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext,
                   _ c: inout StringCache) -> ParseOutcome {
        var t = SendmailTo(recipients: [], status: .deferred)
        var statRange: Range<Int>?
        var replyRange: Range<Int>?
        s.smFields(from: i, to: s.end) { k, v in
            if s.equals(k, "to") {
                var list = v
                if v.count >= 7, s.has(" [more]", at: v.upperBound - 7) {
                    t.more = true
                    list = v.lowerBound..<(v.upperBound - 7)
                }
                t.recipients = s.smRecipients(list).map { s.cached($0, &c) }
            } else if s.equals(k, "ctladdr") {
                var e = v.upperBound
                if let p = s.findLast(" (", from: v.lowerBound, to: v.upperBound) { e = p }
                t.ctladdr = s.cached(s.smAddress(v.lowerBound..<e), &c)
            } else if s.equals(k, "delay") { t.delay = s.smDelay(v) }
            else if s.equals(k, "xdelay") { t.xdelay = s.smDelay(v) }
            else if s.equals(k, "mailer") { t.mailer = s.cached(v, &c) }
            else if s.equals(k, "pri") { t.priority = s.int(v).map(Int64.init) }
            else if s.equals(k, "relay") { t.relay = s.smRelay(v) { s.cached($0, &c) }.peer }
            else if s.equals(k, "dsn") { t.dsn = s.cached(v, &c) }
            else if s.equals(k, "reply") { replyRange = v; t.reply = s.string(v) }
            else if s.equals(k, "stat") { statRange = v; t.stat = s.string(v) }
            else if s.equals(k, "ntries") { t.ntries = s.int(v) }
        }
        guard !t.recipients.isEmpty else { return .unparsed(reason: "to= line without recipients") }
        if let st = statRange {
            classify(s, st, &t)
        } else if let d = t.dsn, let c = d.utf8.first {
            // Older/abbreviated lines without stat=: the DSN class decides.
            t.status = c == UInt8(ascii: "2") ? .sent : c == UInt8(ascii: "4") ? .deferred : .bounced
        } else {
            return .unparsed(reason: "to= line without stat= or dsn=")
        }
        if t.status != .sent, let r = replyRange { t.response = s.string(r) }
        return .sendmail(ctx, .to(queueID: s.string(qid), t))
    }

    /// stat= → status, response, next hop's queue ID. `Sent*` → sent; `Deferred*`, `queued`,
    /// `quarantined` and 4.x.x texts → deferred; anything else → bounced.
    static func classify(_ s: ByteScanner, _ st: Range<Int>, _ t: inout SendmailTo) {
        if s.has("Sent", at: st.lowerBound) {
            t.status = .sent
            var lo = st.lowerBound + 4
            while lo < st.upperBound, s[lo] == Byte.space { lo += 1 }
            if lo < st.upperBound, s[lo] == Byte.lparen {
                var hi = st.upperBound
                if s[hi - 1] == Byte.rparen { hi -= 1 }
                lo += 1
                if hi > lo {
                    t.response = s.string(lo..<hi)
                    t.nextQueueID = RemoteQueueID.extract(s, lo..<hi)
                }
            }
            return
        }
        if s.has("Deferred", at: st.lowerBound) {
            t.status = .deferred
            var lo = st.lowerBound + 8
            if s.has(": ", at: lo) { lo += 2 }
            if lo < st.upperBound { t.response = s.string(lo..<st.upperBound) }
            return
        }
        t.response = s.string(st)
        if s.equals(st, "queued") || s.has("quarantined", at: st.lowerBound)
            || (t.dsn?.utf8.first == UInt8(ascii: "4")) {
            t.status = .deferred
        } else {
            t.status = .bounced
        }
    }

    // MARK: links

    static func link(_ s: ByteScanner, qid: Range<Int>, newQID: Range<Int>, at i: Int, _ ctx: LineContext) -> ParseOutcome {
        let old = s.string(qid), new = s.string(newQID)
        if s.has("clone: ", at: i) || s.has("clone:", at: i) {
            var owner: String?
            if let o = s.find("owner=", from: i) { owner = s.string(s.smAddress((o + 6)..<s.end)) }
            return .sendmail(ctx, .clone(queueID: old, newQueueID: new, owner: owner))
        }
        for kind: StaticString in ["DSN", "return to sender", "sender notify", "postmaster notify"] where s.has(kind, at: i) {
            let k = i + kind.utf8CodeUnitCount
            guard s.has(":", at: k) else { continue }
            let textStart = s.has(": ", at: k) ? k + 2 : k + 1
            return .sendmail(ctx, .notification(queueID: old, newQueueID: new, kind: s.string(i..<k),
                                                text: s.string(textStart..<s.end)))
        }
        return .unparsed(reason: "OLDQID: NEWQID: line of unknown kind")
    }

    static func split(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext) -> ParseOutcome {
        var ids: [String] = []
        s.smFields(from: i, to: s.end) { k, v in
            guard s.equals(k, "ids") || s.equals(k, "id") else { return }
            var j = v.lowerBound
            while j < v.upperBound {
                while j < v.upperBound, s[j] == Byte.semicolon || s[j] == Byte.space { j += 1 }
                let e = s.smIDEnd(from: j)
                if e > j, e <= v.upperBound { ids.append(s.string(j..<e)) } else { break }
                j = e
            }
        }
        guard !ids.isEmpty else { return .ignored(category: "sendmail-split") }
        return .sendmail(ctx, .split(queueID: s.string(qid), newQueueIDs: ids))
    }

    // MARK: refusals

    /// Maps a ruleset (or milter stage) to the SMTP stage it guards.
    static func stage(_ s: ByteScanner, _ r: Range<Int>) -> String {
        if s.equals(r, "check_relay") || s.equals(r, "connect") { return "CONNECT" }
        if s.equals(r, "check_mail") || s.equals(r, "mail") || s.equals(r, "envfrom") { return "MAIL" }
        if s.equals(r, "check_rcpt") || s.equals(r, "check_compat") || s.equals(r, "tls_rcpt")
            || s.equals(r, "rcpt") || s.equals(r, "envrcpt") { return "RCPT" }
        if s.equals(r, "check_eoh") || s.equals(r, "check_eom") || s.equals(r, "data") || s.equals(r, "eom")
            || s.equals(r, "eoh") || s.equals(r, "body") { return "END-OF-MESSAGE" }
        if s.equals(r, "check_data") { return "DATA" }
        if s.equals(r, "tls_server") || s.equals(r, "tls_client") { return "STARTTLS" }
        if s.equals(r, "helo") || s.equals(r, "check_helo") { return "HELO" }
        if s.equals(r, "check_etrn") { return "ETRN" }
        if s.equals(r, "check_expn") { return "EXPN" }
        if s.equals(r, "check_vrfy") { return "VRFY" }
        return s.string(r)
    }

    static func ruleset(_ s: ByteScanner, at i: Int, qid: Range<Int>?, _ ctx: LineContext) -> ParseOutcome {
        var r = SendmailReject(action: "reject")
        var rs: Range<Int>?
        var a1: Range<Int>?
        var rejectText: Range<Int>?
        let stop = s.smFields(from: i, to: s.end) { k, v in
            if s.equals(k, "ruleset") { rs = v; r.ruleset = s.string(v) }
            else if s.equals(k, "arg1") { a1 = v; r.arg1 = s.string(v) }
            else if s.equals(k, "arg2") { r.arg2 = s.string(v) }
            else if s.equals(k, "relay") { r.client = s.smRelay(v).peer }
            else if s.equals(k, "reject") { rejectText = v }
            else if s.equals(k, "quarantine") { r.action = "quarantine"; r.reason = s.string(v) }
        }
        guard let rs else { return .unparsed(reason: "ruleset= line without a ruleset") }
        if let t = rejectText {
            let p = s.smReply(t)
            r.code = p.code; r.dsn = p.dsn; r.reason = s.string(p.text)
        } else if s.has("discard", at: stop) {
            r.action = "discard"
        } else if r.action != "quarantine" {
            return .unparsed(reason: "ruleset= line without reject=, discard or quarantine=")
        }
        r.stage = stage(s, rs)
        if let a1 {
            if s.equals(rs, "check_mail") { r.sender = s.string(s.smAddress(a1)) }
            else if s.equals(rs, "check_rcpt") || s.equals(rs, "tls_rcpt") { r.recipient = s.string(s.smAddress(a1)) }
        }
        return .sendmail(ctx, .reject(queueID: qid.map(s.string), r))
    }

    /// `Milter: from=<X>, reject=T`, `Milter: to=<X>, reject=`, `Milter: data, reject=`,
    /// `Milter: connect: host=H, addr=A, reject=`, `milter=NAME, action=STAGE, reject=T`.
    static func milter(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext) -> ParseOutcome {
        guard let rj = s.find(", reject=", from: i) else { return .ignored(category: "sendmail-milter") }
        var r = SendmailReject(action: "milter-reject", ruleset: "milter")
        let p = s.smReply((rj + 9)..<s.end)
        r.code = p.code; r.dsn = p.dsn; r.reason = s.string(p.text)
        if s.has("Milter: from=", at: i) {
            r.stage = "MAIL"; r.sender = s.string(s.smAddress((i + 13)..<rj))
        } else if s.has("Milter: to=", at: i) {
            r.stage = "RCPT"; r.recipient = s.string(s.smAddress((i + 11)..<rj))
        } else if s.has("Milter: data", at: i) {
            r.stage = "END-OF-MESSAGE"
        } else if s.has("Milter: connect", at: i) || s.has("Milter: connect:", at: i) {
            r.stage = "CONNECT"
            var host: String?, addr: String?
            s.smFields(from: (s.find("host=", from: i) ?? rj), to: rj) { k, v in
                if s.equals(k, "host") { host = s.string(v) } else if s.equals(k, "addr") { addr = s.smIP(v) }
            }
            r.client = Peer(name: host, ip: addr)
        } else if s.has("milter=", at: i) {
            s.smFields(from: i, to: rj) { k, v in
                if s.equals(k, "milter") { r.ruleset = "milter=" + s.string(v) }
                else if s.equals(k, "action") { r.stage = stage(s, v) }
            }
        } else {
            return .ignored(category: "sendmail-milter")
        }
        return .sendmail(ctx, .reject(queueID: s.string(qid), r))
    }

    /// `QID: <addr>... TEXT`: the reply sendmail gave for an address (e.g. `User unknown` at RCPT).
    static func addressRefusal(_ s: ByteScanner, qid: Range<Int>, at i: Int, _ ctx: LineContext) -> ParseOutcome? {
        guard let dots = s.find(">... ", from: i) else { return nil }
        let addr = (i + 1)..<dots
        let text = (dots + 5)..<s.end
        let p = s.smReply(text)
        let r = SendmailReject(action: "reject", recipient: s.string(addr), code: p.code, dsn: p.dsn,
                               reason: s.string(p.text))
        return .sendmail(ctx, .reject(queueID: s.string(qid), r))
    }

    // MARK: TLS / AUTH

    static func tls(_ s: ByteScanner, at i: Int, _ ctx: LineContext, _ c: inout StringCache) -> ParseOutcome {
        let dir: TLSDirection
        if s.has("STARTTLS=server, relay=", at: i) { dir = .inbound }
        else if s.has("STARTTLS=client, relay=", at: i) { dir = .outbound }
        else { return .ignored(category: "sendmail-tls-error") }
        var peer = Peer()
        var info = TLSInfo()
        var verify: String?
        s.smFields(from: i + 17, to: s.end) { k, v in
            if s.equals(k, "relay") { peer = s.smRelay(v) { s.cached($0, &c) }.peer }
            else if s.equals(k, "version") { info.proto = s.cached(v, &c) }
            else if s.equals(k, "verify") { verify = s.cached(v, &c) }
            else if s.equals(k, "cipher") { info.cipher = s.cached(v, &c) }
            else if s.equals(k, "bits") {
                let slash = s.find(Byte.slash, from: v.lowerBound, to: v.upperBound) ?? v.upperBound
                info.bits = s.int(v.lowerBound..<slash)
            }
        }
        guard info.proto != nil || info.cipher != nil else { return .ignored(category: "sendmail-tls-error") }
        info.trust = verify.map(trustWord)
        return .sendmail(ctx, .tls(direction: dir, peer: peer, info: info, verify: verify))
    }

    /// Sendmail's `verify=` in Postfix's trust words (TLSInfo.trust): TRUSTED (DANE) → Verified,
    /// OK → Trusted, NO/NOT/NONE (no certificate asked or given) → Anonymous, other failures → Untrusted.
    static func trustWord(_ v: String) -> String {
        switch v {
        case "TRUSTED": return "Verified"
        case "OK": return "Trusted"
        case "NO", "NOT", "NONE": return "Anonymous"
        default: return "Untrusted"
        }
    }

    static func auth(_ s: ByteScanner, at i: Int, _ ctx: LineContext, _ c: inout StringCache) -> ParseOutcome {
        guard s.has("AUTH=server, ", at: i) else { return .ignored(category: "sendmail-auth") }
        var peer = Peer()
        var authid: String?
        var mech: String?
        s.smFields(from: i + 13, to: s.end) { k, v in
            if s.equals(k, "relay") { peer = s.smRelay(v) { s.cached($0, &c) }.peer }
            else if s.equals(k, "authid") { authid = s.cached(v, &c) }
            else if s.equals(k, "mech") { mech = s.cached(v, &c) }
        }
        guard let authid, let mech else { return .unparsed(reason: "AUTH=server line without authid= or mech=") }
        return .sendmail(ctx, .auth(peer: peer, authid: authid, mechanism: mech))
    }
}
