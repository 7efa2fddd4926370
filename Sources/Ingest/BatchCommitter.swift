/// BatchCommitter: commits encoded batches on a background thread, one at a
/// time, so that `ingest` parses batch n+1 while batch n loads.
///
/// Contract:
/// - `submit` waits until the previous batch's commit has finished, rethrows
///   its error if it failed (nothing further is committed then), hands the
///   new batch to the committer thread and returns at once with the result
///   of the finished commit. So at most one batch is being committed while
///   the caller builds the next one: memory stays at two batches.
/// - Batches commit in submission order, each in its own transaction
///   (`BatchLoader.commit`); a checkpoint moves only with its COMMIT.
/// - Correlator state versions are the committer's: it sets each batch's
///   expected versions just before committing it (starting from the versions
///   given to `init`), because the caller closes batch n+1 before it knows
///   whether batch n committed.
/// - After a failed commit every later `submit`/`drain` throws the same
///   error: nothing is committed past a batch that did not commit.
/// - `drain` waits until nothing is in flight; the caller must drain before
///   it uses the loader's connection itself (the connection is not
///   thread-safe). `finish` drains and ends the thread; `stop` ends it,
///   waiting only for a commit that already runs (use it in a `defer`, so
///   that no commit outlives the caller's error path; the thread holds the
///   committer until it ends).
/// Limits: one committer thread per loader; `Context` is whatever the caller
/// wants back with each result (e.g. the batch's line counters).
import Foundation
import PostgresLoading

final class BatchCommitter<Context: Sendable>: @unchecked Sendable {
    /// One finished commit: the caller's context and what the commit wrote.
    typealias Done = (context: Context, result: CommitResult)

    private let loader: BatchLoader
    /// Correlator state versions; touched only by the committer thread once it runs.
    private var versions: [String: Int64]
    private let lock = NSCondition()
    // Guarded by `lock`:
    private var next: (batch: EncodedBatch, context: Context)?
    private var inFlight = false
    private var done: Result<Done, Error>?
    private var stopping = false
    private var failed: Error?
    private var thread: Thread?

    init(loader: BatchLoader, versions: [String: Int64]) {
        self.loader = loader
        self.versions = versions
    }

    /// Hands `batch` to the committer thread after the previous commit finished; returns that
    /// commit's result (nil when there was none) or throws its error.
    func submit(_ batch: EncodedBatch, context: Context) throws -> Done? {
        startIfNeeded()
        lock.lock()
        defer { lock.unlock() }
        while inFlight { lock.wait() }
        let previous = try takeDone()
        if let f = failed { throw f }
        next = (batch, context)
        inFlight = true
        lock.broadcast()
        return previous
    }

    /// Waits until no commit is in flight; returns the last one's result or throws its error.
    func drain() throws -> Done? {
        lock.lock()
        defer { lock.unlock() }
        while inFlight { lock.wait() }
        let last = try takeDone()
        if let f = failed { throw f }
        return last
    }

    /// Drains, then ends the committer thread.
    func finish() throws -> Done? {
        let last: Done?
        do { last = try drain() } catch { stop(); throw error }
        stop()
        return last
    }

    /// Ends the committer thread: a batch handed over but not started is dropped (its lines stay
    /// uncommitted, like any batch after a failure); a commit already running is waited for, so
    /// the connection is the caller's again when this returns.
    func stop() {
        lock.lock()
        stopping = true
        if next != nil {
            next = nil
            inFlight = false
        }
        lock.broadcast()
        while inFlight { lock.wait() }
        lock.unlock()
    }

    /// The finished commit's outcome, cleared; called with `lock` held.
    private func takeDone() throws -> Done? {
        guard let d = done else { return nil }
        done = nil
        switch d {
        case .success(let r): return r
        case .failure(let e):
            failed = e
            stopping = true
            lock.broadcast()
            throw e
        }
    }

    private func startIfNeeded() {
        lock.lock()
        defer { lock.unlock() }
        guard thread == nil else { return }
        let t = Thread { self.run() }
        t.name = "mailtrail-commit"
        thread = t
        t.start()
    }

    /// The committer thread: commit whatever is handed over, until stopped.
    private func run() {
        lock.lock()
        while true {
            while next == nil && !stopping { lock.wait() }
            guard var job = next else { break }
            next = nil
            lock.unlock()
            for host in job.batch.correlatorStates.keys {
                job.batch.correlatorStates[host]?.expectedVersion = versions[host] ?? 0
            }
            let outcome = Result { () throws -> Done in
                let r = try loader.commit(job.batch)
                for (host, v) in r.correlatorVersions { versions[host] = v }
                return (job.context, r)
            }
            lock.lock()
            done = outcome
            inFlight = false
            lock.broadcast()
        }
        lock.unlock()
    }
}
