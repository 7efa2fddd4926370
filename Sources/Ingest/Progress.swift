/// Progress: a one-line progress display for long ingests.
///
/// Contract: on a terminal (stderr is a tty) it redraws one line at most 5
/// times a second: file, bytes done / total, lines/s, ETA; `finish()` clears
/// it. When stderr is not a terminal it prints a plain line every
/// `plainInterval` seconds if asked to (`plain: true`), otherwise nothing.
/// Wall-clock time is used only here, never in the data. The file name is
/// escaped (TerminalText): a name with ESC or CR cannot draw on the terminal.
#if canImport(Glibc)
import Glibc
#endif
import MailTrailModel

public final class Progress {
    let isTerminal: Bool
    let plain: Bool
    let plainInterval: Double
    var lastDraw: Double = 0
    var started: Double
    var drewSomething = false

    public init(enabled: Bool = true, plain: Bool = false, plainInterval: Double = 10) {
        self.isTerminal = enabled && isatty(2) == 1
        self.plain = enabled && plain && !isTerminal
        self.plainInterval = plainInterval
        self.started = Progress.clock()
    }

    static func clock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Reports the state of the current file; cheap to call often.
    public func update(file: String, done: Int64, total: Int64?, lines: Int64) {
        guard isTerminal || plain else { return }
        let now = Progress.clock()
        if now - lastDraw < (isTerminal ? 0.2 : plainInterval) { return }
        lastDraw = now
        let elapsed = max(now - started, 0.001)
        let rate = Double(lines) / elapsed
        var text = "\(TerminalText.escape(file)): \(Progress.bytes(done))"
        if let total, total > 0 {
            let pct = min(100, Double(done) * 100 / Double(total))
            let eta = done > 0 ? elapsed * Double(total - done) / Double(done) : 0
            text += " / \(Progress.bytes(total)) (\(Int(pct))%), ETA \(Int(eta)) s"
        }
        text += ", \(Int(rate)) lines/s"
        if isTerminal {
            let width = 30
            var bar = ""
            if let total, total > 0 {
                let filled = Int(Double(width) * min(1, Double(done) / Double(total)))
                bar = "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] "
            }
            writeStandardError("\r\u{1b}[K" + bar + text)
            drewSomething = true
        } else {
            writeStandardError("progress: " + text + "\n")
        }
    }

    /// Clears the progress line.
    public func finish() {
        if isTerminal && drewSomething { writeStandardError("\r\u{1b}[K") }
        drewSomething = false
    }

    static func bytes(_ n: Int64) -> String {
        if n >= 1 << 30 { return String(n * 10 / (1 << 30) / 10) + "." + String(n * 10 / (1 << 30) % 10) + " GiB" }
        if n >= 1 << 20 { return String(n >> 20) + " MiB" }
        if n >= 1 << 10 { return String(n >> 10) + " KiB" }
        return String(n) + " B"
    }
}

/// Writes text to file descriptor 2 (unbuffered; safe from any context).
public func writeStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress! + done, $0.count - done) }
        if n <= 0 { if errno == EINTR { continue }; return }
        done += n
    }
}
