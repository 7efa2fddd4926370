/// TraceTests: path reconstruction in SQL and its rendering in Swift.
///
/// Contract: `TraceSQLTests` runs sql/tests/trace_test.sql (as embedded in
/// the binary; SQLTests runs it too, among all SQL tests) against a fresh
/// migrated database, then loads the same scenario for good and checks
/// `TraceQuery` end to end (document, bounds, by queue ID, JSON, text tree).
/// `TraceRendererTests` check the exact text tree and DOT output of a
/// hand-made `TraceDocument`, the escaping of hostile log content, and the
/// JSON reader/printer. Database tests are skipped when no PostgreSQL is
/// reachable, unless CI=true or MAILTRAIL_TEST_DATABASE=1 (then they fail).
/// Limits: the SQL scenario is the one of trace_test.sql; ingest-produced
/// traces are covered by the end-to-end tests.
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Query
import Testing

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct TraceSQLTests {
    static func testSQL() throws -> String {
        try #require(EmbeddedSQL.tests.first { $0.name == "trace_test.sql" }?.sql,
                     "sql/tests/trace_test.sql is not embedded (run scripts/embed-sql)")
    }

    /// The scenario of trace_test.sql without its assertions, committed.
    static func scenarioSQL() throws -> String {
        let sql = try testSQL()
        let cut = try #require(sql.firstRange(of: "\nDO $test$"), "trace_test.sql has no DO $test$ block")
        return String(sql[..<cut.lowerBound]) + "\nCOMMIT;\n"
    }

    @Test func sqlTestFilePasses() throws {
        try TestDatabase.with { db in
            try db.connection.exec(try TraceSQLTests.testSQL())
            #expect(!db.connection.inTransaction)
            // The file rolled back: nothing of the scenario is left.
            let r = try db.connection.query("SELECT count(*) FROM mailtrail.messages")
            #expect(r.int(0, "count") == 0)
        }
    }

    @Test func traceQueryEndToEnd() throws {
        try TestDatabase.with { db in
            try db.connection.exec(try TraceSQLTests.scenarioSQL())
            let q = TraceQuery(connection: db.connection)

            let doc = try #require(try q.trace(messageID: "<m1.trace-test@example.org>", since: nil, until: nil))
            #expect(doc.msgid == "m1.trace-test@example.org")
            #expect(doc.hops.map { "\($0.hop) \($0.host) \($0.queueID) \($0.parents) \($0.link ?? "-")" } == [
                "1 relay1 AAA0001 [] -",
                "2 relay1 AAA0002 [1] reinjection",
                "3 relay2 BBB0001 [2] queued-as",
                "4 mx3 CCC0001 [3] msgid+time",
                "5 mx3 CCC0003 [4] reinjection",
                "6 mx3 CCC0002 [2] msgid+address",
                "7 relay1 AAA0003 [2] bounce",
                "8 relay2 BBB0002 [7] queued-as",
            ])
            #expect(doc.hops[0].client == TraceDocument.Peer(name: "mua.example.org", ip: "192.0.2.10", port: 51234))
            #expect(doc.hops[0].tls == TraceDocument.TLS(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256))
            #expect(doc.hops[0].size == 2048)
            #expect(doc.hops[1].origin == TraceDocument.Origin(queueID: "AAA0001", kind: "reinjection"))
            #expect(doc.hops[2].receivedAt == Timestamp(micros: 1_740_995_883_500_000).rfc3339)
            #expect(doc.hops[1].deliveries.map(\.status) == ["sent", "deferred", "deferred", "sent", "bounced"])
            #expect(doc.hops[1].deliveries[0].delay == 2.1)
            #expect(doc.hops[5].deliveries[0].response == "delivered to mailbox\u{01}\t\"quoted\"")

            // Bounds: inside gives the same hops, after gives nothing.
            let day = Timestamp(seconds: 1_740_960_000)   // 2025-03-03T00:00:00Z
            let bounded = try #require(try q.trace(messageID: "m1.trace-test@example.org",
                                                   since: day, until: day.adding(seconds: 86_400)))
            #expect(bounded.hops == doc.hops)
            #expect(try q.trace(messageID: "m1.trace-test@example.org", since: day.adding(seconds: 86_400), until: nil) == nil)
            #expect(try q.trace(messageID: "no-such-id@example.org", since: nil, until: nil) == nil)

            // By queue ID.
            let bounce = try #require(try q.trace(queueID: "AAA0003", host: "relay1"))
            #expect(bounce.msgid == "bounce.AAA0003@relay1.example.org")
            #expect(bounce.hops.map(\.queueID) == ["AAA0003", "BBB0002"])
            let noID = try #require(try q.trace(queueID: "AAA0009", host: nil))
            #expect(noID.msgid == nil)
            #expect(noID.hops.map { "\($0.host) \($0.queueID) \($0.link ?? "-")" } == ["relay1 AAA0009 -", "relay2 BBB0009 queued-as"])
            #expect(try q.trace(queueID: "NOSUCHQID", host: nil) == nil)

            // JSON output: the server's text re-indented, parsable, same document.
            let json = TraceRenderer().render(doc, format: .json)
            #expect(json.hasPrefix("{\n  \""))
            #expect(json.hasSuffix("}\n"))
            #expect(try TraceDocument(jsonText: json).hops == doc.hops)

            // The text tree of the scenario.
            let text = TraceRenderer().render(doc, format: .text)
            #expect(text == TraceSQLTests.expectedScenarioTree, "\(text)")
        }
    }

    static let expectedScenarioTree = """
        message-id <m1.trace-test@example.org>: 8 hops
        relay1  AAA0001  2025-03-03T10:00:00Z  from=<alice@example.org>  client=mua.example.org[192.0.2.10]  [TLSv1.3]  sasl=alice
          → bob@example.net  sent  2.0.0  relay=127.0.0.1[127.0.0.1]:10024  at=2025-03-03T10:00:02Z  delay=1.9  "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as AAA0002"
          → carol@example.com  sent  2.0.0  relay=127.0.0.1[127.0.0.1]:10024  at=2025-03-03T10:00:02Z  delay=1.9  "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as AAA0002"
          → dave@example.com  sent  2.0.0  relay=127.0.0.1[127.0.0.1]:10024  at=2025-03-03T10:00:02Z  delay=1.9  "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as AAA0002"
          relay1  AAA0002  2025-03-03T10:00:01Z (+1.0s)  from=<alice@example.org>  client=localhost[127.0.0.1]  (reinjection)
            → bob@example.net  sent  2.0.0  relay=relay2.example.net[198.51.100.2]:25  at=2025-03-03T10:00:03Z  delay=2.1  [TLSv1.3]  "250 2.0.0 Ok: queued as BBB0001"
            → carol@example.com  deferred  4.7.1  relay=mx3.example.com[203.0.113.3]:25  at=2025-03-03T10:00:04Z  delay=3  "host mx3.example.com[203.0.113.3] said: 451 4.7.1 Try again later (in reply to RCPT TO command)"
            → dave@example.com  deferred  4.7.1  relay=mx3.example.com[203.0.113.3]:25  at=2025-03-03T10:00:04Z  delay=3  "host mx3.example.com[203.0.113.3] said: 451 4.7.1 Try again later (in reply to RCPT TO command)"
            → carol@example.com  sent  2.0.0  relay=mx3.example.com[203.0.113.3]:25  at=2025-03-03T10:20:00Z  delay=1199  [TLSv1.3]  "250 2.0.0 Message accepted"
            → dave@example.com  bounced  5.1.1  relay=mx3.example.com[203.0.113.3]:25  at=2025-03-03T10:20:00Z  delay=1199  [TLSv1.3]  "host mx3.example.com[203.0.113.3] said: 550 5.1.1 <dave@example.com>: Recipient address rejected: User unknown (in reply…"
            relay2  BBB0001  2025-03-03T09:58:03.500000Z (-1m56s)  from=<alice@example.org>  client=relay1.example.org[192.0.2.1]  [TLSv1.3]  (queued-as)
              → bob@example.net  sent  2.0.0  relay=mailstore.example.net[198.51.100.20]:24  at=2025-03-03T09:58:04Z  delay=0.5  "250 2.0.0 <bob@example.net> Saved"
              → eve@example.org  sent  2.0.0  relay=inbound.example.org[203.0.113.30]:25  at=2025-03-03T09:58:05Z  delay=1.5  "250 OK"
              mx3  CCC0001  2025-03-03T10:00:05.250000Z (+5.3s)  from=<alice@example.org>  client=unknown[198.51.100.99]  (msgid+time)
                → eve@example.org  sent  2.0.0  relay=127.0.0.1[127.0.0.1]:10026  at=2025-03-03T10:00:06Z  delay=0.75  "250 2.0.0 from MTA(smtp:[127.0.0.1]:10027): 250 2.0.0 Ok: queued as CCC0003"
                mx3  CCC0003  2025-03-03T10:00:06.500000Z (+6.5s)  from=<alice@example.org>  client=localhost[127.0.0.1]  (reinjection)
                  → eve@example.org  sent  2.0.0  relay=local  at=2025-03-03T10:00:07Z  delay=0.5  "delivered to mailbox"
            mx3  CCC0002  2025-03-03T10:20:00.750000Z (+20m00s)  from=<alice@example.org>  client=relay1.example.org[192.0.2.1]  [TLSv1.3]  (msgid+address)
              → carol@example.com  sent  2.0.0  relay=local  at=2025-03-03T10:20:01Z  delay=0.25  "delivered to mailbox\\x01\\x09\\"quoted\\""
            relay1  AAA0003  2025-03-03T10:20:01Z (+20m01s)  from=<>  (bounce)
              → alice@example.org  sent  2.0.0  relay=relay2.example.net[198.51.100.2]:25  at=2025-03-03T10:20:02Z  delay=1  "250 2.0.0 Ok: queued as BBB0002"
              relay2  BBB0002  2025-03-03T10:18:03Z (+18m03s)  from=<>  client=relay1.example.org[192.0.2.1]  [TLSv1.2]  (queued-as)
                → alice@example.org  sent  2.0.0  relay=mailstore.example.net[198.51.100.20]:24  at=2025-03-03T10:18:04Z  delay=1  "250 2.0.0 <alice@example.org> Saved"

        """
}

