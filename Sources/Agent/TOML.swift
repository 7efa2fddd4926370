/// TOML: a small, strict parser for the subset of TOML the agent's
/// configuration uses.
///
/// Contract: accepts comments (`# …`), blank lines, `[table]`,
/// `[[array-of-tables]]`, and `key = value` with bare keys
/// (`A-Za-z0-9_-`), where a value is a basic string ("…", escapes \" \\ \n
/// \t \r \uXXXX), a literal string ('…'), a decimal integer (sign and `_`
/// separators allowed), `true`/`false`, or an array of strings (may span
/// lines, trailing comma allowed). Anything else — dotted or quoted keys,
/// floats, dates, inline tables, multi-line strings, a key given twice, a
/// table given twice — is an error naming `line:column` and what to write
/// instead. Every value remembers where it was written, so the caller's
/// checks (unknown key, wrong type) can point at it too.
/// Limits: not a general TOML library; no nesting beyond one level of table.

/// A parse or validation error at a place in the file.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var column: Int
    public var message: String
    public init(file: String, line: Int, column: Int, message: String) {
        self.file = file; self.line = line; self.column = column; self.message = message
    }
    public var description: String { "\(file):\(line):\(column): \(message)" }
}

/// A TOML value of the supported subset, with its position.
public struct TOMLValue: Sendable {
    public enum Kind: Sendable {
        case string(String), integer(Int64), boolean(Bool), strings([String])
    }
    public var kind: Kind
    public var line: Int
    public var column: Int

    var typeName: String {
        switch kind {
        case .string: return "a string"
        case .integer: return "an integer"
        case .boolean: return "a boolean"
        case .strings: return "an array of strings"
        }
    }
}

/// One `[table]` or one element of `[[array]]`: its keys in order of appearance.
public struct TOMLTable: Sendable {
    public var name: String
    public var line: Int
    public var entries: [(key: String, value: TOMLValue)] = []
    public subscript(key: String) -> TOMLValue? { entries.first { $0.key == key }?.value }
}

/// A parsed document: the root table, the named tables and the arrays of tables.
public struct TOMLDocument: Sendable {
    public var root = TOMLTable(name: "", line: 1)
    public var tables: [String: TOMLTable] = [:]
    public var arrays: [String: [TOMLTable]] = [:]
    /// Header names in order, for "unknown table" messages.
    public var order: [(name: String, isArray: Bool, line: Int)] = []
}

public enum TOML {
    /// Parses `text`; `file` names it in error messages.
    public static func parse(_ text: String, file: String) throws -> TOMLDocument {
        var p = Parser(bytes: Array(text.utf8), file: file)
        return try p.document()
    }

    struct Parser {
        let bytes: [UInt8]
        let file: String
        var i = 0
        var line = 1
        var lineStart = 0

        init(bytes: [UInt8], file: String) { self.bytes = bytes; self.file = file }

        var column: Int { i - lineStart + 1 }

        func fail(_ message: String, line l: Int? = nil, column c: Int? = nil) -> ConfigError {
            ConfigError(file: file, line: l ?? line, column: c ?? column, message: message)
        }

        var atEnd: Bool { i >= bytes.count }
        var peek: UInt8 { atEnd ? 0 : bytes[i] }

        mutating func skipSpaces() { while !atEnd && (peek == 0x20 || peek == 0x09) { i += 1 } }

        /// Skips spaces and a comment; then requires the end of the line (or input).
        mutating func endOfLine() throws {
            skipSpaces()
            if peek == UInt8(ascii: "#") { while !atEnd && peek != 0x0a { i += 1 } }
            if atEnd { return }
            if peek == 0x0d, i + 1 < bytes.count, bytes[i + 1] == 0x0a { i += 1 }
            guard peek == 0x0a else {
                throw fail("unexpected '\(Character(Unicode.Scalar(peek)))' after the value; one key = value per line, comments start with #")
            }
            newline()
        }

        mutating func newline() { i += 1; line += 1; lineStart = i }

