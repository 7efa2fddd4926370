// DatabaseOptions: where the database is. libpq conventions apply: PG* variables,
// ~/.pgpass, service files; --db takes a conninfo string or a postgresql:// URI.
import ArgumentParser

struct DatabaseOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Connection: a conninfo string ('host=db1 dbname=mail') or a postgresql:// URI; default: PG* variables.",
        valueName: "conninfo"))
    var db: String?

    mutating func validate() throws {
        guard let db else { return }
        if DatabaseOptions.containsPassword(db) {
            throw ValidationError(
                "--db contains a password; passwords never go on the command line (other users can read it " +
                "in the process list). Put it in ~/.pgpass or a pg_service.conf entry instead.")
        }
    }

    /// True when a conninfo string or URI carries a password.
    static func containsPassword(_ s: String) -> Bool {
        let lower = s.lowercased()
        if lower.contains("password=") { return true }
        if lower.hasPrefix("postgresql://") || lower.hasPrefix("postgres://") {
            let rest = lower.drop(while: { $0 != "/" }).dropFirst(2)
            if let at = rest.firstIndex(of: "@") {
                let userinfo = rest[rest.startIndex..<at]
                if userinfo.contains(":") { return true }
            }
        }
        return false
    }
}
