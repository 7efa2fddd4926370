// IPAddressTests: `ByteScanner.isIPAddress` against the C library: a range holding a `:` is
// read as IPv6 (`isIPv6`), any other by inet_pton(AF_INET) on its C string (cut at a NUL).
// Limits: a fixed table of usual forms and near misses, not a fuzzer.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
@testable import MTAParsing

@Suite struct IPAddressTests {
    static let forms: [[UInt8]] = [
        "10.3.3.12", "0.0.0.0", "255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.04",
        "1.2.3.4 ", " 1.2.3.4", "1..3.4", "1.2.3.", "a.b.c.d", "12", "1.2.3.4x", "999.1.1.1", "1.2.3.255",
        "::1", "2001:db8::1", "1.2.3.4:25", "::ffff:1.2.3.4", "fe80::1%eth0", "unknown", "",
    ].map { Array($0.utf8) } + [
        Array("1.2.3.4".utf8) + [0], Array("1.2.3.4".utf8) + [0, 0x78], Array("1.2.3.4".utf8) + [0, 0x3A, 0x3A],
        Array("1.2.3".utf8) + [0, 0x2E, 0x34], [0x31, 0x2E, 0x32, 0x2E, 0x33, 0x2E, 0xFF],
    ]

    @Test func agreesWithInetPton() {
        var wrong: [String] = []
        for bytes in Self.forms {
            bytes.withUnsafeBufferPointer { buf in
                let s = ByteScanner(buf)
                let r = 0..<buf.count
                let expected: Bool
                if bytes.count < 2 || bytes.count > 45 {
                    expected = false
                } else if bytes.contains(0x3A) {
                    expected = s.isIPv6(r)
                } else {
                    var cstr = bytes.map { CChar(bitPattern: $0) } + [0]
                    var addr = in_addr()
                    expected = inet_pton(AF_INET, &cstr, &addr) == 1
                }
                if s.isIPAddress(r) != expected { wrong.append("\(bytes)") }
            }
        }
        #expect(wrong == [])
        // The usual case, stated.
        let ok = Array("10.3.3.12".utf8)
        ok.withUnsafeBufferPointer { #expect(ByteScanner($0).isIPAddress(0..<$0.count)) }
    }
}
