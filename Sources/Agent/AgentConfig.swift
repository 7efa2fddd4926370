/// AgentConfig: the agent's configuration file (TOML subset, see TOML.swift)
/// — its keys, defaults, checks and the rendering `agent --check` prints.
///
/// Contract: `load(path:)` parses and validates; every problem is a
/// `ConfigError` with `file:line:column` and what to do. Unknown tables or
/// keys are errors (a typo never silently falls back to a default).
/// `render()` prints the effective configuration (defaults filled in) in
/// the same syntax, so it can be saved and loaded again.
/// Documented in docs/agent.md ("Configuration").
import Ingest
#if canImport(Glibc)
import Glibc
#endif

/// One `[[source]]`: a path or glob and how to read it.
public struct AgentSource: Sendable, Equatable {
    public var path: String
    public var format: InputFormat = .auto
    public var host: String?
    public var timezone: String?
    public var year: Int?

    public init(path: String) { self.path = path }

    /// True when `path` contains glob characters.
    public var isGlob: Bool { path.contains(where: { $0 == "*" || $0 == "?" || $0 == "[" }) }

    public var pipelineOptions: PipelineOptions {
        var o = PipelineOptions()
        o.format = format
        o.host = host
        o.year = year
        o.timeZone = timezone
        return o
    }
}

public struct AgentConfig: Sendable, Equatable {
    /// Agent name in mailtrail.agent_files (default: this machine's host name).
    public var name: String = AgentConfig.machineName()
    /// How often files are checked for new lines and rotation.
    public var pollIntervalMS = 250
    /// Lines wait at most this long before they are committed (freshness).
    public var flushIntervalMS = 500
    /// Commit after this many lines even if the flush interval has not passed.
    public var batchLines = 20_000
    /// Bytes read from one file before the agent commits and looks at the others.
    public var readBytes = 4 << 20
    /// After a rotation, keep reading the old file until it has been quiet this long.
    public var rotateWaitMS = 1_000
    /// Retry delays while the database is unreachable: first and maximum (full jitter).
    public var retryInitialMS = 500
    public var retryMaxMS = 30_000
    /// Prometheus metrics on 127.0.0.1:<port>; 0 = off.
    public var metricsPort = 0
    /// libpq conninfo without password; nil = PG* variables, service file, .pgpass.
    public var conninfo: String?
    public var sources: [AgentSource] = []

    public init() {}

    static func machineName() -> String {
        var buf = [CChar](repeating: 0, count: 256)
        if gethostname(&buf, buf.count) == 0 { return String(cString: buf) }
        return "agent"
    }

