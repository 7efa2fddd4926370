// SendmailRulesetTests: the `ruleset=` reader, which fills a `SendmailLine` of kind `ruleset`
// (spans), against the String reader it replaced (`plainRuleset` below, the definition): the
// parser's String API (`SendmailParser.parse(body:context:)`, the line turned into its event)
// must give the same `ParseOutcome` for every `ruleset=` form of the Sendmail corpus and the
// parser tests, malformed variants (missing fields, empty values, `reject=` without a code,
// quoted and bracketed values, IPv6 relays, non-ASCII), each without a queue ID, after
// `NOQUEUE: ` and after a queue ID, and on seeded random texts and byte mutations.
// Limits: generated forms only (seeded, deterministic), not a fuzzer.

import Testing
@testable import MTAParsing
import MailTrailModel

@Suite struct SendmailRulesetTests {
    /// The `ruleset=` reader as it was: Strings into a `SendmailReject` (the definition).
    static func plainRuleset(_ s: ByteScanner, at i: Int, qid: Range<Int>?, _ ctx: LineContext) -> ParseOutcome {
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
        r.stage = SendmailParser.stage(s, rs)
        if let a1 {
            if s.equals(rs, "check_mail") { r.sender = s.string(s.smAddress(a1)) }
            else if s.equals(rs, "check_rcpt") || s.equals(rs, "tls_rcpt") { r.recipient = s.string(s.smAddress(a1)) }
        }
        return .sendmail(ctx, .reject(queueID: qid.map(s.string), r))
    }

    static let ctx = LineContext(time: Timestamp(seconds: 1_763_600_000), host: "mx2", instance: "", program: "sm-mta",
                                 pid: 4720)

    /// The outcome of `prefix + text` by the parser and by `plainRuleset` (text starts with `ruleset=`).
    static func outcomes(_ prefix: String, _ text: [UInt8]) -> (ParseOutcome, ParseOutcome) {
        let bytes = Array(prefix.utf8) + text
        return bytes.withUnsafeBufferPointer { buf in
            var parser = SendmailParser()
            let fast = parser.parse(body: buf, context: ctx)
            let s = ByteScanner(buf)
            let qid: Range<Int>? = prefix.isEmpty || prefix == "NOQUEUE: " ? nil : 0..<(prefix.utf8.count - 2)
            return (fast, plainRuleset(s, at: prefix.utf8.count, qid: qid, ctx))
        }
    }

    static let prefixes = ["", "NOQUEUE: ", "6AK962xB004720: "]

