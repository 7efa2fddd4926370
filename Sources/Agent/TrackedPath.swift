/// TrackedPath: one followed path (`tail -F` semantics) inside an agent
/// session — rotation, truncation and restart catch-up.
///
/// Contract (docs/agent.md "How files are followed"):
/// - Identity of what is read = the source's fingerprint (first line) in
///   the database; the open file's device + inode tell while running whether
///   the path still names the file we read; the size and the first line,
///   re-read at every poll, tell whether it was truncated or replaced.
/// - Rename + create: the old file stays open and is read until it has been
///   quiet for `rotate_wait_ms`, committed, then the new file is opened.
/// - Truncation / copytruncate (same inode, smaller or different first
///   line): pending lines are committed; a rotated copy with the same first
///   line (copytruncate's copy, maybe gzip'd) is read from the checkpoint to
///   its end; then the new content is a new source read from its start.
/// - Restart: `agent_files` names the source the path was reading. If the
///   path now holds another file, that source's file is looked up among the
///   rotated siblings (plain or gzip) and finished, then every newer rotated
///   file, then the live file.
/// - Only complete lines are read into a batch (see FollowPipeline).
/// Limits: a writer that keeps writing to a renamed file for longer than
/// `rotate_wait_ms` after its last line loses those later lines until a
/// restart finds them (only if that file is still a rotated sibling); bytes
/// written between copytruncate's copy and its truncate are lost (inherent
/// to copytruncate).
import Ingest
import LogReading
import MailTrailModel
import PostgresLoading
#if canImport(Glibc)
import Glibc
#endif

final class TrackedPath {
    let path: String
    let source: AgentSource
    let context: SessionContext
    private var caughtUp = false
    private var fd: Int32 = -1
    private var identity: FileIdentity?
    private var stream: FollowPipeline.Stream?
    private var rotatedSince: Double?
    private var lastGrowth: Double = 0
    private var buffer: [UInt8]

    init(path: String, source: AgentSource, context: SessionContext) {
        self.path = path; self.source = source; self.context = context
        buffer = [UInt8](repeating: 0, count: min(context.config.readBytes, 1 << 20))
    }

    deinit { if fd >= 0 { close(fd) } }

    var pendingLines: Int64 { stream?.pendingLines ?? 0 }

    /// Reads what is new, commits when due, handles rotation; returns true when the read budget was used up.
    func poll() throws -> Bool {
        let now = context.now()
        if !caughtUp {
            try catchUpAfterRestart()
            caughtUp = true
        }
        if fd < 0 {
            guard openLive() else { return false }
        }
        if stream == nil {
            guard try attachStream() else { return false }
        }
        guard let stream else { return false }
        let busy = try readAvailable(stream, now: now)
        try checkIdentity(stream, now: now)
        if let s = self.stream, s.pendingLines > 0 {
            let due = (s.pendingSince.map { now - $0 >= Double(context.config.flushIntervalMS) / 1000 } ?? false)
            if busy || due || s.pendingLines >= Int64(context.config.batchLines) { try commit(s) }
        }
        return busy
    }

    /// Commits `s` (the pipeline also commits it by itself when another stream is fed).
    func commit(_ s: FollowPipeline.Stream) throws {
        if let r = try context.pipeline.commit(s) { context.committed(path: path, stream: s, result: r) }
    }

    /// Commits whatever this path has pending (shutdown, reload).
    func flush() throws {
        if let s = stream { try commit(s) }
    }

    private func openLive() -> Bool {
        let f = open(path, O_RDONLY | O_CLOEXEC)
        if f < 0 {
            let e = errno
            switch e {
            case ENOENT: context.note(path, "waiting for \(path) to appear")
            case EACCES, EPERM:
                context.note(path, "\(path): permission denied; run the agent as a member of the group that can read the log (e.g. adm) and make the file group-readable (Postfix 3.9+ writes maillog_file 0600: set maillog_file_permissions = 0640)")
            default: context.note(path, "\(path): cannot open: \(String(cString: strerror(e)))")
            }
            return false
        }
        guard let id = Files.identity(fd: f) else { close(f); return false }
        fd = f
        identity = id
        lastGrowth = context.now()
        rotatedSince = nil
        return true
    }

    /// Opens the source of the file's first line; false while the first line is incomplete.
    private func attachStream() throws -> Bool {
        guard let fp = Files.fingerprint(fd: fd), let id = Files.identity(fd: fd) else { return false }
        let ref = Timestamp(seconds: id.mtime).utcDate
        let s = try context.pipeline.openStream(fingerprint: fp, path: path, options: source.pipelineOptions,
                                                referenceDate: ref)
        if s.committedOffset > id.size {
            context.note(path, "\(path): already loaded up to byte \(s.committedOffset) but only \(id.size) bytes long with the same first line; waiting for it to grow")
        }
        s.beforeCommit = context.noteWriter(path: path, stream: s, fd: fd)
        stream = s
        context.clearNote(path)
        return true
    }

