// SendmailFromTextRegionTests: a `from=` line's values are kept as one copy of the line's bytes
// from the first value to the last, each value an offset and a length in `FromText`'s header
// (a rewritten IPv6 address, not in the line, makes the values be copied back to back).
// Contract tested: real log lines through the real parser (`LineParser.next`, the span form)
// give transactions whose values read back as the Strings of the same lines' events
// (`LineParser.parse`), and clones made of them (which copy the origin's Message-ID, sender,
// client, proto and local user from `FromText`) give the same rows both ways, with exact values:
// an IPv4 relay with a name, a `user@` local submission, a null sender, an IPv6 relay, a line
// without a Message-ID, and non-ASCII and invalid UTF-8 values (then the repaired String).
// Limits: listed lines, not generated ones.
import Testing
import MailTrailModel
import SyslogFraming
import MTAParsing
@testable import Correlation

@Suite struct SendmailFromTextRegionTests {
    static let lines: [[UInt8]] = [
        "Mar  1 00:00:38 mx2 sm-mta[14003]: 42100cUt014003: from=<brandon.garcia@example.com>, size=11263, class=0, nrcpts=1, msgid=<000001c294c6$2a567ce4$@example.com>, bodytype=8BITMIME, proto=ESMTP, daemon=MTA-v4, relay=smtp1.example.com [10.1.9.15]",
        "Mar  1 00:00:39 mx2 sendmail[2001]: 42100dAa002001: from=alice, size=320, class=0, nrcpts=1, msgid=<m2@mx2.example.org>, relay=alice@localhost",
        "Mar  1 00:00:40 mx2 sm-mta[14010]: 42100eBb014010: from=<>, size=2001, class=0, nrcpts=1, msgid=<bounce-1@example.net>, proto=ESMTP, daemon=MTA-v6, relay=mail6.example.net [IPv6:2001:db8::25]",
        "Mar  1 00:00:41 mx2 sm-mta[14011]: 42100fCc014011: from=<carol@example.org>, size=77, class=0, nrcpts=1, proto=SMTP, daemon=MTA-v4, relay=[192.0.2.44]",
        "Mar  1 00:00:42 mx2 sm-mta[14012]: 42100gDd014012: from=<j\u{FC}rgen@example.de>, size=10, class=0, nrcpts=1, msgid=<gr\u{FC}\u{DF}@example.de>, proto=ESMTP, daemon=MTA-v4, relay=mx.example.de [192.0.2.77]",
    ].map { Array($0.utf8) } + [
        Array("Mar  1 00:00:43 mx2 sm-mta[14013]: 42100hEe014013: from=<i".utf8) + [0xFF, 0xC3]
            + Array("@example.com>, size=10, class=0, nrcpts=1, msgid=<x@example.com>, proto=ESMTP, daemon=MTA-v4, relay=mx.example.com [192.0.2.99]".utf8),
    ]
    static let ids = ["42100cUt014003", "42100dAa002001", "42100eBb014010", "42100fCc014011", "42100gDd014012", "42100hEe014013"]

    static func parser() -> LineParser {
        LineParser(format: .sendmail, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2026,
                                                             referenceDate: CivilDate(year: 2026, month: 3, day: 31)))
    }

    /// The rows of `lines`, then of one clone of each transaction, through the span form and the event form.
    static func rows() -> (line: CorrelatorOutput, event: CorrelatorOutput, counts: (Int, Int)) {
        var pa = parser(), pb = parser()
        var ca = HostCorrelator(host: "mx2"), cb = HostCorrelator(host: "mx2")
        var oa = CorrelatorOutput(), ob = CorrelatorOutput()
        var na = 0, nb = 0
        for bytes in lines {
            bytes.withUnsafeBufferPointer { buf in
                if case .sendmail = pa.next(buf, offset: 0, truncated: false) {
                    na += 1
                    let line = pa.sendmailLine
                    pa.framer.withContext { ca.receive($0, line, into: &oa) }
                }
                if case .sendmail(let ctx, let e) = pb.parse(buf, offset: 0) {
                    nb += 1
                    cb.receive(ctx, e, into: &ob)
                }
            }
        }
        let ctx = LineContext(time: Timestamp(seconds: 1_772_323_300), host: "mx2", instance: "", program: "sm-mta", pid: 9)
        for (k, id) in ids.enumerated() {
            let clone = String(id.prefix(7)) + "Z" + String(id.dropFirst(8))
            #expect(clone != id, "\(k)")
            ca.receive(ctx, .clone(queueID: id, newQueueID: clone, owner: nil), into: &oa)
            cb.receive(ctx, .clone(queueID: id, newQueueID: clone, owner: nil), into: &ob)
        }
        ca.flushHeld(into: &oa); cb.flushHeld(into: &ob)
        return (oa, ob, (na, nb))
    }

    @Test func valuesReadBackAsTheEventsStrings() {
        let (a, b, counts) = Self.rows()
        #expect(counts.0 == Self.lines.count && counts.1 == Self.lines.count)
        #expect(a.messages.count == 12)
        #expect(Array(a.messages) == Array(b.messages))
        let clones = Array(a.messages).filter { $0.originQueueID != nil }
        #expect(clones.map(\.originQueueID) == Self.ids)
        #expect(clones.map(\.sender) == ["brandon.garcia@example.com", "alice", "", "carol@example.org",
                                          "j\u{FC}rgen@example.de", "i\u{FFFD}\u{FFFD}@example.com"])
        #expect(clones.map(\.messageID) == ["000001c294c6$2a567ce4$@example.com", "m2@mx2.example.org", "bounce-1@example.net",
                                             nil, "gr\u{FC}\u{DF}@example.de", "x@example.com"])
        #expect(clones.map(\.client) == [Peer(name: "smtp1.example.com", ip: "10.1.9.15"), Peer(name: "localhost"),
                                          Peer(name: "mail6.example.net", ip: "2001:db8::25"), Peer(ip: "192.0.2.44"),
                                          Peer(name: "mx.example.de", ip: "192.0.2.77"), Peer(name: "mx.example.com", ip: "192.0.2.99")])
        #expect(clones.map(\.proto) == ["ESMTP", nil, "ESMTP", "SMTP", "ESMTP", "ESMTP"])
        #expect(clones.map(\.localUser) == [nil, "alice", nil, nil, nil, nil])
    }
}