    /// Every `ruleset=` text of the Sendmail corpus (as of this test) and of the parser tests, then
    /// malformed and unusual forms.
    static let texts = [
        "ruleset=check_rcpt, arg1=<fwipada@dakkitydak.fap>, relay=mx2.laboris.fr [123.456.789.1], reject=553 5.1.8 <fwipada@dakkitydak.fap>... Domain of sender address antoine@infirmiers.co does not exist",
        "ruleset=check_relay, arg1=c-76-102-185-118.hsd1.ca.comcast.net, arg2=76.102.185.118, relay=c-76-102-185-118.hsd1.ca.comcast.net [76.102.185.118], reject=421 4.3.2 Connection rate limit exceeded.",
        "ruleset=check_mail, arg1=<spam@bad.example>, relay=[192.0.2.99], discard",
        "ruleset=tls_server, arg1=SOFTWARE, relay=goransoncpa-com.mail.eo.outlook.com, reject=403 4.7.0 TLS handshake failed.",
        "ruleset=check_relay, arg1=leased-line-54-82.telecom.by, arg2=217.21.54.82, relay=leased-line-54-82.telecom.by [217.21.54.82], reject=421 4.3.2 Connection rate limit exceeded.",
        "ruleset=check_relay, arg1=[196.213.73.146], arg2=196.213.73.146, relay=[196.213.73.146], reject=421 4.3.2 Connection rate limit exceeded.",
        "ruleset=check_relay, arg1=[192.0.2.123], arg2=192.0.2.123, relay=host.example.com [192.0.2.123] (may be forged), reject=421 4.3.2 Connection rate limit exceeded.",
        "ruleset=check_relay, arg1=[184.21.104.253], arg2=184.21.104.253, relay=[184.21.104.253], reject=421 4.3.2 Too many open connections.",
        "ruleset=check_rcpt, arg1=<user@host.com>, relay=[203.229.186.250], reject=550 5.7.1 <user@host.com>... Rejected: IP in Barracuda RBL, see: http://www.barracudacentral.org/reputation?ip=203.229.186.250",
        "ruleset=check_rcpt, arg1=<spameri@tiscali.it>, relay=[45.125.66.67], reject=450 4.4.0 <spameri@tiscali.it>... Relaying temporarily denied. Cannot resolve PTR record for 45.125.66.67",
        "ruleset=check_rcpt, arg1=<existing-user@example.com>, relay=[192.0.2.100] (may be forged), reject=451 4.1.8 Domain of sender address test.whatever@service.example.com does not resolve",
        "ruleset=check_rcpt, arg1=<dautareuk2@hotmail.it>, relay=int0.client.access.azadnet.net [80.253.155.119] (may be forged), reject=550 5.7.1 <dautareuk2@hotmail.it>... Relaying denied. IP name possibly forged [80.253.155.119]",
        "ruleset=check_rcpt, arg1=<someone@elsewhere.example>, relay=[203.0.113.77], reject=550 5.7.1 <someone@elsewhere.example>... Relaying denied",
        "ruleset=check_relay, arg1=[123.253.97.158], arg2=127.0.0.2, relay=[123.253.97.158], reject=554 5.7.1 Rejected 123.253.97.158 found in zen.spamhaus.org",
        "ruleset=check_rcpt, arg1=<sofia@example.org>, relay=[52.167.145.135], reject=550 5.1.1 <sofia@example.org>... User unknown",
        // missing or empty fields, other actions
        "ruleset=check_rcpt", "ruleset=", "ruleset=check_rcpt, reject=", "ruleset=check_rcpt, arg1=, reject=550",
        "ruleset=check_rcpt, arg1=<>, relay=, reject=550 5.7.1", "ruleset=check_mail, arg1=, discard",
        "ruleset=check_mail, arg1=<a@b>, relay=[1.2.3.4]", "ruleset=check_rcpt, arg1=<a@b>, relay=[1.2.3.4], Discard",
        "ruleset=check_rcpt, arg1=<a@b>, quarantine=held for review", "ruleset=check_rcpt, quarantine=q, discard",
        "ruleset=check_rcpt, quarantine=q, reject=550 5.7.1 no", "ruleset=check_rcpt, quarantine=",
        "ruleset=check_rcpt, arg1=<a@b>, relay=[1.2.3.4], reject=no code here", "ruleset=check_rcpt, reject=55 5.7.1 x",
        "ruleset=check_rcpt, reject=5500 x", "ruleset=check_rcpt, reject=550", "ruleset=check_rcpt, reject=550 ",
        "ruleset=check_rcpt, reject=550 5.7 x", "ruleset=check_rcpt, reject=550 5.7.1", "ruleset=check_rcpt, reject=5.7.1 x",
        "ruleset=check_rcpt, reject=550 5.7.1.1 x", "ruleset=check_rcpt, reject=550 5.a.1 x",
        // every stage mapping, and unknown rulesets (the name is the stage)
        "ruleset=check_compat, arg1=<a@b>, reject=550 x", "ruleset=tls_rcpt, arg1=<a@b>, reject=403 4.7.0 x",
        "ruleset=check_eoh, reject=550 x", "ruleset=check_eom, reject=550 x", "ruleset=check_data, reject=550 x",
        "ruleset=tls_client, reject=403 x", "ruleset=check_helo, reject=550 x", "ruleset=check_etrn, reject=550 x",
        "ruleset=check_expn, reject=550 x", "ruleset=check_vrfy, reject=550 x", "ruleset=Local_check_rcpt, reject=550 x",
        "ruleset=my_ruleset_with_a_long_name, arg1=<a@b>, reject=550 x", "ruleset=Check_Rcpt, arg1=<a@b>, reject=550 x",
        "ruleset=rcpt, reject=550 x", "ruleset=connect, reject=550 x", "ruleset=envfrom, arg1=<a@b>, reject=550 x",
        // repeated keys (the last wins), unknown keys, odd values
        "ruleset=check_mail, ruleset=check_rcpt, arg1=<a@b>, arg1=<c@d>, arg2=x, arg2=y, reject=550 z",
        "ruleset=check_rcpt, arg1=<a@b>, relay=[1.2.3.4], relay=name.example, reject=550 z",
        "ruleset=check_rcpt, arg1=<a@b>, relay=[IPv6:2001:db8::1], reject=550 z",
        "ruleset=check_relay, arg1=[IPv6:2001:db8:0:0:0:0:0:1], arg2=x, relay=h.example [IPv6:2001:db8:0:0:0:0:0:1], reject=421 y",
        "ruleset=check_relay, relay=[IPv6:::ffff:192.0.2.1], reject=421 y",
        "ruleset=check_relay, relay=[IPv6:2001:db8::1], relay=[IPv6:zz:zz], reject=421 y",
        "ruleset=check_relay, relay=[999.1.1.1], reject=421 y", "ruleset=check_relay, relay=[], reject=421 y",
        "ruleset=check_relay, relay=user@host.example. [10.0.0.1], reject=421 y", "ruleset=check_relay, relay=@ [1.2.3.4], reject=421 y",
        "ruleset=check_rcpt, arg1=\"quoted, arg2=inside\"@b.example, reject=550 x",
        "ruleset=check_rcpt, arg1=<\"q, r\"@b.example>, relay=[10.1.1.1], reject=550 x",
        "ruleset=check_rcpt, arg1=<a@b, reject=550 x", "ruleset=check_rcpt, arg1=a@b>, reject=550 x",
        "ruleset=check_rcpt, arg1=<a@[192.0.2.1]>, relay=[192.0.2.1], reject=550 x",
        "ruleset=check_rcpt, arg1=<jürgen@exämple.de>, relay=mäil.example [10.0.0.2], reject=550 5.1.1 <jürgen@exämple.de>... Benutzer unbekannt",
        "ruleset=check_mail, arg1=<\u{FF}@b>, relay=h\u{FE} [10.0.0.3], reject=553 5.1.8 \u{1F600}",
        "ruleset=check_rcpt,arg1=<a@b>,reject=550 x", "ruleset=check_rcpt , arg1=<a@b>, reject=550 x",
        "ruleset=check_rcpt, arg1=<a@b>, Reject=550 x", "ruleset=check_rcpt, arg1=<a@b>, reject=550 x, relay=[1.2.3.4]",
    ]

