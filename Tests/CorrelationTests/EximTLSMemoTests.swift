// EximTLSMemoTests: `EximCorrelator.Caches.tlsInfo` (the TLS facts of the last 16 distinct `X=`
// values with their `CV=` code, found by the value's bytes) gives exactly the facts the line's
// spans give without it (`EximLine.tlsInfo` with `String(decoding:as:)`), value for value, on
// seeded lines drawn from a pool of `X=` values: the usual GnuTLS and OpenSSL forms, values that
// differ only before their last eight bytes, the same bytes with another trust code, short (under
// eight bytes: not memoised) and long (past the memo's 120 bytes) values, non-ASCII bytes, more
// distinct values than the memo holds (the oldest replaced), and a copy of the caches that goes
// on after the original added entries (shared storage, then its own); the parser's form (only the
// `X=` value, its spans read when asked: `EximTLSSpans.read`) gives the same facts; `find`
// (the entry stored last under the value's hash tried before the scan) gives the plain scan's entry.
// Limits: the spans are cut here by the grammar of `EximFields.tlsSpans` (checked against that
// function in EximScanTests, where `value` is checked too); seeded, not exhaustive.
import Testing
import MailTrailModel
@testable import Correlation

@Suite struct EximTLSMemoTests {
    /// The spans `EximFields.tlsSpans` gives the `X=` value filling `bytes` (proto to the first
    /// `:`, the bits the digits after the last `:`, a trailing `*` dropped).
    static func spans(_ bytes: [UInt8]) -> EximTLSSpans {
        var t = EximTLSSpans()
        t.value = Span(0..<bytes.count)
        var hi = bytes.count
        if hi > 0 && bytes[hi - 1] == 0x2A { hi -= 1 }
        guard let c1 = bytes[0..<hi].firstIndex(of: 0x3A) else { t.cipher = Span(0..<hi); return t }
        t.proto = Span(0..<c1)
        t.protoAddV = c1 >= 4 && Array(bytes[0..<4]) == Array("TLS1".utf8)
        var j = hi
        while j > c1 + 1 && bytes[j - 1] >= 0x30 && bytes[j - 1] <= 0x39 { j -= 1 }
        if j > c1 + 1, bytes[j - 1] == 0x3A, hi > j, hi - j <= 18 {
            t.cipher = Span((c1 + 1)..<(j - 1))
            t.bits = Int(String(decoding: bytes[j..<hi], as: UTF8.self))
        } else {
            t.cipher = Span((c1 + 1)..<hi)
        }
        return t
    }

