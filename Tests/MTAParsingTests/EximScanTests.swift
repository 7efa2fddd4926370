// EximScanTests: the shortcuts of the Exim field scanners against their plain forms, on
// edge cases and on seeded random inputs built from the bytes that matter (`=`, `*`,
// quotes, spaces, colons, brackets, high bytes):
// - `EximFields.nextField` (keys found by the `=` at their second or third byte, key bytes
//   by a bit mask; `escapeFree` only on quoted values without a backslash) against the
//   byte loop it replaced;
// - `EximFields.quickField` (the arrival and delivery loops' inline read of `K=value` and
//   `KK=value`) against `nextField` from every start index;
// - `EximFields.nextQueueIDRange` (an Exim next hop's `250 OK id=X` read directly, the
//   literal and a token of 8 to 16 bytes tested as words: `isOKid`, `idTokenBytes`) against
//   `RemoteQueueID.extractRange` (also on replies with none of the literals an ID stands
//   behind, which it answers without `extractRange`), and the word tests against the byte ones;
// - `EximFields.messageIDLength` (the 6-6-2 form tested as two words by `alnumBytes`)
//   against the byte loop it replaced, and `alnumBytes` against `Byte.isAlnum`;
// - `EximFields.duration` (numbers read in the pass that finds their end) against
//   `ByteScanner.double` per number;
// - `EximFields.hostField` (an `H=` item read in one pass, a dotted quad in `[...]`
//   validated in that pass) against `nextField` then `hostSpans`; its scans: `firstOf`
//   (first-zero-byte flags) against a byte loop, `dottedQuadEnd(wide:)` (no end tests when 16
//   bytes follow) against `dottedQuadEnd`;
// - the delivery loop's inline `C="..."` and the arrival loop's inline `T="..."` (`quoted`)
//   and `for` (the recipient list's start and count) against the plain field reading of the
//   same line;
// - `countItems` against counting `nextField`'s items; `tlsSpans` (bits read back from
//   the end) against its former form;
// - the refusal reader (spans into an `EximLine`, turned into its event) against the
//   String `EximReject` reader it replaced; likewise the `dropped by` and authenticator
//   refusals.
// Limits: generated forms only (seeded, deterministic), not a fuzzer.

import Testing
@testable import MTAParsing
import MailTrailModel

