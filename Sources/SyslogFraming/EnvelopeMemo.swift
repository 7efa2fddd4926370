// EnvelopeMemo: the last framed line's syslog envelope (its bytes from the
// line's start up to the body), so that a line repeating them (the same
// process logging again within the same second: Exim's arrival and its
// deliveries, an smtpd's connect and its first queue ID) is framed by
// comparing a few words instead of reading stamp, host and tag again.
//
// Contract: `matches(_:_:)` is true only when the line has at least
// `length` bytes and its first `length` bytes equal the stored envelope;
// `store` remembers an envelope of 16 to 64 bytes with the time it read as;
// `clear` forgets it. The framer stores an envelope only where everything it
// decides about a line (stamp, host, tag, pid, where the body starts) is a
// function of those bytes and of state that framing the same bytes again
// cannot move (the year inference: same stamp, same month), and clears it
// before any other line is framed, so a match means "same result".
// Known limits: envelopes over 64 bytes are not remembered; only the one
// last envelope is.

struct EnvelopeMemo {
    /// The longest envelope remembered.
    static let maxLength = 64

    /// Bytes in the stored envelope (0: none).
    private(set) var length = 0
    /// The time the envelope read as (before any Exim stamp in the body).
    private(set) var micros: Int64 = 0
    /// Words 0-6 of the envelope (bytes 0-7, 8-15, ...); the ones at or past its last eight bytes unused.
    private var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0
    private var w4: UInt64 = 0, w5: UInt64 = 0, w6: UInt64 = 0
    /// The envelope's last eight bytes (overlapping the word before it).
    private var tail: UInt64 = 0

    @inline(__always)
    private static func word(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        p.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
    }

    /// Whether the `n` bytes at `p` start with the stored envelope. The last word (pid and colon)
    /// differs most often, so it is compared first; then the second (the stamp's seconds).
    @inline(__always)
    func matches(_ p: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let l = length
        guard l != 0, n >= l else { return false }
        let raw = UnsafeRawPointer(p)
        guard EnvelopeMemo.word(raw, l - 8) == tail, EnvelopeMemo.word(raw, 8) == w1,
              EnvelopeMemo.word(raw, 0) == w0 else { return false }
        // Words 2... cover the bytes between the first 16 and the last 8.
        if l > 24 { guard EnvelopeMemo.word(raw, 16) == w2 else { return false } }
        if l > 32 { guard EnvelopeMemo.word(raw, 24) == w3 else { return false } }
        if l > 40 { guard EnvelopeMemo.word(raw, 32) == w4 else { return false } }
        if l > 48 { guard EnvelopeMemo.word(raw, 40) == w5 else { return false } }
        if l > 56 { guard EnvelopeMemo.word(raw, 48) == w6 else { return false } }
        return true
    }

    /// Remembers the first `count` bytes at `p` (16 ≤ count ≤ 64) as the envelope, read as `micros`.
    @inline(__always)
    mutating func store(_ p: UnsafePointer<UInt8>, _ count: Int, micros: Int64) {
        precondition(count >= 16 && count <= EnvelopeMemo.maxLength, "envelope length out of range")
        let raw = UnsafeRawPointer(p)
        w0 = EnvelopeMemo.word(raw, 0)
        w1 = EnvelopeMemo.word(raw, 8)
        w2 = count > 24 ? EnvelopeMemo.word(raw, 16) : 0
        w3 = count > 32 ? EnvelopeMemo.word(raw, 24) : 0
        w4 = count > 40 ? EnvelopeMemo.word(raw, 32) : 0
        w5 = count > 48 ? EnvelopeMemo.word(raw, 40) : 0
        w6 = count > 56 ? EnvelopeMemo.word(raw, 48) : 0
        tail = EnvelopeMemo.word(raw, count - 8)
        length = count
        self.micros = micros
    }

    /// Forgets the stored envelope.
    @inline(__always)
    mutating func clear() { length = 0 }
}
