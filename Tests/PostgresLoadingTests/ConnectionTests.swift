/// ConnectionTests: PGConnection against a real server (and against none).
///
/// Contract: connection failures name the target and the fix and never show
/// the password; parameters are bound (hostile text is data, not SQL); NULLs,
/// booleans, integers and bytea come back exactly; server errors carry their
/// SQLSTATE; COPY reports row counts and server-side COPY errors; a
/// transaction rolls back when its body throws; array literals keep any
/// element intact.
import MailTrailModel
import MailTrailTestSupport
import Testing
@testable import PostgresLoading

@Suite struct ConnectionErrorTests {
    @Test func refusedConnectionIsExplained() throws {
        let error = #expect(throws: PostgresError.self) {
            _ = try PGConnection(conninfo: "host=127.0.0.1 port=1 dbname=nowhere user=nobody connect_timeout=2")
        }
        let e = try #require(error)
        #expect(e.code == .connection)
        #expect(e.message.hasPrefix("could not connect to 127.0.0.1:1 (database nowhere, user nobody)"))
        #expect(e.description.contains("Is PostgreSQL running?"))
        #expect(e.description.contains("PGHOST/PGPORT"))
    }

    @Test func passwordNeverShown() throws {
        let error = #expect(throws: PostgresError.self) {
            _ = try PGConnection(conninfo: "postgresql://someone:S3cretPassw0rd@127.0.0.1:1/db?connect_timeout=2")
        }
        let e = try #require(error)
        #expect(!e.description.contains("S3cretPassw0rd"))
        #expect(e.description.contains("127.0.0.1:1"))
    }

    @Test func badConninfoIsExplained() throws {
        let error = #expect(throws: PostgresError.self) {
            _ = try PGConnection(conninfo: "host=localhost nonsense_option=1 password=hunter2hunter2")
        }
        let e = try #require(error)
        #expect(e.code == .connection)
        #expect(!e.description.contains("hunter2hunter2"))
    }
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct ConnectionTests {
    @Test func parametersAreBoundNotSpliced() throws {
        try TestDatabase.with(migrated: false) { db in
            let c = db.connection
            let hostile = "'); DROP TABLE x; --"
            let r = try c.query("SELECT $1::text AS t, $2::text AS n, $3::int + 1 AS i, $4::bool AS b",
                                [hostile, nil, "41", "true"])
            #expect(r.columns == ["t", "n", "i", "b"])
            #expect(r.string(0, "t") == hostile)
            #expect(r.string(0, "n") == nil)
            #expect(r.int(0, "i") == 42)
            #expect(r.bool(0, "b") == true)
            #expect(c.serverVersion >= 140000)
            #expect(!c.serverVersionString.isEmpty)
        }
    }

    @Test func nulInParameterFollowsTheRule() throws {
        try TestDatabase.with(migrated: false) { db in
            let r = try db.connection.query("SELECT $1::text AS t", ["a\u{0}b"])
            #expect(r.string(0, "t") == "a\u{FFFD}b")
        }
    }

    @Test func byteaRoundTrip() throws {
        try TestDatabase.with(migrated: false) { db in
            let bytes: [UInt8] = Array(0...255)
            let r = try db.connection.query("SELECT $1::bytea AS b, length($1::bytea) AS n", [PGResult.encodeByteaHex(bytes)])
            #expect(r.bytes(0, "b") == bytes)
            #expect(r.int(0, "n") == 256)
        }
    }

    @Test func arrayLiteralsKeepEveryElementIntact() throws {
        try TestDatabase.with(migrated: false) { db in
            // Host names come from logs: every character that means something in an array literal.
            let hosts = ["", "mx1", "NULL", "a,b", "{x}", "q\"uote", "back\\slash", " pad ", "tab\tnl\n", "ü€𝄞", "a\u{0}b"]
            let r = try db.connection.query("SELECT u, n FROM unnest($1::text[]) WITH ORDINALITY AS t(u, n) ORDER BY n",
                                            [PGResult.encodeTextArray(hosts)])
            #expect(r.rows.map { $0[0] } == hosts.map { $0 == "a\u{0}b" ? "a\u{FFFD}b" : $0 })
            #expect(r.rows.allSatisfy { $0[0] != nil })
            let empty = try db.connection.query("SELECT cardinality($1::text[]) AS n", [PGResult.encodeTextArray([])])
            #expect(empty.int(0, "n") == 0)
            let ints = try db.connection.query("SELECT sum(x) AS s, count(*) AS n FROM unnest($1::bigint[]) x",
                                               [PGResult.encodeIntArray([1, -2, Int64.max, Int64.min + 1])])
            #expect(ints.int(0, "s") == -1 && ints.int(0, "n") == 4)
        }
    }

    @Test func serverErrorsCarrySQLState() throws {
        try TestDatabase.with(migrated: false) { db in
            let error = #expect(throws: PostgresError.self) { try db.connection.query("SELECT * FROM no_such_table") }
            #expect(error?.code == .server)
            #expect(error?.sqlState == "42P01")
            let text = error.map { String(describing: $0) } ?? ""
            #expect(text.contains("no_such_table"))
            // The connection is still usable.
            let one = try db.connection.query("SELECT 1 AS one").int(0, "one")
            #expect(one == 1)
        }
    }

    @Test func multiStatementExecAndTransactions() throws {
        try TestDatabase.with(migrated: false) { db in
            let c = db.connection
            try c.exec("CREATE TABLE t (v text); INSERT INTO t VALUES ('a'), ('b')")
            struct Boom: Error {}
            #expect(throws: Boom.self) {
                try c.transaction {
                    try c.exec("INSERT INTO t VALUES ('c')")
                    throw Boom()
                }
            }
            #expect(!c.inTransaction)
            try c.transaction { try c.exec("INSERT INTO t VALUES ('d')") }
            let all = try c.query("SELECT string_agg(v, ',' ORDER BY v) AS s FROM t").string(0, "s")
            #expect(all == "a,b,d")
        }
    }

    @Test func copyInCountsRowsAndReportsServerErrors() throws {
        try TestDatabase.with(migrated: false) { db in
            let c = db.connection
            try c.exec("CREATE TABLE t (n int, s text)")
            let n = try c.copyIn("COPY t (n, s) FROM STDIN (FORMAT binary)", chunkSize: 1024) { sink in
                try sink.write(raw: CopyBinary.header)
                for i in 0..<5000 {
                    sink.encoder.beginRow(2); sink.encoder.int4(i); sink.encoder.text("row\t\(i)\n")
                    try sink.flushIfNeeded()
                }
                try sink.write(raw: CopyBinary.trailer)
            }
            #expect(n == 5000)
            let seven = try c.query("SELECT s FROM t WHERE n = 7").string(0, "s")
            #expect(seven == "row\t7\n")
            let error = #expect(throws: PostgresError.self) {
                try c.copyIn("COPY t (n, s) FROM STDIN") { sink in try sink.write(raw: Array("notanumber\tx\n".utf8)) }
            }
            #expect(error?.sqlState == "22P02")
            // A binary field whose length does not fit its column's type fails loudly.
            let short = #expect(throws: PostgresError.self) {
                try c.copyIn("COPY t (n, s) FROM STDIN (FORMAT binary)") { sink in
                    try sink.write(raw: CopyBinary.header)
                    sink.encoder.beginRow(2); sink.encoder.int8(1); sink.encoder.text("x")
                    try sink.write(raw: CopyBinary.trailer)
                }
            }
            #expect(short?.sqlState == "22P03")
            struct Stop: Error {}
            #expect(throws: Stop.self) {
                try c.copyIn("COPY t (n, s) FROM STDIN") { _ in throw Stop() }
            }
            let count = try c.query("SELECT count(*) AS n FROM t").int(0, "n")
            #expect(count == 5000)
        }
    }
}

@Suite(.enabled(if: TestDatabase.isAvailable, "no PostgreSQL reachable (scripts/pg-local start)"))
struct MessageKeySQLTests {
    static let inputs = [
        "", "a", "foobar", "20240301120000.4F1B2C3D@mail.example.com", "CAF=abc+def@mail.gmail.com",
        "mx1/4Xyz9Q2ZlVz7", "mx-out.example.net/3F2A11C0D5", "müller@bücher.de", "日本語のメッセージ@例え.jp",
        "😀😃😄", "Ωmega@example.gr", "\u{FFFD}", "a b\tc", "<with@brackets>", "'); DROP TABLE x; --",
        String(repeating: "x", count: 300), "ñ", "Zürich/ABC", "quote\"d@x", "tab\there",
    ]

    @Test func swiftAndSQLAgree() throws {
        #expect(Self.inputs.count == 20)
        try TestDatabase.with { db in
            for s in Self.inputs {
                let r = try db.connection.query("SELECT mailtrail.message_key($1) AS k", [s])
                #expect(r.int(0, "k") == MessageKey.hash(bytes: s.utf8), "message_key(\(s))")
            }
            #expect(MessageKey.hash(bytes: "a".utf8) == -5_808_556_873_153_909_620)
        }
    }
}
