// SendmailFields: byte-level helpers for Sendmail's `key=value, key=value`
// records — field iteration, relay values, delays, recipient lists, stat=
// classification, reply texts.
//
// Contract: every helper reads a range of one line body through ByteScanner;
// strings are made only for stored values. A value ends at the next `, key=`
// (key = lowercase letters, digits, `_`); `stat=`, `reject=` run to the end
// of the record and `reply=` to the last `, stat=`, since their text is free;
// a final `, word` without `=` (`, discard`) ends the value before it.
// Relay values are `name [ip]`, `[ip]`, `user@name [ip]`, `name.` (SMTP MX
// names keep sendmail's trailing dot, dropped here), each optionally followed
// by ` (may be forged)`; `[IPv6:...]` loses its prefix and is compressed
// (Sendmail 8.15+ prints IPv6 uncompressed), IPv4-mapped IPv6 becomes IPv4.
// Shortcuts for the usual forms (`smIsNextKey`, `smCommaSpace`, `smCommaSpaceNear`, `smAngle`,
// `smQuadOpen`, `smIsDottedQuad`, ...) give what the general code gives for
// them and leave every other form to it. A `relay=` value seen lately (the client's STARTTLS
// and from= lines, every delivery's next hop) is taken from the line buffer's `SendmailRelayMemo`
// (spans by the value's bytes) instead of read again; a rewritten (IPv6) address's text from
// its `SendmailIPTextMemo` (a client's STARTTLS and from= lines log the same address).
// Known limits: a `, key=` inside a quoted local part or a Message-ID ends a
// value early (the value is then cut, never mis-assigned to another field);
// sendmail's `\ooo` escapes in addresses are kept as logged.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import MailTrailModel

/// Keys of Sendmail records as words (`ByteScanner.smKeyWord`): the bytes, little-endian.
enum SMKey {
    static let from_: UInt64 = 0x6d6f7266  // from
    static let size: UInt64 = 0x657a6973  // size
    static let class_: UInt64 = 0x7373616c63  // class
    static let nrcpts: UInt64 = 0x73747063726e  // nrcpts
    static let msgid: UInt64 = 0x646967736d  // msgid
    static let bodytype: UInt64 = 0x6570797479646f62  // bodytype
    static let proto: UInt64 = 0x6f746f7270  // proto
    static let daemon: UInt64 = 0x6e6f6d656164  // daemon
    static let auth: UInt64 = 0x68747561  // auth
    static let relay: UInt64 = 0x79616c6572  // relay
    static let to_: UInt64 = 0x6f74  // to
    static let ctladdr: UInt64 = 0x726464616c7463  // ctladdr
    static let delay: UInt64 = 0x79616c6564  // delay
    static let xdelay: UInt64 = 0x79616c656478  // xdelay
    static let mailer: UInt64 = 0x72656c69616d  // mailer
    static let pri: UInt64 = 0x697270  // pri
    static let dsn: UInt64 = 0x6e7364  // dsn
    static let reply: UInt64 = 0x796c706572  // reply
    static let stat: UInt64 = 0x74617473  // stat
    static let ntries: UInt64 = 0x73656972746e  // ntries
    static let version: UInt64 = 0x6e6f6973726576  // version
    static let verify: UInt64 = 0x796669726576  // verify
    static let cipher: UInt64 = 0x726568706963  // cipher
    static let bits: UInt64 = 0x73746962  // bits
    static let authid: UInt64 = 0x646968747561  // authid
    static let mech: UInt64 = 0x6863656d  // mech
    static let reject: UInt64 = 0x7463656a6572  // reject
    static let ruleset: UInt64 = 0x746573656c7572  // ruleset
    static let arg1: UInt64 = 0x31677261  // arg1
    static let arg2: UInt64 = 0x32677261  // arg2
}

/// Literals the dispatch compares, as words (`ByteScanner.smHas`): the bytes, little-endian.
enum SMWord {
    static let noqueue: UInt64 = 0x3a45554555514f4e  // "NOQUEUE:"
    static let from_: UInt64 = 0x3d6d6f7266  // "from="
    static let to_: UInt64 = 0x3d6f74  // "to="
    static let starttls: UInt64 = 0x534c545452415453  // "STARTTLS"
    static let auth: UInt64 = 0x3d48545541  // "AUTH="
    static let ruleset: UInt64 = 0x3d746573656c7572  // "ruleset="
    static let eqServer: UInt64 = 0x2c7265767265733d  // "=server,"
    static let eqClient: UInt64 = 0x2c746e65696c633d  // "=client,"
    static let spRelay: UInt64 = 0x3d79616c657220  // " relay="
    static let authSer: UInt64 = 0x7265733d48545541  // "AUTH=ser"
    static let verCommaSp: UInt64 = 0x202c726576  // "ver, "
    static let relay: UInt64 = 0x3d79616c6572  // "relay="
    static let sent: UInt64 = 0x746e6553  // "Sent"
    static let colonSp: UInt64 = 0x203a  // ": "
}

extension ByteScanner {
    /// Whether `key=` (lowercase letters, digits, `_`) starts at `i`, before `to`.
    @inline(__always)
    func smKeyAt(_ i: Int, to: Int) -> Bool { smKeyEnd(i, to: to) != nil }

