/// SendmailWords: the values nearly every Sendmail line repeats — `dsn=2.0.0`, the mailers
/// (`esmtp`, `local`, `relay`, `smtp`), the `proto=` words (`ESMTP`, `ESMTPS`, `ESMTPSA`,
/// `ESMTPA`, `SMTP`), the SASL mechanisms `PLAIN` and `LOGIN`, the usual refusal codes and
/// enhanced status codes (`550`, `554`, `5.7.1`, `4.4.1`, ...) — as String literals.
///
/// Contract: `literal(_:_:)` returns the literal whose UTF-8 bytes are exactly the span's, or nil
/// (the caller then makes the String or asks its `StringCache`): so the value stored is the one
/// the cache would give. A literal is immortal: taking it makes nothing and copying or releasing
/// it counts no references, where a cache hit costs a lookup, a retain and, in the drain, a release.
/// The key picks one slot of a 64-entry table by a multiplier under which the listed words fall in
/// distinct slots (a new word needs a multiplier checked again: `SendmailWordsTests` fails otherwise).
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
        let k = key(s, b)
        // One slot per word (the multiplier spreads the listed keys over distinct slots).
        let e = table[Int(truncatingIfNeeded: (k &* 0x25D4_DF1F_324F_BE4D) &>> 58)]
        return e.key == k ? e.text : nil
    }

    /// The words by slot (`literal`); key 0 = empty (no key is 0: the length is in it).
    static let table: [(key: UInt64, text: String)] = [
        (0, ""),
        (0x050000302E302E32, "2.0.0"),
        (0, ""),
        (0x050000302E322E34, "4.2.0"),
        (0x05000079616C6572, "relay"),
        (0, ""),
        (0x0500006C61636F6C, "local"),
        (0, ""),
        (0x0300000000343535, "554"),
        (0, ""),
        (0, ""),
        (0, ""),
        (0, ""),
        (0x05000070746D7365, "esmtp"),
        (0, ""),
        (0x0300000000323534, "452"),
        (0x0300000000333535, "553"),
        (0, ""),
        (0, ""),
        (0, ""),
        (0, ""),
        (0x06004150544D5345, "ESMTPA"),
        (0, ""),
        (0x0300000000313534, "451"),
        (0, ""),
        (0x0500004E49414C50, "PLAIN"),
        (0, ""),
        (0, ""),
        (0, ""),
        (0x0400000050544D53, "SMTP"),
        (0, ""),
        (0x0300000000303534, "450"),
        (0, ""),
        (0x050000312E312E35, "5.1.1"),
        (0x0500004E49474F4C, "LOGIN"),
        (0x07415350544D5345, "ESMTPSA"),
        (0, ""),
        (0x0400000070746D73, "smtp"),
        (0x050000322E322E35, "5.2.2"),
        (0x050000312E372E34, "4.7.1"),
        (0, ""),
        (0x0300000000303535, "550"),
        (0, ""),
        (0, ""),
        (0, ""),
        (0, ""),
        (0, ""),
        (0, ""),
        (0x050000312E372E35, "5.7.1"),
        (0, ""),
        (0x05000050544D5345, "ESMTP"),
        (0, ""),
        (0, ""),
        (0, ""),
        (0, ""),
        (0x0300000000313234, "421"),
        (0, ""),
        (0, ""),
        (0, ""),
        (0, ""),
        (0x06005350544D5345, "ESMTPS"),
        (0, ""),
        (0, ""),
        (0x050000312E342E34, "4.4.1"),
    ]
}