        static func isBare(_ b: UInt8) -> Bool {
            (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b == 0x5f || b == 0x2d
        }

        mutating func bareKey(what: String) throws -> String {
            let start = i
            while !atEnd && Parser.isBare(peek) { i += 1 }
            if start == i {
                if peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "'") {
                    throw fail("quoted \(what)s are not supported; use letters, digits, '_' and '-'")
                }
                throw fail("expected a \(what) (letters, digits, '_' or '-')")
            }
            if peek == UInt8(ascii: ".") { throw fail("dotted \(what)s are not supported; use a [table] header") }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        mutating func document() throws -> TOMLDocument {
            var doc = TOMLDocument()
            // Where the current key = value lines go: nil = root.
            var current: (name: String, isArray: Bool)? = nil
            while !atEnd {
                skipSpaces()
                if atEnd { break }
                let c = peek
                if c == 0x0a { newline(); continue }
                if c == 0x0d { i += 1; continue }
                if c == UInt8(ascii: "#") { try endOfLine(); continue }
                if c == UInt8(ascii: "[") {
                    let headerLine = line, headerColumn = column
                    i += 1
                    let isArray = peek == UInt8(ascii: "[")
                    if isArray { i += 1 }
                    skipSpaces()
                    let name = try bareKey(what: "table name")
                    skipSpaces()
                    guard peek == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
                    i += 1
                    if isArray {
                        guard peek == UInt8(ascii: "]") else { throw fail("expected ']]' to close the [[\(name)]] header") }
                        i += 1
                    }
                    try endOfLine()
                    if isArray {
                        if doc.tables[name] != nil {
                            throw fail("[[\(name)]] is already a [\(name)] table", line: headerLine, column: headerColumn)
                        }
                        doc.arrays[name, default: []].append(TOMLTable(name: name, line: headerLine))
                    } else {
                        if doc.tables[name] != nil || doc.arrays[name] != nil {
                            throw fail("table [\(name)] is defined twice", line: headerLine, column: headerColumn)
                        }
                        doc.tables[name] = TOMLTable(name: name, line: headerLine)
                    }
                    doc.order.append((name, isArray, headerLine))
                    current = (name, isArray)
                    continue
                }
                let keyLine = line, keyColumn = column
                let key = try bareKey(what: "key")
                skipSpaces()
                guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after the key '\(key)'") }
                i += 1
                skipSpaces()
                let value = try self.value()
                try endOfLine()
                func add(_ t: inout TOMLTable) throws {
                    if t[key] != nil {
                        throw fail("key '\(key)' is given twice\(t.name.isEmpty ? "" : " in [\(t.name)]")",
                                   line: keyLine, column: keyColumn)
                    }
                    t.entries.append((key, value))
                }
                if let cur = current {
                    if cur.isArray { try add(&doc.arrays[cur.name]![doc.arrays[cur.name]!.count - 1]) }
                    else { try add(&doc.tables[cur.name]!) }
                } else {
                    try add(&doc.root)
                }
            }
            return doc
        }

        mutating func value() throws -> TOMLValue {
            let l = line, col = column
            let c = peek
            if atEnd || c == 0x0a || c == UInt8(ascii: "#") { throw fail("expected a value after '='") }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                return TOMLValue(kind: .string(try string()), line: l, column: col)
            }
            if c == UInt8(ascii: "[") {
                i += 1
                var items: [String] = []
                while true {
                    try skipBlankInArray()
                    if peek == UInt8(ascii: "]") { i += 1; break }
                    guard peek == UInt8(ascii: "\"") || peek == UInt8(ascii: "'") else {
                        throw fail(atEnd ? "unterminated array; close it with ']'" : "arrays may only hold strings (\"…\")")
                    }
                    items.append(try string())
                    try skipBlankInArray()
                    if peek == UInt8(ascii: ",") { i += 1; continue }
                    if peek == UInt8(ascii: "]") { i += 1; break }
                    throw fail("expected ',' or ']' in the array")
                }
                return TOMLValue(kind: .strings(items), line: l, column: col)
            }
            if c == UInt8(ascii: "{") { throw fail("inline tables are not supported; use a [table] header") }
            let start = i
            while !atEnd && !(peek == 0x20 || peek == 0x09 || peek == 0x0a || peek == 0x0d || peek == UInt8(ascii: "#")) { i += 1 }
            let word = String(decoding: bytes[start..<i], as: UTF8.self)
            if word == "true" { return TOMLValue(kind: .boolean(true), line: l, column: col) }
            if word == "false" { return TOMLValue(kind: .boolean(false), line: l, column: col) }
            if let n = Parser.integer(word) { return TOMLValue(kind: .integer(n), line: l, column: col) }
            throw fail("'\(word)' is not a value this configuration understands; strings need quotes (\"…\"), numbers are whole numbers, booleans are true/false",
                       line: l, column: col)
        }

        mutating func skipBlankInArray() throws {
            while !atEnd {
                if peek == 0x20 || peek == 0x09 || peek == 0x0d { i += 1 }
                else if peek == 0x0a { newline() }
                else if peek == UInt8(ascii: "#") { while !atEnd && peek != 0x0a { i += 1 } }
                else { break }
            }
        }

        static func integer(_ w: String) -> Int64? {
            var s = Substring(w)
            var negative = false
            if s.first == "+" || s.first == "-" { negative = s.first == "-"; s = s.dropFirst() }
            guard let f = s.first, f.isASCII, f.isNumber, s.last != "_", !s.contains("__") else { return nil }
            if s.count > 1 && f == "0" { return nil }
            var n: Int64 = 0
            for ch in s where ch != "_" {
                guard ch.isASCII, let d = ch.wholeNumberValue else { return nil }
                let (m, o1) = n.multipliedReportingOverflow(by: 10)
                let (a, o2) = m.addingReportingOverflow(Int64(d))
                if o1 || o2 { return nil }
                n = a
            }
            return negative ? -n : n
        }

        mutating func string() throws -> String {
            let quote = peek
            let l = line, col = column
            i += 1
            if quote == UInt8(ascii: "\""), i + 1 < bytes.count, bytes[i] == quote, bytes[i + 1] == quote {
                throw fail("multi-line strings are not supported", line: l, column: col)
            }
            var out: [UInt8] = []
            while true {
                guard !atEnd, peek != 0x0a else { throw fail("unterminated string; close it on the same line", line: l, column: col) }
                let b = peek
                i += 1
                if b == quote { break }
                if quote == UInt8(ascii: "\""), b == UInt8(ascii: "\\") {
                    guard !atEnd else { throw fail("unterminated string", line: l, column: col) }
                    let e = peek
                    i += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(e)
                    case UInt8(ascii: "\\"): out.append(e)
                    case UInt8(ascii: "n"): out.append(0x0a)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0d)
                    case UInt8(ascii: "u"):
                        guard i + 4 <= bytes.count,
                              let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16),
                              let scalar = Unicode.Scalar(v) else {
                            throw fail("\\u needs four hex digits of a valid code point")
                        }
                        i += 4
                        out.append(contentsOf: Array(String(Character(scalar)).utf8))
                    default:
                        i -= 1
                        throw fail("unknown escape '\\\(Character(Unicode.Scalar(e)))'; use \\\\ for a backslash or a 'literal string'")
                    }
                    continue
                }
                out.append(b)
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
