/// SafeText: log content made safe for a terminal, and the CSV and table
/// writers that use it.
///
/// Contract: `escape` writes C0/C1 controls and DEL as `\xNN`; U+2028,
/// U+2029, the bidi embedding/override/isolate/mark characters and U+FEFF
/// as `\u{XXXX}`; everything else unchanged (a string without such
/// characters is returned as is). Every renderer of this module passes log
/// content (addresses, names, responses, reasons) through it before it is
/// printed as text or CSV, so nothing from a log reaches a terminal raw.
/// `csvField` escapes, then quotes per RFC 4180 when the field has a comma,
/// quote, or leading/trailing blank. `table` aligns escaped cells in
/// columns (width in Unicode scalars).
/// Limits: JSON output is not escaped this way (JSON escapes controls
/// itself); wide (East Asian) characters count as one column.
public enum SafeText {
    public static func escape(_ s: String) -> String {
        var needs = false
        for u in s.unicodeScalars where isUnsafe(u) { needs = true; break }
        if !needs { return s }
        var out = ""
        for u in s.unicodeScalars {
            if u.value < 0xA0 && isUnsafe(u) {
                out += "\\x" + hex(u.value, width: 2)
            } else if isUnsafe(u) {
                out += "\\u{" + hex(u.value, width: 4) + "}"
            } else {
                out.unicodeScalars.append(u)
            }
        }
        return out
    }

    static func isUnsafe(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        return v < 0x20 || v == 0x7F || (v >= 0x80 && v < 0xA0) || v == 0x2028 || v == 0x2029
            || (v >= 0x202A && v <= 0x202E) || (v >= 0x2066 && v <= 0x2069) || v == 0x200E || v == 0x200F
            || v == 0xFEFF
    }

    static func hex(_ v: UInt32, width: Int) -> String {
        var h = String(v, radix: 16, uppercase: true)
        while h.count < width { h = "0" + h }
        return h
    }

    /// One CSV field (nil = empty): escaped, then quoted when needed.
    public static func csvField(_ value: String?) -> String {
        guard let value else { return "" }
        let e = escape(value)
        var quote = false
        for u in e.unicodeScalars where u == "," || u == "\"" { quote = true; break }
        if let f = e.unicodeScalars.first, f == " " { quote = true }
        if let l = e.unicodeScalars.last, l == " " { quote = true }
        if !quote { return e }
        var out = "\""
        for u in e.unicodeScalars {
            if u == "\"" { out += "\"\"" } else { out.unicodeScalars.append(u) }
        }
        return out + "\""
    }

    /// A CSV line (CRLF-free: lines end with "\n").
    public static func csvLine(_ fields: [String?]) -> String {
        fields.map(csvField).joined(separator: ",") + "\n"
    }

    /// Columns aligned with two blanks between them; NULL shown as `nullText`.
    public static func table(columns: [String], rows: [[String?]], nullText: String = "") -> String {
        let cells = [columns.map(escape)] + rows.map { $0.map { escape($0 ?? nullText) } }
        var widths = [Int](repeating: 0, count: columns.count)
        for r in cells {
            for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.unicodeScalars.count) }
        }
        var out = ""
        for r in cells {
            var line = ""
            for (i, c) in r.enumerated() {
                if i == r.count - 1 {
                    line += c
                } else {
                    line += c + String(repeating: " ", count: widths[i] - c.unicodeScalars.count + 2)
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