    /// Reads and validates the file at `path`.
    public static func load(path: String) throws -> AgentConfig {
        guard let f = fopen(path, "r") else {
            let e = errno
            throw ConfigError(file: path, line: 0, column: 0,
                              message: e == ENOENT ? "no such file; give the path of the agent's TOML configuration (see docs/agent.md)"
                                                   : "cannot read: \(String(cString: strerror(e)))")
        }
        defer { fclose(f) }
        var bytes: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buf, 1, buf.count, f)
            if n <= 0 { break }
            bytes.append(contentsOf: buf[0..<n])
        }
        return try parse(String(decoding: bytes, as: UTF8.self), file: path)
    }

    /// Parses and validates configuration text.
    public static func parse(_ text: String, file: String) throws -> AgentConfig {
        let doc = try TOML.parse(text, file: file)
        var c = AgentConfig()
        func err(_ v: TOMLValue, _ m: String) -> ConfigError { ConfigError(file: file, line: v.line, column: v.column, message: m) }
        func int(_ t: TOMLTable, _ key: String, _ range: ClosedRange<Int>, into target: inout Int) throws {
            guard let v = t[key] else { return }
            guard case .integer(let n) = v.kind else { throw err(v, "\(key) must be an integer, not \(v.typeName)") }
            guard range.contains(Int(n)) else { throw err(v, "\(key) = \(n) is out of range; use \(range.lowerBound)...\(range.upperBound)") }
            target = Int(n)
        }
        func string(_ t: TOMLTable, _ key: String) throws -> String? {
            guard let v = t[key] else { return nil }
            guard case .string(let s) = v.kind else { throw err(v, "\(key) must be a string in quotes, not \(v.typeName)") }
            return s
        }
        func known(_ t: TOMLTable, _ keys: [String]) throws {
            for (k, v) in t.entries where !keys.contains(k) {
                throw err(v, "unknown key '\(k)'\(t.name.isEmpty ? "" : " in [\(t.name)]"); known keys: \(keys.joined(separator: ", "))")
            }
        }
        if let (k, v) = doc.root.entries.first {
            throw err(v, "key '\(k)' outside any table; put it under [agent], [database] or [[source]]")
        }
        for h in doc.order where !["agent", "database", "source"].contains(h.name) || (h.name == "source") != h.isArray {
            let shown = h.isArray ? "[[\(h.name)]]" : "[\(h.name)]"
            throw ConfigError(file: file, line: h.line, column: 1,
                              message: "unknown table \(shown); use [agent], [database] and one [[source]] per log file")
        }
        if let a = doc.tables["agent"] {
            try known(a, ["name", "poll_interval_ms", "flush_interval_ms", "batch_lines", "read_bytes",
                          "rotate_wait_ms", "retry_initial_ms", "retry_max_ms", "metrics_port"])
            if let n = try string(a, "name") {
                guard !n.isEmpty else { throw err(a["name"]!, "name must not be empty") }
                c.name = n
            }
            try int(a, "poll_interval_ms", 10...60_000, into: &c.pollIntervalMS)
            try int(a, "flush_interval_ms", 0...60_000, into: &c.flushIntervalMS)
            try int(a, "batch_lines", 1...10_000_000, into: &c.batchLines)
            try int(a, "read_bytes", 4096...(1 << 30), into: &c.readBytes)
            try int(a, "rotate_wait_ms", 0...600_000, into: &c.rotateWaitMS)
            try int(a, "retry_initial_ms", 10...600_000, into: &c.retryInitialMS)
            try int(a, "retry_max_ms", 10...3_600_000, into: &c.retryMaxMS)
            try int(a, "metrics_port", 0...65535, into: &c.metricsPort)
            if c.retryMaxMS < c.retryInitialMS, let v = a["retry_max_ms"] ?? a["retry_initial_ms"] {
                throw err(v, "retry_max_ms (\(c.retryMaxMS)) must not be smaller than retry_initial_ms (\(c.retryInitialMS))")
            }
        }
        if let d = doc.tables["database"] {
            try known(d, ["conninfo"])
            if let s = try string(d, "conninfo") {
                if AgentConfig.containsPassword(s) {
                    throw err(d["conninfo"]!, "conninfo contains a password; put it in the agent user's ~/.pgpass (or a pg_service.conf entry) and leave it out of this file")
                }
                c.conninfo = s.isEmpty ? nil : s
            }
        }
        let sources = doc.arrays["source"] ?? []
        if sources.isEmpty {
            throw ConfigError(file: file, line: max(1, doc.order.last?.line ?? 1), column: 1,
                              message: "no [[source]] table; add one per log file, e.g.\n[[source]]\npath = \"/var/log/mail.log\"")
        }
        var seen: [String: Int] = [:]
        for t in sources {
            try known(t, ["path", "format", "host", "timezone", "year"])
            guard let path = try string(t, "path") else {
                throw ConfigError(file: file, line: t.line, column: 1, message: "[[source]] needs a path = \"/var/log/mail.log\" (a glob such as \"/var/log/mail/*.log\" is allowed)")
            }
            guard path.hasPrefix("/") else {
                throw err(t["path"]!, "path '\(path)' must be absolute (the agent runs from /)")
            }
            if path.hasSuffix("*") {
                throw err(t["path"]!, "path '\(path)' ends with '*' and would also match rotated files (mail.log.1, .gz); name the live files only, rotated ones are found by themselves")
            }
            if let other = seen[path] {
                throw err(t["path"]!, "path '\(path)' is already the source on line \(other)")
            }
            seen[path] = t["path"]!.line
            var s = AgentSource(path: path)
            if let f = try string(t, "format") {
                guard let fmt = InputFormat(rawValue: f) else {
                    throw err(t["format"]!, "unknown format '\(f)'; use one of: auto, postfix, sendmail, exim, utm")
                }
                s.format = fmt
            }
            if let h = try string(t, "host") {
                guard !h.isEmpty, !h.contains(" ") else { throw err(t["host"]!, "host must be a host name without spaces") }
                s.host = h
            }
            if let z = try string(t, "timezone") {
                guard ZoneCheck.isKnown(z) else { throw err(t["timezone"]!, "unknown timezone '\(z)'; use an IANA name such as UTC or Europe/Berlin") }
                s.timezone = z
            }
            if let v = t["year"] {
                guard case .integer(let y) = v.kind else { throw err(v, "year must be an integer, not \(v.typeName)") }
                guard (1970...9999).contains(y) else { throw err(v, "year \(y) is out of range; give a four-digit year such as 2026") }
                s.year = Int(y)
            }
            c.sources.append(s)
        }
        return c
    }

    /// True when a conninfo string or URI carries a password.
    public static func containsPassword(_ s: String) -> Bool {
        let lower = s.lowercased()
        if lower.contains("password=") { return true }
        if lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://") {
            let rest = lower.drop(while: { $0 != "/" }).dropFirst(2)
            if let at = rest.firstIndex(of: "@"), rest[rest.startIndex..<at].contains(":") { return true }
        }
        return false
    }

    /// The effective configuration, every default filled in, as loadable TOML.
    public func render() -> String {
        func q(_ s: String) -> String {
            var out = "\""
            for ch in s.unicodeScalars {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: out.unicodeScalars.append(ch)
                }
            }
            return out + "\""
        }
        var s = "[agent]\n"
        s += "name = \(q(name))\n"
        s += "poll_interval_ms = \(pollIntervalMS)\n"
        s += "flush_interval_ms = \(flushIntervalMS)\n"
        s += "batch_lines = \(batchLines)\n"
        s += "read_bytes = \(readBytes)\n"
        s += "rotate_wait_ms = \(rotateWaitMS)\n"
        s += "retry_initial_ms = \(retryInitialMS)\n"
        s += "retry_max_ms = \(retryMaxMS)\n"
        s += "metrics_port = \(metricsPort)\(metricsPort == 0 ? "  # off" : "  # http://127.0.0.1:\(metricsPort)/metrics")\n"
        s += "\n[database]\n"
        if let conninfo { s += "conninfo = \(q(conninfo))\n" } else { s += "# conninfo not set: PG* variables, service file and ~/.pgpass apply\n" }
        for src in sources {
            s += "\n[[source]]\npath = \(q(src.path))\n"
            s += "format = \(q(src.format.rawValue))\n"
            if let h = src.host { s += "host = \(q(h))\n" } else { s += "# host not set: each line's syslog host is used\n" }
            if let z = src.timezone { s += "timezone = \(q(z))\n" } else { s += "# timezone not set: the system's zone for stamps without an offset\n" }
            if let y = src.year { s += "year = \(y)\n" } else { s += "# year not set: inferred from the file's date for year-less stamps\n" }
        }
        return s
    }
}
