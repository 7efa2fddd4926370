// PostfixTLSScanTests: the TLS-summary shortcut (` with cipher ` and ` (` tested at the first
// space after the protocol and after the cipher before any search) against the definition, the
// first occurrence of each literal: on listed shapes and on seeded random texts after a fixed
// `... established from PEER: ` prefix, built from pieces that put spaces, parentheses and the
// literals themselves in odd places; and the queue-ID byte-class table (a literal) against
// the definition it tabulates, for all 256 bytes.
// Limits: inbound `from` lines only (the direction does not change the scan); bits not checked.

import Testing
import MailTrailModel
@testable import MTAParsing

@Suite struct PostfixTLSScanTests {
    static let prefix = "Anonymous TLS connection established from mail.example.org[192.0.2.5]: "
    static let ctx = LineContext(time: Timestamp(seconds: 0), host: "h", instance: "postfix", program: "smtpd", pid: 1)

    /// proto and cipher by the definition (first occurrences), or nil when the line has no cipher.
    static func expected(_ rest: String) -> (String, String)? {
        let b = Array(rest.utf8)
        func first(_ lit: String, from: Int) -> Int? {
            let l = Array(lit.utf8)
            guard b.count >= l.count else { return nil }
            var i = from
            while i + l.count <= b.count { if Array(b[i..<(i + l.count)]) == l { return i }; i += 1 }
            return nil
        }
        guard let w = first(" with cipher ", from: 0) else { return nil }
        let c = w + 13
        let e = first(" (", from: c) ?? b.count
        return (String(decoding: b[0..<w], as: UTF8.self), String(decoding: b[c..<max(c, e)], as: UTF8.self))
    }

    static func parsed(_ rest: String) -> (String, String)? {
        var parser = PostfixParser()
        let body = Array((prefix + rest).utf8)
        let outcome = body.withUnsafeBufferPointer { parser.parse(body: $0, context: ctx) }
        guard case .postfix(_, .tls(_, _, let info)) = outcome else { return nil }
        return (info.proto ?? "", info.cipher ?? "")
    }

    static func same(_ a: (String, String)?, _ b: (String, String)?) -> Bool { a?.0 == b?.0 && a?.1 == b?.1 }

    @Test func listedShapes() {
        let rests = [
            "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
            "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384",
            "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 x (256/256 bits)",
            "TLS v1.3 with cipher C (1 bits)",
            "TLSv1.3  with cipher C (1 bits)",
            "TLSv1.3 with cipher  (1 bits)",
            "TLSv1.3 with cipher C  (1 bits)",
            "TLSv1.3 with ciphers X with cipher C (1 bits)",
            "TLSv1.3 with cipher C ( with cipher D (2 bits)",
            "TLSv1.3 without cipher",
            " with cipher C (1)",
        ]
        for rest in rests { #expect(Self.same(Self.parsed(rest), Self.expected(rest)), "\(rest)") }
    }

    @Test func randomTexts() {
        let pieces = ["TLSv1.3", " ", "with", " with cipher ", "cipher", "(", " (", "X", "AES-256", "1/1 bits)", "  "]
        var rng = SplitMix64(seed: 71)
        var wrong: [String] = []
        for _ in 0..<20_000 {
            let rest = (0..<Int(rng.next() % 9)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
            if !Self.same(Self.parsed(rest), Self.expected(rest)) { wrong.append(rest) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func queueIDClassTableIsItsDefinition() {
        let t = PostfixParser.idClass
        for b in 0..<256 { #expect(t[b] == PostfixParser.idClassOf(UInt8(b)), "byte \(b)") }
    }
}
