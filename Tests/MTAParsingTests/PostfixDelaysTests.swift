// PostfixDelaysTests: the one-pass reader of `delays=a/b/c/d` gives exactly what the
// general path (ByteScanner.double per part) gives, on the usual and the unusual forms.
import Testing
@testable import MTAParsing

@Suite struct PostfixDelaysTests {
    static let forms = [
        "0.4/0.01/0.3/0.39", "0/0/0/0", "44869/0/30/0", "0.05/0/1.1/0.71", "1234567.891234/0.000001/7/0.5",
        "1e2/0/0/0", "-1/0/0/0", "0.1/0.2/0.3", "0.1/0.2/0.3/0.4/0.5", "0.1//0.3/0.4", "0.1/0.2/0.3/",
        "", "/", "1.2.3/0/0/0", "0.1/0.2/0.3/0.4x", "1234567890123456/0/0/0", "0.12345678901234567890123/0/0/1",
        ".5/1./0/0", "./0/0/0", "0/0/0/.", "1./.2/3/4", "0.1/0.2/0.3/0.4/", "00.10/0/0/007", "0.1 /0/0/0",
        "0/0/0/0 ", "123456789012345/0/0/0", "1234567890.12345/0/0/0", "1234567890.123456/0/0/0",
        "0.0000000000000000000001/0/0/0", "0..1/0/0/0", "+1/0/0/0", "0/0/0/1e", "9/9/9/9",
    ]

    @Test(arguments: forms)
    func onePassEqualsGeneralPath(_ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBufferPointer { buf in
            let s = ByteScanner(buf)
            let fast = PostfixParser.delays(s, 0..<buf.count)
            let general = PostfixParser.delaysGeneral(s, 0..<buf.count)
            #expect(fast.map { [$0.0, $0.1, $0.2, $0.3] } == general.map { [$0.0, $0.1, $0.2, $0.3] })
        }
    }

    @Test func usualFormValues() {
        let bytes = Array("0.4/0.01/0.3/0.39".utf8)
        bytes.withUnsafeBufferPointer { buf in
            let d = PostfixParser.delays(ByteScanner(buf), 0..<buf.count)
            #expect(d.map { [$0.0, $0.1, $0.2, $0.3] } == [0.4, 0.01, 0.3, 0.39])
        }
        let bad = Array("0.1/0.2/0.3".utf8)
        bad.withUnsafeBufferPointer { buf in
            #expect(PostfixParser.delays(ByteScanner(buf), 0..<buf.count) == nil)
        }
    }
}
