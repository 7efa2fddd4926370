/// PGResult: the rows of one statement, copied out of libpq.
///
/// Contract: text-format values as optional Strings (nil = SQL NULL), with
/// the column names in order, the command tag and the affected-row count.
/// The libpq result is freed before this value exists, so it is a plain,
/// Sendable value. Typed helpers parse the text forms PostgreSQL prints
/// (`t`/`f` for booleans, `\x…` hex for bytea with `bytea_output = hex`,
/// which `PGConnection` sets).
/// Limits: everything is materialised in memory; fine for the CLI's
/// results, not for streaming millions of rows. Asking for a column that
/// is not in the result is a programming error (precondition).
public struct PGResult: Sendable {
    /// Column names, in order.
    public let columns: [String]
    /// Rows of text values; nil is SQL NULL.
    public let rows: [[String?]]
    /// The command tag, e.g. `INSERT 0 3`, `SELECT 2`, `COPY 10`.
    public let commandTag: String
    /// Rows affected by INSERT/UPDATE/DELETE/COPY/SELECT (from the command tag); nil when the tag has none.
    public let affectedRows: Int64?

    public init(columns: [String], rows: [[String?]], commandTag: String = "", affectedRows: Int64? = nil) {
        self.columns = columns; self.rows = rows; self.commandTag = commandTag; self.affectedRows = affectedRows
    }

    /// Number of rows.
    public var count: Int { rows.count }
    public var isEmpty: Bool { rows.isEmpty }

    /// Index of a column by name; nil when the result has no such column.
    public func columnIndex(_ name: String) -> Int? { columns.firstIndex(of: name) }

    private func index(_ name: String) -> Int {
        guard let i = columns.firstIndex(of: name) else {
            preconditionFailure("PGResult has no column \(name); columns: \(columns)")
        }
        return i
    }

    /// The text value at `row`, `column`; nil for NULL.
    public func string(_ row: Int, _ column: String) -> String? { rows[row][index(column)] }

    /// An integer column (int2/int4/int8 or any text that parses); nil for NULL or non-integers.
    public func int(_ row: Int, _ column: String) -> Int64? { string(row, column).flatMap { Int64($0) } }

    /// A boolean column (`t`/`f`); nil for NULL.
    public func bool(_ row: Int, _ column: String) -> Bool? {
        switch string(row, column) {
        case "t", "true", "on", "1": return true
        case "f", "false", "off", "0": return false
        default: return nil
        }
    }

    /// A float4/float8/numeric column; nil for NULL. Understands `Infinity`, `-Infinity`, `NaN`.
    public func double(_ row: Int, _ column: String) -> Double? {
        guard let s = string(row, column) else { return nil }
        switch s {
        case "Infinity": return .infinity
        case "-Infinity": return -.infinity
        case "NaN": return .nan
        default: return Double(s)
        }
    }

    /// A bytea column in hex output form (`\x0a1b…`); nil for NULL or another form.
    public func bytes(_ row: Int, _ column: String) -> [UInt8]? {
        guard let s = string(row, column) else { return nil }
        return PGResult.decodeByteaHex(s)
    }

    /// Decodes PostgreSQL's hex bytea text form `\x…`; nil when malformed.
    public static func decodeByteaHex(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count >= 2, u[0] == UInt8(ascii: "\\"), u[1] == UInt8(ascii: "x"), u.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity((u.count - 2) / 2)
        var i = 2
        while i < u.count {
            guard let hi = hexValue(u[i]), let lo = hexValue(u[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    /// Encodes bytes in PostgreSQL's hex bytea text form (`\x…`), e.g. for a text-format parameter.
    public static func encodeByteaHex<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
        var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
        for b in bytes {
            out.append(hexDigits[Int(b >> 4)])
            out.append(hexDigits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Encodes strings as a PostgreSQL array literal for a `text[]` parameter: every element
    /// double-quoted, `"` and `\` backslash-escaped, so any text (braces, commas, blanks, quotes,
    /// the word NULL) stays one literal element. (NUL is replaced by `PGConnection.query`.)
    public static func encodeTextArray(_ values: [String]) -> String {
        var out = "{"
        for (i, v) in values.enumerated() {
            if i > 0 { out += "," }
            out += "\""
            for u in v.unicodeScalars {
                switch u {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                default: out.unicodeScalars.append(u)
                }
            }
            out += "\""
        }
        return out + "}"
    }

    /// Encodes integers as a PostgreSQL array literal (`{1,2,3}`) for a `bigint[]` parameter.
    public static func encodeIntArray(_ values: [Int64]) -> String {
        "{" + values.map { String($0) }.joined(separator: ",") + "}"
    }

    static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
