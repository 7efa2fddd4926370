/// Fingerprint: the identity of a log source, taken from its first line.
///
/// Contract: FNV-1a 64 over the bytes up to and including the first `\n`,
/// at most `maxBytes` (1024) bytes, as 16 lower-case hex digits. The first
/// line of a log never changes once written, so a file keeps its identity
/// when it is renamed by rotation or gzip'd (offsets count decompressed
/// bytes). A stream whose first line is not complete yet has no fingerprint
/// (nil): there is nothing to load from it anyway.
/// Limits: two files that begin with the same first line (same timestamp,
/// host and text) are taken for the same source; log lines carry
/// timestamps, so this needs two byte-identical first lines.
public enum Fingerprint {
    public static let maxBytes = 1024

    /// The fingerprint of a stream whose first bytes are `prefix`, or nil if no line is complete in them.
    public static func of(prefix: ArraySlice<UInt8>) -> String? {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        var n = 0
        for b in prefix {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
            n += 1
            if b == 0x0a || n == maxBytes {
                let hex = String(h, radix: 16)
                return String(repeating: "0", count: 16 - hex.count) + hex
            }
        }
        return nil
    }
}
