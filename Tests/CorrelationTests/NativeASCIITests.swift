// NativeASCIITests: `NativeASCII.make` (a native String of 16 to 63 ASCII bytes built with one
// `swift_allocObject` of the standard library's storage class, header and bytes written
// directly) against `String(decoding:as:)` on exact values: for every length from 16 to 63 and
// seeded random ASCII bytes, the same text, hash, UTF-8, count-and-flags word and storage header
// (real capacity, count and flags, the bytes, the NUL after them), an object word of the native
// form; the String behaves as one the standard library made when appended to, sliced, compared and
// released (many made and dropped); nil for non-ASCII bytes (any byte >= 0x80 at any place), for
// fewer than 16 or more than 63 bytes; reads only its bytes (values at the very end of a buffer);
// `EximStrings.fresh` gives `String(decoding:as:)`'s text at every length 0-80, ASCII or not.
// Limits: the layout check is of this build's platform only (on others `make` is nil and the
// callers decode).
import Testing
import MailTrailModel

@Suite struct NativeASCIITests {
    private func words(_ s: String) -> (UInt64, UInt64) { unsafeBitCast(s, to: (UInt64, UInt64).self) }

    /// `make` of `bytes` placed at the very end of a buffer (a read past them would leave it).
    private func made(_ bytes: [UInt8]) -> String? {
        let p = UnsafeMutablePointer<UInt8>.allocate(capacity: max(1, bytes.count))
        defer { p.deallocate() }
        for (k, b) in bytes.enumerated() { p[k] = b }
        return NativeASCII.make(p, bytes.count)
    }

    /// The storage header words (real capacity with flags, count with flags) and the bytes with
    /// the NUL after them, of a native String.
    private func storage(_ s: String) -> (UInt64, UInt64, [UInt8]) {
        withExtendedLifetime(s) {
            let (w0, w1) = words(s)
            let n = Int(w0 & 0xFFFF_FFFF_FFFF)
            let obj = UnsafeRawPointer(bitPattern: UInt(w1 & 0x0FFF_FFFF_FFFF_FFFF))!
            let bytes = (0...n).map { obj.load(fromByteOffset: 32 + $0, as: UInt8.self) }
            return (obj.load(fromByteOffset: 16, as: UInt64.self), obj.load(fromByteOffset: 24, as: UInt64.self), bytes)
        }
    }

    @Test func layoutIsTheExpectedOne() {
        #expect(NativeASCII.isAvailable)
    }

    @Test func everyLengthAndRandomBytesGiveDecodingsStringAndStorage() {
        var rng = SplitMix64(seed: 71)
        var wrong: [String] = []
        for n in 16...63 {
            for round in 0..<40 {
                let bytes: [UInt8] = round == 0 ? (0..<n).map { UInt8(0x61 + $0 % 26) }
                    : round == 1 ? [UInt8](repeating: 0, count: n) : round == 2 ? [UInt8](repeating: 0x7F, count: n)
                    : (0..<n).map { _ in UInt8(rng.next() % 128) }
                let expected = String(decoding: bytes, as: UTF8.self)
                guard let s = made(bytes) else { wrong.append("n=\(n) nil"); continue }
                let (e0, e1) = words(expected), (g0, g1) = words(s)
                let es = storage(expected), gs = storage(s)
                if s != expected || s.hashValue != expected.hashValue || Array(s.utf8) != bytes || s.utf8.count != n
                    || g0 != e0 || g1 >> 60 != e1 >> 60 || g1 == e1 || gs.0 != es.0 || gs.1 != es.1 || gs.2 != es.2 {
                    wrong.append("n=\(n) round=\(round)")
                }
            }
        }
        #expect(wrong == [])
    }

    @Test func madeStringsBehaveAsDecodedOnes() {
        var rng = SplitMix64(seed: 72)
        var kept: [String] = []
        var wrong = 0
        for i in 0..<20_000 {
            let n = 16 + Int(rng.next() % 48)
            let bytes = (0..<n).map { _ in UInt8(0x20 + rng.next() % 95) }
            let expected = String(decoding: bytes, as: UTF8.self)
            guard var s = made(bytes) else { wrong += 1; continue }
            if s.prefix(5) != expected.prefix(5) || s.dropFirst(3) != expected.dropFirst(3)
                || s.uppercased() != expected.uppercased() || s < expected || s > expected
                || Set([s, expected]).count != 1 || s.utf16.count != n || s.unicodeScalars.count != n {
                wrong += 1
            }
            let copy = s
            s.append("+é")
            if s != expected + "+é" || copy != expected { wrong += 1 }
            if i % 7 == 0 { kept.append(copy) }
            if kept.count > 500 { kept.removeFirst(250) }
        }
        #expect(wrong == 0)
        #expect(kept.allSatisfy { $0.utf8.count >= 16 })
    }

    @Test func nonASCIIAndOtherLengthsAreRefused() {
        var wrong: [String] = []
        for n in 16...63 {
            for at in [0, n / 2, n - 8, n - 1] where at >= 0 {
                for b: UInt8 in [0x80, 0xC3, 0xFF] {
                    var bytes = [UInt8](repeating: 0x61, count: n)
                    bytes[at] = b
                    if made(bytes) != nil { wrong.append("n=\(n) at=\(at) b=\(b)") }
                }
            }
        }
        for n in [0, 1, 8, 15, 64, 100] where made([UInt8](repeating: 0x61, count: n)) != nil { wrong.append("n=\(n)") }
        #expect(wrong == [])
    }

    @Test func freshGivesDecodingsText() {
        var rng = SplitMix64(seed: 73)
        let alphabet: [UInt8] = Array("ab.-@ 0\"\\".utf8) + [0xC3, 0xA9, 0xFF, 0x80]
        var wrong = 0
        for n in 0...80 {
            for _ in 0..<30 {
                let ascii = rng.next() % 3 != 0
                let bytes = (0..<n).map { _ in alphabet[Int(rng.next() % UInt64(ascii ? 9 : alphabet.count))] }
                let expected = String(decoding: bytes, as: UTF8.self)
                bytes.withUnsafeBufferPointer { buf in
                    if EximStrings.fresh(in: LineBytes(buf), Span(0..<buf.count)) != expected { wrong += 1 }
                }
            }
        }
        #expect(wrong == 0)
    }
}
