// The interner's word-at-a-time key compare (its last partial word read as
// the eight bytes ending at the key's end) on keys of every length, and the
// tag's pid at every distance from the line's end.
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

    @Test func internerKeysOfEveryLengthCompareExactly() {
        var rng = SplitMix(seed: 0xC0FFEE)
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

/// A small seeded generator (SplitMix64) so random inputs are the same on every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
