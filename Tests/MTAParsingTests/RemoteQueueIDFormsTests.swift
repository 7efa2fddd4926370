// RemoteQueueIDFormsTests: every response form `RemoteQueueID` recognises and
// its near misses, exact results; and the one-pass scan checked against the
// former five separate searches (kept here as the oracle) on the table and on
// generated combinations of the forms' pieces.
// Limits: the combinations are a fixed deterministic set, not a fuzzer.

import Testing
@testable import MTAParsing

struct RemoteIDForm: Sendable, CustomTestStringConvertible {
    var response: String; var id: String?
    var testDescription: String { response }
}

let remoteIDForms: [RemoteIDForm] = [
    // Postfix, last occurrence wins.
    .init(response: "250 2.0.0 Ok: queued as 4XyZ1", id: "4XyZ1"),
    .init(response: "Ok: queued as A queued as B", id: "B"),
    .init(response: "queued as X.", id: "X"),
    .init(response: "queued as X..", id: "X"),
    .init(response: "queued as abc_def-1.2;rest", id: "abc_def-1.2"),
    .init(response: "queued as  X", id: nil),                  // two spaces: empty token, nothing else
    .init(response: "queued as . OK id=Q", id: "Q"),           // empty token after dots falls through
    .init(response: "queued as X queued as ", id: nil),        // only the last is tried; no fallback to X
    .init(response: "queued as", id: nil),
    .init(response: "Queued as X", id: nil),                   // case matters
    .init(response: "requeued as X", id: "X"),                 // a substring, as the search found it
    .init(response: "queued  as X", id: nil),
    .init(response: "queued as\tX", id: nil),
    // local(8).
    .init(response: "forwarded as 3mLQ", id: "3mLQ"),
    .init(response: "forwarded as A forwarded as B", id: "B"),
    .init(response: "forwarded as ", id: nil),
    .init(response: "forwarded as X queued as Y", id: "Y"),    // queued as first
    .init(response: "queued as ! forwarded as F", id: "F"),
    .init(response: "Forwarded as X", id: nil),
    // Exim, first occurrence.
    .init(response: "250 OK id=1tUHfW-0004Sd-2k", id: "1tUHfW-0004Sd-2k"),
    .init(response: "OK id=A OK id=B", id: "A"),
    .init(response: "OK id= OK id=B", id: nil),                // only the first is tried
    .init(response: "OK id=", id: nil),
    .init(response: "OK  id=X", id: nil),
    .init(response: "ok id=X", id: nil),
    .init(response: "XOK id=Y", id: "Y"),
    .init(response: "OK id=Y queued as Z", id: "Z"),
    // Sendmail / OpenSMTPD.
    .init(response: "250 2.0.0 t5UI2nBt018923 Message accepted for delivery", id: "t5UI2nBt018923"),
    .init(response: "250 2.0.0 abc message accepted for delivery", id: "abc"),
    .init(response: "a message accepted for delivery b Message accepted for delivery", id: "b"),
    .init(response: "a Message accepted for delivery b Message accepted for delivery", id: "a"),
    .init(response: "Message accepted for delivery", id: nil),
    .init(response: " Message accepted for delivery", id: nil),
    .init(response: "x  Message accepted for delivery", id: nil),
    .init(response: "<a@b> Message accepted for delivery", id: nil),
    .init(response: "X Message accepted for deliver", id: nil),
    .init(response: "X Message accepted for deliveryX", id: "X"),
    .init(response: "X MESSAGE accepted for delivery", id: nil),
    .init(response: "OK id= X Message accepted for delivery", id: "X"),
    // Nothing.
    .init(response: "delivered to maildir", id: nil),
    .init(response: "delivered via dovecot service", id: nil),
    .init(response: "250 ok dirdel", id: nil),
    .init(response: "d as x", id: nil),
    .init(response: " ", id: nil),
    .init(response: "", id: nil),
]

/// The former implementation: five separate searches.
private func fiveSearches(_ s: ByteScanner, _ r: Range<Int>) -> Range<Int>? {
    func isIDByte(_ b: UInt8) -> Bool { Byte.isAlnum(b) || b == Byte.dot || b == Byte.minus || b == Byte.underscore }
    func token(_ i: Int, _ end: Int) -> Range<Int>? {
        var j = i
        while j < end && isIDByte(s[j]) { j += 1 }
        var k = j
        while k > i && s[k - 1] == Byte.dot { k -= 1 }
        return k > i ? i..<k : nil
    }
    if let i = s.findLast("queued as ", from: r.lowerBound, to: r.upperBound), let t = token(i + 10, r.upperBound) { return t }
    if let i = s.findLast("forwarded as ", from: r.lowerBound, to: r.upperBound), let t = token(i + 13, r.upperBound) { return t }
    if let i = s.find("OK id=", from: r.lowerBound, to: r.upperBound), let t = token(i + 6, r.upperBound) { return t }
    if let i = s.find(" Message accepted for delivery", from: r.lowerBound, to: r.upperBound)
        ?? s.find(" message accepted for delivery", from: r.lowerBound, to: r.upperBound) {
        var k = i
        while k > r.lowerBound && s[k - 1] != Byte.space { k -= 1 }
        guard k < i else { return nil }
        for j in k..<i where !isIDByte(s[j]) { return nil }
        return k..<i
    }
    return nil
}

/// The differences `check` reports on every sub-range `a..<b` of `text` with a, b within 3 of its
/// ends (nil: none), each suffixed with the text and the range.
func diffsOnNearEndSubranges(_ text: String, _ check: (ByteScanner, Range<Int>) -> String?) -> [String] {
    var copy = text
    return copy.withUTF8 { buf -> [String] in
        let s = ByteScanner(buf)
        var diffs: [String] = []
        for a in 0...min(3, s.end) {
            for b in max(a, s.end - 3)...s.end {
                if let d = check(s, a..<b) { diffs.append("\(d)\(text) [\(a)..<\(b)]") }
            }
        }
        return diffs
    }
}

/// Both implementations on `text`, on every sub-range with its ends within 3 of the text's.
private func compareOnSubranges(_ text: String) -> [String] {
    diffsOnNearEndSubranges(text) { s, r in RemoteQueueID.extractRange(s, r) != fiveSearches(s, r) ? "" : nil }
}

@Suite struct RemoteQueueIDFormsTests {
    @Test(arguments: remoteIDForms)
    func recognisesEachFormExactly(_ c: RemoteIDForm) {
        #expect(RemoteQueueID.extract(fromResponse: c.response) == c.id)
    }

    @Test func oneScanAgreesWithTheFiveSearchesOnTheTables() {
        for c in remoteIDForms { #expect(compareOnSubranges(c.response) == []) }
        for c in remoteIDCases { #expect(compareOnSubranges(c.response) == []) }
    }

    @Test func oneScanAgreesWithTheFiveSearchesOnCombinations() {
        let pieces = ["queued as ", "forwarded as ", "OK id=", " Message accepted for delivery",
                      " message accepted for delivery", "X", "a.b", "..", " ", "!", "d", "as ", "<x@y>", "ued as "]
        var checked = 0
        var diffs: [String] = []
        for p in pieces {
            for q in pieces {
                for r in pieces {
                    diffs += compareOnSubranges(p + q + r)
                    checked += 1
                }
            }
        }
        #expect(checked == 2744)
        #expect(diffs == [])
    }
}