    static func pool(_ rng: inout SplitMix64) -> [[UInt8]] {
        var texts = ["TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM:128",
                     "TLS1.3:ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_256_GCM:256",
                     "TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256", "TLSv1.2:ECDHE-RSA-AES256-GCM-SHA384:256",
                     "TLSv1.3:TLS_AES_256_GCM_SHA384:256", "XLSv1.3:TLS_AES_256_GCM_SHA384:256",
                     "TLS1.2:ECDHE_RSA_AES_256_GCM_SHA384:256*", "TLS1.2:C:1", "TLS1:C", "C", "TLS1.2:",
                     "TLS1.0:RSA_ARCFOUR_SHA1:128", "TLS1.1:RSA_ARCFOUR_SHA1:128",
                     "TLS1.3:" + String(repeating: "LONG_CIPHER_", count: 10) + ":256"]
        let alphabet = Array("TLSv1.23:ECDHE_RSA-AES256GCM*x".utf8)
        for _ in 0..<30 {
            let n = 1 + Int(rng.next() % 70)
            texts.append(String(decoding: (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] },
                                as: UTF8.self))
        }
        var bytes = texts.map { Array($0.utf8) }
        bytes.append(Array("TLS1.3:caf".utf8) + [0xC3, 0xA9] + Array(":128".utf8))
        bytes.append(Array("TLS1.2:X".utf8) + [0xFF, 0x80] + Array("ABCDEFGH:64".utf8))
        return bytes
    }

    @Test func memoGivesTheLinesOwnFacts() {
        var rng = SplitMix64(seed: 21)
        let values = Self.pool(&rng)
        var caches = EximCorrelator.Caches()
        var copy: EximCorrelator.Caches? = nil
        let buffer = EximLineBuffer(sharedStrings: false)
        let line = buffer.line
        var wrong: [String] = []
        for step in 0..<6_000 {
            // Mostly the first few values (as on a host), now and then any of them.
            let k = rng.next() % 4 == 0 ? Int(rng.next() % UInt64(values.count)) : Int(rng.next() % 5)
            let value = values[k]
            let trust = UInt8(rng.next() % 3)
            value.withUnsafeBufferPointer { buf in
                let b = LineBytes(buf)
                line.reset(bytes: b)
                line.beginDelivery(.delivered)
                line.storage.pointee.tls = Self.spans(value)
                line.storage.pointee.trust = trust
                let expected = line.tlsInfo { String(decoding: b.buffer($0), as: UTF8.self) }
                // The parser's form: only the value, its spans read when asked.
                if step % 2 == 1 {
                    line.storage.pointee.tls = EximTLSSpans(value: Span(0..<value.count))
                    if line.tlsInfo({ String(decoding: b.buffer($0), as: UTF8.self) }) != expected {
                        wrong.append("pending \(step)")
                    }
                }
                let got = caches.tlsInfo(line)
                if got != expected { wrong.append("\(step): \(String(decoding: value, as: UTF8.self)) trust \(trust)") }
                if var c = copy {
                    if c.tlsInfo(line) != expected { wrong.append("copy \(step)") }
                    copy = c
                }
            }
            if step == 3_000 { copy = caches }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
        // A line without `X=` has no facts.
        [UInt8]().withUnsafeBufferPointer { buf in
            line.reset(bytes: LineBytes(buf))
            line.beginDelivery(.delivered)
            #expect(caches.tlsInfo(line) == nil)
        }
    }

    /// The memo's entry for the `n` bytes at `p` with `trust` by the plain scan of its entries
    /// (what `find` did before its hint table).
    static func plainFind(_ m: EximCorrelator.TLSMemo, _ p: UnsafePointer<UInt8>, _ n: Int, trust: UInt8) -> TLSInfo? {
        let st = m.storage
        for i in 0..<m.count where st.keys[2 * i] == UInt64(n) | UInt64(trust) << 32
            && UnsafeBufferPointer(start: st.bytes + i * EximCorrelator.TLSMemo.width, count: n)
                .elementsEqual(UnsafeBufferPointer(start: p, count: n)) {
            return st.infos[i]
        }
        return nil
    }

    @Test func hintedFindGivesThePlainScansEntry() {
        // `TLSMemo.find` (the entry stored last under the value's hash tried first) against the
        // plain scan, on seeded values: a pool larger than the memo (entries replaced, hints left
        // stale), values alike but for a byte before their last eight, each under three trust codes.
        var rng = SplitMix64(seed: 23)
        var values = Self.pool(&rng)
        for k in 0..<12 { values.append(Array("TLS1.3:SAME_PREFIX_\(k)_SAME_LAST_EIGHT:128".utf8)) }
        var memo = EximCorrelator.TLSMemo()
        var wrong: [String] = []
        for step in 0..<20_000 {
            let value = values[Int(rng.next() % UInt64(values.count))]
            let trust = UInt8(rng.next() % 3)
            guard value.count >= 8, value.count <= EximCorrelator.TLSMemo.width else { continue }
            value.withUnsafeBufferPointer { buf in
                let p = buf.baseAddress!
                let got = memo.find(p, buf.count, trust: trust)
                let want = Self.plainFind(memo, p, buf.count, trust: trust)
                if got != want || (got == nil) != (want == nil) { wrong.append("\(step)") }
                if got == nil {
                    memo.add(p, buf.count, trust: trust, TLSInfo(proto: nil, cipher: "\(step)", bits: step, trust: nil))
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }
}
