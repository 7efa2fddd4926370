// Output: writing to stdout/stderr from commands (fd writes, no shared FILE*).
// Every byte passes TerminalText.sanitize first: whatever a log, a file name
// or the database put into a message, no raw control character (ESC, CR,
// C1, bidi overrides, invalid UTF-8) reaches the terminal; newline and tab
// are kept. Fields are escaped where they are formatted; this is the net
// under them. The progress line (Ingest.Progress) is the one writer of our
// own escape sequences and does not come through here.
#if canImport(Glibc)
import Glibc
#endif
import MailTrailModel

enum Output {
    /// Writes bytes to standard output (sanitized), retrying short writes.
    static func out(_ raw: [UInt8]) {
        let bytes = TerminalText.sanitize(raw)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(1, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }

    static func out(_ text: String) { out(Array(text.utf8)) }

    static func err(_ text: String) { Output.errBytes(Array(text.utf8)) }

    private static func errBytes(_ raw: [UInt8]) {
        let bytes = TerminalText.sanitize(raw)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(2, $0.baseAddress! + done, $0.count - done) }
            if n <= 0 { if errno == EINTR { continue }; return }
            done += n
        }
    }
}
