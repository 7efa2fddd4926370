/// Signals: SIGTERM/SIGINT (stop) and SIGHUP (reload) as flags.
///
/// Contract: the handlers only store to a flag (async-signal-safe); the
/// agent's loop looks at the flags between polls, and its sleeps return
/// early on a signal (no SA_RESTART). SIGPIPE is ignored (a metrics client
/// that hangs up must not kill the agent). The three signals are unblocked
/// at install: a parent may have started the process with them blocked.
#if canImport(Glibc)
import Glibc
#endif

nonisolated(unsafe) private var terminateFlag: sig_atomic_t = 0
nonisolated(unsafe) private var reloadFlag: sig_atomic_t = 0

enum AgentSignals {
    static func install() {
        var stop = sigaction()
        stop.__sigaction_handler.sa_handler = { _ in terminateFlag = 1 }
        sigemptyset(&stop.sa_mask)
        stop.sa_flags = 0
        sigaction(SIGTERM, &stop, nil)
        sigaction(SIGINT, &stop, nil)
        var hup = sigaction()
        hup.__sigaction_handler.sa_handler = { _ in reloadFlag = 1 }
        sigemptyset(&hup.sa_mask)
        hup.sa_flags = 0
        sigaction(SIGHUP, &hup, nil)
        signal(SIGPIPE, SIG_IGN)
        // A parent may have started us with these blocked (e.g. a test harness); we rely on them.
        var set = sigset_t()
        sigemptyset(&set)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&set, s) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    static var terminate: Bool { terminateFlag != 0 }
    static var reloadRequested: Bool { reloadFlag != 0 }

    /// True once per SIGHUP.
    static func takeReload() -> Bool {
        if reloadFlag == 0 { return false }
        reloadFlag = 0
        return true
    }
}
