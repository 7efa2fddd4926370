// SendmailMemoTests: the correlator's memo of values by bytes (`SendmailMemo`) returns what
// `make` returns for the same bytes — on hits, on misses, on colliding slots, for keys too
// long to keep, absent keys, and after the memo was copied (a copy must not write into the
// buffer it shares); two keys of one set both stay, a third replaces them in turn.

import Testing
@testable import Correlation
import MailTrailModel

@Suite struct SendmailMemoTests {
    /// Looks `text` up in `memo`, counting the calls of `make` (which returns the text's length and text).
    static func look(_ memo: inout SendmailMemo<String>, _ text: String, _ made: inout Int) -> String {
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buf in
            memo.value(for: Span(0..<buf.count), in: LineBytes(buf)) {
                made += 1
                return "\(buf.count):" + String(decoding: buf, as: UTF8.self)
            }
        }
    }

    @Test func valuesFollowTheBytes() {
        var memo = SendmailMemo<String>(bits: 2, maxKey: 16)     // 4 slots: collisions are certain
        var made = 0
        let keys = ["", "a", "b", "ab", "ba", "TLSv1.3, verify=NO", "0123456789abcdef", "0123456789abcdefg",
                    "x", "y", "z", "aa", "ab "]
        var rng = SplitMix64(seed: 5)
        for _ in 0..<2_000 {
            let k = keys[Int(rng.next() % UInt64(keys.count))]
            #expect(Self.look(&memo, k, &made) == "\(k.utf8.count):\(k)")
        }
        #expect(made < 2_000)
        // A repeat of the last key is a hit; a key longer than maxKey is made every time.
        made = 0
        _ = Self.look(&memo, "a", &made); _ = Self.look(&memo, "a", &made)
        #expect(made <= 1)
        made = 0
        _ = Self.look(&memo, "0123456789abcdefg", &made); _ = Self.look(&memo, "0123456789abcdefg", &made)
        #expect(made == 2)
        // An absent key is made every time.
        made = 0
        let v = memo.value(for: .absent, in: LineBytes(base: LineBytes.emptyBase, count: 0)) { made += 1; return "none" }
        #expect(v == "none" && made == 1)
    }

    @Test func aCopyDoesNotWriteIntoTheSharedBuffer() {
        var a = SendmailMemo<String>(bits: 1, maxKey: 8)
        var made = 0
        _ = Self.look(&a, "k", &made)
        var b = a
        _ = Self.look(&b, "other1", &made)
        _ = Self.look(&b, "other2", &made)
        made = 0
        #expect(Self.look(&a, "k", &made) == "1:k")
        #expect(made == 0)   // `a` still holds its entry: `b` started its own buffer
        #expect(Self.look(&b, "other2", &made) == "6:other2")
    }

    @Test func twoKeysOfOneSetBothStay() {
        var memo = SendmailMemo<String>(bits: 1, maxKey: 80)     // one set of two entries
        var made = 0
        let a = "TLSv1.3, verify=NO, cipher=TLS_AES_256_GCM_SHA384, bits=256/256"
        let b = "TLSv1.3, verify=OK, cipher=TLS_AES_256_GCM_SHA384, bits=256/256"
        for _ in 0..<100 {
            #expect(Self.look(&memo, a, &made) == "\(a.utf8.count):\(a)")
            #expect(Self.look(&memo, b, &made) == "\(b.utf8.count):\(b)")
        }
        #expect(made == 2)
        // A third key replaces the entries in turn: `a` (filled first) goes, `b` stays.
        made = 0
        _ = Self.look(&memo, "c", &made)
        _ = Self.look(&memo, b, &made)
        #expect(made == 1)
        _ = Self.look(&memo, a, &made)
        #expect(made == 2)
    }
}
