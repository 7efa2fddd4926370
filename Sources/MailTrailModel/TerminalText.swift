/// TerminalText: making text from logs, file names and the database safe to
/// show on a terminal.
///
/// Contract:
/// * `escape(_:)` is for one field (a host, a path, a queue ID): every C0
///   control (tab and newline included), DEL and C1 control becomes `\xNN`;
///   line/paragraph separators, bidi controls (U+200E/F, U+202A–E,
///   U+2066–9) and U+FEFF become `\u{XXXX}`. Everything else is unchanged,
///   so ordinary text costs one scan. Same rule as `TraceRenderer.escape`.
/// * `sanitize(_:)` is the last line of defence for whole output buffers
///   (`Output` in the CLI runs every byte through it): newline and tab are
///   kept, the characters above are escaped the same way, and bytes that
///   are not valid UTF-8 become `\xNN`. A buffer with nothing to change is
///   returned as is.
/// Limits: backslashes are not doubled, so an escaped field can look like a
/// literal `\x1B` in the log; the point is that no raw control reaches the
/// terminal, not reversibility (JSON output is reversible and is escaped by
/// its own writers before it gets here).
public enum TerminalText {
    /// True for scalars that must not reach a terminal raw (see the type's contract).
    @inline(__always)
    public static func isUnsafe(_ v: UInt32) -> Bool {
        v < 0x20 || v == 0x7F || (v >= 0x80 && v < 0xA0) || v == 0x2028 || v == 0x2029
            || (v >= 0x202A && v <= 0x202E) || (v >= 0x2066 && v <= 0x2069) || v == 0x200E || v == 0x200F
            || v == 0xFEFF
    }

    /// One field, every unsafe scalar escaped (tab and newline too).
    public static func escape(_ s: String) -> String {
        var needs = false
        for u in s.unicodeScalars where isUnsafe(u.value) { needs = true; break }
        if !needs { return s }
        var out = ""
        for u in s.unicodeScalars {
            if isUnsafe(u.value) { out += spelled(u.value) } else { out.unicodeScalars.append(u) }
        }
        return out
    }

    /// Whole output: unsafe scalars and invalid UTF-8 escaped, newline and tab kept.
    public static func sanitize(_ bytes: [UInt8]) -> [UInt8] {
        var i = 0
        let n = bytes.count
        // Fast path: printable ASCII, newline and tab need nothing.
        while i < n {
            let b = bytes[i]
            if b >= 0x20 && b < 0x7F || b == 0x0A || b == 0x09 { i += 1; continue }
            break
        }
        if i == n { return bytes }
        var out = [UInt8]()
        out.reserveCapacity(n + 16)
        out.append(contentsOf: bytes[0..<i])
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                if b == 0x0A || b == 0x09 || !isUnsafe(UInt32(b)) { out.append(b) } else { out.append(contentsOf: spelled(UInt32(b)).utf8) }
                i += 1
                continue
            }
            // A UTF-8 sequence: decode it strictly (no overlongs, no surrogates, <= U+10FFFF).
            var len = 0
            var v: UInt32 = 0
            var min: UInt32 = 0
            switch b {
            case 0xC2...0xDF: len = 2; v = UInt32(b & 0x1F); min = 0x80
            case 0xE0...0xEF: len = 3; v = UInt32(b & 0x0F); min = 0x800
            case 0xF0...0xF4: len = 4; v = UInt32(b & 0x07); min = 0x10000
            default: len = 0
            }
            var ok = len > 0 && i + len <= n
            if ok {
                for k in 1..<len {
                    let c = bytes[i + k]
                    if c & 0xC0 != 0x80 { ok = false; break }
                    v = v << 6 | UInt32(c & 0x3F)
                }
                if ok && (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) { ok = false }
            }
            if !ok {
                out.append(contentsOf: ("\\x" + hex(UInt32(b), width: 2)).utf8)
                i += 1
                continue
            }
            if isUnsafe(v) { out.append(contentsOf: spelled(v).utf8) } else { out.append(contentsOf: bytes[i..<(i + len)]) }
            i += len
        }
        return out
    }

    /// `\xNN` below U+00A0, else `\u{XXXX}`.
    static func spelled(_ v: UInt32) -> String {
        v < 0xA0 ? "\\x" + hex(v, width: 2) : "\\u{" + hex(v, width: 4) + "}"
    }

    static func hex(_ v: UInt32, width: Int) -> String {
        var h = String(v, radix: 16, uppercase: true)
        while h.count < width { h = "0" + h }
        return h
    }
}