@Suite struct EximScanTests {
    /// `count` seeded inputs of 0 to `maxLength - 1` bytes drawn from `alphabet` (each input: its
    /// length, then its bytes, from one SplitMix64 sequence).
    static func randomBytes(_ alphabet: [UInt8], seed: UInt64, maxLength: UInt64, count: Int = 20_000) -> [[UInt8]] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            (0..<Int(rng.next() % maxLength)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }
        }
    }

    /// `count` seeded texts of 0 to `maxPieces - 1` pieces drawn from `pieces`.
    static func randomJoins(_ pieces: [String], seed: UInt64, maxPieces: UInt64, count: Int = 20_000) -> [String] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in
            (0..<Int(rng.next() % maxPieces)).map { _ in pieces[Int(rng.next() % UInt64(pieces.count))] }.joined()
        }
    }

    /// `nextField` as it was before the shortcuts (the definition).
    static func plainNextField(_ s: ByteScanner, _ i: inout Int) -> EximField? {
        EximFields.skipSpaces(s, &i)
        guard i < s.end else { return nil }
        var j = i
        while j < s.end && j - i <= 5 && (Byte.isAlnum(s[j]) || s[j] == 0x2A) { j += 1 }
        if j > i, j < s.end, s[j] == Byte.equals {
            let key = i..<j
            let v = j + 1
            if key.count == 1 && s[i] == 0x48 {
                let end = EximFields.hostValueEnd(s, v)
                var f = EximField(key: key, value: v..<end, quoted: false, colonAfter: false)
                i = end
                if i < s.end && s[i] == Byte.colon { f.colonAfter = true; i += 1 }
                else if end > v && s[end - 1] == Byte.colon { f.value = v..<(end - 1); f.colonAfter = true }
                return f
            }
            if v < s.end && s[v] == Byte.quote {
                var q = v + 1
                while q < s.end && s[q] != Byte.quote { q += s[q] == Byte.backslash ? 2 : 1 }
                let close = min(q, s.end)
                var f = EximField(key: key, value: (v + 1)..<close, quoted: true, colonAfter: false)
                i = min(close + 1, s.end)
                if i < s.end && s[i] == Byte.colon { f.colonAfter = true; i += 1 }
                return f
            }
            return plainWord(s, &i, from: v, key: key)
        }
        return plainWord(s, &i, from: i, key: nil)
    }

    static func plainWord(_ s: ByteScanner, _ i: inout Int, from v: Int, key: Range<Int>?) -> EximField {
        var e = v
        while e < s.end && s[e] != Byte.space { e += 1 }
        i = e
        if e > v && s[e - 1] == Byte.colon {
            return EximField(key: key, value: v..<(e - 1), quoted: false, colonAfter: true)
        }
        return EximField(key: key, value: v..<e, quoted: false, colonAfter: false)
    }

    /// Every item of `text` as "key|value|quoted|colon@index", by both scanners.
    static func items(_ text: [UInt8]) -> (fast: [String], plain: [String]) {
        text.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            func describe(_ f: EximField?, _ i: Int) -> String {
                guard let f else { return "nil@\(i)" }
                return "\(f.key.map { "\($0)" } ?? "-")|\(f.value)|\(f.quoted)|\(f.colonAfter)@\(i)"
            }
            var fast: [String] = [], plain: [String] = []
            var i = 0
            while true {
                let f = EximFields.nextField(s, &i)
                fast.append(describe(f, i))
                if f == nil || fast.count > 200 { break }
            }
            i = 0
            while true {
                let f = plainNextField(s, &i)
                plain.append(describe(f, i))
                if f == nil || plain.count > 200 { break }
            }
            return (fast, plain)
        }
    }

    @Test func nextFieldAgreesWithPlainFormOnEdgeCases() {
        let cases = [
            "", " ", "   ", "a", "=", "==", "a=", "ab=", "H=", "H=x", "X=", "CV=", "CV=yes", "id=<a@b>",
            "id*=x", "DKIM=d", "abcdef=x", "abcdefg=x", "*=x", "**=x", "a*=x", "é=x", "a\u{80}=x",
            "R=a T=b H=mx [192.0.2.1]:25 X=TLS1.3:C:256 CV=no C=\"250 OK id=1\" QT=1s",
            "<a@b> R=r T=t: message text", "a: b", "K=\"unterminated", "K=\"esc\\\"aped\" x",
            "K=\"q\":rest", "H=name: rest", "H=(he [x]) [192.0.2.1] X=a", "=x y=z", "A= B=",
            "a=b=c", "0=1", "  R=x  ", "P=esmtpsa S=1 id=x@y T=\"a b\" from <x> for a b c",
        ]
        for c in cases {
            let (fast, plain) = Self.items(Array(c.utf8))
            #expect(fast == plain, "\(c)")
        }
    }

    @Test func nextFieldAgreesWithPlainFormOnRandomLines() {
        let alphabet: [UInt8] = Array("HRXCVQTaz09=*\" :[]()\\<>@.".utf8) + [0x80, 0xFF, 0x09]
        var wrong: [String] = []
        for bytes in Self.randomBytes(alphabet, seed: 8, maxLength: 24) {
            let (fast, plain) = Self.items(bytes)
            if fast != plain || !Self.escapeFreeHolds(bytes) { wrong.append(String(decoding: bytes, as: UTF8.self)) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// Starts (every index of `text`) where `quickField` disagrees with `nextField`: a field that
    /// differs from `nextField`'s or ends elsewhere, or a nil that moved the index.
    static func quickFieldDisagreements(_ text: [UInt8]) -> [Int] {
        text.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            func describe(_ f: EximField?, _ i: Int) -> String {
                guard let f else { return "nil@\(i)" }
                return "\(f.key.map { "\($0)" } ?? "-")|\(f.value)|\(f.quoted)|\(f.colonAfter)|\(f.escapeFree)@\(i)"
            }
            var bad: [Int] = []
            for start in 0...buf.count {
                var q = start, n = start
                if let f = EximFields.quickField(s, &q) {
                    let g = EximFields.nextField(s, &n)
                    if describe(f, q) != describe(g, n) { bad.append(start) }
                } else if q != start {
                    bad.append(start)
                }
            }
            return bad
        }
    }

    @Test func quickFieldAgreesWithNextFieldOnEdgeCases() {
        let cases = [
            "", " ", "a", "=", "a=", "a=b", "ab=", "ab=c", "H=x", "H=x y", "X=", "X=a", "X=\"q\"", "CV=no",
            "CV=yes:", "QT=1s DT=2s", "id=<a@b>", "id*=x", "abc=x", "*=x", "**=x", "a*=x", "é=x", "a\u{80}=x",
            "R=a T=b H=mx [192.0.2.1]:25 X=TLS1.3:C:256 CV=no C=\"250 OK id=1\" QT=1s",
            "<a@b> R=r T=t: message text", "T=t: m", "R=r:", "R=: x", "K=\"unterminated", "=x y=z", "A= B=",
            "a=b=c", "0=1", "  R=x  ", "P=esmtpsa S=1 id=x@y T=\"a b\" from <x> for a b c", "a= ", "ab= ",
        ]
        for c in cases {
            #expect(Self.quickFieldDisagreements(Array(c.utf8)) == [], "\(c)")
        }
    }

    @Test func quickFieldAgreesWithNextFieldOnRandomLines() {
        let alphabet: [UInt8] = Array("HRXCVQTaz09=*\" :[]()\\<>@.".utf8) + [0x80, 0xFF, 0x09]
        var wrong: [String] = []
        for bytes in Self.randomBytes(alphabet, seed: 21, maxLength: 24) where !Self.quickFieldDisagreements(bytes).isEmpty {
            wrong.append(String(decoding: bytes, as: UTF8.self))
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// Whether `nextQueueIDRange` and `RemoteQueueID.extractRange` give the same range for
    /// `text` and for every range of it that starts at 0 or at its first `2`.
    static func queueIDRangesAgree(_ text: String) -> Bool {
        Array(text.utf8).withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            var starts = [0]
            if let two = buf.firstIndex(of: UInt8(ascii: "2")) { starts.append(two) }
            for lo in starts {
                for hi in lo...buf.count where EximFields.nextQueueIDRange(s, lo..<hi) != RemoteQueueID.extractRange(s, lo..<hi) {
                    return false
                }
            }
            return true
        }
    }

    @Test func nextQueueIDRangeAgreesWithExtractRangeOnListedReplies() {
        let cases = [
            "", "250 OK id=", "250 OK id=1rfqKM-0003Wv-GQ", "250 OK id=1rfqKM-0003Wv-GQ.", "250 OK id=...",
            "250 OK id=a.b_c-d", "250 OK id=1rfqKM-0003Wv-GQ x", "250 OK id=1rfqKM queued as X", "250 OK id=é",
            "250 OK id=abc\"", "250 OK id=x:y", "250 2.0.0 Ok: queued as DA6B3163784", "250 ok dirdel",
            "250 OK id=A Message accepted for delivery", "x 250 OK id=A", "251 OK id=A", "250 OK  id=A",
            "250 2.0.0 <a@b> h98WmtvwhagfzNmX Saved", "250 OK id=1rfqKM-0003Wv-GQ forwarded as Y",
            "250 2.0.0 <anke.lange@example.com> h98WmtvwhagfzNmX Saved", "250 2.0.0 OK  1709251254 dz62-2020.356 - gsmtp",
            "250 2.0.0 42100mBh029819 Message accepted for delivery", "250 2.0.0 x message accepted for delivery",
            "250 2.0.0 x Message accepted for deliver", "250 ok dirdel", "250 2.0.0 Ok: queued as", "250 queued as",
            "250 2.6.0 <a@b> [InternalId=1, Hostname=x] Queued mail for delivery", "250 Ok: queued as X Saved",
            "250 was queued as X", "250 2.0.0 id=X", "250 OK id", "250 OK id=X as", "accepted for delivery",
        ]
        for c in cases { #expect(Self.queueIDRangesAgree(c), "\(c)") }
    }

    @Test func nextQueueIDRangeAgreesWithExtractRangeOnRandomReplies() {
        let pieces = ["250 OK id=", "250 ", "OK id=", "id=", "1rfqKM-0003Wv-GQ", "A", "x.", ".", "-", "_", " ",
                      "queued as ", "forwarded as ", " Message accepted for delivery", ":", "\u{80}", "é",
                      " message accepted for delivery", "accepted for delivery", "d as ", "as ", "queued", " Saved",
                      "<a@b>", " - gsmtp", "OK", "id", "="]
        var wrong: [String] = []
        for text in Self.randomJoins(pieces, seed: 22, maxPieces: 6, count: 5_000) where !Self.queueIDRangesAgree(text) {
            wrong.append(text)
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// `messageIDLength` as it was before the word-at-a-time test of the 6-6-2 form.
    static func plainMessageIDLength(_ s: ByteScanner, at i: Int) -> Int {
        guard i + 16 <= s.end, s[i + 6] == Byte.minus else { return 0 }
        for k in 0..<6 where !Byte.isAlnum(s[i + k]) { return 0 }
        if s[i + 13] == Byte.minus {
            for k in 7..<13 where !Byte.isAlnum(s[i + k]) { return 0 }
            if Byte.isAlnum(s[i + 14]) && Byte.isAlnum(s[i + 15]) && (i + 16 == s.end || s[i + 16] == Byte.space) {
                return 16
            }
            return 0
        }
        guard i + 23 <= s.end, s[i + 18] == Byte.minus else { return 0 }
        for k in 7..<18 where !Byte.isAlnum(s[i + k]) { return 0 }
        for k in 19..<23 where !Byte.isAlnum(s[i + k]) { return 0 }
        return i + 23 == s.end || s[i + 23] == Byte.space ? 23 : 0
    }

    @Test func alnumBytesMarksExactlyTheLettersAndDigits() {
        var wrong: [String] = []
        for b in 0...255 {
            for pos in 0..<8 {
                // `b` at `pos` among bytes that are never alnum, then among bytes that always are.
                for filler: UInt8 in [0x2D, 0x61] {
                    var bytes = [UInt8](repeating: filler, count: 8)
                    bytes[pos] = UInt8(b)
                    let x = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                    var want: UInt64 = 0
                    for k in 0..<8 where Byte.isAlnum(bytes[k]) { want |= 0x80 << UInt64(k * 8) }
                    if EximFields.alnumBytes(x) != want { wrong.append("\(b)@\(pos)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// The last `key=...` item the field loops' reading (`nextField` by the definition,
    /// `plainNextField`) gives before the first item followed by `:` (`stopAtColon`: the delivery
    /// loop stops there, the arrival loop does not), reading from `from`: its value, whether it
    /// is quoted, and whether it is quoted with no backslash and its closing quote present; nil
    /// when there is none.
    static func plainLastItem(_ s: ByteScanner, key: UInt8, from: Int, stopAtColon: Bool) -> (Range<Int>, Bool, Bool)? {
        var i = from
        var found: (Range<Int>, Bool, Bool)? = nil
        while let f = plainNextField(s, &i) {
            if let k = f.key, k.count == 1, s[k.lowerBound] == key {
                let closed = f.value.upperBound < s.end && s[f.value.upperBound] == Byte.quote
                found = (f.value, f.quoted, f.quoted && closed && !s.buffer(f.value).contains(Byte.backslash))
            }
            if stopAtColon && f.colonAfter { break }
        }
        return found
    }

    @Test func quotedItemsReadInlineAgreeWithTheFieldReading() {
        // `C="..."` read inline by the delivery loop and `T="..."` by the arrival loop (through
        // `EximFields.quoted`) against the plain field reading, on seeded lines of quoted values
        // with escapes, missing closing quotes, `:` after, neighbours without spaces.
        let pieces = ["C=\"", "T=\"", "\"", "\\\"", "\\\\", "\\", "x", " ", ":", " : ", "QT=1s", "R=r", "250 OK",
                      "X=TLS1.3:A:256", "CV=yes", "\u{80}", "é", "=", "K=\"v\""]
        let buffer = EximLineBuffer(sharedStrings: false)
        let e = buffer.line
        var wrong: [String] = []
        for tail in Self.randomJoins(pieces, seed: 41, maxPieces: 9, count: 8_000) {
            for (head, isDelivery) in [("1rfqKL-00059H-U4 => a@b ", true), ("1rfqKL-00059H-U4 <= a@b ", false)] {
                let bytes = Array((head + tail).utf8)
                bytes.withUnsafeBufferPointer { buf in
                    let s = ByteScanner(buf)
                    e.reset(bytes: LineBytes(buf))
                    e.storage.pointee.messageID = Span(0..<16)
                    let from = head.utf8.count
                    if isDelivery {
                        _ = EximParser.delivery(s, 20, .delivered, e)
                        // The last `C=` item is the response as read (quoted or not).
                        if let (v, quoted, free) = Self.plainLastItem(s, key: 0x43, from: from, stopAtColon: true),
                           e.response.range != v || e.responseQuoted != quoted || (quoted && e.responseEscapeFree != free) {
                            wrong.append("=> " + tail)
                        }
                    } else {
                        _ = EximParser.arrival(s, 20, fake: false, e)
                        // The last `T=` item is the subject (escape-free only when quoted without a backslash).
                        if let (v, _, free) = Self.plainLastItem(s, key: 0x54, from: from, stopAtColon: false),
                           e.subject.range != v || e.subjectEscapeFree != free {
                            wrong.append("<= " + tail)
                        }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func recipientListFoundInlineAgreesWithTheFieldReading() {
        // The arrival loop's inline `for` (then `countItems`) against the plain field reading:
        // the first bare word `for` (a bare `from` skips the item after it) starts the list.
        let pieces = ["for", "for:", "fort", "xfor", "from", " ", "  ", "a@b", "T=\"x y\"", "K=v", "S=1", "id=<m@x>",
                      "f", "fo", ":", "\"", "=", "\u{80}"]
        let buffer = EximLineBuffer(sharedStrings: false)
        let e = buffer.line
        var wrong: [String] = []
        for tail in Self.randomJoins(pieces, seed: 43, maxPieces: 10, count: 8_000) {
            let head = "1rfqKL-00059H-U4 <= a@b "
            let bytes = Array((head + tail).utf8)
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                e.reset(bytes: LineBytes(buf))
                e.storage.pointee.messageID = Span(0..<16)
                _ = EximParser.arrival(s, 20, fake: false, e)
                var i = head.utf8.count
                var from: Int32 = -1, count = 0
                while let f = Self.plainNextField(s, &i) {
                    guard f.key == nil else { continue }
                    if s.equals(f.value, "for") {
                        from = Int32(i)
                        while Self.plainNextField(s, &i) != nil { count += 1 }
                        break
                    }
                    if s.equals(f.value, "from") { _ = Self.plainNextField(s, &i) }
                }
                if e.recipientsFrom != from || e.recipientCount != count { wrong.append(tail) }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func firstOfAgreesWithTheByteLoop() {
        // `EximFields.firstOf` (three patterns' first-zero-byte flags ORed) against a byte loop,
        // from every start, for the three triples `hostOnePass` uses.
        let alphabet: [UInt8] = Array(" ()[]a.9:".utf8) + [0x00, 0x80, 0xFF, 0x01, 0x21, 0x29 ^ 0x80]
        let triples: [(UInt8, UInt8, UInt8)] = [(Byte.space, Byte.lparen, Byte.space), (Byte.lparen, Byte.rparen, Byte.rparen),
                                                (Byte.rbracket, Byte.space, Byte.lbracket)]
        var wrong: [String] = []
        for bytes in Self.randomBytes(alphabet, seed: 45, maxLength: 40, count: 6_000) {
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for (a, b, c) in triples {
                    for from in 0...buf.count {
                        let want = buf[from...].firstIndex { $0 == a || $0 == b || $0 == c } ?? buf.count
                        if EximFields.firstOf(s, a, b, c, from: from) != want { wrong.append("\(bytes)@\(from)") }
                    }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func dottedQuadEndWideAgreesWithTheCheckedForm() {
        // `dottedQuadEnd(wide: true)` (no end test, at least 16 bytes after the start) against
        // `dottedQuadEnd` on seeded quads and near-quads (octets around the limits, leading
        // zeros, a wrong or missing separator, three or five parts), each followed by 16 bytes.
        let octets = ["0", "1", "9", "10", "99", "100", "199", "200", "249", "250", "255", "256", "260", "300", "999",
                      "00", "01", "000", "1000", "2550", ""]
        let separators = [".", ".", ".", ".", ":", "", ".."]
        let pads = ["0000000000000000", "]]]]]]]]]]]]]]]]", "................", "5 5 5 5 5 5 5 5 "]
        var rng = SplitMix64(seed: 47)
        var wrong: [String] = []
        for _ in 0..<20_000 {
            let parts = 3 + Int(rng.next() % 3)
            var text = ""
            for k in 0..<parts {
                if k > 0 { text += separators[Int(rng.next() % UInt64(separators.count))] }
                text += octets[Int(rng.next() % UInt64(octets.count))]
            }
            let bytes = Array((text + pads[Int(rng.next() % UInt64(pads.count))]).utf8)
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for i in 0..<(buf.count - 15) where EximFields.dottedQuadEnd(s, i, wide: true) != EximFields.dottedQuadEnd(s, i) {
                    wrong.append("\(text)@\(i)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func idTokenBytesMarksExactlyTheTokenLoopsBytes() {
        // The byte predicate of `nextQueueIDRange`'s token loop.
        func accepted(_ b: UInt8) -> Bool { Byte.isAlnum(b) || b == Byte.dot || b == Byte.minus || b == Byte.underscore }
        var wrong: [String] = []
        for b in 0...255 {
            for pos in 0..<8 {
                // `b` at `pos` among bytes the loop never accepts, then among bytes it always does.
                for filler: UInt8 in [0x20, 0x2E, 0x5F, 0x61] {
                    var bytes = [UInt8](repeating: filler, count: 8)
                    bytes[pos] = UInt8(b)
                    let x = bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
                    var want: UInt64 = 0
                    for k in 0..<8 where accepted(bytes[k]) { want |= 0x80 << UInt64(k * 8) }
                    if EximFields.idTokenBytes(x) != want { wrong.append("\(b)@\(pos)/\(filler)") }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func isOKidIsTheLiteralsCompare() {
        let texts = ["250 OK id=", "250 OK id=X", "250 OK id", "250 OK iD=", "250 OK  id=", "251 OK id=", "250 ok id=",
                     "x250 OK id=", "250 OK id=\u{80}", "250 2.0.0 OK", "350 OK id=", "250 OK id:"]
        var wrong: [String] = []
        for t in texts {
            Array(t.utf8).withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for i in 0..<max(0, buf.count - 9) where EximFields.isOKid(s, i) != s.has("250 OK id=", at: i) {
                    wrong.append("\(t)@\(i)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong)")
    }

    @Test func nextQueueIDRangeAgreesWithExtractRangeOnRandomTokens() {
        // `250 OK id=` then 0 to 19 bytes of ID-like, border and stop bytes: the word test of 8 to
        // 16 token bytes (dots, high bytes, spaces at each place) against `extractRange`.
        let alphabet: [UInt8] = Array("aZ09-_.".utf8) + [0x20, 0x22, 0x2F, 0x3A, 0x80, 0xC3, 0x00, 0x7F, 0x40, 0x60]
        var wrong: [String] = []
        for token in Self.randomBytes(alphabet, seed: 31, maxLength: 20) {
            let bytes = Array("250 OK id=".utf8) + token
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for hi in 10...buf.count where EximFields.nextQueueIDRange(s, 0..<hi) != RemoteQueueID.extractRange(s, 0..<hi) {
                    wrong.append("\(token)/\(hi)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func messageIDLengthAgreesWithPlainFormOnEdgeCasesAndRandomLines() {
        let cases = [
            "1rfqKL-00059H-U4", "1rfqKL-00059H-U4 <= x", "1rfqKL-00059H-U4x", "1rfqKL-00059H-U", "1rfqK-L00059H-U4",
            "1rfqKL-00059H-U4-", "1rfqKL-0005éH-U4", "1rfqKL-00059H--4", "------------------------",
            "1rfqKL-00059Habcd-U4xy", "1rfqKL-00059Habcde-U4xy", "1rfqKL-00059Habcde-U4xy z", "ZZZZZZ-zzzzzz-00 ",
            "\u{7F}rfqKL-00059H-U4", "1rfqKL-00059H-U\u{80}", "1rfqKL-00059H:U4", "", "1",
        ]
        // Mostly letters and digits (so that whole IDs occur), a few of each near miss.
        let alphabet: [UInt8] = Array(String(repeating: "aZ09zA8", count: 6).utf8) + Array("-_ @:`{/[".utf8) + [0x80, 0xFF, 0x7F]
        let randoms = Self.randomBytes(alphabet, seed: 23, maxLength: 28).map { bytes -> [UInt8] in
            // The shape of an ID (a `-` at 6, mostly at 13 too), so that the later tests are reached.
            var b = bytes
            if b.count > 6 { b[6] = Byte.minus }
            if b.count > 13 && b[0] != 0x5F { b[13] = Byte.minus }
            return b
        }
        var wrong: [String] = []
        for bytes in cases.map({ Array($0.utf8) }) + randoms {
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                for i in 0...buf.count where EximFields.messageIDLength(s, at: i) != Self.plainMessageIDLength(s, at: i) {
                    wrong.append("\(String(decoding: bytes, as: UTF8.self)) at \(i)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// Every field `nextField` marks `escapeFree` is quoted and holds no backslash.
    static func escapeFreeHolds(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            var i = 0, n = 0
            while let f = EximFields.nextField(s, &i), n < 200 {
                n += 1
                if f.escapeFree && (!f.quoted || buf[f.value].contains(Byte.backslash)) { return false }
            }
            return true
        }
    }

    /// `duration` by its definition: each run of digits and dots read by `ByteScanner.double`.
    static func plainDuration(_ s: ByteScanner, _ r: Range<Int>) -> Double? {
        var total = 0.0
        var k = r.lowerBound
        var any = false
        while k < r.upperBound {
            var e = k
            while e < r.upperBound && (Byte.isDigit(s[e]) || s[e] == Byte.dot) { e += 1 }
            guard e > k, let v = s.double(k..<e) else { return nil }
            let unit: Double
            if e == r.upperBound { unit = 1 } else {
                switch s[e] {
                case 0x73: unit = 1
                case 0x6D: unit = 60
                case 0x68: unit = 3600
                case 0x64: unit = 86_400
                case 0x77: unit = 604_800
                default: return nil
                }
                e += 1
            }
            total += v * unit
            any = true
            k = e
        }
        return any ? total : nil
    }

    static func durations(_ text: String) -> (Double?, Double?) {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            return (EximFields.duration(s, 0..<s.end), plainDuration(s, 0..<s.end))
        }
    }

    @Test func durationAgreesWithPlainForm() {
        let cases = [
            "", "1s", "0.304s", "3m45s", "2d3h", "1w", "5", ".", "..", "1.2.3s", ".5s", "5.s", "1x",
            "1234567890123456s", "123456789012345s", "0.0000000000000000000001s",
            "0.00000000000000000000001s", "1e3s", "1s2", "1s.", "m", "99999999999999999999d",
        ]
        for c in cases {
            let (fast, plain) = Self.durations(c)
            #expect(fast?.bitPattern == plain?.bitPattern, "\(c)")
        }
        let alphabet: [UInt8] = Array("0123456789..smhdwx".utf8)
        var wrong: [String] = []
        for bytes in Self.randomBytes(alphabet, seed: 9, maxLength: 20) {
            let text = String(decoding: bytes, as: UTF8.self)
            let (fast, plain) = Self.durations(text)
            if fast?.bitPattern != plain?.bitPattern { wrong.append(text) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// An `H=` item by `hostField` and by `nextField` + `hostSpans`, as text (spans, port,
    /// colon, index after).
    static func hosts(_ bytes: [UInt8]) -> (fast: String, plain: String) {
        bytes.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            func str(_ sp: Span) -> String { sp.isPresent ? "\(sp.lo)..<\(sp.hi)" : "-" }
            var i = 0
            let h = EximFields.hostField(s, &i)
            let fast = "\(str(h.peer.name)) \(str(h.peer.ip)) \(h.peer.port.map(String.init) ?? "-") \(str(h.helo)) \(h.colonAfter)@\(i)"
            var j = 0
            guard let f = EximFields.nextField(s, &j) else { return (fast, "no field") }
            let (p, helo) = EximFields.hostSpans(s, f.value)
            let plain = "\(str(p.name)) \(str(p.ip)) \(p.port.map(String.init) ?? "-") \(str(helo)) \(f.colonAfter)@\(j)"
            return (fast, plain)
        }
    }

    @Test func hostFieldAgreesWithTwoScansOnEdgeCases() {
        let cases = [
            "H=", "H= ", "H= [1.2.3.4]", "H=[1.2.3.4]", "H=[1.2.3.4]:25", "H=[1.2.3.4]:25*", "H=[1.2.3.4]*",
            "H=[1.2.3.4]: x", "H=[1.2.3.4]:x", "H=[1.2.3.4]:1234567890123456789 X=a", "H=[]", "H=[1.2.3.4",
            "H=[1.2 .3.4]", "H=[[1.2.3.4]", "H=name [1.2.3.4]:46054 P=esmtp", "H=localhost [127.0.0.1]",
            "H=mx.example.org (helo.example) [192.0.2.1]:25 X=a", "H=(helo) [2001:db8::1]:587* X=a",
            "H=(he [x]) [192.0.2.1] X=a", "H=(he [x]) X=a", "H=(a) (b) [1.2.3.4]", "H=(a (b)) [1.2.3.4]",
            "H=(unclosed [1.2.3.4]", "H=na(me [1.2.3.4]", "H=na)me [1.2.3.4]", "H=n[x] [1.2.3.4]",
            "H=name  [1.2.3.4]", "H=name: rest", "H=name [1.2.3.4]: rest", "H=name", "H=name X=a",
            "H=(helo)", "H=(helo) X=a", "H=([10.27.27.12]) [10.27.27.12]", "H=n (h) [1.2.3.4]:",
            "H=[1.2.3.4:] X", "H=[::1]:25", "H=name [1.2.3.4]x", "H=name (h)[1.2.3.4]",
        ]
        for c in cases {
            let (fast, plain) = Self.hosts(Array(c.utf8))
            #expect(fast == plain, "\(c)")
        }
    }

    @Test func hostFieldAgreesWithTwoScansOnRandomValues() {
        let pieces = ["a", "mx.example", " ", "(", ")", "[", "]", ":", "25", "*", "1.2.3.4", "::1", "X=a", "\u{80}"]
        var wrong: [String] = []
        for joined in Self.randomJoins(pieces, seed: 10, maxPieces: 10) {
            let text = "H=" + joined
            let (fast, plain) = Self.hosts(Array(text.utf8))
            if fast != plain { wrong.append(text) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// Dotted quads and near misses (leading zeros, octets over 255, three or five octets, an
    /// unclosed or doubled bracket) inside `[...]`, which `hostOnePass` reads in one pass.
    @Test func hostFieldAgreesWithTwoScansOnDottedQuads() {
        let pieces = ["0", "00", "1", "01", "25", "255", "256", "999", "1000", ".", ".", ".", "]", "[", " ", ":",
                      "*", "name ", "(h) ", "::", "a"]
        var wrong: [String] = []
        for joined in Self.randomJoins(pieces, seed: 24, maxPieces: 12) {
            for text in ["H=[" + joined, "H=name [" + joined, "H=(h) [" + joined] {
                let (fast, plain) = Self.hosts(Array(text.utf8))
                if fast != plain { wrong.append(text) }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    @Test func countItemsAgreesWithNextField() {
        let alphabet: [UInt8] = Array("ab=H\" [](): <>@.*".utf8)
        let texts = ["", " ", "a", "a b c", "a@b.c d@e.f", "H=x [1.2.3.4] b", "K=\"a b\" c", "x=y z=", "  a  "]
            + Self.randomBytes(alphabet, seed: 11, maxLength: 24).map { String(decoding: $0, as: UTF8.self) }
        var wrong: [String] = []
        for text in texts {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                var i = 0, j = 0, n = 0
                let fast = EximFields.countItems(s, &i)
                while EximFields.nextField(s, &j) != nil { n += 1 }
                if fast != n || i != j { wrong.append(text) }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// `tlsSpans` as it was (the bits after the last `:` found by `findLast`).
    static func plainTLSSpans(_ s: ByteScanner, _ r: Range<Int>) -> EximTLSSpans {
        var r = r
        if !r.isEmpty && s[r.upperBound - 1] == 0x2A { r = r.lowerBound..<(r.upperBound - 1) }
        var t = EximTLSSpans()
        guard let c1 = s.find(Byte.colon, from: r.lowerBound, to: r.upperBound) else {
            t.cipher = Span(r)
            return t
        }
        t.proto = Span(r.lowerBound..<c1)
        t.protoAddV = c1 - r.lowerBound >= 4 && s.has("TLS1", at: r.lowerBound)
        if let c2 = s.findLast(Byte.colon, from: c1 + 1, to: r.upperBound), let bits = s.int((c2 + 1)..<r.upperBound) {
            t.cipher = Span((c1 + 1)..<c2)
            t.bits = bits
        } else {
            t.cipher = Span((c1 + 1)..<r.upperBound)
        }
        return t
    }

    @Test func tlsSpansAgreeWithPlainForm() {
        var texts = ["", "*", "TLS1.2:C:256", "TLS1.3:C:256*", "TLSv1.3:C:128", "TLS1:C:1", "TLS:C:1", "T:C",
                     "TLS1.2::256", "TLS1.2:C:", "TLS1.2:C:x1", "TLS1.2:C:1234567890123456789", "TLS1.2:C",
                     "TLS1.2", ":", "::", ":::1", "a:b:c:2", "TLS1.2:C:2:", "TLS1.2:A:B:256"]
        let alphabet: [UInt8] = Array("TLS1.2v:C9*x".utf8)
        texts += Self.randomBytes(alphabet, seed: 12, maxLength: 16).map { String(decoding: $0, as: UTF8.self) }
        var wrong: [String] = []
        for text in texts {
            let bytes = Array(text.utf8)
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                let a = EximFields.tlsSpans(s, 0..<s.end), b = Self.plainTLSSpans(s, 0..<s.end)
                if a.proto != b.proto || a.protoAddV != b.protoAddV || a.cipher != b.cipher || a.bits != b.bits
                    || a.value != Span(0..<s.end) {
                    wrong.append(text)
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// The refusal reader as it was: Strings into an `EximReject` (the definition).
    static func plainReject(_ s: ByteScanner, _ i0: Int) -> EximReject? {
        var i = i0
        var r = EximReject(action: "rejected")
        var verify: String?
        while true {
            EximFields.skipSpaces(s, &i)
            if s.has("temporarily rejected ", at: i) { r.action = "temporarily rejected"; i += 21; break }
            if s.has("rejected ", at: i) { i += 9; break }
            guard let f = EximFields.nextField(s, &i) else { return nil }
            guard let k = f.key else { return nil }
            if s.equals(k, "H") { (r.client, r.helo) = EximFields.host(s, f.value) }
            else if s.equals(k, "F") { r.sender = EximFields.address(s, f.value) }
            else if s.equals(k, "X") { r.tls = EximFields.tls(s, f.value) }
            else if s.equals(k, "CV") { verify = EximFields.trust(s, f.value) }
        }
        if verify != nil { r.tls?.trust = verify }
        var reasonStart: Int?
        if s.has("RCPT ", at: i) {
            r.stage = "RCPT"
            if let (c, next) = s.scanAddress(at: i + 5) { r.recipient = s.string(c); reasonStart = next }
        } else if s.has("MAIL ", at: i) {
            r.stage = "MAIL"
            if let (c, next) = s.scanAddress(at: i + 5) { if r.sender == nil { r.sender = s.string(c) }; reasonStart = next }
        } else if s.has("EHLO or HELO ", at: i) {
            r.stage = "EHLO"
            let e = s.find(Byte.colon, from: i + 13) ?? s.end
            r.helo = r.helo ?? s.string((i + 13)..<e)
            reasonStart = e
        } else if s.has("connection", at: i) {
            r.stage = "CONNECT"
        } else if s.has("after DATA", at: i) {
            r.stage = "END-OF-MESSAGE"
        } else if s.has("DATA", at: i) {
            r.stage = "DATA"
        } else if s.has("during MIME ACL checks", at: i) {
            r.stage = "MIME"
        } else if s.has("VRFY", at: i) {
            r.stage = "VRFY"
        } else if s.has("ETRN", at: i) {
            r.stage = "ETRN"
        } else if s.has("AUTH", at: i) {
            r.stage = "AUTH"
        } else if s.has("after", at: i) {
            r.stage = "DATA"
        }
        let from = reasonStart ?? i
        if let c = s.find(": ", from: from) {
            var rs = c + 2
            EximFields.skipSpaces(s, &rs)
            var re = s.end
            if re - rs >= 2, s[rs] == Byte.quote, s[re - 1] == Byte.quote { rs += 1; re -= 1 }
            if rs < re { r.reason = s.string(rs..<re) }
            let cd = EximFields.dsn(s, rs..<min(re, rs + 12))
            r.code = cd.code; r.dsn = cd.dsn
        }
        return r
    }

    /// The refusal of `text` by the span reader (as its event's `EximReject`) and by `plainReject`.
    static func refusals(_ text: String) -> (EximReject?, EximReject?) {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            let storage = EximLineBuffer()
            let e = storage.line
            e.reset(bytes: LineBytes(buf))
            var cache = StringCache()
            var fast: EximReject?
            if EximParser.reject(s, 0, e), case .reject(nil, let r) = EximParser.event(e, &cache) { fast = r }
            return (fast, plainReject(s, 0))
        }
    }

    @Test func refusalSpansAgreeWithStringReader() {
        var texts = [
            "H=(User) [213.233.45.228] F=<j@l.se> rejected RCPT <r@example.com>: Unrouteable address",
            "H=mx.x (helo) [1.2.3.4]:25 X=TLS1.3:C:256 CV=yes F=<a@b> temporarily rejected RCPT <c@d>: 451 4.7.1 Greylisted",
            "H=[1.2.3.4] rejected EHLO or HELO bad.helo: 550 5.7.1 no", "H=(h) [1.2.3.4] rejected EHLO or HELO x",
            "H=[1.2.3.4] F=<> rejected MAIL <a@b>: no", "H=[1.2.3.4] rejected MAIL <a@b>: \"quoted reason\"",
            "H=[1.2.3.4] rejected connection in \"connect\" ACL", "H=[1.2.3.4] rejected after DATA: 550 5.7.1 spam",
            "rejected DATA: x", "rejected VRFY", "rejected ETRN x", "rejected AUTH: y", "rejected after x: z",
            "rejected during MIME ACL checks: m", "rejected ", "H=x rejected", "bare rejected RCPT <a>: x",
            "X=TLS1.2:C:128 CV=no rejected RCPT <a@b>: 550", "CV=yes CV=maybe X=T:C rejected RCPT <a@b>: 550 5.1.1 u",
            "F=<a@b> F=<c@d> rejected MAIL <e@f>: 553", "H=[1.2.3.4] rejected RCPT: : :", "H=[1.2.3.4] rejected RCPT <a",
            "H=name: rejected RCPT <a@b>: x", "rejected RCPT <a@b>:  \"\"", "rejected RCPT <a@b>: \"",
        ]
        let pieces = ["H=", "(h)", "[1.2.3.4]", ":25", " ", "F=<a@b>", "X=TLS1.3:C:256", "CV=yes", "rejected ",
                      "temporarily rejected ", "RCPT ", "MAIL ", "<x@y>", ": ", "550 5.7.1 ", "EHLO or HELO ", "\"", "w"]
        texts += Self.randomJoins(pieces, seed: 13, maxPieces: 9)
        var wrong: [String] = []
        for t in texts {
            let (fast, plain) = Self.refusals(t)
            if fast != plain { wrong.append(t) }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// The `dropped by` and authenticator refusal readers as they were: Strings into an
    /// `EximReject` (nil when the text is neither).
    static func plainDropOrAuth(_ s: ByteScanner, _ i: Int) -> EximReject? {
        if let a = s.find(" authenticator failed for ", from: i) {
            let h = a + 26
            var r = EximReject(action: "auth-failed", stage: "AUTH")
            var hostEnd = s.end
            var k = h
            while let c = s.find(": ", from: k) {
                if c + 2 < s.end, Byte.isDigit(s[c + 2]) { hostEnd = c; break }
                k = c + 2
            }
            (r.client, r.helo) = EximFields.host(s, h..<hostEnd)
            r.reason = s.string(s.string(i..<a).isEmpty ? h..<h : i..<a) + " authenticator failed"
            if hostEnd < s.end {
                let rs = hostEnd + 2
                let cd = EximFields.dsn(s, rs..<s.end)
                r.code = cd.code; r.dsn = cd.dsn
                r.reason = s.string(rs..<s.end)
            }
            return r
        }
        if s.has("H=", at: i), let d = s.find(" dropped by ", from: i) {
            var r = EximReject(action: "dropped", stage: "CONNECT")
            var k = i
            if let f = EximFields.nextField(s, &k), f.key != nil { (r.client, r.helo) = EximFields.host(s, f.value) }
            if let c = s.find(": ", from: d) { r.reason = s.string((c + 2)..<s.end) }
            if s.find(" RCPT ", from: i, to: d) != nil { r.stage = "RCPT" }
            return r
        }
        return nil
    }

    @Test func dropAndAuthRefusalSpansAgreeWithStringReader() {
        var texts = [
            "dovecot_login authenticator failed for (User) [1.2.3.4]: 535 Incorrect authentication data (set_id=a@b)",
            "dovecot_plain authenticator failed for h.example (x) [1.2.3.4]:587: 535 5.7.8 bad",
            "login authenticator failed for [1.2.3.4]", " authenticator failed for [1.2.3.4]: x: 4",
            "authenticator failed for x", "a authenticator failed for H: 535", "é authenticator failed for [::1]: 5",
            "H=[1.2.3.4] dropped by 'connect' ACL: too many", "H=(h) [1.2.3.4] RCPT dropped by x ACL: reason",
            "H=x dropped by ", "H= dropped by y: ", "H=a RCPT b dropped by c: d RCPT e", "F=<a> dropped by x: y",
        ]
        let pieces = ["H=", "(h)", "[1.2.3.4]", ":25", " ", "login", " authenticator failed for ", " dropped by ",
                      "'connect' ACL", ": ", "535 5.7.8 ", "RCPT ", " RCPT ", "x", "(set_id=a)", "\u{80}"]
        texts += Self.randomJoins(pieces, seed: 25, maxPieces: 8)
        var wrong: [String] = []
        for t in texts {
            let bytes = Array(t.utf8)
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                let plain = Self.plainDropOrAuth(s, 0)
                let storage = EximLineBuffer()
                let e = storage.line
                e.reset(bytes: LineBytes(buf))
                var fast: EximReject?
                var cache = StringCache()
                if plain != nil {
                    if EximParser.parseSessionLine(s, 0, e) == nil, case .reject(nil, let r) = EximParser.event(e, &cache) {
                        fast = r
                    }
                    if fast != plain { wrong.append(t) }
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
