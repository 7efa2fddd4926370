// PostfixCostParsingTests: the fast paths of round 8 in the Postfix parse path against the
// general forms they shortcut, on exact values — `RemoteQueueID.queuedAsAtEnd` (a reply that
// ends with `queued as ID`) against the one-pass scan `extractRange`, and its byte table
// against the ID-byte rule.
// Limits: fixed tables and generated combinations (deterministic), not a fuzzer.

import Testing
@testable import MTAParsing

@Suite struct PostfixCostParsingTests {
    /// Where the suffix test answers, the scan gives the same range (so the parser's
    /// `queuedAsAtEnd ?? extractRange` is `extractRange`).
    static func agree(_ text: String) -> [String] {
        diffsOnNearEndSubranges(text) { s, r in
            let scan = RemoteQueueID.extractRange(s, r)
            if let fast = RemoteQueueID.queuedAsAtEnd(s, r), fast != scan { return "fast " }
            return (RemoteQueueID.queuedAsAtEnd(s, r) ?? scan) != scan ? "composed " : nil
        }
    }

    @Test func queuedAsAtEndIsTheScanOnListedReplies() {
        let replies = [
            "250 2.0.0 Ok: queued as 39E0117FDDB", "250 2.0.0 Ok: queued as 4Xy-Z_1.", "queued as X", "queued as .",
            "queued as ..", "queued as ", "queued as", " queued as X", "requeued as X", "queued  as X",
            "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 5F2A1C0D3E",
            "250 2.0.0 Ok: 1234 bytes queued as 3mLQ", "queued as A queued as B", "queued as X Message",
            "queued as MX", "Ok: queued as X forwarded as Y", "forwarded as Y", "delivered to maildir", "",
            "queued as X;", "queued as X)", "queued as \u{E9}", "queued as caf\u{E9}", "OK id=Y queued as Z",
        ]
        var hits = 0
        for r in replies {
            #expect(Self.agree(r) == [])
            var copy = r
            if copy.withUTF8({ RemoteQueueID.queuedAsAtEnd(ByteScanner($0), 0..<$0.count) }) != nil { hits += 1 }
        }
        #expect(hits == 10)
        var reply = "250 2.0.0 Ok: queued as 39E0117FDDB"
        #expect(reply.withUTF8 { RemoteQueueID.queuedAsAtEnd(ByteScanner($0), 0..<$0.count) } == 24..<35)
    }

    @Test func queuedAsAtEndIsTheScanOnCombinations() {
        let pieces = ["queued as ", "forwarded as ", "OK id=", " Message accepted for delivery", "X", "a.b", "..",
                      " ", "!", "d", "as ", "ued as ", "M"]
        var diffs: [String] = []
        for p in pieces { for q in pieces { for r in pieces { diffs += Self.agree(p + q + r) } } }
        #expect(diffs == [])
    }

    @Test func idByteTableIsTheRule() {
        for b in 0...255 {
            let u = UInt8(b)
            let rule = Byte.isAlnum(u) || u == Byte.dot || u == Byte.minus || u == Byte.underscore
            #expect((RemoteQueueID.idBytes[b] != 0) == rule, "byte \(b)")
        }
    }
}
