/// QueryTests: `mailtrail.search()`, every `mailtrail.report_*`, the BI
/// views and the Grafana dashboard's queries over the three-relay samples
/// in a real PostgreSQL, with exact expected results; the JSON and CSV
/// outputs parse; every reader-facing object carries a COMMENT (itself and,
/// for views, every column).
/// Contract: each test ingests the samples into a fresh database
/// (retention off). Synthetic rows (DKIM, spam, a stuck message) are added
/// on an invented host `gw1` where the samples have no such facts.
/// Limits: the reader role's privileges are tested by the security work
/// (issue 6); here only the naming convention and comments are checked.
import Foundation
import Ingest
import MailTrailModel
import MailTrailTestSupport
import PostgresLoading
import Query
import Testing

func loadedSamples(_ body: (TestDatabase) throws -> Void) throws {
    try TestDatabase.with { db in
        try keepEverything(db)
        _ = try IngestRunner.run(paths: samplePaths, settings: sampleSettings(), connection: db.connection)
        try body(db)
    }
}

func ts(_ s: String) throws -> Timestamp { try TimeSpec.parse(s) }

/// Minimal RFC 4180 reader for the tests: fields of each line.
func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = "", quoted = false, i = text.startIndex
    while i < text.endIndex {
        let c = text[i]
        if quoted {
            if c == "\"" {
                let n = text.index(after: i)
                if n < text.endIndex, text[n] == "\"" { field.append("\""); i = n } else { quoted = false }
            } else { field.append(c) }
        } else if c == "\"" { quoted = true }
        else if c == "," { row.append(field); field = "" }
        else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
        else { field.append(c) }
        i = text.index(after: i)
    }
    return rows
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct SearchTests {
    func keys(_ r: [SearchResult]) -> [String] { r.map { "\($0.host) \($0.queueID)" } }

    @Test func filtersGiveTheExpectedTransactionsNewestFirst() throws {
        try loadedSamples { (db: TestDatabase) throws in
            let q = SearchQuery(connection: db.connection)
            #expect(try q.results(SearchFilter()).count == 24)
            #expect(keys(try q.results(SearchFilter(from: "@Sender.Example"))) == [
                "mbox1 4DB243A20B", "hub1 4jW8wX1PY7z5Z21", "mx1 1A6501C4231", "mx1 7958C1C4230",
                "mbox1 0EEBE3A1F2", "hub1 4jW8Yj6gzJz5YxN", "mx1 CE7FC1C4229", "mx1 5EB401C41D2"])
            // The seed's question: this sender, between these dates, on this host, the 10 newest.
            #expect(keys(try q.results(SearchFilter(from: "<bob@sender.example>", since: ts("2026-11-20"),
                                                    until: ts("2026-11-20T09:10:00Z"), host: "mx1", limit: 10)))
                    == ["mx1 CE7FC1C4229", "mx1 5EB401C41D2"])
            #expect(keys(try q.results(SearchFilter(from: "bob@sender.example", limit: 1))) == ["mbox1 4DB243A20B"])
            #expect(keys(try q.results(SearchFilter(to: "Grace@Example.com"))) == ["mbox1 4A6BD3A1C9", "hub1 4jW96P343Gz5Z3K"])
            #expect(keys(try q.results(SearchFilter(to: "grace@example.com", status: "deferred"))) == ["hub1 4jW96P343Gz5Z3K"])
            #expect(keys(try q.results(SearchFilter(status: "bounced"))) == ["mbox1 C250B3A217"])
            // The DSN: mbox1 stamps microseconds, hub1 whole seconds, so mbox1's row is "newer".
            #expect(keys(try q.results(SearchFilter(from: "<>"))) == ["mbox1 067BA3A218", "hub1 4jWB6D0slsz5Z6N"])
            #expect(keys(try q.results(SearchFilter(host: "hub1", clientIP: "192.0.2.0/28"))) == [
                "hub1 4jWB6C3WPJz5Z6M", "hub1 4jW9Rh1W3tz5Z4d", "hub1 4jW8wX1PY7z5Z21", "hub1 4jW8Yj6gzJz5YxN"])
            #expect(keys(try q.results(SearchFilter(clientIP: "192.0.2.41"))) == ["hub1 4jW9c21ck3z5Z3X", "hub1 4jW96P343Gz5Z3K"])
            #expect(keys(try q.results(SearchFilter(queueID: "0EEBE3A1F2"))) == ["mbox1 0EEBE3A1F2"])
            #expect(keys(try q.results(SearchFilter(messageID: "<4jW9mx0tsdz5Z3c@hub1.example.com>"))) == ["hub1 4jW9mx0tsdz5Z3c"])
            #expect(try q.results(SearchFilter(from: "nobody@nowhere.example")).isEmpty)

            let one = try #require(try q.results(SearchFilter(queueID: "4jW96P343Gz5Z3K")).first)
            #expect(one.deliveries.map { "\($0.status) \($0.dsn ?? "-") \($0.at)" } == [
                "deferred 4.7.1 2026-11-20T09:30:05Z", "sent 2.0.0 2026-11-20T09:47:07Z"])
            #expect(one.clientName == "app1.example.com" && one.clientIP == "192.0.2.41" && one.tlsProto == nil)
        }
    }

    @Test func textBlocksJSONAndCSV() throws {
        try loadedSamples { (db: TestDatabase) throws in
            let q = SearchQuery(connection: db.connection)
            let f = SearchFilter(queueID: "4jW96P343Gz5Z3K")
            #expect(SearchRenderer.text(try q.results(f)) == """
                transaction: 4jW96P343Gz5Z3K
                msgid:   <deferred-greylist.3@app1.example.com>
                from:    <reports@app1.example.com>
                client:  app1.example.com[192.0.2.41]
                date:    2026-11-20T09:30:05Z
                to:      recipient=<grace@example.com>  relay=mbox1.example.com[192.0.2.30]:25  status=deferred  at=2026-11-20T09:30:05Z  "host mbox1.example.com[192.0.2.30] said: 451 4.7.1 greylisted, try again later (in reply to RCPT TO command)"
                to:      recipient=<grace@example.com>  relay=mbox1.example.com[192.0.2.30]:25  status=sent  at=2026-11-20T09:47:07Z  "250 2.0.0 Ok: queued as 4A6BD3A1C9"
                host:    hub1

                """)
            #expect(SearchRenderer.text([]) == "no transactions found\n")

            let json = try q.json(SearchFilter(from: "@sender.example"))
            let arr = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
            #expect(arr.count == 8)
            #expect(arr[0]["queue_id"] as? String == "4DB243A20B")
            #expect(arr[0]["received_at"] as? String == "2026-11-20T09:21:32.318544+00:00")
            #expect((arr[0]["deliveries"] as? [[String: Any]])?.first?["orig_recipient"] as? String == "noc@example.com")
            #expect(try q.json(SearchFilter(host: "nohost")) == "[]")

            let csv = parseCSV(SearchRenderer.csv(try q.results(SearchFilter(to: "@partner.example"))))
            #expect(csv.first == SearchRenderer.csvHeader)
            #expect(csv.count == 1 + 7)
            #expect(csv.allSatisfy { $0.count == SearchRenderer.csvHeader.count })
            #expect(csv[1][2] == "067BA3A218" && csv[1][4] == "" && csv[1][10] == "frank@partner.example")

            // Hostile content stays off the terminal in text and CSV.
            var r = try #require(try q.results(f).first)
            r.deliveries[0].response = "evil\u{1B}[2J,\"x\"\u{202E}"
            #expect(SearchRenderer.text([r]).contains("\"evil\\x1B[2J,\\\"x\\\"\\u{202E}\""))
            #expect(SearchRenderer.csv([r]).contains(",\"evil\\x1B[2J,\"\"x\"\"\\u{202E}\"\n"))
        }
    }

    @Test func timeSpecForms() throws {
        let now = Timestamp(seconds: 1_795_170_000)   // 2026-11-20T09:00:00Z
        #expect(try TimeSpec.parse("2h", now: now) == now.adding(seconds: -7200))
        #expect(try TimeSpec.parse("7d", now: now) == now.adding(seconds: -7 * 86_400))
        #expect(try TimeSpec.parse("today", now: now).rfc3339 == "2026-11-20T00:00:00Z")
        #expect(try TimeSpec.parse("2026-11-20").rfc3339 == "2026-11-20T00:00:00Z")
        #expect(try TimeSpec.parse("2026-11-20 09:30").rfc3339 == "2026-11-20T09:30:00Z")
        #expect(try TimeSpec.parse("2026-11-20T09:30:05.25+01:00").rfc3339 == "2026-11-20T08:30:05.250000Z")
        for bad in ["", "2x", "2026-13-01", "2026-11-20T25:00", "yesterdayx", "2026-11-20T09:30+1"] {
            #expect(throws: TimeSpecError.self) { try TimeSpec.parse(bad, now: now) }
        }
    }
}

/// A report's rows as `a|b|c` lines (NULL as "NULL").
func reportRows(_ db: TestDatabase, _ name: String, _ o: ReportOptions = ReportOptions()) throws -> [String] {
    let report = Report.named(name) ?? Report.all[0]
    let r = try ReportQuery(connection: db.connection).run(report, o)
    return r.rows.map { $0.map { $0 ?? "NULL" }.joined(separator: "|") }
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct ReportTests {
    @Test func everyReportOnTheSamples() throws {
        try loadedSamples { (db: TestDatabase) throws in
            #expect(try reportRows(db, "volume") == [
                "2026-11-20|hub1|8|8|317549|8|1|0|0|0",
                "2026-11-20|mbox1|7|8|260178|7|0|1|0|1",
                "2026-11-20|mx1|9|11|468011|11|0|0|0|2"])
            #expect(try reportRows(db, "volume", ReportOptions(since: ts("2026-11-20T10:00:00Z"), host: "mbox1"))
                    == ["2026-11-20|mbox1|3|4|33290|3|0|1|0|0"])
            #expect(try reportRows(db, "delivery-status") == [
                "example.com|21|8|19|1|1|0|0|95.0",
                "partner.example|5|3|5|0|0|0|0|100.0",
                "hub1.example.com|1|1|1|0|0|0|0|100.0",
                "mbox1.example.com|1|1|1|0|0|0|0|100.0"])
            #expect(try reportRows(db, "reasons") == [
                "bounced|5.1.1|550 5.1.1 <address> User doesn't exist: <address>|1|1|1|2026-11-20 10:15:00.014302+00|2026-11-20 10:15:00.014302+00",
                "deferred|4.7.1|451 4.7.1 greylisted, try again later|1|1|1|2026-11-20 09:30:05+00|2026-11-20 09:30:05+00"])
            #expect(try reportRows(db, "rejections") == [
                "mbox1|smtpd|milter-reject|451|4.7.1|greylisted, try again later|1|1|2026-11-20 09:30:05.69725+00|2026-11-20 09:30:05.69725+00",
                "mx1|postscreen|reject|550|5.7.1|Service unavailable; client [203.0.113.99] blocked using zen.spamhaus.org|1|1|2026-11-20 09:03:17+00|2026-11-20 09:03:17+00",
                "mx1|smtpd|reject|554|5.7.1|<address>: Relay access denied|1|1|2026-11-20 10:15:41+00|2026-11-20 10:15:41+00"])
            #expect(try reportRows(db, "tls", ReportOptions(host: "mx1")) == [
                "inbound|mx1|mail.sender.example|198.51.100.25|2|2|2|100.0|100.0|0",
                "inbound|mx1|mta7.deals.example|198.51.100.140|1|1|1|100.0|100.0|0",
                "inbound|mx1|out.partner.example|203.0.113.51|1|1|1|100.0|100.0|0",
                "inbound|mx1|scan01.printshop.example|198.51.100.63|1|0|0|0.0|0.0|1",
                "outbound|mx1|hub1.example.com|192.0.2.20|4|4|4|100.0|100.0|0",
                "outbound|mx1|mx.partner.example|203.0.113.50|1|1|1|100.0|100.0|0"])
            #expect(try reportRows(db, "tls").count == 14)
            #expect(try reportRows(db, "tls-protocols") == [
                "inbound|TLSv1.3|TLS_AES_256_GCM_SHA384|14|77.8",
                "inbound|(none)|(none)|3|16.7",
                "inbound|TLSv1.2|ECDHE-RSA-AES256-GCM-SHA384|1|5.6",
                "outbound|TLSv1.3|TLS_AES_256_GCM_SHA384|13|100.0"])
            #expect(try reportRows(db, "tls-violations").map { $0.split(separator: "|").dropFirst(2).joined(separator: "|") } == [
                "deferred-greylist.3@app1.example.com|reports@app1.example.com|1|{\"hub1 inbound app1.example.com[192.0.2.41] no TLS\"}",
                "20261120094501.DE8D51C4177@mx1.example.com|scanner@printshop.example|1|{\"mx1 inbound scan01.printshop.example[198.51.100.63] no TLS\"}",
                "invoice-20261120-0042@app1.example.com|billing@example.com|1|{\"hub1 inbound app1.example.com[192.0.2.41] no TLS\"}"])
            #expect(try reportRows(db, "dkim") == ["*|10|0|0|0|0|0.0|0.0", "(unsigned)|10|0|0|0|0|0.0|0.0"])
            #expect(try reportRows(db, "spam") == ["hub1|(none)|8|100.0|NULL|NULL|NULL",
                                             "mbox1|(none)|7|100.0|NULL|NULL|NULL",
                                             "mx1|(none)|9|100.0|NULL|NULL|NULL"])
            // Nothing is stuck at the end of the day; during the greylisting it was.
            #expect(try reportRows(db, "stuck", ReportOptions(until: ts("2026-11-20T12:00:00Z"))) == [])
            #expect(try reportRows(db, "stuck", ReportOptions(until: ts("2026-11-20T09:40:00Z"), minutes: 5)) == [
                "2026-11-20 09:30:05+00|hub1|4jW96P343Gz5Z3K|deferred-greylist.3@app1.example.com|reports@app1.example.com|grace@example.com|1|deferred|2026-11-20 09:30:05+00|host mbox1.example.com[192.0.2.30] said: 451 4.7.1 greylisted, try again later (in reply to RCPT TO command)|10"])
            #expect(try reportRows(db, "stuck", ReportOptions(until: ts("2026-11-20T09:40:00Z"), minutes: 15)) == [])
            #expect(try reportRows(db, "latency") == [
                "host|hub1|NULL|8|0.470|664.755|1022.000",
                "host|mbox1|NULL|7|0.150|0.268|0.310",
                "host|mx1|NULL|11|1.400|3.400|3.600",
                "link|hub1|mbox1|5|0.796|818.056|1022.305",
                "link|mbox1|hub1|1|-0.031|-0.031|-0.031",
                "link|mx1|hub1|4|0.000|0.000|0.000",
                "link|mx1|mx1|4|1.500|3.700|4.000"])
            #expect(try reportRows(db, "delivery-status", ReportOptions(limit: 1)) == ["example.com|21|8|19|1|1|0|0|95.0"])
        }
    }

    @Test func dkimSpamAndStuckOnSyntheticRows() throws {
        try loadedSamples { (db: TestDatabase) throws in
            try db.connection.exec("""
                INSERT INTO mailtrail.messages (received_at, msg_key, host, mta, instance, queue_id, message_id, sender,
                                                client_ip, tls_proto, dkim_result, dkim_domain, spam_verdict, spam_score)
                VALUES ('2026-11-20 11:00Z', 1, 'gw1', 'exim', '', 'Q1', 'a@x', 'a@signed.example', '198.51.100.1', 'TLSv1.3', 'pass', 'Signed.Example', 'No', -1.5),
                       ('2026-11-20 11:01Z', 2, 'gw1', 'exim', '', 'Q2', 'b@x', 'b@signed.example', '198.51.100.1', 'TLSv1.1', 'fail', 'signed.example', 'Yes', 7.25),
                       ('2026-11-20 11:02Z', 3, 'gw1', 'exim', '', 'Q3', 'c@x', 'c@other.example', '198.51.100.2', NULL, 'none', NULL, 'No', 0.5),
                       ('2026-11-20 11:03Z', 4, 'gw1', 'exim', '', 'Q4', 'd@x', 'd@other.example', '198.51.100.2', NULL, NULL, NULL, NULL, NULL);
                INSERT INTO mailtrail.deliveries (at, msg_key, host, instance, queue_id, received_at, recipient, status, response)
                VALUES ('2026-11-20 11:05Z', 1, 'gw1', '', 'Q1', '2026-11-20 11:00Z', 'u@example.com', 'deferred', 'host x[192.0.2.99] said: 421 busy'),
                       ('2026-11-20 11:06Z', 2, 'gw1', '', 'Q2', '2026-11-20 11:01Z', 'u@example.com', 'sent', '250 ok');
                """)
            let o = ReportOptions(host: "gw1")
            #expect(try reportRows(db, "dkim", o) == ["*|4|3|2|1|1|50.0|25.0", "(unsigned)|2|1|0|0|0|0.0|0.0",
                                                      "signed.example|2|2|2|1|1|100.0|50.0"])
            #expect(try reportRows(db, "spam", o) == ["gw1|No|2|50.0|-1.50|-0.50|0.50", "gw1|(none)|1|25.0|NULL|NULL|NULL",
                                                "gw1|Yes|1|25.0|7.25|7.25|7.25"])
            #expect(try reportRows(db, "stuck", ReportOptions(until: ts("2026-11-20T12:30:00Z"), host: "gw1")) == [
                "2026-11-20 11:00:00+00|gw1|Q1|a@x|a@signed.example|u@example.com|1|deferred|2026-11-20 11:05:00+00|host x[192.0.2.99] said: 421 busy|90",
                "2026-11-20 11:02:00+00|gw1|Q3|c@x|c@other.example|NULL|0|NULL|NULL|NULL|88",
                "2026-11-20 11:03:00+00|gw1|Q4|d@x|d@other.example|NULL|0|NULL|NULL|NULL|87"])
            #expect(try reportRows(db, "tls-violations", o).map { $0.split(separator: "|").dropFirst(2).joined(separator: "|") } == [
                "b@x|b@signed.example|1|{\"gw1 inbound [198.51.100.1] TLSv1.1\"}",
                "c@x|c@other.example|1|{\"gw1 inbound [198.51.100.2] no TLS\"}",
                "d@x|d@other.example|1|{\"gw1 inbound [198.51.100.2] no TLS\"}"])
        }
    }

    @Test func jsonAndCSVOfEveryReportParse() throws {
        try loadedSamples { (db: TestDatabase) throws in
            let q = ReportQuery(connection: db.connection)
            for report in Report.all {
                let o = ReportOptions(until: try ts("2026-11-20T09:40:00Z"), minutes: 5)
                let result = try q.run(report, o)
                let arr = try #require(try JSONSerialization.jsonObject(with: Data(try q.json(report, o).utf8)) as? [[String: Any]],
                                       "\(report.name) JSON")
                #expect(arr.count == result.count, "\(report.name)")
                if let first = arr.first { #expect(Set(first.keys) == Set(result.columns), "\(report.name)") }
                let csv = parseCSV(ReportRenderer.csv(result))
                #expect(csv.first == result.columns, "\(report.name)")
                #expect(csv.count == result.count + 1, "\(report.name)")
                #expect(csv.allSatisfy { $0.count == result.columns.count }, "\(report.name)")
            }
            let table = ReportRenderer.text(try q.run(try #require(Report.named("volume")), ReportOptions()))
            #expect(table == """
                day         host   messages  recipients  bytes   sent  deferred  bounced  other  rejected
                2026-11-20  hub1   8         8           317549  8     1         0        0      0
                2026-11-20  mbox1  7         8           260178  7     0         1        0      1
                2026-11-20  mx1    9         11          468011  11    0         0        0      2

                """)
        }
    }
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct ReportingObjectTests {
    /// Reader-facing objects by the naming convention the security work grants on.
    static let readerViews = """
        SELECT c.oid, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'mailtrail' AND c.relkind IN ('v', 'm')
          AND (c.relname LIKE 'report\\_%' OR c.relname LIKE 'bi\\_%' OR c.relname LIKE 'fact\\_%') ORDER BY c.relname
        """

    @Test func everyReportingObjectAndColumnHasAComment() throws {
        try TestDatabase.with { db in
            let views = try db.connection.query(ReportingObjectTests.readerViews)
            #expect(views.rows.compactMap { $0[1] } == ["bi_deliveries", "bi_messages", "bi_rejections",
                                                         "bi_stuck_messages", "bi_tls_hops", "fact_deliveries",
                                                         "fact_messages", "fact_rejections", "report_agent_status"])
            let uncommentedViews = try db.connection.query("""
                SELECT c.relname FROM (\(ReportingObjectTests.readerViews)) c
                WHERE obj_description(c.oid, 'pg_class') IS NULL
                """)
            #expect(uncommentedViews.rows.isEmpty, "views without COMMENT: \(uncommentedViews.rows)")
            let uncommentedColumns = try db.connection.query("""
                SELECT c.relname || '.' || a.attname FROM (\(ReportingObjectTests.readerViews)) c
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                WHERE col_description(c.oid, a.attnum) IS NULL
                """)
            #expect(uncommentedColumns.rows.isEmpty, "columns without COMMENT: \(uncommentedColumns.rows)")
            let functions = try db.connection.query("""
                SELECT p.oid::regprocedure::text AS f, obj_description(p.oid, 'pg_proc') IS NOT NULL AS commented
                FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = 'mailtrail'
                  AND (p.proname = 'search' OR p.proname LIKE 'report\\_%' OR p.proname LIKE 'trace%')
                ORDER BY 1
                """)
            let names = Set(functions.rows.compactMap { $0[0] })
            for r in Report.all {
                #expect(names.contains { $0.hasPrefix("mailtrail.\(r.function)(") }, "\(r.function) missing")
            }
            #expect(names.contains { $0.hasPrefix("mailtrail.search(") })
            let uncommented = functions.rows.filter { $0[1] != "t" }.compactMap { $0[0] }
            #expect(uncommented.isEmpty, "functions without COMMENT: \(uncommented)")
        }
    }
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct DashboardTests {
    /// Grafana's PostgreSQL macros, as Grafana expands them, for a fixed range and a 1 h interval.
    static func expandMacros(_ sql: String, from: String, to: String) -> String {
        var s = sql
        func replaceCalls(_ name: String, _ make: (String) -> String) {
            while let r = s.range(of: name + "(") {
                var depth = 1, i = r.upperBound
                while i < s.endIndex, depth > 0 {
                    if s[i] == "(" { depth += 1 } else if s[i] == ")" { depth -= 1 }
                    i = s.index(after: i)
                }
                let inner = String(s[r.upperBound..<s.index(before: i)])
                s.replaceSubrange(r.lowerBound..<i, with: make(inner))
            }
        }
        func firstArg(_ a: String) -> String { String(a.split(separator: ",", maxSplits: 1)[0]).trimmingCharacters(in: .whitespaces) }
        replaceCalls("$__timeGroupAlias") { "floor(extract(epoch from \(firstArg($0)))/3600)*3600 AS \"time\"" }
        replaceCalls("$__timeGroup") { "floor(extract(epoch from \(firstArg($0)))/3600)*3600" }
        replaceCalls("$__timeFilter") { "\($0) BETWEEN '\(from)' AND '\(to)'" }
        replaceCalls("$__timeFrom") { _ in "'\(from)'" }
        replaceCalls("$__timeTo") { _ in "'\(to)'" }
        replaceCalls("$__unixEpochFilter") { "\($0) BETWEEN 0 AND 9999999999" }
        s = s.replacingOccurrences(of: "$__interval_ms", with: "3600000")
        s = s.replacingOccurrences(of: "$__interval", with: "'1h'")
        return s
    }

    @Test func everyDashboardQueryRunsWithTheExpectedColumns() throws {
        let dir = repositoryRoot.appendingPathComponent("deploy/grafana/dashboards")
        let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(files == ["mailtrail.json"])
        let expectedTables: [String: [String]] = [
            "Top deferral and bounce reasons": ["status", "dsn", "reason", "attempts", "domains", "last_seen"],
            "Stuck messages (no final outcome after 60 minutes)": ["time", "host", "queue_id", "message_id", "sender",
                "recipient", "attempts", "last_status", "last_response", "waiting_minutes"],
            "Network hops below TLS 1.2": ["time", "direction", "host", "queue_id", "peer_name", "peer_ip", "tls_proto"],
        ]
        try loadedSamples { (db: TestDatabase) throws in
            var ran = 0
            var rowsByTitle: [String: Int] = [:]
            for file in files {
                let dash = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent(file))) as? [String: Any])
                for panel in dash["panels"] as? [[String: Any]] ?? [] {
                    let title = panel["title"] as? String ?? "?"
                    for target in panel["targets"] as? [[String: Any]] ?? [] {
                        let raw = try #require(target["rawSql"] as? String, "\(title): no rawSql")
                        let sql = DashboardTests.expandMacros(raw, from: "2026-11-20T00:00:00Z", to: "2026-11-21T00:00:00Z")
                        #expect(!sql.contains("$__"), "\(title): unexpanded macro in \(sql)")
                        let r = try db.connection.query(sql, operation: "panel \(title)")
                        ran += 1
                        rowsByTitle[title] = r.count
                        if target["format"] as? String == "time_series" {
                            #expect(r.columns == ["time", "metric", "value"], "\(title): \(r.columns)")
                        } else {
                            #expect(r.columns == expectedTables[title], "\(title): \(r.columns)")
                        }
                    }
                }
            }
            #expect(ran == 8)
            #expect(rowsByTitle == [
                "Messages received per host": 6, "Delivery attempts by status": 4,
                "Top deferral and bounce reasons": 2, "Share of network hops with TLS >= 1.2": 4,
                "Deferrals per destination domain": 1, "Stuck messages (no final outcome after 60 minutes)": 0,
                "Refusals per host": 3, "Network hops below TLS 1.2": 3])
        }
    }
}
