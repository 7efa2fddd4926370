// EximCachesTests: the Exim correlator's own String helper (`EximCorrelator.Caches.optional`,
// written in the correlator so that it is inlined) against the model's form it stands for
// (`EximStrings.optionalString`) and against
// `String(decoding:as:)`, value for value, on seeded random spans: absent, empty, every length
// from 1 to 40 around the 15-byte small form and the cache's 32 bytes, ASCII and not, values
// repeated so that cache hits are compared too.
// Limits: seeded random bytes, not a fuzzer.
import Testing
import MailTrailModel
@testable import Correlation

@Suite struct EximCachesTests {
    @Test func optionalAndPeerGiveTheModelsStrings() {
        var rng = SplitMix64(seed: 8)
        var fast = EximCorrelator.Caches()
        var model = EximStrings()
        let alphabet: [UInt8] = Array("abcz.-@09XY".utf8) + [0xC3, 0xA9, 0xFF, 0x80]
        var pool: [[UInt8]] = []
        for _ in 0..<200 {
            let n = Int(rng.next() % 41)
            let ascii = rng.next() % 3 != 0
            pool.append((0..<n).map { _ in alphabet[Int(rng.next() % UInt64(ascii ? 11 : alphabet.count))] })
        }
        for _ in 0..<4000 {
            // A line of three values from the pool (so values repeat), spans over each.
            let parts = (0..<3).map { _ in pool[Int(rng.next() % UInt64(pool.count))] }
            var bytes: [UInt8] = []
            var spans: [Span] = []
            for p in parts {
                spans.append(Span(bytes.count..<(bytes.count + p.count)))
                bytes += p
                bytes.append(0x20)
            }
            if rng.next() % 4 == 0 { spans[Int(rng.next() % 3)] = .absent }
            bytes.withUnsafeBufferPointer { buf in
                let b = LineBytes(buf)
                for s in spans {
                    let expected: String? = s.isAbsent ? nil : String(decoding: b.buffer(s), as: UTF8.self)
                    let got = fast.optional(s, b)
                    #expect(got == expected)
                    #expect(got == model.optionalString(s, in: b))
                }
            }
        }
    }
}
