/// HostileOutputTests: hostile log content and file names end to end through
/// the built `mailtrail` binary — ingest, trace (text, json, dot) and parse —
/// and not one raw control character reaches stdout or stderr.
///
/// Contract: the log carries ESC/OSC sequences, BEL, C1 CSI (U+009B), a
/// right-to-left override, tabs, backslashes, quotes, `%s %n`, SQL, NUL,
/// invalid UTF-8 and a 1.2 MB line, in a file whose name holds ESC and CR.
/// The database keeps the values (NUL and invalid bytes as U+FFFD); the
/// terminal sees them escaped (`\x1B`, `\u{202E}`), JSON stays valid JSON.
/// Limits: checks bytes of the output, not how a given terminal would draw it.
import Foundation
import Ingest
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Testing

/// True when `s` holds a character a terminal may act on (TerminalText's rule), newline and tab aside.
func hasRawControl(_ s: String) -> Bool {
    s.unicodeScalars.contains { $0 != "\n" && $0 != "\t" && TerminalText.isUnsafe($0.value) }
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct HostileOutputTests {
    @Test func hostileLogIsStoredExactlyAndShownEscaped() throws {
        try TestDatabase.with { db in
            try keepEverything(db)
            let sender = "ev\u{1b}[2Jil\u{9b}6n'; DROP TABLE mailtrail.messages; --%s%n\"q\\\\\t@example.org"
            var log: [UInt8] = []
            func line(_ s: String) { log += Array(s.utf8) + [0x0a] }
            line("Nov 20 12:00:01 mx9 postfix/smtpd[1]: 4F2A31C0A2B: client=evil.example[198.51.100.9]")
            line("Nov 20 12:00:01 mx9 postfix/cleanup[2]: 4F2A31C0A2B: message-id=<hostile.1@example.org>")
            line("Nov 20 12:00:01 mx9 postfix/qmgr[3]: 4F2A31C0A2B: from=<\(sender)>, size=10, nrcpt=1 (queue active)")
            log += Array("Nov 20 12:00:02 mx9 postfix/smtp[4]: 4F2A31C0A2B: to=<v@y.example>, relay=y.example[192.0.2.99]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=5.0.0, status=bounced (\u{1b}]0;owned\u{07}\u{202E}gnp.exe ".utf8)
            log += [0xff, 0x00, 0x1b] + Array("[31m red)".utf8) + [0x0a]
            log += Array(repeating: UInt8(ascii: "["), count: 1_200_000) + [0x0a]   // cut at 1 MiB, unparsed
            let dir = NSTemporaryDirectory() + "mailtrail-hostile-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let path = dir + "/mail\u{1b}[2J\r.log"
            FileManager.default.createFile(atPath: path, contents: Data(log + Array("Nov 20 12:00:09 mx9 partial".utf8)))

            // ingest through the binary
            let env = ["PGDATABASE": db.name]
            let ingest = try runMailtrail(["ingest", "--year", "2026", "--timezone", "UTC", "--quiet", path], environment: env)
            #expect(ingest.status == 0, "\(ingest.err)")
            #expect(!hasRawControl(ingest.out + ingest.err))
            #expect(ingest.err.contains("lines read 5, parsed 4, ignored 0, unparsed 1"))
            #expect(ingest.err.contains("mail\\x1B[2J\\x0D.log: last line has no newline yet"))
            #expect(try rows(db, "SELECT sender FROM mailtrail.messages") == [sender])
            #expect(try rows(db, "SELECT response FROM mailtrail.deliveries")
                    == ["\u{1b}]0;owned\u{07}\u{202E}gnp.exe \u{FFFD}\u{FFFD}\u{1b}[31m red"])
            #expect(try db.connection.scalarInt("SELECT length(raw) FROM mailtrail.unparsed_lines") == 1 << 20)

            // trace: text, dot, json
            let text = try runMailtrail(["trace", "hostile.1@example.org"], environment: env)
            #expect(text.status == 0, "\(text.err)")
            #expect(!hasRawControl(text.out + text.err))
            #expect(text.out.contains("from=<ev\\x1B[2Jil\\x9B6n'; DROP TABLE mailtrail.messages; --%s%n\"q\\\\\\x09@example.org>"))
            #expect(text.out.contains("\\x1B]0;owned\\x07\\u{202E}gnp.exe"))
            let dot = try runMailtrail(["trace", "hostile.1@example.org", "--format", "dot"], environment: env)
            #expect(dot.status == 0 && !hasRawControl(dot.out))
            let json = try runMailtrail(["trace", "hostile.1@example.org", "--format", "json"], environment: env)
            #expect(json.status == 0 && !hasRawControl(json.out))
            let doc = try #require(try JSONSerialization.jsonObject(with: Data(json.out.utf8)) as? [String: Any])
            let hop = try #require((doc["hops"] as? [[String: Any]])?.first)
            #expect(hop["sender"] as? String == sender)

            // a Message-ID with an escape that is not found: the message echoes it escaped
            let none = try runMailtrail(["trace", "no\u{1b}[2Jthing@x"], environment: env)
            #expect(none.status == 1)
            #expect(!hasRawControl(none.err) && none.err.contains("no\\x1B[2Jthing@x"))

            // parse: JSON lines, valid and terminal-safe
            let parse = try runMailtrail(["parse", "--year", "2026", "--timezone", "UTC", path])
            #expect(parse.status == 0)
            #expect(!hasRawControl(parse.out + parse.err))
            var kinds: [String] = []
            var senders: [String] = []
            for l in parse.out.split(separator: "\n") {
                let obj = try #require(try JSONSerialization.jsonObject(with: Data(l.utf8)) as? [String: Any])
                kinds.append(obj["kind"] as? String ?? "?")
                if let s = obj["sender"] as? String { senders.append(s) }
            }
            #expect(kinds.sorted() == ["delivery", "message", "unparsed"])
            #expect(senders == [sender])

            // an unreadable file named with escapes: the error is escaped too
            let missing = try runMailtrail(["parse", dir + "/nope\u{1b}[31m.log"])
            #expect(missing.status != 0)
            #expect(!hasRawControl(missing.err))
        }
    }

    @Test func sanitizeKeepsTextAndEscapesControls() {
        #expect(TerminalText.sanitize(Array("plain\ttext\n".utf8)) == Array("plain\ttext\n".utf8))
        #expect(TerminalText.sanitize(Array("é ü 中 😀\n".utf8)) == Array("é ü 中 😀\n".utf8))
        #expect(String(decoding: TerminalText.sanitize([0x1b, 0x5b, 0x32, 0x4a, 0x0d, 0x07, 0x7f]), as: UTF8.self)
                == "\\x1B[2J\\x0D\\x07\\x7F")
        #expect(String(decoding: TerminalText.sanitize(Array("\u{9b}\u{202E}\u{2028}\u{FEFF}".utf8)), as: UTF8.self)
                == "\\x9B\\u{202E}\\u{2028}\\u{FEFF}")
        // invalid UTF-8: lone continuation, overlong, surrogate, truncated sequence, raw 8-bit CSI
        #expect(String(decoding: TerminalText.sanitize([0x80, 0xC0, 0x80, 0xED, 0xA0, 0x80, 0xE2, 0x82, 0x41, 0x9B]), as: UTF8.self)
                == "\\x80\\xC0\\x80\\xED\\xA0\\x80\\xE2\\x82A\\x9B")
        #expect(TerminalText.escape("a\tb\nc\u{1b}") == "a\\x09b\\x0Ac\\x1B")
        #expect(TerminalText.escape("mx1.example.org") == "mx1.example.org")
    }
}