    @Test func listedLinesAgreeWithStringReader() {
        var wrong: [String] = []
        var events = 0
        for p in Self.prefixes {
            for t in Self.texts {
                let (fast, plain) = Self.outcomes(p, Array(t.utf8))
                if fast != plain { wrong.append("\(p)\(t): \(fast) != \(plain)") }
                if case .sendmail = fast { events += 1 }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
        #expect(events == 3 * 68)     // the other 6 texts are unparsed, by both readers alike
        // Invalid UTF-8 (not expressible in a Swift string literal above).
        for p in Self.prefixes {
            let t = Array("ruleset=check_rcpt, arg1=<".utf8) + [0xC3, 0x28, 0xFF] + Array("@b>, relay=h".utf8) + [0xE2, 0x82]
                + Array(" [10.0.0.4], reject=550 5.7.1 ".utf8) + [0x80, 0xC0]
            let (fast, plain) = Self.outcomes(p, t)
            #expect(fast == plain)
        }
    }

    @Test func randomTextsAndMutationsAgreeWithStringReader() {
        var rng = SplitMix64(seed: 2026)
        var wrong: [String] = []
        var n = 0
        func check(_ text: [UInt8]) {
            let p = Self.prefixes[Int(rng.next() % 3)]
            let (fast, plain) = Self.outcomes(p, text)
            if fast != plain { wrong.append("\(p)\(String(decoding: text, as: UTF8.self))") }
            n += 1
        }
        // Texts built from field pieces.
        let keys = ["ruleset=", "arg1=", "arg2=", "relay=", "reject=", "quarantine=", "discard", "x=", ""]
        let values = ["check_rcpt", "check_mail", "check_relay", "tls_rcpt", "other", "<a@b.example>", "<>", "",
                      "[192.0.2.1]", "name.example [10.0.0.1]", "[IPv6:2001:db8::2]", "550 5.7.1 text", "421",
                      "4.7.0 x", "(may be forged)", "\"q, r=s\"", "ü", ", ", " "]
        for _ in 0..<10_000 {
            var t = "ruleset=" + values[Int(rng.next() % UInt64(values.count))]
            for _ in 0..<Int(rng.next() % 6) {
                t += ", " + keys[Int(rng.next() % UInt64(keys.count))] + values[Int(rng.next() % UInt64(values.count))]
            }
            check(Array(t.utf8))
        }
        // Byte mutations of the listed texts after `ruleset=`: replaced, inserted and deleted bytes.
        let alphabet: [UInt8] = Array(",, ==<>[]()\":.@5a_0".utf8) + [0xC3, 0xA9, 0xFF, 0x80]
        for _ in 0..<10_000 {
            var t = Array(Self.texts[Int(rng.next() % UInt64(Self.texts.count))].utf8)
            for _ in 0..<(1 + Int(rng.next() % 4)) where t.count > 8 {
                let at = 8 + Int(rng.next() % UInt64(t.count - 8))
                let b = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                switch rng.next() % 3 {
                case 0: t[at] = b
                case 1: t.insert(b, at: at)
                default: t.remove(at: at)
                }
            }
            check(t)
        }
        #expect(n == 20_000)
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }

    /// A `ruleset=` line is a span line of kind `ruleset` (no String event made for it).
    @Test func rulesetLineIsASpanLine() {
        let body = Array("6AK962xB004720: ruleset=check_rcpt, arg1=<a@b.example>, relay=[203.0.113.77], reject=550 5.7.1 <a@b.example>... Relaying denied".utf8)
        body.withUnsafeBufferPointer { buf in
            var parser = SendmailParser()
            let buffer = SendmailLineBuffer()
            #expect(parser.parse(body: buf, context: Self.ctx, into: buffer) == .event)
            let line = buffer.line
            #expect(line.kind == .ruleset)
            #expect(line.f.event == nil)
            let b = line.bytes
            #expect(b.string(line.f.queueID) == "6AK962xB004720")
            #expect(b.string(line.f.recipient) == "a@b.example")
            #expect(line.f.sender.isAbsent && line.f.arg2.isAbsent)
            #expect(b.string(line.f.code) == "550" && b.string(line.f.dsn) == "5.7.1")
            #expect(b.string(line.f.reason) == "<a@b.example>... Relaying denied")
            #expect(b.string(line.f.relay.ip) == "203.0.113.77" && line.f.relay.name.isAbsent)
            #expect(line.f.stage == .rcpt && line.f.rulesetAction == .reject)
        }
    }
}