    /// The index of the `=` of a `key=` (lowercase letters, digits, `_`) starting at `i`, before `to`.
    @inline(__always)
    func smKeyEnd(_ i: Int, to: Int) -> Int? {
        var k = i
        // Keys are short: the first eight bytes are classified at once (`smKeyBytes`), and the
        // first byte outside the class must be the `=`; longer keys go on byte by byte.
        if i + 8 <= to {
            let w = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            let other = ~ByteScanner.smKeyBytes(w) & ByteScanner.highs
            if other != 0 {
                let p = other.trailingZeroBitCount &>> 3
                return p > 0 && base[i + p] == Byte.equals ? i + p : nil
            }
            k = i + 8
        }
        while k < to {
            let b = base[k]
            guard b &- 0x61 < 26 || b &- 0x30 < 10 || b == Byte.underscore else { break }
            k += 1
        }
        return k > i && k < to && base[k] == Byte.equals ? k : nil
    }

    /// The high bit of every byte of `w` that is a key byte (`a`-`z`, `0`-`9`, `_`), exactly: the
    /// range tests add to the bytes with their high bit cleared, so no carry crosses a byte, and
    /// bytes of 0x80 and above are masked out at the end.
    @inline(__always)
    static func smKeyBytes(_ w: UInt64) -> UInt64 {
        let x = w & lows
        let lower = (x &+ 0x1F1F_1F1F_1F1F_1F1F) & ~(x &+ 0x0505_0505_0505_0505)      // >= 'a', < '{'
        let digit = (x &+ 0x5050_5050_5050_5050) & ~(x &+ 0x4646_4646_4646_4646)      // >= '0', < ':'
        let under = zeroBytes(w ^ 0x5F5F_5F5F_5F5F_5F5F)
        return (lower | digit | under) & ~w & highs
    }

    /// Whether `[i, to)` is one lowercase word (a trailing item such as `discard`).
    @inline(__always)
    func smWordToEnd(_ i: Int, to: Int) -> Bool {
        var k = i
        while k < to, Byte.isLower(base[k]) { k += 1 }
        return k > i && k == to
    }

    /// End of a value starting at `from`: the `,` of the next `, key=`, or `to`.
    @inline(__always)
    func smValueEnd(from: Int, to: Int) -> Int { smValueEnd(from: from, to: to).end }

    /// As `smValueEnd(from:to:)`, with the `=` of the next key when one follows (so it is not scanned twice).
    @inline(__always)
    func smValueEnd(from: Int, to: Int) -> (end: Int, nextEq: Int?) {
        var j = from
        while j < to, let p = memchr(base + j, Int32(Byte.comma), to - j) {
            let c = UnsafeRawPointer(p) - UnsafeRawPointer(base)
            if c + 2 < to, base[c + 1] == Byte.space {
                if let eq = smKeyEnd(c + 2, to: to) { return (c, eq) }
                if smWordToEnd(c + 2, to: to) { return (c, nil) }
            }
            j = c + 1
        }
        return (to, nil)
    }

    /// Calls `body(key, value)` for each `key=value` of `[from, to)`; returns where it stopped
    /// (the start of a trailing item without `=`, such as `discard`, or `to`).
    @discardableResult @inline(__always)
    func smFields(from: Int, to: Int, _ body: (Range<Int>, Range<Int>) -> Void) -> Int {
        smFields(from: from, to: to) { (_: UInt64, k: Range<Int>, v: Range<Int>) in body(k, v) }
    }

    /// As `smFields(from:to:_:)`, with each key also as a word (`smKeyWord`, compared with `SMKey`).
    @discardableResult @inline(__always)
    func smFields(from: Int, to: Int, _ body: (UInt64, Range<Int>, Range<Int>) -> Void) -> Int {
        smFields(from: from, to: to) { (kw: UInt64, k: Range<Int>, v: Range<Int>, _: Range<Int>?) in body(kw, k, v) }
    }

    /// As `smFields(from:to:_:)`, with each key as a word and, for `from=<...>` and `msgid=<...>`,
    /// the address's content (what `smAddress(value)` returns, found while ending the value).
    @discardableResult @inline(__always)
    func smFields(from: Int, to: Int, _ body: (UInt64, Range<Int>, Range<Int>, Range<Int>?) -> Void) -> Int {
        var i = from
        var known: Int?        // the `=` of the key at `i`, found while ending the previous value
        while i < to {
            guard let eq = known ?? smKeyEnd(i, to: to) else { return i }
            let key = i..<eq
            let kw = smKeyWord(key)
            let v0 = eq + 1
            let vEnd: Int
            var content: Range<Int>?
            known = nil
            if kw == SMKey.stat || kw == SMKey.reject {
                vEnd = to
            } else if kw == SMKey.reply {
                if let st = findLast(", stat=", from: v0, to: to) { vEnd = st; known = st + 6 }
                else { (vEnd, known) = smValueEnd(from: v0, to: to) }
            } else if v0 < to, base[v0] == Byte.lt, kw == SMKey.msgid || kw == SMKey.from_,
                      let a = scanAddress(at: v0), a.next <= to {
                // The usual `<...>, key=`: the `, key=` right after the address is the value's end
                // (what `smValueEnd(from: a.next)` finds first), so no scan for it.
                if a.next + 2 < to, base[a.next] == Byte.comma, base[a.next + 1] == Byte.space,
                   let eq = smKeyEnd(a.next + 2, to: to) {
                    vEnd = a.next; known = eq
                } else if a.next < to { (vEnd, known) = smValueEnd(from: a.next, to: to) } else { vEnd = to }
                content = a.content
            } else {
                (vEnd, known) = smValueEnd(from: v0, to: to)
            }
            body(kw, key, v0..<vEnd, content)
            i = vEnd + 2
        }
        return to
    }

