/// SendmailWords: the values nearly every Sendmail line repeats — `dsn=2.0.0`, the mailers
/// (`esmtp`, `local`, `relay`, `smtp`), the `proto=` words (`ESMTP`, `ESMTPS`, `ESMTPSA`,
/// `ESMTPA`, `SMTP`), the SASL mechanisms `PLAIN` and `LOGIN`, the usual refusal codes and
/// enhanced status codes (`550`, `554`, `5.7.1`, `4.4.1`, ...) — as String literals.
///
/// Contract: `literal(_:_:)` returns the literal whose UTF-8 bytes are exactly the span's, or nil
/// (the caller then makes the String or asks its `StringCache`): so the value stored is the one
/// the cache would give. A literal is immortal: taking it makes nothing and copying or releasing
/// it counts no references, where a cache hit costs a lookup, a retain and, in the drain, a release.
/// Known limits: words of 3 to 7 bytes only (the span's bytes and length as one 64-bit key).
import MailTrailModel

enum SendmailWords {
    /// The span's bytes (3 to 7 of them) little-endian, with the length in the top byte: equal
    /// keys mean equal bytes.
    @inline(__always)
    static func key(_ s: Span, _ b: LineBytes) -> UInt64 {
        let lo = Int(s.lo), n = s.count
        var w: UInt64
        if lo + 8 <= b.count {
            w = UnsafeRawPointer(b.base + lo).loadUnaligned(as: UInt64.self) & ((1 << (UInt64(n) &* 8)) &- 1)
        } else {
            w = 0
            for j in 0..<n { w |= UInt64(b.base[lo + j]) << (UInt64(j) &* 8) }
        }
        return w | UInt64(n) << 56
    }

    /// The literal spelled by the span's bytes, or nil (absent, another length, another word).
    @inline(__always)
    static func literal(_ s: Span, _ b: LineBytes) -> String? {
        guard s.isPresent, s.count >= 3, s.count <= 7 else { return nil }
        switch key(s, b) {
        case 0x050000302E302E32: return "2.0.0"
        case 0x05000070746D7365: return "esmtp"
        case 0x0500006C61636F6C: return "local"
        case 0x05000079616C6572: return "relay"
        case 0x0400000070746D73: return "smtp"
        case 0x05000050544D5345: return "ESMTP"
        case 0x06005350544D5345: return "ESMTPS"
        case 0x07415350544D5345: return "ESMTPSA"
        case 0x06004150544D5345: return "ESMTPA"
        case 0x0400000050544D53: return "SMTP"
        case 0x0500004E49414C50: return "PLAIN"
        case 0x0500004E49474F4C: return "LOGIN"
        case 0x0300000000303535: return "550"
        case 0x0300000000343535: return "554"
        case 0x0300000000333535: return "553"
        case 0x0300000000303534: return "450"
        case 0x0300000000313534: return "451"
        case 0x0300000000323534: return "452"
        case 0x0300000000313234: return "421"
        case 0x050000312E312E35: return "5.1.1"
        case 0x050000312E372E35: return "5.7.1"
        case 0x050000312E372E34: return "4.7.1"
        case 0x050000312E342E34: return "4.4.1"
        case 0x050000302E322E34: return "4.2.0"
        case 0x050000322E322E35: return "5.2.2"
        default: return nil
        }
    }
}