@Suite struct TraceRendererTests {
    /// A fork (two children), a hop with two parents, hostile content, a missing relay.
    static let document = TraceDocument(msgid: "abc@example.org", hops: [
        .init(hop: 1, host: "edge", instance: "postfix", queueID: "Q1", receivedAt: "2025-01-02T03:04:05Z",
              sender: "a@example.org", messageID: "abc@example.org",
              client: .init(name: "mua.example.org", ip: "192.0.2.1", port: 4000),
              tls: .init(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384"),
              deliveries: [
                .init(recipient: "b@example.net", at: "2025-01-02T03:04:06Z", status: "sent", dsn: "2.0.0",
                      relay: .init(name: "mx.example.net", ip: "198.51.100.1", port: 25), delay: 1.25,
                      response: "250 2.0.0 Ok: queued as Q2", nextQueueID: "Q2"),
                .init(recipient: "c@example.com", at: "2025-01-02T03:04:07Z", status: "deferred", dsn: "4.4.1",
                      relay: .init(name: "mx.example.com", ip: "203.0.113.9", port: 25), delay: 2,
                      response: "connect to mx.example.com[203.0.113.9]:25: Connection timed out"),
              ]),
        .init(hop: 2, parents: [1], link: "queued-as", host: "mx", queueID: "Q2", receivedAt: "2025-01-02T03:04:06.500000Z",
              sender: "a@example.org", client: .init(name: "edge.example.org", ip: "192.0.2.2"),
              deliveries: [
                .init(recipient: "b@example.net", at: "2025-01-02T03:04:08Z", status: "sent", dsn: "2.0.0",
                      relay: .init(name: "local"), delay: 0,
                      response: "delivered\u{1B}[31m to \"mailbox\"\n" + String(repeating: "x", count: 200)),
              ]),
        .init(hop: 3, parents: [1], link: "msgid+time", host: "other", queueID: "Q3", receivedAt: "2025-01-02T03:05:00Z",
              sender: "", client: .init(ip: "203.0.113.50")),
        .init(hop: 4, parents: [2, 3], link: "msgid+address", host: "evil\u{202E}host", queueID: "Q\"4",
              receivedAt: "2025-01-02T03:06:00Z",
              deliveries: [.init(recipient: "d@example.net", at: "2025-01-02T03:06:01Z", status: "bounced")]),
    ])

    @Test func textTree() {
        let expected = """
            message-id <abc@example.org>: 4 hops
            edge  Q1  2025-01-02T03:04:05Z  from=<a@example.org>  client=mua.example.org[192.0.2.1]  [TLSv1.3]
              → b@example.net  sent  2.0.0  relay=mx.example.net[198.51.100.1]:25  at=2025-01-02T03:04:06Z  delay=1.25  "250 2.0.0 Ok: queued as Q2"
              → c@example.com  deferred  4.4.1  relay=mx.example.com[203.0.113.9]:25  at=2025-01-02T03:04:07Z  delay=2  "connect to mx.example.com[203.0.113.9]:25: Connection timed out"
              mx  Q2  2025-01-02T03:04:06.500000Z (+1.5s)  from=<a@example.org>  client=edge.example.org[192.0.2.2]  (queued-as)
                → b@example.net  sent  2.0.0  relay=local  at=2025-01-02T03:04:08Z  delay=0  "delivered\\x1B[31m to \\"mailbox\\"\\x0A\(String(repeating: "x", count: 92))…"
                evil\\u{202E}host  Q"4  2025-01-02T03:06:00Z (+1m55s)  (msgid+address)
                  → d@example.net  bounced  at=2025-01-02T03:06:01Z
              other  Q3  2025-01-02T03:05:00Z (+55.0s)  from=<>  client=[203.0.113.50]  (msgid+time)
                ↪ evil\\u{202E}host  Q"4  (msgid+address, see under mx Q2)

            """
        let got = TraceRenderer().render(Self.document, format: .text)
        #expect(got == expected, "\(got)")
    }

    @Test func dotGraph() {
        let expected = """
            digraph trace {
              label="<abc@example.org>";
              labelloc=t;
              node [shape=box];
              h1 [label="edge\\nQ1\\n2025-01-02T03:04:05Z\\nfrom=<a@example.org>"];
              h2 [label="mx\\nQ2\\n2025-01-02T03:04:06.500000Z\\nfrom=<a@example.org>"];
              h3 [label="other\\nQ3\\n2025-01-02T03:05:00Z\\nfrom=<>"];
              h4 [label="evil\\\\u{202E}host\\nQ\\"4\\n2025-01-02T03:06:00Z"];
              h1 -> h2 [label="queued-as"];
              h1 -> h3 [label="msgid+time"];
              h2 -> h4 [label="msgid+address"];
              h3 -> h4 [label="msgid+address"];
            }

            """
        let got = TraceRenderer().render(Self.document, format: .dot)
        #expect(got == expected, "\(got)")
    }

    @Test func cyclesAndMissingParentsStillRenderEveryHop() {
        let doc = TraceDocument(msgid: nil, hops: [
            .init(hop: 1, parents: [2], link: "msgid+time", host: "a", queueID: "A", receivedAt: "2025-01-01T00:00:00Z"),
            .init(hop: 2, parents: [1], link: "msgid+time", host: "b", queueID: "B", receivedAt: "2025-01-01T00:00:01Z"),
            .init(hop: 3, parents: [9], link: "queued-as", host: "c", queueID: "C", receivedAt: "2025-01-01T00:00:02Z"),
        ])
        let expected = """
            no message-id: 3 hops
            c  C  2025-01-01T00:00:02Z (+2.0s)  (queued-as)
            a  A  2025-01-01T00:00:00Z  (msgid+time)
              b  B  2025-01-01T00:00:01Z (+1.0s)  (msgid+time)
                ↪ a  A  (msgid+time, see under b B)

            """
        let got = TraceRenderer().render(doc, format: .text)
        #expect(got == expected, "\(got)")
    }

    @Test func jsonOfAHandMadeDocumentRoundTrips() throws {
        let text = TraceRenderer().render(Self.document, format: .json)
        #expect(text.hasPrefix("{\n  \"msgid\": \"abc@example.org\",\n  \"hops\": [\n    {\n      \"hop\": 1,\n      \"parents\": [],\n"))
        #expect(text.contains("\\u001b[31m"))
        #expect(text.contains("\"evil\\u202ehost\""))
        let back = try TraceDocument(jsonText: text)
        #expect(back.hops == Self.document.hops)
        #expect(back.msgid == Self.document.msgid)
    }

    @Test func jsonReader() throws {
        let v = try JSONValue.parse(#" {"b": [1, -2.5e3, true, null], "a": "x\u00e9\ud83d\ude00\n\"", "e": {}} "#)
        #expect(v["b"] == .array([.number("1"), .number("-2.5e3"), .bool(true), .null]))
        #expect(v["a"]?.stringValue == "xé😀\n\"")
        #expect(v.pretty() == """
            {
              "b": [
                1,
                -2.5e3,
                true,
                null
              ],
              "a": "x\u{e9}\u{1F600}\\n\\"",
              "e": {}
            }
            """)
        for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"\u{01}\"", "01x", "nul", "[1] 2"] {
            #expect(throws: JSONValue.ParseError.self) { try JSONValue.parse(bad) }
        }
        #expect(throws: TraceDocumentError.self) { try TraceDocument(jsonText: "{\"msgid\": null}") }
        #expect(throws: TraceDocumentError.self) { try TraceDocument(jsonText: "{\"hops\": [{\"hop\": 1}]}") }
    }

    @Test func escaping() {
        #expect(TraceRenderer.escape("plain ascii é") == "plain ascii é")
        #expect(TraceRenderer.escape("a\u{00}b\u{7F}c\u{85}d\te") == "a\\x00b\\x7Fc\\x85d\\x09e")
        #expect(TraceRenderer.escape("\u{2028}\u{FEFF}") == "\\u{2028}\\u{FEFF}")
        #expect(TraceRenderer.dotEscape("a\"b\\c\nd") == "a\\\"b\\\\c\\\\x0Ad")
    }
}