    private func readAvailable(_ s: FollowPipeline.Stream, now: Double) throws -> Bool {
        var budget = context.config.readBytes
        while budget > 0 {
            guard let id = Files.identity(fd: fd), id.size > s.readOffset else { return false }
            let want = min(Int64(buffer.count), id.size - s.readOffset, Int64(budget))
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress!, Int(want), off_t(s.readOffset)) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FollowReadError(text: "\(path): read error: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return false }
            try buffer.withUnsafeBytes { try context.pipeline.feed(s, UnsafeRawBufferPointer(rebasing: $0[0..<n]), now: now) }
            lastGrowth = now
            budget -= n
            if s.pendingLines >= Int64(context.config.batchLines) { try commit(s) }
        }
        return true
    }

    private func checkIdentity(_ s: FollowPipeline.Stream, now: Double) throws {
        let atPath = Files.identity(path: path)
        if atPath == nil || atPath!.device != identity!.device || atPath!.inode != identity!.inode {
            // Renamed (rotation) or deleted: finish the open file, then move on.
            if rotatedSince == nil { rotatedSince = now }
            let quietSince = max(lastGrowth, rotatedSince!)
            guard now - quietSince >= Double(context.config.rotateWaitMS) / 1000, atPath != nil else { return }
            try commit(s)
            if s.tailBytes > 0 {
                context.log("\(path): the rotated file ended with \(s.tailBytes) bytes without a newline; they are not loaded")
            }
            close(fd); fd = -1; stream = nil; identity = nil; rotatedSince = nil
            return
        }
        guard let id = Files.identity(fd: fd) else { return }
        let truncated = id.size < s.readOffset
        let replaced = !truncated && Files.fingerprint(fd: fd) != s.fingerprint
        guard truncated || replaced else { return }
        try commit(s)
        // copytruncate: the lines after the checkpoint are in the copy, which starts with the same line.
        let copy = Files.rotatedSiblings(of: path).reversed().first { Files.fingerprint(path: $0) == s.fingerprint }
        if let copy {
            context.log("\(path) was truncated (copytruncate); reading the rest from \(copy)")
            let (r, _) = try context.pipeline.catchUp(
                path: copy, options: source.pipelineOptions, batchLines: context.config.batchLines,
                now: context.now, prepare: { $0.beforeCommit = self.context.noteWriter(path: self.path, stream: $0, fd: -1) })
            if let r { context.committed(path: path, stream: r, result: nil) }
        } else {
            context.log("\(path) was truncated or replaced at byte \(s.completeOffset); no rotated copy with its first line was found, so lines written after that byte before the truncation (if any) are not loaded")
        }
        stream = nil
        lastGrowth = now
    }

    /// After a restart: finish the file this path was reading (now rotated) and newer rotated files.
    private func catchUpAfterRestart() throws {
        let r = try context.pipeline.loader.connection.query(
            "SELECT fingerprint, committed_offset FROM mailtrail.agent_file_source($1, $2)",
            [context.config.name, path], operation: "read agent_files for \(path)")
        guard r.count == 1, let known = r.string(0, "fingerprint") else { return }
        let live = Files.fingerprint(path: path)
        if live == known { return }
        let siblings = Files.rotatedSiblings(of: path)
        var prints: [(path: String, fp: String?)] = []
        for p in siblings { prints.append((p, Files.fingerprint(path: p))) }
        guard let start = prints.firstIndex(where: { $0.fp == known }) else {
            context.log("\(path): the file read before the restart (first line fingerprint \(known)) is neither at the path nor among its rotated copies; continuing with the file now at the path")
            return
        }
        var done: Set<String> = []
        for (p, fp) in prints[start...] {
            guard let fp, !done.contains(fp), fp != live else { continue }
            done.insert(fp)
            context.log("\(path): catching up with rotated file \(p)")
            let (r, complete) = try context.pipeline.catchUp(
                path: p, options: source.pipelineOptions, batchLines: context.config.batchLines, now: context.now,
                prepare: { $0.beforeCommit = self.context.noteWriter(path: self.path, stream: $0, fd: -1) })
            if let r { context.committed(path: path, stream: r, result: nil) }
            if !complete { context.log("\(p) is shorter than what was already loaded from it; skipped") }
        }
    }
}

/// A read error on a followed file (reported once, retried at the next poll).
struct FollowReadError: Error, CustomStringConvertible {
    var text: String
    var description: String { text }
}
