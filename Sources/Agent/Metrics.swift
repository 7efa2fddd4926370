/// AgentMetrics: counters of the running agent and an optional Prometheus
/// text-format endpoint on 127.0.0.1:<metrics_port>.
///
/// Contract: `serve(port:)` binds 127.0.0.1 only and answers every request
/// on its own thread with HTTP/1.0 and the current values (any path; one
/// request per connection); updates take a lock, the responder copies under
/// the same lock. Metrics: mailtrail_agent_commits_total,
/// mailtrail_agent_lines_committed_total{path}, mailtrail_agent_offset_bytes{path},
/// mailtrail_agent_lag_bytes{path}, mailtrail_agent_database_up.
/// Limits: no TLS, no authentication (localhost only); a client gets 2 s to
/// send its request.
#if canImport(Glibc)
import Glibc
#endif

final class AgentMetrics: @unchecked Sendable {
    /// The mutex at an address of its own (`&` on a stored property gives no stable address).
    private let lock: UnsafeMutablePointer<pthread_mutex_t> = {
        let m = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
        m.initialize(to: pthread_mutex_t())
        pthread_mutex_init(m, nil)
        return m
    }()
    private var commits: Int64 = 0
    private var lines: [String: Int64] = [:]
    private var offsets: [String: Int64] = [:]
    private var lags: [String: Int64] = [:]
    private var databaseUp = true

    init() {}

    deinit {
        pthread_mutex_destroy(lock)
        lock.deinitialize(count: 1)
        lock.deallocate()
    }

    private func locked<T>(_ body: () -> T) -> T {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return body()
    }

    func noteCommit(path: String, offset: Int64, lagBytes: Int64, lines n: Int64) {
        locked {
            commits += 1
            lines[path, default: 0] += n
            offsets[path] = offset
            lags[path] = lagBytes
        }
    }

    func setDatabaseUp(_ up: Bool) { locked { databaseUp = up } }

    /// The Prometheus text exposition of the current values.
    func render() -> String {
        locked {
            func label(_ s: String) -> String {
                s.replacingBackslashesAndQuotes()
            }
            var s = "# HELP mailtrail_agent_commits_total Batches committed.\n# TYPE mailtrail_agent_commits_total counter\n"
            s += "mailtrail_agent_commits_total \(commits)\n"
            s += "# HELP mailtrail_agent_lines_committed_total Lines committed per followed path.\n# TYPE mailtrail_agent_lines_committed_total counter\n"
            for (p, v) in lines.sorted(by: { $0.key < $1.key }) { s += "mailtrail_agent_lines_committed_total{path=\"\(label(p))\"} \(v)\n" }
            s += "# HELP mailtrail_agent_offset_bytes Committed offset of the current file.\n# TYPE mailtrail_agent_offset_bytes gauge\n"
            for (p, v) in offsets.sorted(by: { $0.key < $1.key }) { s += "mailtrail_agent_offset_bytes{path=\"\(label(p))\"} \(v)\n" }
            s += "# HELP mailtrail_agent_lag_bytes Bytes of the file not committed at the last commit.\n# TYPE mailtrail_agent_lag_bytes gauge\n"
            for (p, v) in lags.sorted(by: { $0.key < $1.key }) { s += "mailtrail_agent_lag_bytes{path=\"\(label(p))\"} \(v)\n" }
            s += "# HELP mailtrail_agent_database_up 1 when the last database operation succeeded.\n# TYPE mailtrail_agent_database_up gauge\n"
            s += "mailtrail_agent_database_up \(databaseUp ? 1 : 0)\n"
            return s
        }
    }

    /// Listens on 127.0.0.1:`port` and answers on a background thread.
    func serve(port: Int) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw MetricsError(text: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0, listen(fd, 16) == 0 else {
            let e = String(cString: strerror(errno))
            close(fd)
            throw MetricsError(text: "cannot listen on 127.0.0.1:\(port): \(e) (choose another metrics_port)")
        }
        let box = Unmanaged.passRetained(ServeArgs(fd: fd, metrics: self))
        var thread = pthread_t()
        pthread_create(&thread, nil, { raw in
            let args = Unmanaged<ServeArgs>.fromOpaque(raw!).takeRetainedValue()
            args.metrics.acceptLoop(args.fd)
            return nil
        }, box.toOpaque())
        pthread_detach(thread)
    }

    private func acceptLoop(_ fd: Int32) {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { if errno == EINTR { continue }; usleep(100_000); continue }
            var tv = timeval(tv_sec: 2, tv_usec: 0)
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            // Read the request head (up to a blank line or 8 KiB); its content does not matter.
            var buf = [UInt8](repeating: 0, count: 8192)
            var got = 0
            while got < buf.count {
                let n = buf.withUnsafeMutableBytes { recv(c, $0.baseAddress! + got, $0.count - got, 0) }
                if n <= 0 { break }
                got += n
                if got >= 4 && buf[0..<got].suffix(4).elementsEqual([13, 10, 13, 10]) { break }
                if got >= 2 && buf[0..<got].suffix(2).elementsEqual([10, 10]) { break }
            }
            let body = Array(render().utf8)
            let head = "HTTP/1.0 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            let all = Array(head.utf8) + body
            var sent = 0
            while sent < all.count {
                let n = all.withUnsafeBytes { send(c, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { break }
                sent += n
            }
            close(c)
        }
    }
}

private final class ServeArgs {
    let fd: Int32
    let metrics: AgentMetrics
    init(fd: Int32, metrics: AgentMetrics) { self.fd = fd; self.metrics = metrics }
}

struct MetricsError: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}

extension String {
    func replacingBackslashesAndQuotes() -> String {
        var out = ""
        for ch in self {
            switch ch {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(ch)
            }
        }
        return out
    }
}
