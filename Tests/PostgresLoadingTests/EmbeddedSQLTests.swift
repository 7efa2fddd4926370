/// EmbeddedSQLTests: the SQL compiled into the binary equals the files in sql/.
///
/// Contract: fails, naming the file, whenever `EmbeddedSQL` differs from
/// `sql/migrations`, `sql/functions`, `sql/views` or `sql/tests` of the source tree —
/// fix with `scripts/embed-sql`. Also checks migration naming.
/// Limits: finds the tree through #filePath, so it must run from a checkout.
import Testing
@testable import PostgresLoading
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

@Suite struct EmbeddedSQLTests {
    static let root: String = {
        var parts = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        parts.removeLast(3)   // Tests/PostgresLoadingTests/EmbeddedSQLTests.swift
        return parts.joined(separator: "/")
    }()

    static func files(_ folder: String) -> [(name: String, sql: String)] {
        let dir = root + "/sql/" + folder
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name.hasSuffix(".sql") { names.append(name) }
        }
        return names.sorted().map { ($0, read(dir + "/" + $0)) }
    }

    static func read(_ path: String) -> String {
        guard let f = fopen(path, "rb") else { return "<unreadable>" }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buf[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test(arguments: ["migrations", "functions", "views", "tests"])
    func embeddedCopyIsCurrent(folder: String) {
        let onDisk = Self.files(folder)
        let embedded: [(name: String, sql: String)] = switch folder {
        case "migrations": EmbeddedSQL.migrations
        case "functions": EmbeddedSQL.functions
        case "views": EmbeddedSQL.views
        default: EmbeddedSQL.tests
        }
        #expect(!onDisk.isEmpty, "no sql/\(folder)/*.sql found under \(Self.root)")
        #expect(onDisk.map(\.name) == embedded.map(\.name),
                "sql/\(folder) file list differs from the embedded copy: run scripts/embed-sql")
        for file in onDisk {
            guard let copy = embedded.first(where: { $0.name == file.name })?.sql else { continue }
            if copy != file.sql {
                let a = copy.split(separator: "\n", omittingEmptySubsequences: false)
                let b = file.sql.split(separator: "\n", omittingEmptySubsequences: false)
                let line = zip(a, b).prefix { $0 == $1 }.count + 1
                Issue.record("sql/\(folder)/\(file.name) differs from the embedded copy from line \(line) on: run scripts/embed-sql")
            }
        }
    }

    @Test func migrationsAreNumbered() {
        let versions = EmbeddedSQL.migrations.map { Migrator.version(of: $0.name) }
        #expect(versions.allSatisfy { $0 != nil })
        // 1, 2, 3, ... without gaps: the migrator applies versions above the database's
        // newest, so a gap filled later would be skipped on databases already past it.
        let numbers = versions.compactMap { $0 }
        #expect(numbers == Array(1...max(1, numbers.count)))
        #expect(Migrator.newestVersion == numbers.last)
        #expect(Migrator.description(of: "0001_initial.sql") == "initial")
        #expect(Migrator.description(of: "0002_add_some_thing.sql") == "add some thing")
    }
}
