/// CopyBinaryBufferTests: the encoder's own buffer (round 18: unaligned big-endian stores and a
/// copy of a text field that looks for NUL as it passes, instead of `[UInt8]` appends).
///
/// Contract: a `text` field is its length and its bytes with each NUL as U+FFFD, at every
/// length from 0 to 300 (the short byte loop, the word loop up to 256 bytes, the long
/// `memcpy` path), with a NUL at the first, a middle and the last byte or none, starting at
/// every offset modulo 8, from a String and from a packed row's bytes alike, while the buffer
/// grows from its smallest size; integers, reals and inet values are the bytes of their
/// definitions; a copy of an encoder keeps its bytes when the original is emptied or written.
import MailTrailModel
import Testing
@testable import PostgresLoading

@Suite struct CopyBinaryBufferTests {
    static func be32(_ v: Int) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> (8 * (3 - $0))) } }

    /// The definition: length, then the bytes with each NUL as EF BF BD.
    static func expectedText(_ b: [UInt8]) -> [UInt8] {
        let body = b.flatMap { $0 == 0 ? [0xEF, 0xBF, 0xBD] : [$0] }
        return be32(body.count) + body
    }

    @Test func textIsItsDefinitionAtEveryLengthAndOffset() {
        for n in 0...300 {
            var nulPlaces: [Int?] = [nil]
            if n > 0 { nulPlaces += [0, n / 2, n - 1] }
            for nul in nulPlaces {
                var b = (0..<n).map { UInt8(1 + ($0 &* 37) % 127) }
                if let k = nul { b[k] = 0 }
                for lead in 0..<8 {
                    var c = CopyBinary(), r = CopyBinary()
                    let pad = [UInt8](repeating: 0x41, count: lead)
                    c.appendRaw(pad); r.appendRaw(pad)
                    c.text(String(decoding: b, as: UTF8.self))
                    var text = RowText()
                    let ref = b.withUnsafeBufferPointer { text.add($0) }
                    r.text(ref, in: text)
                    let want = pad + Self.expectedText(b)
                    #expect(c.bytes == want, "n \(n) nul \(String(describing: nul)) lead \(lead)")
                    #expect(r.bytes == want, "packed n \(n) nul \(String(describing: nul)) lead \(lead)")
                }
            }
        }
    }

    @Test func fixedWidthFieldsAreTheirBytes() {
        var c = CopyBinary()
        c.beginRow(28); c.int4(-2); c.int4(Int(Int32.max) + 1); c.float4(1.5); c.int8(-1); c.null()
        c.inet("192.0.2.1"); c.inet("2001:db8::1"); c.inet("unknown")
        let v6: [UInt8] = [0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]
        #expect(c.bytes == [0, 28] + Self.be32(4) + [0xFF, 0xFF, 0xFF, 0xFE] + Self.be32(-1)
                + Self.be32(4) + [0x3F, 0xC0, 0, 0] + Self.be32(8) + [UInt8](repeating: 0xFF, count: 8) + Self.be32(-1)
                + Self.be32(8) + [2, 32, 0, 4, 192, 0, 2, 1] + Self.be32(20) + [3, 128, 0, 16] + v6 + Self.be32(-1))
    }

    @Test func aCopyKeepsItsBytes() {
        var a = CopyBinary()
        a.text("first")
        let b = a
        a.text("second")
        #expect(b.bytes == Self.expectedText(Array("first".utf8)))
        var c = a
        a.removeAll()
        a.text("third")
        #expect(a.bytes == Self.expectedText(Array("third".utf8)))
        #expect(c.bytes == Self.expectedText(Array("first".utf8)) + Self.expectedText(Array("second".utf8)))
        c.int4(7)
        #expect(a.bytes == Self.expectedText(Array("third".utf8)))
        #expect(c.count == 9 + 10 + 8 && !c.isEmpty)
        c.withBytes { #expect(Array($0) == c.bytes) }
    }
}
