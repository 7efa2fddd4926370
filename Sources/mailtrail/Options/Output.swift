// Output: writing to stdout/stderr from commands (fd writes, no shared FILE*).
#if canImport(Glibc)
import Glibc
#endif

enum Output {
    /// Writes bytes to standard output, retrying short writes.
    static func out(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }

    static func out(_ text: String) { out(Array(text.utf8)) }

    static func err(_ text: String) { Output.errBytes(Array(text.utf8)) }

    private static func errBytes(_ bytes: [UInt8]) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(2, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }
}
