// swift-tools-version:6.0
// mailtrail: Postfix/Sendmail/Exim/UTM logs -> per-server transactions -> PostgreSQL.
// Modules follow the data's path: read -> frame -> parse -> correlate -> load -> query.
import PackageDescription

let package = Package(
    name: "mailtrail",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mailtrail", targets: ["mailtrail"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // Shared value types; depends on nothing.
        .target(name: "MailTrailModel"),
        // C libraries, fenced off: zlib for .gz input, libpq for PostgreSQL (and mimalloc, linked by
        // the executable below).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // READ: files, .gz, stdin -> byte chunks with offsets.
        .target(name: "LogReading", dependencies: ["MailTrailModel", "CZlib"]),
        // FRAME: byte chunks -> lines -> syslog envelope (time, host, program, pid, body).
        .target(name: "SyslogFraming", dependencies: ["MailTrailModel"]),
        // PARSE: one framed line -> one MTA event (or ignored / unparsed).
        .target(name: "MTAParsing", dependencies: ["MailTrailModel", "SyslogFraming"]),
        // CORRELATE: pure state machine, events -> message/delivery/rejection records.
        .target(name: "Correlation", dependencies: ["MailTrailModel"]),
        // LOAD: the only module that touches libpq.
        .target(name: "PostgresLoading", dependencies: ["MailTrailModel", "CLibPQ"]),
        // Wiring of the stages for `ingest` and `parse`.
        .target(name: "Ingest", dependencies: [
            "MailTrailModel", "LogReading", "SyslogFraming", "MTAParsing", "Correlation", "PostgresLoading",
        ]),
        // AGENT: follows live log files (tail -F semantics) through the Ingest pipeline.
        .target(name: "Agent", dependencies: [
            "MailTrailModel", "LogReading", "Ingest", "PostgresLoading",
        ]),
        // QUERY: trace and rendering on top of the loader's connection.
        .target(name: "Query", dependencies: ["MailTrailModel", "PostgresLoading"]),
        // The binary allocates through mimalloc (Debian's libmimalloc-dev; linked before libc, so it
        // replaces malloc/free for the whole process): 2-4 % less parse time than glibc's
        // allocator (docs/performance-history.md, round 10).
        .executableTarget(name: "mailtrail", dependencies: [
            "MailTrailModel", "Ingest", "Agent", "Query", "PostgresLoading",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ], linkerSettings: [.linkedLibrary("mimalloc", .when(platforms: [.linux]))]),
        .target(name: "MailTrailTestSupport", dependencies: ["MailTrailModel", "PostgresLoading"],
                path: "Tests/MailTrailTestSupport"),
        .testTarget(name: "SyslogFramingTests", dependencies: ["SyslogFraming", "LogReading", "MailTrailModel"]),
        .testTarget(name: "MTAParsingTests", dependencies: ["MTAParsing", "SyslogFraming", "MailTrailModel"],
                    resources: [.copy("Fixtures")]),
        .testTarget(name: "CorrelationTests", dependencies: ["Correlation", "MTAParsing", "MailTrailModel"]),
        .testTarget(name: "PostgresLoadingTests", dependencies: ["PostgresLoading", "MailTrailModel", "MailTrailTestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "Ingest", "Query", "PostgresLoading", "MailTrailModel", "MailTrailTestSupport",
        ]),
        .testTarget(name: "AgentTests", dependencies: [
            "Agent", "Ingest", "PostgresLoading", "MailTrailModel", "MailTrailTestSupport",
        ]),
    ]
)