    /// Whether `, KEY=` starts at `e`, KEY being the `n` bytes (1...8) of the word `key` (an `SMKey`):
    /// then the field loop would end a value at `e` and read KEY next (its bytes are key bytes and
    /// the `=` follows them), so the record fast paths check the key they expect with one compare.
    ///
    /// Read as one or two word compares with the pattern `, KEY=` (the key and its length are
    /// constants where the fast paths call it, so the pattern folds away); near the end of the
    /// bytes, or for a key of other length, by `smIsNextKeySimple`.
    @_transparent
    func smIsNextKey(_ e: Int, _ key: UInt64, _ n: Int) -> Bool {
        let total = n &+ 3                     // `, ` + KEY + `=`
        guard n >= 1, n <= 8, e >= 0, e &+ 8 <= end, e &+ total <= end else { return smIsNextKeySimple(e, key, n) }
        let raw = UnsafeRawPointer(base + e)
        // The pattern's first eight bytes, and (n >= 6) its bytes 8 ..< total.
        let lo: UInt64 = 0x202C | key << 16 | (n <= 5 ? 0x3D << (UInt64(n &+ 2) &* 8) : 0)
        let w0 = UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self))
        if n <= 5 {
            let mask: UInt64 = n == 5 ? ~0 : (1 << (UInt64(total) &* 8)) &- 1
            return w0 & mask == lo
        }
        let hi: UInt64 = key >> 48 | 0x3D << (UInt64(n &- 6) &* 8)
        let shift = UInt64(total &- 8) &* 8    // 8, 16 or 24: the second load overlaps the first
        let lo2 = lo >> shift | hi << (64 &- shift)
        let w1 = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: total &- 8, as: UInt64.self))
        return w0 == lo && w1 == lo2
    }

    /// Whether the `n` (1...8) bytes at `i` are those of the word `w` (little-endian, as
    /// `SMWord`): `has(_:at:)` for a short literal, one masked load instead of a memcmp call when
    /// eight bytes (four, for a literal of up to four) are there to load, byte by byte otherwise.
    @_transparent
    func smHas(_ i: Int, _ w: UInt64, _ n: Int) -> Bool {
        if i >= 0, i &+ 8 <= end {
            let x = UInt64(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt64.self))
            return (n >= 8 ? x : x & ((1 << (UInt64(n) &* 8)) &- 1)) == w
        }
        // A literal of up to four bytes (`Sent` at a line's end) as one four-byte load.
        if n <= 4, i >= 0, i &+ 4 <= end {
            let x = UInt64(UInt32(littleEndian: UnsafeRawPointer(base + i).loadUnaligned(as: UInt32.self)))
            return (n >= 4 ? x : x & ((1 << (UInt64(n) &* 8)) &- 1)) == w
        }
        return smHasNearEnd(i, w, n)
    }

    /// `smHas` where fewer than eight bytes are left (byte by byte; kept out of line).
    @inline(never)
    func smHasNearEnd(_ i: Int, _ w: UInt64, _ n: Int) -> Bool {
        guard i >= 0, i &+ n <= end else { return false }
        var k = 0
        while k < n {
            if base[i &+ k] != UInt8(truncatingIfNeeded: w >> (UInt64(k) &* 8)) { return false }
            k &+= 1
        }
        return true
    }

    /// The run of digits from `i` and its value: `(digitsEnd(from: i), int(i..<digitsEnd(from: i)))`
    /// in one pass (nil for no digit or more than 18; the wrapping arithmetic is then unused).
    @inline(__always)
    func smDigits(from i: Int) -> (end: Int, value: Int?) {
        var j = i
        var v = 0
        while j < end {
            let d = base[j] &- Byte.zero
            if d >= 10 { break }
            v = v &* 10 &+ Int(d)
            j &+= 1
        }
        let n = j &- i
        return (j, n > 0 && n <= 18 ? v : nil)
    }

    /// Whether the 8 bytes at `v` are `DD:DD:DD` (digits and colons: no comma among them), the
    /// form `smDelay` reads in place.
    @inline(__always)
    func smIsHMS(_ v: Int) -> Bool {
        guard v >= 0, v &+ 8 <= end else { return false }
        let p = base + v
        return p[0] &- Byte.zero < 10 && p[1] &- Byte.zero < 10 && p[2] == Byte.colon && p[3] &- Byte.zero < 10
            && p[4] &- Byte.zero < 10 && p[5] == Byte.colon && p[6] &- Byte.zero < 10 && p[7] &- Byte.zero < 10
    }

    /// The seconds of the `DD:DD:DD` at `v` (what `smDelay(v..<v + 8)` gives when `smIsHMS(v)`),
    /// nil when the 8 bytes there are not that form (or not there): the check and the value from
    /// one word. After an xor with `00:00:00` a digit byte is 0...9 (only `0`-`9` give that) and a
    /// colon byte 0; the `< 10` test adds 0x76 to the low seven bits of each byte (no carry
    /// crosses a byte) and rejects bytes with their high bit set.
    @inline(__always)
    func smHMS(_ v: Int) -> Double? {
        guard v >= 0, v &+ 8 <= end else { return nil }
        let w = UInt64(littleEndian: UnsafeRawPointer(base + v).loadUnaligned(as: UInt64.self))
        let x = w ^ 0x3030_3A30_303A_3030
        guard (((x & 0x7F7F_7F7F_7F7F_7F7F) &+ 0x7676_7676_7676_7676) | x) & 0x8080_8080_8080_8080 == 0,
              x & 0x0000_FF00_00FF_0000 == 0 else { return nil }
        @inline(__always) func d(_ k: UInt64) -> Int { Int(truncatingIfNeeded: (x >> (k &* 8)) & 0xFF) }
        let h = d(0) &* 10 &+ d(1), m = d(3) &* 10 &+ d(4), sec = d(6) &* 10 &+ d(7)
        return Double((h &* 60 &+ m) &* 60 &+ sec)
    }

    /// `smIsNextKey` byte by byte (its definition; the word form's fallback).
    @inline(never)
    func smIsNextKeySimple(_ e: Int, _ key: UInt64, _ n: Int) -> Bool {
        let k = e + 2
        guard k + n < end, base[e] == Byte.comma, base[e + 1] == Byte.space, base[k + n] == Byte.equals else {
            return false
        }
        return smKeyWord(k..<(k + n)) == key
    }

    /// Whether `[from, end)` holds no comma (memchr: a field's value that runs to the end).
    @inline(__always)
    func smNoComma(from: Int) -> Bool {
        from >= end || memchr(base + from, Int32(Byte.comma), end - from) == nil
    }

    /// The first `, ` at or after `from` (a comma the field loop may end a value at), or nil;
    /// by memchr, which passes most values (names, ciphers, addresses) in fewer instructions than
    /// the word-at-a-time search.
    @inline(__always)
    func smCommaSpace(from: Int) -> Int? {
        var j = from
        while j < end, let p = memchr(base + j, Int32(Byte.comma), end - j) {
            let c = UnsafeRawPointer(p) - UnsafeRawPointer(base)
            if c + 1 < end, base[c + 1] == Byte.space { return c }
            j = c + 1
        }
        return nil
    }

    /// `smCommaSpace(from:)` for a value that is usually short (a delay, a mailer, a DSN, a TLS
    /// version, a proto word): the first comma is looked for in the next two words in place (a
    /// byte-equality test per word instead of a memchr call), the rest by `smCommaSpace`.
    @inline(__always)
    func smCommaSpaceNear(from: Int) -> Int? {
        var j = from
        var words = 0
        while words < 2, j + 8 <= end {
            let w = UInt64(littleEndian: UnsafeRawPointer(base + j).loadUnaligned(as: UInt64.self))
            let commas = ByteScanner.zeroBytes(w ^ 0x2C2C_2C2C_2C2C_2C2C)
            if commas != 0 {
                let c = j + commas.trailingZeroBitCount &>> 3
                if c + 1 < end, base[c + 1] == Byte.space { return c }
                return smCommaSpace(from: c + 1)
            }
            j += 8
            words += 1
        }
        return smCommaSpace(from: j)
    }

    /// The key `k` as a word: its bytes little-endian, zero-padded; 0 for keys longer than 8 bytes.
    /// Keys hold no NUL (`smKeyEnd`), so equal words mean equal keys.
    @inline(__always)
    func smKeyWord(_ k: Range<Int>) -> UInt64 {
        let n = k.count
        guard n > 0, n <= 8 else { return 0 }
        if k.lowerBound + 8 <= end {
            let w = UnsafeRawPointer(base + k.lowerBound).loadUnaligned(as: UInt64.self)
            return n == 8 ? w : w & ((1 << (UInt64(n) &* 8)) &- 1)
        }
        var w: UInt64 = 0
        for j in 0..<n { w |= UInt64(base[k.lowerBound + j]) << (UInt64(j) &* 8) }
        return w
    }

    /// `scanAddress(at: i)` for a value that starts with `<` at `i`: the usual `<addr>` (no `"`
    /// before the first `>`, and a terminator — end, space, `,`, `:`, `;`, `)` — after it) found
    /// with one search, which is where `scanAddress`'s quote-aware scan stops for it; any other
    /// form goes through `scanAddress`.
    @inline(__always)
    func smAngle(at i: Int) -> (content: Range<Int>, next: Int)? {
        // The first `>` and no `"` before it: one search for either byte (`firstOf`).
        let j = firstOf(Byte.gt, Byte.quote, Byte.quote, from: i &+ 1, to: end)
        if j < end, base[j] == Byte.gt {
            let k = j + 1
            if k == end { return ((i + 1)..<j, k) }
            let t = base[k]
            if t == Byte.comma || t == Byte.space || t == Byte.colon || t == Byte.semicolon || t == Byte.rparen {
                return ((i + 1)..<j, k)
            }
        }
        return scanAddress(at: i)
    }

    /// The content of an address value (`<a>` → a, bare → itself, `<>` → empty).
    func smAddress(_ r: Range<Int>) -> Range<Int> {
        guard !r.isEmpty, base[r.lowerBound] == Byte.lt else { return r }
        if let a = smAngle(at: r.lowerBound), a.next <= r.upperBound { return a.content }
        return r
    }

    /// Splits a recipient list `<a>,<b>` / `a,b` (quote- and bracket-aware) into content spans,
    /// appended to `out`.
    func smRecipients(_ r: Range<Int>, into out: inout SpanList) {
        var i = r.lowerBound
        while i < r.upperBound {
            if base[i] == Byte.comma || base[i] == Byte.space { i += 1; continue }
            if base[i] == Byte.lt, let a = smAngle(at: i), a.next <= r.upperBound {
                out.append(Span(a.content))
                i = a.next
                continue
            }
            var j = i
            var inQuote = false
            while j < r.upperBound {
                let b = base[j]
                if b == Byte.quote { inQuote.toggle() } else if b == Byte.comma && !inQuote { break }
                j += 1
            }
            out.append(Span(i..<j))
            i = j
        }
    }

    /// The text of `r` from the parser's cache of repeated values (see `StringCache`).
    @inline(__always)
    func cached(_ r: Range<Int>, _ c: inout StringCache) -> String {
        c.string(Span(r), in: LineBytes(base: base, count: end))
    }

    /// Parses a relay value; returns the peer, the `user@` part and whether ` (may be forged)` followed.
    @inline(__always)
    func smRelay(_ r: Range<Int>) -> (peer: Peer, user: String?, forged: Bool) { smRelay(r, make: string) }

    /// As `smRelay(_:)`, with the name and address Strings made by `make` (e.g. from a cache).
    func smRelay(_ r: Range<Int>, make: (Range<Int>) -> String) -> (peer: Peer, user: String?, forged: Bool) {
        var lo = r.lowerBound
        var hi = r.upperBound
        while hi > lo, base[hi - 1] == Byte.space { hi -= 1 }
        var forged = false
        if hi - lo >= 16, base[hi - 1] == Byte.rparen, has(" (may be forged)", at: hi - 16) { forged = true; hi -= 16 }
        var ip: String?
        var nameEnd = hi
        if hi > lo, base[hi - 1] == Byte.rbracket, let lb = findLast(Byte.lbracket, from: lo, to: hi) {
            ip = smIP((lb + 1)..<(hi - 1), make: make)
            nameEnd = lb
            while nameEnd > lo, base[nameEnd - 1] == Byte.space { nameEnd -= 1 }
        }
        // A bracketed smarthost repeats its address as the name: `[192.0.2.1] [192.0.2.1]`.
        if nameEnd > lo, base[lo] == Byte.lbracket { nameEnd = lo }
        var user: String?
        if let at = findLast(UInt8(ascii: "@"), from: lo, to: nameEnd) {
            user = at > lo ? string(lo..<at) : nil
            lo = at + 1
        }
        while nameEnd > lo, base[nameEnd - 1] == Byte.dot { nameEnd -= 1 }
        let name = nameEnd > lo ? make(lo..<nameEnd) : nil
        return (Peer(name: name, ip: ip, port: nil), user, forged)
    }

    /// Sets `line`'s relay from a relay value (the rules of `smRelay(_:make:)`; an address that
    /// must be rewritten, such as IPv6, is made as a String).
    /// A value seen lately is taken from the line buffer's `SendmailRelayMemo` (the spans are a
    /// function of the value's bytes alone; one that had to be rewritten is never kept).
    @inline(__always)
    func smRelay(_ r: Range<Int>, into line: SendmailLine) {
        let n = r.count
        if n >= 1, n <= SendmailRelayMemo.maxKey {
            let p = base + r.lowerBound
            let h = SendmailRelayMemo.hash(p, n)
            var kept = RelaySpans()
            if line.f.relayMemo.lookup(p, n, hash: h, into: &kept) {
                line.setRelay(kept.shifted(by: r.lowerBound), ipText: nil)
                return
            }
            var ipText: String?
            var spans = smRelaySpans(r, ipText: &ipText, ipMemo: line.f.ipTextMemo)
            if !spans.rewritten { spans.id = line.f.relayMemo.store(p, n, hash: h, spans.shifted(by: -r.lowerBound)) }
            line.setRelay(spans, ipText: ipText)
            return
        }
        var ipText: String?
        let spans = smRelaySpans(r, ipText: &ipText, ipMemo: line.f.ipTextMemo)
        line.setRelay(spans, ipText: ipText)
    }

    /// `ipMemo`: rewritten addresses' texts seen lately (an unallocated memo makes each one).
    func smRelaySpans(_ r: Range<Int>, ipText: inout String?, ipMemo: SendmailIPTextMemo = SendmailIPTextMemo()) -> RelaySpans {
        var out = RelaySpans()
        var lo = r.lowerBound
        var hi = r.upperBound
        while hi > lo, base[hi - 1] == Byte.space { hi -= 1 }
        if hi - lo >= 16, base[hi - 1] == Byte.rparen, has(" (may be forged)", at: hi - 16) { out.forged = true; hi -= 16 }
        var nameEnd = hi
        if hi > lo, base[hi - 1] == Byte.rbracket, let lb = smQuadOpen(lo: lo, close: hi - 1) {
            // The usual `[a.b.c.d]`, read backwards once (what the general path below accepts as logged).
            out.ip = Span((lb + 1)..<(hi - 1))
            nameEnd = lb
            while nameEnd > lo, base[nameEnd - 1] == Byte.space { nameEnd -= 1 }
        } else if hi > lo, base[hi - 1] == Byte.rbracket, let lb = findLast(Byte.lbracket, from: lo, to: hi) {
            let r0 = (lb + 1)..<(hi - 1)
            if smIsDottedQuad(r0) {
                // The usual IPv4 address: what the general path below accepts as logged, without
                // its prefix tests and `:` search.
                out.ip = Span(r0)
            } else {
                var a = r0
                if a.count > 5, (has("IPv6:", at: a.lowerBound) || has("ipv6:", at: a.lowerBound)) {
                    a = (a.lowerBound + 5)..<a.upperBound
                }
                if a.count >= 2, a.count <= 45 {
                    if find(Byte.colon, from: a.lowerBound, to: a.upperBound) == nil {
                        if isIPAddress(a) { out.ip = Span(a) }
                    } else {
                        out.rewritten = true
                        ipText = ipMemo.text(base + r0.lowerBound, r0.count) { smIP(r0) }
                    }
                }
            }
            nameEnd = lb
            while nameEnd > lo, base[nameEnd - 1] == Byte.space { nameEnd -= 1 }
        }
        if nameEnd > lo, base[lo] == Byte.lbracket { nameEnd = lo }
        // Usually no `@`: memchr rules it out in a few instructions, the backward search finds the last one.
        if nameEnd > lo, memchr(base + lo, Int32(UInt8(ascii: "@")), nameEnd - lo) != nil,
           let at = findLast(UInt8(ascii: "@"), from: lo, to: nameEnd) {
            if at > lo { out.user = Span(lo..<at) }
            lo = at + 1
        }
        while nameEnd > lo, base[nameEnd - 1] == Byte.dot { nameEnd -= 1 }
        if nameEnd > lo { out.name = Span(lo..<nameEnd) }
        return out
    }

    /// For a value ending in `]` at `close` (> `lo`): the index of the `[` before it when the text
    /// between is a dotted quad by `smIsDottedQuad`'s rule (four octets of one to three digits, no
    /// leading zero, at most 255, three dots), read backwards in one pass; then it is also what
    /// `findLast("[", from: lo, to: close + 1)` returns. nil decides nothing.
    @inline(__always)
    func smQuadOpen(lo: Int, close: Int) -> Int? {
        var p = close               // the end of the octet read next
        var octets = 0
        while true {
            guard p > lo else { return nil }
            let d0 = base[p - 1] &- Byte.zero
            guard d0 < 10 else { return nil }
            var q = p - 1
            if q > lo, base[q - 1] &- Byte.zero < 10 {
                let d1 = base[q - 1] &- Byte.zero
                q -= 1
                if q > lo, base[q - 1] &- Byte.zero < 10 {
                    let d2 = base[q - 1] &- Byte.zero
                    q -= 1
                    guard d2 != 0, Int(d2) * 100 + Int(d1) * 10 + Int(d0) <= 255 else { return nil }
                    if q > lo, base[q - 1] &- Byte.zero < 10 { return nil }      // a fourth digit
                } else {
                    guard d1 != 0 else { return nil }
                }
            }
            octets += 1
            guard q > lo else { return nil }
            let sep = base[q - 1]
            if octets == 4 { return sep == Byte.lbracket ? q - 1 : nil }
            guard sep == Byte.dot else { return nil }
            p = q - 1
        }
    }

    /// An address as PostgreSQL's inet accepts and other MTAs print it: `IPv6:` dropped,
    /// IPv6 compressed, IPv4-mapped as IPv4; nil when not an address.
    @inline(__always)
    func smIP(_ r0: Range<Int>) -> String? { smIP(r0, make: string) }

    /// As `smIP(_:)`, with an IPv4 address's String made by `make`.
    func smIP(_ r0: Range<Int>, make: (Range<Int>) -> String) -> String? {
        var r = r0
        if r.count > 5, (has("IPv6:", at: r.lowerBound) || has("ipv6:", at: r.lowerBound)) {
            r = (r.lowerBound + 5)..<r.upperBound
        }
        guard r.count >= 2, r.count <= 45 else { return nil }
        guard find(Byte.colon, from: r.lowerBound, to: r.upperBound) != nil else {
            return isIPAddress(r) ? make(r) : nil
        }
        return withUnsafeTemporaryAllocation(of: CChar.self, capacity: 48) { tmp -> String? in
            var k = 0
            for i in r { tmp[k] = CChar(bitPattern: base[i]); k += 1 }
            tmp[k] = 0
            return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16) { bin -> String? in
                guard inet_pton(AF_INET6, tmp.baseAddress!, bin.baseAddress!) == 1 else { return nil }
                // IPv4-mapped (::ffff:a.b.c.d): print as IPv4, as sendmail does for its own peers.
                var mapped = bin[10] == 0xff && bin[11] == 0xff
                for j in 0..<10 where bin[j] != 0 { mapped = false }
                if mapped { return "\(bin[12]).\(bin[13]).\(bin[14]).\(bin[15])" }
                return ByteScanner.smIPv6Text(UnsafeBufferPointer(bin))
            }
        }
    }

    /// inet_ntop(AF_INET6)'s text of 16 address bytes, exactly (glibc's rules: lowercase hex
    /// words without leading zeros, the first longest run of two or more zero words as `::`,
    /// `::a.b.c.d` and `::ffff:a.b.c.d` for the IPv4-compatible and -mapped forms), without its
    /// `sprintf` per word.
    static func smIPv6Text(_ bin: UnsafeBufferPointer<UInt8>) -> String {
        @inline(__always) func word(_ i: Int) -> Int { Int(bin[2 * i]) << 8 | Int(bin[2 * i + 1]) }
        var bestBase = -1, bestLen = 0, curBase = -1, curLen = 0
        for i in 0..<8 {
            if word(i) == 0 {
                if curBase == -1 { curBase = i; curLen = 1 } else { curLen += 1 }
            } else if curBase != -1 {
                if bestBase == -1 || curLen > bestLen { bestBase = curBase; bestLen = curLen }
                curBase = -1
            }
        }
        if curBase != -1, bestBase == -1 || curLen > bestLen { bestBase = curBase; bestLen = curLen }
        if bestBase != -1 && bestLen < 2 { bestBase = -1 }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 48) { out -> String in
            var n = 0
            for i in 0..<8 {
                if bestBase != -1 && i >= bestBase && i < bestBase + bestLen {
                    if i == bestBase { out[n] = Byte.colon; n += 1 }
                    continue
                }
                if i != 0 { out[n] = Byte.colon; n += 1 }
                if i == 6 && bestBase == 0 && (bestLen == 6 || (bestLen == 5 && word(5) == 0xffff)) {
                    for k in 12..<16 {
                        if k > 12 { out[n] = Byte.dot; n += 1 }
                        let v = Int(bin[k])
                        if v >= 100 { out[n] = Byte.zero &+ UInt8(v / 100); n += 1 }
                        if v >= 10 { out[n] = Byte.zero &+ UInt8(v / 10 % 10); n += 1 }
                        out[n] = Byte.zero &+ UInt8(v % 10); n += 1
                    }
                    break
                }
                let v = word(i)
                var started = false
                for shift in stride(from: 12, through: 0, by: -4) {
                    let d = (v >> shift) & 15
                    if d != 0 || started || shift == 0 {
                        out[n] = d < 10 ? Byte.zero &+ UInt8(d) : UInt8(ascii: "a") &+ UInt8(d - 10)
                        n += 1; started = true
                    }
                }
            }
            if bestBase != -1 && bestBase + bestLen == 8 { out[n] = Byte.colon; n += 1 }
            return String(decoding: UnsafeBufferPointer(rebasing: out[0..<n]), as: UTF8.self)
        }
    }

    /// The ID of a response that is exactly `ID Message accepted for delivery` (sendmail's own
    /// reply, ID = one or more of `[A-Za-z0-9._-]`): what `RemoteQueueID.extractRange` returns
    /// for it (no other form can match a response with no space before ` Message`), found
    /// without its scan. nil decides nothing: the caller then asks `extractRange`.
    @inline(__always)
    func smAcceptedID(_ r: Range<Int>) -> Range<Int>? {
        let p = r.upperBound - 30
        // ` Message accepted for delivery` as four word compares (the last overlapping), not a
        // memcmp call; its 30 bytes end at `r.upperBound`, inside the bytes.
        guard p > r.lowerBound else { return nil }
        let raw = UnsafeRawPointer(base + p)
        guard raw.loadUnaligned(as: UInt64.self) == UInt64(littleEndian: 0x6567617373654d20),
              raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self) == UInt64(littleEndian: 0x6574706563636120),
              raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self) == UInt64(littleEndian: 0x656420726f662064),
              raw.loadUnaligned(fromByteOffset: 22, as: UInt64.self) == UInt64(littleEndian: 0x79726576696c6564)
        else { return nil }
        // Usually letters and digits only (a queue ID): eight bytes at a time, then the rest.
        var j = smIDEnd(from: r.lowerBound)
        while j < p {
            let b = base[j]
            guard Byte.isAlnum(b) || b == Byte.dot || b == Byte.minus || b == Byte.underscore else { return nil }
            j += 1
        }
        return r.lowerBound..<p
    }

    /// `findLast(" (", from: r.lowerBound, to: r.upperBound)` as a byte loop from the end (the
    /// ` (uid/gid)` after a `ctladdr=` address is a few bytes from it).
    @inline(__always)
    func smLastSpaceParen(_ r: Range<Int>) -> Int? {
        var j = r.upperBound - 2
        while j >= r.lowerBound {
            if base[j] == Byte.space && base[j + 1] == Byte.lparen { return j }
            j -= 1
        }
        return nil
    }

    /// Whether `r` is exactly a dotted-quad IPv4 address as inet_pton reads one: four decimal
    /// octets of at most 255 without leading zeros, three dots, nothing else (`isIPAddress`'s
    /// IPv4 rule on a range that holds no NUL and no `:`). A false answer decides nothing: the
    /// caller then takes the general path.
    @inline(__always)
    func smIsDottedQuad(_ r: Range<Int>) -> Bool {
        guard r.count >= 7, r.count <= 15 else { return false }
        var p = r.lowerBound
        let e = r.upperBound
        var octet = 0
        while true {
            let d0 = base[p] &- Byte.zero
            guard d0 < 10 else { return false }
            p += 1
            if d0 != 0 {
                var v = Int(d0)
                var k = 0
                while p < e, k < 2 {
                    let d = base[p] &- Byte.zero
                    if d >= 10 { break }
                    v = v &* 10 &+ Int(d)
                    p += 1; k += 1
                }
                guard v <= 255 else { return false }
            }
            octet += 1
            if octet == 4 { return p == e }
            guard p < e, base[p] == Byte.dot else { return false }
            p += 1
            guard p < e else { return false }
        }
    }

    /// `[D+]HH:MM:SS` in seconds.
    @inline(__always)
    func smDelay(_ r: Range<Int>) -> Double? {
        // The usual `HH:MM:SS`, read in place; anything else takes the general path below.
        if r.count == 8 {
            let p = base + r.lowerBound
            let d0 = p[0] &- Byte.zero, d1 = p[1] &- Byte.zero, d3 = p[3] &- Byte.zero
            let d4 = p[4] &- Byte.zero, d6 = p[6] &- Byte.zero, d7 = p[7] &- Byte.zero
            if d0 < 10, d1 < 10, d3 < 10, d4 < 10, d6 < 10, d7 < 10, p[2] == Byte.colon, p[5] == Byte.colon {
                let h = Int(d0) * 10 + Int(d1), m = Int(d3) * 10 + Int(d4), sec = Int(d6) * 10 + Int(d7)
                return Double((h * 60 + m) * 60 + sec)
            }
        }
        return smDelayGeneral(r)
    }

    /// `smDelay`'s general path (days, or a form that is not `HH:MM:SS`).
    func smDelayGeneral(_ r: Range<Int>) -> Double? {
        var i = r.lowerBound
        var days = 0
        if let plus = find(UInt8(ascii: "+"), from: i, to: r.upperBound) {
            guard let d = int(i..<plus) else { return nil }
            days = d
            i = plus + 1
        }
        guard r.upperBound - i == 8, base[i + 2] == Byte.colon, base[i + 5] == Byte.colon,
              let h = int(i..<(i + 2)), let m = int((i + 3)..<(i + 5)), let s = int((i + 6)..<(i + 8)) else { return nil }
        return Double(((days * 24 + h) * 60 + m) * 60 + s)
    }

    /// Splits `NNN X.Y.Z TEXT` into code, enhanced status and text (each optional).
    func smReply(_ r: Range<Int>) -> (code: String?, dsn: String?, text: Range<Int>) {
        let p = smReplyRanges(r)
        return (p.code.map(string), p.dsn.map(string), p.text)
    }

    /// `smReply` as ranges of the line.
    func smReplyRanges(_ r: Range<Int>) -> (code: Range<Int>?, dsn: Range<Int>?, text: Range<Int>) {
        // The usual `NNN D.D.D TEXT`, read in place (what the general path gives for it); any
        // other form takes the general path.
        if r.count >= 10 {
            let p = base + r.lowerBound
            if p[0] &- Byte.zero < 10, p[1] &- Byte.zero < 10, p[2] &- Byte.zero < 10, p[3] == Byte.space,
               p[4] &- Byte.zero < 10, p[5] == Byte.dot, p[6] &- Byte.zero < 10, p[7] == Byte.dot,
               p[8] &- Byte.zero < 10, p[9] == Byte.space {
                let lo = r.lowerBound
                return (lo..<(lo + 3), (lo + 4)..<(lo + 9), (lo + 10)..<r.upperBound)
            }
        }
        return smReplyGeneral(r)
    }

    /// `smReplyRanges`'s general path.
    func smReplyGeneral(_ r: Range<Int>) -> (code: Range<Int>?, dsn: Range<Int>?, text: Range<Int>) {
        var i = r.lowerBound
        var code: Range<Int>?
        var dsn: Range<Int>?
        if r.upperBound - i >= 3, digitsEnd(from: i) == i + 3, i + 3 == r.upperBound || base[i + 3] == Byte.space {
            code = i..<(i + 3)
            i = min(i + 4, r.upperBound)
        }
        // Enhanced status code: d.d{1,3}.d{1,3}
        let e = scan(from: i, until: Byte.space, Byte.space)
        let tokEnd = min(e, r.upperBound)
        if tokEnd - i >= 5, Byte.isDigit(base[i]), base[i + 1] == Byte.dot {
            var dots = 0
            var ok = true
            for j in i..<tokEnd {
                if base[j] == Byte.dot { dots += 1 } else if !Byte.isDigit(base[j]) { ok = false; break }
            }
            if ok && dots == 2 {
                dsn = i..<tokEnd
                i = min(tokEnd + 1, r.upperBound)
            }
        }
        return (code, dsn, i..<r.upperBound)
    }

    /// Whether `r` looks like a Sendmail queue ID: 12-24 letters/digits ending in 5+ digits
    /// (8 characters of time and sequence, then the pid as `%06d`, longer for large pids).
    func smIsQueueID(_ r: Range<Int>) -> Bool {
        guard r.count >= 12, r.count <= 24 else { return false }
        for i in r where !Byte.isAlnum(base[i]) { return false }
        for i in (r.upperBound - 5)..<r.upperBound where !Byte.isDigit(base[i]) { return false }
        return true
    }

    /// `smIsQueueID` for a range already known to be letters and digits (ended by `smIDEnd`).
    @inline(__always)
    func smIsQueueID(alnum r: Range<Int>) -> Bool {
        guard r.count >= 12, r.count <= 24 else { return false }
        let e = r.upperBound
        return Byte.isDigit(base[e - 1]) && Byte.isDigit(base[e - 2]) && Byte.isDigit(base[e - 3])
            && Byte.isDigit(base[e - 4]) && Byte.isDigit(base[e - 5])
    }

    /// Index after a queue ID starting at `i` (the first byte that is not a letter or digit).
    @inline(__always)
    func smIDEnd(from i: Int) -> Int {
        // Sixteen bytes at a time (`alnumEnd`): the first byte outside the class ends the ID.
        guard i < end else { return i }
        return alnumEnd(from: i)
    }
}
