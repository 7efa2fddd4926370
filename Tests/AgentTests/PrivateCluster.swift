/// PrivateCluster: a PostgreSQL cluster owned by one test, so the test may
/// stop and start the server (the shared cluster of scripts/pg-local must
/// keep running for the other tests).
///
/// Contract: initdb into a fresh directory under /tmp with the newest server
/// binaries under /usr/lib/postgresql (as scripts/pg-local finds them); when
/// the tests run as root the server runs as the unprivileged user
/// `mailtrail-pg` (created by scripts/pg-local) through runuser, because
/// PostgreSQL refuses root. It listens on 127.0.0.1 only, on a free port, and
/// on a Unix socket inside its own directory; authentication is trust.
/// `stop()` uses `pg_ctl -m fast`; deinit stops the server and deletes the
/// directory, so no server outlives the test.
/// Limits: Linux only; needs runuser when root.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

final class PrivateCluster {
    static let runUser = "mailtrail-pg"
    let dir: String
    let port: Int
    let bindir: String
    private(set) var running = false

    /// The newest server binaries, or nil when none are installed.
    static var serverBinaries: String? {
        let root = "/usr/lib/postgresql"
        let versions = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap { Int($0) }.sorted(by: >)
        for v in versions {
            let d = "\(root)/\(v)/bin"
            if FileManager.default.isExecutableFile(atPath: d + "/initdb"),
               FileManager.default.isExecutableFile(atPath: d + "/pg_ctl") { return d }
        }
        return nil
    }

    static var available: Bool {
        guard serverBinaries != nil else { return false }
        return getuid() != 0 || getpwnam(runUser) != nil
    }

    /// Creates and configures the cluster (not started).
    init() throws {
        guard let bindir = PrivateCluster.serverBinaries else { throw ClusterError("no PostgreSQL server binaries") }
        self.bindir = bindir
        var t = Array("/tmp/mt-pgown-XXXXXX".utf8CString)
        dir = t.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)!) }
        if getuid() == 0 {
            guard let pw = getpwnam(PrivateCluster.runUser) else { throw ClusterError("no user \(PrivateCluster.runUser)") }
            chown(dir, pw.pointee.pw_uid, pw.pointee.pw_gid)
        }
        port = PrivateCluster.freePort()
        try run(bindir + "/initdb", ["-D", dir + "/data", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8", "-A", "trust"])
        let conf = """

            # mailtrail test: private cluster
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(dir)'
            fsync = off
            shared_buffers = 32MB
            log_min_messages = warning
            logging_collector = off

            """
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/data/postgresql.conf"))
        h.seekToEndOfFile()
        h.write(Data(conf.utf8))
        try h.close()
    }

    deinit {
        if running { try? stop() }
        try? FileManager.default.removeItem(atPath: dir)
    }

    /// libpq environment pointing at this cluster.
    func environment(database: String) -> [String: String] {
        ["PGHOST": "127.0.0.1", "PGPORT": String(port), "PGUSER": "postgres", "PGDATABASE": database]
    }

    func conninfo(_ database: String) -> String {
        "host=127.0.0.1 port=\(port) user=postgres dbname=\(database)"
    }

    func start() throws {
        try run(bindir + "/pg_ctl", ["-D", dir + "/data", "-l", dir + "/server.log", "-w", "-t", "60", "start"])
        running = true
    }

    func stop() throws {
        try run(bindir + "/pg_ctl", ["-D", dir + "/data", "-m", "fast", "-w", "stop"])
        running = false
    }

    /// The postmaster's PID (first line of postmaster.pid) while running.
    var serverPID: Int32? {
        guard let text = try? String(contentsOfFile: dir + "/data/postmaster.pid", encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0) }
    }

    var serverLog: String { (try? String(contentsOfFile: dir + "/server.log", encoding: .utf8)) ?? "" }

    /// Runs a server program (as the unprivileged user when root) and waits for it. Not through
    /// Foundation's Process: the postmaster that pg_ctl leaves behind would inherit the test's
    /// descriptors (Process's own exit-notification ones included) and keep them open, so the child
    /// closes every descriptor above 2 (a bash wrapper: glibc's closefrom action is not visible to
    /// Swift) and stdout/stderr go to /dev/null.
    private func run(_ program: String, _ args: [String]) throws {
        let wrapper = #"cd "$1" && shift && for fd in /proc/self/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-" 2>/dev/null; done; exec "$@""#
        let argv = ["/bin/bash", "-c", wrapper, "pg-wrapper", dir]
            + (getuid() == 0 ? ["/usr/sbin/runuser", "-u", PrivateCluster.runUser, "--"] : []) + [program] + args
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        var cargs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, argv[0], &actions, nil, &cargs, environ)
        guard rc == 0 else { throw ClusterError("cannot run \(argv[0]): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if status != 0 {
            throw ClusterError("\(program) \(args.joined(separator: " ")) failed (wait status \(status)); log: \(serverLog.suffix(2000))")
        }
    }

    private static func freePort() -> Int {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var a = sockaddr_in()
        a.sin_family = sa_family_t(AF_INET)
        a.sin_addr.s_addr = inet_addr("127.0.0.1")
        a.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        _ = withUnsafeMutablePointer(to: &a) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        return Int(UInt16(bigEndian: a.sin_port))
    }
}

struct ClusterError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

/// Resident memory of a process in kB (VmRSS of /proc/<pid>/status), nil when gone.
func residentKB(_ pid: Int32) -> Int? {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
    for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
        return Int(line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "")
    }
    return nil
}

/// Bytes a process has read so far (rchar of /proc/<pid>/io: read and pread, files and sockets).
func bytesRead(_ pid: Int32) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/io", encoding: .utf8) else { return -1 }
    for line in text.split(separator: "\n") where line.hasPrefix("rchar:") {
        return Int(line.dropFirst(6).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? -1
    }
    return -1
}
