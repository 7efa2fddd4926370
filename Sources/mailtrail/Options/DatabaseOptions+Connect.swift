// Opening the connection named by DatabaseOptions.
import PostgresLoading

extension DatabaseOptions {
    /// Connects with libpq (conninfo/URI from --db, else PG* variables, service file, .pgpass).
    func connect() throws -> PGConnection {
        try PGConnection(conninfo: db)
    }
}
