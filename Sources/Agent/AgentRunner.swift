/// AgentRunner: `mailtrail agent` — follows the configured log files and
/// loads their lines with an exactly-once effect, until SIGTERM.
///
/// Contract:
/// - A *session* = one database connection, one FollowPipeline restored
///   from the database (correlator states, checkpoints), one TrackedPath per
///   file matched by the sources' paths/globs (globs re-expanded every
///   second, so files appearing later are picked up).
/// - Any database error ends the session; nothing in memory is kept (the
///   log files are the buffer): the runner reconnects with exponential
///   backoff and full jitter and starts a new session from the committed
///   state, exactly as after a crash. The outage is logged once, the
///   recovery once. While the database is down no file is read, so memory
///   stays bounded.
/// - stderr: one line per event ("mailtrail agent: …"; line breaks inside
///   error texts become "; ").
/// - SIGTERM/SIGINT: commit what is pending, exit 0. SIGHUP: commit, reload
///   the configuration (a bad file is reported and the old one kept), start
///   a new session.
/// - A file that cannot be read (missing, permission) is reported once per
///   distinct problem and retried at every poll; it does not stop the others.
/// Test hook: MAILTRAIL_AGENT_TEST_KILL_BEFORE_COMMIT=N sends SIGKILL to
/// the agent itself inside the Nth commit's transaction, after the COPY and
/// the merge, before COMMIT.
import Ingest
import LogReading
import MailTrailModel
import PostgresLoading
#if canImport(Glibc)
import Glibc
#endif

/// Shared by the TrackedPaths of one session.
final class SessionContext {
    let config: AgentConfig
    let pipeline: FollowPipeline
    let runner: AgentRunner
    private var notes: [String: String] = [:]

    init(config: AgentConfig, pipeline: FollowPipeline, runner: AgentRunner) {
        self.config = config; self.pipeline = pipeline; self.runner = runner
    }

    func now() -> Double { AgentRunner.clock() }
    func log(_ text: String) { runner.log(text) }

    /// Logs `text` for `key` unless it is the same text as last time.
    func note(_ key: String, _ text: String) {
        if notes[key] == text { return }
        notes[key] = text
        log(text)
    }
    func clearNote(_ key: String) { notes[key] = nil }

    /// What the agent writes inside each commit of `stream` for `path` (fd < 0: a rotated file, no lag).
    func noteWriter(path: String, stream: FollowPipeline.Stream, fd: Int32) -> (PGConnection) throws -> Void {
        let agent = config.name
        let runner = self.runner
        return { [weak stream] conn in
            guard let stream else { return }
            runner.beforeCommitHook()
            let id = fd >= 0 ? Files.identity(fd: fd) : nil
            let size = id?.size ?? stream.completeOffset
            let lagBytes = max(0, size - stream.completeOffset)
            var lagSeconds = 0.0
            if lagBytes > 0, let id, let t = stream.lastLineTime {
                lagSeconds = max(0, Double(id.mtime) - Double(t.micros) / 1e6)
            }
            try conn.query("""
                SELECT mailtrail.agent_note_file($1, $2, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7::bigint,
                                                 $8::float8, $9::timestamptz)
                """, [path, agent, String(stream.sourceID), id.map { String(Int64(bitPattern: $0.device)) },
                      id.map { String(Int64(bitPattern: $0.inode)) }, String(size), String(lagBytes),
                      String(lagSeconds), stream.lastLineTime?.rfc3339],
                operation: "record agent status of \(path)")
            runner.metrics.noteCommit(path: path, offset: stream.completeOffset, lagBytes: lagBytes,
                                      lines: stream.pendingLines)
        }
    }

    func committed(path: String, stream: FollowPipeline.Stream, result: CommitResult?) {
        runner.sessionCommitted()
    }
}

public final class AgentRunner {
    public private(set) var config: AgentConfig
    let configPath: String?
    let metrics = AgentMetrics()
    private var killAtCommit: Int?
    private var commits = 0
    private var outageStart: Double?
    private var outageAttempts = 0

    public init(config: AgentConfig, configPath: String?) {
        self.config = config
        self.configPath = configPath
        if let v = getenv("MAILTRAIL_AGENT_TEST_KILL_BEFORE_COMMIT"), let n = Int(String(cString: v)), n > 0 {
            killAtCommit = n
        }
    }

