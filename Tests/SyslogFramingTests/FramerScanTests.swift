// The interner's word-at-a-time key compare (its last partial word read as
// the eight bytes ending at the key's end) on keys of every length, and the
// tag's pid at every distance from the line's end, and its digits read a word at a time.
import Testing
import MailTrailModel
@testable import SyslogFraming

@Suite struct FramerScanTests {
    @Test func pidsAtEveryDistanceFromTheLineEnd() {
        for digits in ["1", "42", "1234567", "12345678", "2147483647", "2147483648", ""] {
            for tail in ["", ":", ": ", ": x", ": abcdefgh"] {
                let text = "Nov 21 10:00:00 host prog[\(digits)]\(tail)"
                var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2026))
                let result = Array(text.utf8).withUnsafeBufferPointer { f.frame($0, offset: 0) }
                switch result {
                case .framed(let ctx, _):
                    #expect(!tail.isEmpty && !digits.isEmpty && Int64(digits)! <= Int64(Int32.max), "\(text)")
                    #expect(ctx.pid == Int32(digits), "\(text)")
                case .unframed(let reason):
                    let expected = digits.isEmpty ? "bad pid in tag"
                        : Int64(digits)! > Int64(Int32.max) ? "pid out of range" : "no colon after tag[pid]"
                    #expect(reason == expected, "\(text)")
                }
            }
        }
    }

    /// The word-at-a-time digit reader against a byte loop: runs of 0 to 12 digits (leading zeros
    /// included) followed by every byte value, ending at every distance from the buffer's end.
    @Test func decimalDigitsMatchAByteLoop() {
        func reference(_ b: [UInt8], _ k: Int) -> (Int64, Int)? {
            var j = k, v: Int64 = 0
            while j < b.count, b[j] >= 0x30, b[j] <= 0x39 {
                v = v * 10 + Int64(b[j] - 0x30)
                if v > Int64(Int32.max) { return nil }
                j += 1
            }
            return (v, j)
        }
        var rng = SplitMix64(seed: 42)
        var checked = 0
        for length in 0...12 {
            for next in 0...255 {
                for pad in 0...9 {
                    var b: [UInt8] = [0x5B]
                    for d in 0..<length { b.append(d == 0 && next % 3 == 0 ? 0x30 : 0x30 + UInt8(rng.next() % 10)) }
                    b.append(UInt8(next))
                    for _ in 0..<pad { b.append(UInt8(truncatingIfNeeded: rng.next())) }
                    // The run also ends at the buffer's end (no byte after it).
                    for cut in [b.count, 1 + length] {
                        let buf = Array(b[0..<cut])
                        let got = buf.withUnsafeBufferPointer { SyslogFramer.decimal($0.baseAddress!, 1, cut) }
                        let want = reference(buf, 1)
                        #expect(got?.0 == want?.0 && got?.1 == want?.1, "\(buf)")
                        checked += 1
                    }
                }
            }
        }
        #expect(checked == 13 * 256 * 10 * 2)
    }

    /// An Exim mainlog's `[pid] ` (read with `decimal`) against its definition: 1 to 10 digits,
    /// at most `Int32.max`, then `] `; 11 digits fail even with leading zeros.
    @Test func bracketPIDsMatchTheirDefinition() {
        func reference(_ b: [UInt8]) -> (Int32, Int)? {
            guard b.first == 0x5B else { return nil }
            var j = 1
            while j < b.count, b[j] >= 0x30, b[j] <= 0x39 { j += 1 }
            guard j > 1, j - 1 <= 10, j + 1 < b.count, b[j] == 0x5D, b[j + 1] == 0x20,
                  let v = Int64(String(decoding: b[1..<j], as: UTF8.self)), v <= Int64(Int32.max) else { return nil }
            return (Int32(v), j + 2)
        }
        let runs = ["", "0", "7", "42", "1234567", "12345678", "0000000001", "00000000001", "2147483647",
                    "2147483648", "99999999999"]
        var checked = 0
        for digits in runs {
            for tail in ["", "]", "] ", "] x", "]x", "x] ", " ] "] {
                let b = Array("[\(digits)\(tail)".utf8)
                let got = b.withUnsafeBufferPointer { SyslogFramer.bracketPID($0.baseAddress!, b.count, 0) }
                let want = reference(b)
                #expect(got?.0 == want?.0 && got?.1 == want?.1, "\(digits)\(tail)")
                checked += want == nil ? 0 : 1
            }
        }
        // Accepted: each run of 1 to 10 digits within Int32 with `] ` or `] x` after it.
        #expect(checked == 7 * 2)
    }

    @Test func internerKeysOfEveryLengthCompareExactly() {
        var rng = SplitMix64(seed: 0xC0FFEE)
        var interner = Interner<Int>(capacity: 4096)
        var keys: [[UInt8]] = []
        for length in 0..<40 {
            for _ in 0..<3 { keys.append((0..<length).map { _ in UInt8(0x61 + rng.next() % 3) }) }
        }
        var firstIndex: [[UInt8]: Int] = [:]
        for key in keys {
            let i = key.withUnsafeBufferPointer { interner.index(for: $0) { _ in 0 } }
            if let known = firstIndex[key] { #expect(i == known) } else { firstIndex[key] = i }
        }
        // Every key, and each key with its last byte changed, is found or missed exactly.
        for key in keys {
            #expect(key.withUnsafeBufferPointer { interner.lookup($0) } == firstIndex[key])
            guard !key.isEmpty else { continue }
            var other = key
            other[other.count - 1] = 0x7A
            #expect(other.withUnsafeBufferPointer { interner.lookup($0) } == -1)
        }
    }
}

