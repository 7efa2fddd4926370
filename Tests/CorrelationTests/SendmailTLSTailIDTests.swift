// SendmailTLSTailIDTests: the Sendmail correlator takes a `STARTTLS=` line's `TLSInfo` by the
// number the parser's tail memo gave the line's tail bytes (`tlsTailID`, `SendmailIDMemo`) instead
// of by the bytes (`SendmailMemo`). The memo by number returns what `make` returns for the number
// (hits, misses, colliding numbers, 0, after a copy), and transcripts of STARTTLS=server and
// `from=` lines fed with the parser's numbers give exactly the rows (TLS facts included) the same
// lines give with no number, for listed and seeded random tails, more than the memo keeps and
// with numbers chosen to collide.
// Limits: span lines built here (the parser's numbering is tested in SendmailTLSTailMemoTests).

import Testing
@testable import Correlation
import MailTrailModel

@Suite struct SendmailTLSTailIDTests {
    @Test func memoValuesFollowTheNumbers() {
        var memo = SendmailIDMemo<String>(bits: 2)        // 4 entries: collisions are certain
        var made = 0
        var rng = SplitMix64(seed: 11)
        for _ in 0..<3_000 {
            let id = [0, 1, 2, 5, 9, 1 << 40, (1 << 40) + 1, 13][Int(rng.next() % 8)] as UInt64
            let v = memo.value(forID: id) { made += 1; return "v\(id)" }
            #expect(v == "v\(id)")
        }
        #expect(made > 0 && made < 3_000)
        // A hit makes nothing; 0 is never kept.
        made = 0
        _ = memo.value(forID: 77) { made += 1; return "v77" }
        _ = memo.value(forID: 77) { made += 1; return "v77" }
        _ = memo.value(forID: 0) { made += 1; return "v0" }
        _ = memo.value(forID: 0) { made += 1; return "v0" }
        #expect(made == 3)
        // A copy that writes starts its own buffer: the original keeps its value.
        var copy = memo
        _ = copy.value(forID: 81) { "other" }             // 81 & 3 == 77 & 3: replaces in the copy only
        #expect(memo.value(forID: 77) { "made again" } == "v77")
        #expect(copy.value(forID: 81) { "made again" } == "other")
    }

    /// Feeds a STARTTLS=server line (tail `tail`, number `id`) and a `from=` line of one process;
    /// returns the message row.
    static func row(_ m: inout SendmailCorrelator, at s: Int64, pid: Int32, tail: (String?, String?, Int?, String?),
                    id: UInt64) -> MessageRecord? {
        var out = CorrelatorOutput()
        // The lines as the parser hands them on (`SendmailSessionReuseTests.feed`), without shared caches.
        func feed(_ fill: (SendmailLine, (String?) -> Span) -> Void) {
            SendmailSessionReuseTests.feed(&m, &out, at: s, pid: pid, sharedStrings: false, fill)
        }
        feed { line, add in
            line.beginTLS(direction: .inbound)
            var r = RelaySpans()
            r.name = add("client.example"); r.ip = add("192.0.2.\(pid % 250)")
            line.setRelay(r, ipText: nil)
            // The tail's bytes as the parser lays them out: version first, the key from it to the end.
            // (all four facts in the key's bytes, so equal bytes mean an equal TLSInfo).
            line.f.tlsProto = add(tail.0 ?? "")
            line.f.verify = add(tail.1); line.f.cipher = add(tail.3); line.f.bits = tail.2
            let end = add("/\(String(describing: tail.2))")
            line.f.tlsKey = Span(lo: line.f.tlsProto.lo, hi: end.hi)
            line.f.tlsTailID = id
        }
        feed { line, add in
            line.beginFrom(queueID: add("5058C1xA0\(String(pid + 10_000))"))
            line.f.sender = add("alice@example.org"); line.f.size = 10; line.f.nrcpts = 1
            line.f.proto = add("ESMTPS")
            var r = RelaySpans()
            r.name = add("client.example"); r.ip = add("192.0.2.\(pid % 250)")
            line.setRelay(r, ipText: nil)
        }
        return out.messages.first
    }

    @Test func rowsByNumberAreRowsByBytes() {
        var tails: [(String?, String?, Int?, String?)] = [
            ("TLSv1.3", "NO", 256, "TLS_AES_256_GCM_SHA384"), ("TLSv1.2", "OK", 256, "ECDHE-RSA-AES256-GCM-SHA384"),
            ("TLSv1.3", "FAIL", 128, "TLS_AES_128_GCM_SHA256"), ("TLSv1.3", "TRUSTED", nil, "X"),
            ("TLSv1", "NONE", 0, "AES128-SHA"), ("", "NO", 1, "C"), ("TLSv1.3", nil, 256, "TLS_AES_256_GCM_SHA384"),
        ]
        var rng = SplitMix64(seed: 23)
        for k in 0..<90 {
            tails.append(("TLSv1.\(k % 4)", ["NO", "OK", "FAIL", "NOT"][k % 4], Int(rng.next() % 512),
                          "CIPHER-\(rng.next() % 1_000)"))
        }
        // One number per distinct tail, as the parser gives them; the numbers' low bits collide.
        var byID = SendmailCorrelator(host: "mx2"), byBytes = SendmailCorrelator(host: "mx2")
        var wrong: [String] = []
        for step in 0..<600 {
            let k = Int(rng.next() % UInt64(tails.count))
            let id = UInt64(k + 1) << 6 | UInt64(k % 3)
            let pid = Int32(1_000 + step)
            let a = Self.row(&byID, at: Int64(step), pid: pid, tail: tails[k], id: id)
            let b = Self.row(&byBytes, at: Int64(step), pid: pid, tail: tails[k], id: 0)
            if a != b || a == nil { wrong.append("\(tails[k]): \(String(describing: a?.tls)) != \(String(describing: b?.tls))") }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(3))")
    }
}