    static func clock() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Writes one stderr line per event: line breaks inside `text` (libpq's and the server's
    /// messages span lines) become "; ", so journald and grep see the outage as one entry.
    func log(_ text: String) { writeStandardError("mailtrail agent: " + AgentRunner.oneLine(text) + "\n") }

    static func oneLine(_ text: String) -> String {
        var out = ""
        var atBreak = false
        for ch in text {
            if ch == "\n" || ch == "\r" || ch == "\r\n" {
                atBreak = true
            } else if atBreak && (ch == " " || ch == "\t") {
                continue
            } else {
                if atBreak { out += "; " }
                atBreak = false
                out.append(ch)
            }
        }
        return out
    }

    func beforeCommitHook() {
        commits += 1
        if let k = killAtCommit, commits == k { kill(getpid(), SIGKILL) }
    }

    /// Called after every successful commit: ends an outage report.
    func sessionCommitted() {
        if let start = outageStart {
            log("database reachable again after \(Int(AgentRunner.clock() - start)) s (\(outageAttempts) attempts); catching up")
            outageStart = nil
            outageAttempts = 0
            metrics.setDatabaseUp(true)
        }
    }

    private enum SessionEnd { case terminate, reload }

    /// Runs until SIGTERM/SIGINT; returns the process exit code.
    public func run() -> Int32 {
        AgentSignals.install()
        if config.metricsPort > 0 {
            do { try metrics.serve(port: config.metricsPort) } catch {
                log("metrics: \(error); continuing without metrics")
            }
        }
        log("started: \(config.sources.count) source(s), agent name \(config.name)")
        var delay = Double(config.retryInitialMS) / 1000
        while true {
            if AgentSignals.terminate { break }
            if AgentSignals.takeReload() { reload(); continue }
            do {
                let conn = try PGConnection(conninfo: config.conninfo)
                defer { conn.close() }
                let end = try session(conn)
                delay = Double(config.retryInitialMS) / 1000
                switch end {
                case .terminate: log("stopped (SIGTERM): pending lines committed"); return 0
                case .reload: reload()
                }
            } catch {
                if AgentSignals.terminate { break }
                if outageStart == nil {
                    outageStart = AgentRunner.clock()
                    metrics.setDatabaseUp(false)
                    log("database error: \(error); retrying with backoff up to \(config.retryMaxMS / 1000) s, nothing is lost (reading pauses, the log files keep the lines); this is logged once")
                }
                outageAttempts += 1
                // Full jitter: a random delay in [0, delay], the bound doubling up to the maximum.
                sleepInterruptibly(Double.random(in: 0...delay) + 0.05)
                delay = min(delay * 2, Double(config.retryMaxMS) / 1000)
            }
        }
        log("stopped")
        return 0
    }

    private func reload() {
        guard let configPath else { return }
        do {
            let c = try AgentConfig.load(path: configPath)
            config = c
            log("configuration reloaded from \(configPath): \(c.sources.count) source(s)")
        } catch {
            log("configuration not reloaded, keeping the running one: \(error)")
        }
    }

    private func session(_ conn: PGConnection) throws -> SessionEnd {
        let pipeline = try FollowPipeline(loader: BatchLoader(connection: conn))
        let context = SessionContext(config: config, pipeline: pipeline, runner: self)
        var tracked: [String: TrackedPath] = [:]
        var order: [String] = []
        var lastExpand = -Double.infinity
        // A session that starts cleanly after an outage has recovered, even before its first commit.
        sessionCommitted()
        while true {
            if AgentSignals.terminate {
                try pipeline.commitPending()
                return .terminate
            }
            if AgentSignals.takeReload() {
                try pipeline.commitPending()
                return .reload
            }
            let now = AgentRunner.clock()
            if now - lastExpand >= 1 {
                lastExpand = now
                for src in config.sources {
                    let paths = src.isGlob ? Files.expand(src.path) : [src.path]
                    for p in paths where tracked[p] == nil {
                        tracked[p] = TrackedPath(path: p, source: src, context: context)
                        order.append(p)
                    }
                }
            }
            var busy = false
            for p in order {
                do {
                    if try tracked[p]!.poll() { busy = true }
                } catch let e as LogReadError {
                    context.note(p, "\(e)")
                } catch let e as FollowReadError {
                    context.note(p, "\(e)")
                }
            }
            if !busy { sleepInterruptibly(Double(config.pollIntervalMS) / 1000) }
        }
    }

    /// Sleeps, returning early on a signal.
    func sleepInterruptibly(_ seconds: Double) {
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int((seconds - Double(Int(seconds))) * 1e9))
        var rem = timespec()
        while nanosleep(&ts, &rem) != 0 && errno == EINTR {
            if AgentSignals.terminate || AgentSignals.reloadRequested { return }
            ts = rem
        }
    }
}