@Suite struct RegionCacheTests {
    static func with<R>(_ s: [UInt8], _ body: (UnsafeRawPointer, Int) -> R) -> R {
        s.withUnsafeBytes { body($0.baseAddress!, s.count) }
    }

    @Test func aStoredRegionIsFoundAndOnlyItsExactBytesMatch() {
        var rng = SplitMix64(seed: 0x4E61_6F6E)
        for n in 8...48 {
            var cache = RegionCache()
            let region = (0..<n).map { _ in UInt8(0x61 + rng.next() % 26) }
            Self.with(region) { cache.store($0, $1, Int64(n) << 32 | 7) }
            #expect(Self.with(region) { cache.lookup($0, $1) } == Int64(n) << 32 | 7)
            // Any one byte changed, wherever it is (first word, middle, the overlapped tail), misses.
            for i in 0..<n {
                var other = region
                other[i] ^= 0x20
                #expect(Self.with(other) { cache.lookup($0, $1) } == nil, "n \(n) byte \(i)")
            }
            // The same bytes one shorter or longer are other regions.
            if n > 8 { #expect(Self.with(Array(region.dropLast())) { cache.lookup($0, $1) } == nil) }
            #expect(Self.with(region + [0x61]) { cache.lookup($0, $1) } == nil)
        }
        #expect(!RegionCache.fits(7) && RegionCache.fits(8) && RegionCache.fits(48) && !RegionCache.fits(49))
    }

    @Test func regionsSharingASlotEvictEachOtherButNeverAnswerForEachOther() {
        var cache = RegionCache()
        var stored: [[UInt8]: Int64] = [:]
        var rng = SplitMix64(seed: 77)
        // Far more regions than slots: every lookup is the stored value or a miss, never another's.
        for i in 0..<2_000 {
            let n = 8 + Int(rng.next() % 41)
            let region = (0..<n).map { _ in UInt8(0x61 + rng.next() % 4) }
            Self.with(region) { cache.store($0, $1, Int64(i)) }
            stored[region] = Int64(i)
        }
        var hits = 0
        for (region, value) in stored {
            if let got = Self.with(region, { cache.lookup($0, $1) }) { #expect(got == value); hits += 1 }
        }
        #expect(hits > 0 && hits <= RegionCache.slotCount)
    }

    @Test func aCopyStoresIntoItsOwnEntries() {
        let a = Array("relay-1.example.org postfix/smtpd".utf8), b = Array("relay-2.example.org postfix/qmgr".utf8)
        var original = RegionCache()
        Self.with(a) { original.store($0, $1, 1) }
        var copy = original
        Self.with(a) { copy.store($0, $1, 2) }
        Self.with(b) { copy.store($0, $1, 3) }
        #expect(Self.with(a) { original.lookup($0, $1) } == 1 && Self.with(b) { original.lookup($0, $1) } == nil)
        #expect(Self.with(a) { copy.lookup($0, $1) } == 2 && Self.with(b) { copy.lookup($0, $1) } == 3)
        // Framers copied mid-stream give other indices from then on; each keeps its own answers.
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2026))
        func host(_ framer: inout SyslogFramer, _ text: String) -> String? {
            guard case .framed(let ctx, _) = Array(text.utf8).withUnsafeBufferPointer({ framer.frame($0, offset: 0) })
            else { return nil }
            return ctx.host
        }
        #expect(host(&f, "Nov 21 10:00:00 relay-0.example.org postfix/smtpd[1]: x") == "relay-0.example.org")
        var g = f
        #expect(host(&f, "Nov 21 10:00:01 relay-1.example.org postfix/smtpd[1]: x") == "relay-1.example.org")
        #expect(host(&g, "Nov 21 10:00:01 relay-2.example.org postfix/smtpd[1]: x") == "relay-2.example.org")
        #expect(host(&g, "Nov 21 10:00:02 relay-1.example.org postfix/smtpd[1]: x") == "relay-1.example.org")
        #expect(host(&f, "Nov 21 10:00:02 relay-2.example.org postfix/smtpd[1]: x") == "relay-2.example.org")
        #expect(host(&f, "Nov 21 10:00:03 relay-0.example.org postfix/smtpd[1]: x") == "relay-0.example.org")
    }

    @Test func framingManyHostsAndTagsGivesEachLineItsOwnHostAndTag() {
        // 40 hosts x 12 tags interleaved, long and short: the cached answer is always the line's own.
        let hosts = (0..<40).map { i in i % 3 == 0 ? "h\(i)" : "relay-\(i).mail.example-\(i % 7).org" }
        let tags = ["postfix/smtpd", "postfix/cleanup", "postfix/qmgr", "postfix/smtp", "sendmail", "sm-mta",
                    "exim", "postfix/submission/smtpd", "p", "postfix-out/smtp", "amavis", "postfix/local"]
        var f = SyslogFramer(config: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2026))
        var rng = SplitMix64(seed: 5)
        for _ in 0..<5_000 {
            let host = hosts[Int(rng.next() % UInt64(hosts.count))], tag = tags[Int(rng.next() % UInt64(tags.count))]
            let text = "Nov 21 10:00:00 \(host) \(tag)[42]: body"
            let result = Array(text.utf8).withUnsafeBufferPointer { f.frame($0, offset: 0) }
            guard case .framed(let ctx, _) = result else { Issue.record("unframed: \(text)"); return }
            let parts = tag.split(separator: "/").map(String.init)
            #expect(ctx.host == host && ctx.program == parts.last! && ctx.instance == (parts.count > 1 ? parts[0] : ""),
                    "\(text)")
        }
    }
}
