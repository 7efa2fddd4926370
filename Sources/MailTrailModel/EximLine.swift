/// EximLine: one parsed Exim line as spans into its bytes — the form in which
/// the parser hands an Exim line to the correlator on the hot path.
///
/// Contract: carries exactly the facts of the `EximEvent` of the same line.
/// The common kinds (`arrival`, `delivery`, `completed`, `note`, the
/// listener's `connection`, whose peer is in `client`, and `reject`, an ACL
/// refusal `... [temporarily ]rejected ...`) are spans of `bytes` (and
/// numbers), so such a line costs no allocation until the correlator stores a
/// value (`reject` also holds the `dropped by` and authenticator refusals:
/// `rejectAction`); the rare kinds (DKIM, ctasd verdict, session notes, joined
/// split lines) are `other`, with their String `EximEvent` in `event`. Fields of kinds other than `kind` hold
/// stale values (each kind's fields are reset by the parser before it fills
/// them). Valid only while `bytes` is (one call). `EximParser.event(_:)`
/// turns a line into its `EximEvent` (the String API, tests and the fuzzer).
/// A parser's buffer also carries, across lines, the Strings cache
/// (`strings`) that the correlators of every host its lines reach use for
/// senders, recipients and Message-IDs (`sharesStrings`), and a memo of recent queue IDs
/// (`queueIDs`, `EximIDMemo`: an arrival's ID is the String its previous hop's `250 OK id=` gets).
/// Known limits: the arrival's ` for` recipients are kept as a count and the
/// index where their list starts (`recipientsFrom`), not as spans; the String
/// form re-reads them. The `X=` value is kept as one span (`EximTLSSpans(value:)`); its protocol,
/// cipher and bits are read from the bytes when asked (`tls`, `EximTLSSpans.read`). Values are as logged: TLS protocol spelling, `\"`
/// escapes and `<...>` are resolved by the readers here (`tlsInfo`,
/// `unescaped`).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// TLS facts of an Exim `X=` value as spans (present when `X=` was logged).
public struct EximTLSSpans: Sendable {
    /// The protocol (absent when `X=` holds no `:`).
    public var proto: Span = .absent
    /// The protocol is GnuTLS's `TLS1.x`, stored as OpenSSL's `TLSv1.x`.
    public var protoAddV = false
    public var cipher: Span = .absent
    public var bits: Int? = nil
    /// The whole `X=` value (the facts above are a function of its bytes).
    public var value: Span = .absent
    /// Only `value` is set (the parser's form): the other spans are read from the bytes when
    /// asked (`EximLine.tls`), which the correlator does only for a value its memo lacks.
    public var pending = false
    @inlinable public init() {}

    /// An `X=` value whose spans are read when asked.
    @inlinable public init(value: Span) { self.value = value; pending = true }

    /// The spans of the `X=` value `v` of `b`: `TLS1.2:CIPHER:256[*]` (a trailing `*` dropped; the
    /// protocol up to the first `:`; the bits the digits after the last `:`, at most 18 of them;
    /// no `:` at all: all cipher).
    public static func read(_ b: LineBytes, _ v: Span) -> EximTLSSpans {
        let p = b.base
        let lo = Int(v.lo)
        var hi = Int(v.hi)
        if hi > lo && p[hi - 1] == 0x2A { hi -= 1 }
        var t = EximTLSSpans()
        t.value = v
        var c1 = lo
        while c1 < hi && p[c1] != 0x3A { c1 += 1 }
        guard c1 < hi else {
            t.cipher = Span(lo..<hi)
            return t
        }
        t.proto = Span(lo..<c1)
        t.protoAddV = c1 - lo >= 4 && p[lo] == 0x54 && p[lo + 1] == 0x4C && p[lo + 2] == 0x53 && p[lo + 3] == 0x31  // TLS1
        // The bits: the digits after the last `:` (the digits before `hi`, then that `:`).
        var j = hi
        while j > c1 + 1 && p[j - 1] &- 0x30 < 10 { j -= 1 }
        if j > c1 + 1, p[j - 1] == 0x3A, hi > j, hi - j <= 18 {
            var bits = 0
            for k in j..<hi { bits = bits &* 10 &+ Int(p[k] &- 0x30) }
            t.cipher = Span((c1 + 1)..<(j - 1))
            t.bits = bits
        } else {
            t.cipher = Span((c1 + 1)..<hi)
        }
        return t
    }
}

/// One Exim line's fact (see `EximEvent` for the cases and the meaning of the fields).
/// A view (one pointer) of `EximLine.Fields` held by an `EximLineBuffer`.
public struct EximLine: @unchecked Sendable {
    /// Which `EximEvent` case the line is; `other` = any other case, in `event`.
    public enum Kind: UInt8, Sendable { case arrival, delivery, completed, note, connection, reject, other }

    /// The stored fields (read through the accessors of `EximLine`).
    public struct Fields {
        public var kind: Kind = .other
        public var bytes: LineBytes
        public var messageID: Span = .absent
        // arrival
        public var sender: Span = .absent
        public var client = PeerSpans()
        public var helo: Span = .absent
        public var interface: PeerSpans? = nil
        public var localUser: Span = .absent
        public var proto: Span = .absent
        public var authenticator: Span = .absent
        public var authID: Span = .absent
        public var size: Int64? = nil
        public var messageIDHeader: Span = .absent
        /// `T=` of an arrival (escapes resolved by `unescaped`).
        public var subject: Span = .absent
        /// `subject` is quoted and holds no backslash (its text needs no `unescaped`).
        public var subjectEscapeFree = false
        public var reference: Span = .absent
        public var dkimDomain: Span = .absent
        public var recipientCount = 0
        /// Index of the first byte after ` for` (-1: no recipient list).
        public var recipientsFrom: Int32 = -1
        public var fakeReject = false
        // arrival and delivery
        public var tls: EximTLSSpans? = nil
        /// `CV=`: 0 none, 1 Verified, 2 Untrusted (applied to `tls` only when present).
        public var trust: UInt8 = 0
        // delivery
        public var flag: EximDeliveryFlag = .delivered
        public var recipient: Span = .absent
        public var origRecipient: Span = .absent
        public var router: Span = .absent
        public var transport: Span = .absent
        public var relay = PeerSpans()
        public var response: Span = .absent
        /// The response is a quoted `C="..."` value (escapes resolved by `unescaped`).
        public var responseQuoted = false
        /// `response` is quoted and holds no backslash (its text needs no `unescaped`).
        public var responseEscapeFree = false
        public var dsn: Span = .absent
        public var nextQueueID: Span = .absent
        public var queueTime: Double? = nil
        public var deliveryTime: Double? = nil
        public var errno: Int? = nil
        // refusal (`reject`; also `client`, `helo`, `sender`, `tls`/`trust`, `recipient`, `dsn`)
        /// `temporarily rejected` (else `rejected`; see `rejectAction`).
        public var rejectTemporary = false
        /// The refusal's verb: 0 `rejected`/`temporarily rejected` (`rejectTemporary`), 1 `dropped`
        /// (`H=... dropped by ... ACL`), 2 `auth-failed` (`NAME authenticator failed for ...`).
        public var rejectAction: UInt8 = 0
        /// `reason` holds an authenticator's name: the reason is it followed by ` authenticator failed`.
        public var reasonIsAuthenticator = false
        /// The SMTP stage (a literal: `RCPT`, `MAIL`, `EHLO`, `CONNECT`, ...).
        public var rejectStage: String? = nil
        public var code: Span = .absent
        public var reason: Span = .absent
        // note
        public var noteKind = ""
        // other
        public var event: EximEvent? = nil
        /// Whether the lines share `strings`, `idKeys` and `queueIDs` among the correlators they
        /// go to (a parser's buffer: all hosts of a parse): a message's queue ID and Message-ID
        /// are logged again by the next hop's host (its arrival, the sender's `250 OK id=` reply)
        /// a moment later, which a cache per host cannot hit. False in one-off buffers (the
        /// correlator then uses its own cache).
        public var sharesStrings = false
        /// The shared cache of queue IDs the `queueIDs` memo does not take (other lengths), made
        /// by the first correlator that uses it; kept across lines (`reset` leaves it).
        public var strings: SharedStringCache? = nil
        /// Message-IDs and their message keys, shared as `strings` is (made when a correlator
        /// first borrows `strings`; held by that correlator while it reads the line).
        public var idKeys: MessageKey.Cache? = nil
        /// Recent queue IDs and their Strings, shared as `strings` is (made by the first correlator
        /// that uses it; freed with the buffer).
        public var queueIDs: EximIDMemo? = nil

        @inlinable public init(bytes: LineBytes) { self.bytes = bytes }
    }

    public let storage: UnsafeMutablePointer<Fields>
    @inlinable public init(storage: UnsafeMutablePointer<Fields>) { self.storage = storage }

    /// Points the spans at `bytes`; drops the previous line's `event`.
    @inlinable public func reset(bytes: LineBytes) {
        storage.pointee.bytes = bytes
        storage.pointee.messageID = .absent
        // Only an `other` line holds an event (testing the optional itself would copy it).
        if storage.pointee.kind == .other { storage.pointee.event = nil }
    }

    /// Clears the fields of an arrival.
    @inlinable public func beginArrival(fake: Bool) {
        let f = storage
        f.pointee.kind = .arrival
        f.pointee.sender = .absent; f.pointee.client = PeerSpans(); f.pointee.helo = .absent
        f.pointee.interface = nil; f.pointee.localUser = .absent; f.pointee.proto = .absent
        f.pointee.authenticator = .absent; f.pointee.authID = .absent; f.pointee.size = nil
        f.pointee.messageIDHeader = .absent; f.pointee.subject = .absent; f.pointee.reference = .absent
        f.pointee.dkimDomain = .absent; f.pointee.recipientCount = 0; f.pointee.recipientsFrom = -1
        f.pointee.fakeReject = fake; f.pointee.tls = nil; f.pointee.trust = 0
    }

    /// Clears the fields of a delivery.
    @inlinable public func beginDelivery(_ flag: EximDeliveryFlag) {
        let f = storage
        f.pointee.kind = .delivery
        f.pointee.flag = flag; f.pointee.recipient = .absent; f.pointee.origRecipient = .absent
        f.pointee.router = .absent; f.pointee.transport = .absent; f.pointee.relay = PeerSpans()
        f.pointee.tls = nil; f.pointee.trust = 0; f.pointee.response = .absent; f.pointee.responseQuoted = false
        f.pointee.dsn = .absent; f.pointee.nextQueueID = .absent; f.pointee.queueTime = nil
        f.pointee.deliveryTime = nil; f.pointee.errno = nil
    }

    /// Makes the line an `other` line carrying `event`.
    @inlinable public func setOther(_ event: EximEvent) {
        storage.pointee.kind = .other
        storage.pointee.event = event
    }

    @inlinable public var kind: Kind { storage.pointee.kind }
    @inlinable public var bytes: LineBytes { storage.pointee.bytes }
    @inlinable public var messageID: Span { storage.pointee.messageID }
    @inlinable public var sender: Span { storage.pointee.sender }
    @inlinable public var client: PeerSpans { storage.pointee.client }
    @inlinable public var helo: Span { storage.pointee.helo }
    @inlinable public var interface: PeerSpans? { storage.pointee.interface }
    @inlinable public var localUser: Span { storage.pointee.localUser }
    @inlinable public var proto: Span { storage.pointee.proto }
    @inlinable public var authenticator: Span { storage.pointee.authenticator }
    @inlinable public var authID: Span { storage.pointee.authID }
    @inlinable public var size: Int64? { storage.pointee.size }
    @inlinable public var messageIDHeader: Span { storage.pointee.messageIDHeader }
    @inlinable public var subject: Span { storage.pointee.subject }
    @inlinable public var reference: Span { storage.pointee.reference }
    @inlinable public var dkimDomain: Span { storage.pointee.dkimDomain }
    @inlinable public var recipientCount: Int { storage.pointee.recipientCount }
    @inlinable public var recipientsFrom: Int32 { storage.pointee.recipientsFrom }
    @inlinable public var fakeReject: Bool { storage.pointee.fakeReject }
    /// The TLS spans (read from the `X=` value's bytes when the parser left them `pending`).
    @inlinable public var tls: EximTLSSpans? {
        guard let t = storage.pointee.tls else { return nil }
        return t.pending ? EximTLSSpans.read(bytes, t.value) : t
    }
    @inlinable public var trust: UInt8 { storage.pointee.trust }
    @inlinable public var flag: EximDeliveryFlag { storage.pointee.flag }
    @inlinable public var recipient: Span { storage.pointee.recipient }
    @inlinable public var origRecipient: Span { storage.pointee.origRecipient }
    @inlinable public var router: Span { storage.pointee.router }
    @inlinable public var transport: Span { storage.pointee.transport }
    @inlinable public var relay: PeerSpans { storage.pointee.relay }
    @inlinable public var response: Span { storage.pointee.response }
    @inlinable public var responseQuoted: Bool { storage.pointee.responseQuoted }
    @inlinable public var responseEscapeFree: Bool { storage.pointee.responseEscapeFree }
    @inlinable public var subjectEscapeFree: Bool { storage.pointee.subjectEscapeFree }
    @inlinable public var dsn: Span { storage.pointee.dsn }
    @inlinable public var nextQueueID: Span { storage.pointee.nextQueueID }
    @inlinable public var queueTime: Double? { storage.pointee.queueTime }
    @inlinable public var deliveryTime: Double? { storage.pointee.deliveryTime }
    @inlinable public var errno: Int? { storage.pointee.errno }
    @inlinable public var noteKind: String { storage.pointee.noteKind }
    @inlinable public var rejectTemporary: Bool { storage.pointee.rejectTemporary }
    @inlinable public var rejectAction: UInt8 { storage.pointee.rejectAction }
    @inlinable public var reasonIsAuthenticator: Bool { storage.pointee.reasonIsAuthenticator }
    /// The refusal's action as stored (`rejected`, `temporarily rejected`, `dropped`, `auth-failed`).
    @inlinable public var rejectActionText: String {
        switch rejectAction {
        case 1: return "dropped"
        case 2: return "auth-failed"
        default: return rejectTemporary ? "temporarily rejected" : "rejected"
        }
    }
    /// The refusal's reason (nil when absent), Strings made by `make`.
    @inlinable public func reasonText(_ make: (Span) -> String) -> String? {
        guard reason.isPresent else { return nil }
        return reasonIsAuthenticator ? make(reason) + " authenticator failed" : make(reason)
    }
    @inlinable public var rejectStage: String? { storage.pointee.rejectStage }
    @inlinable public var code: Span { storage.pointee.code }
    @inlinable public var reason: Span { storage.pointee.reason }
    /// The event of an `other` line.
    @inlinable public var event: EximEvent? { storage.pointee.event }

    // MARK: - readers

    /// The trust word of `CV=` (nil when none or not understood).
    @inlinable public var trustWord: String? {
        switch trust { case 1: return "Verified"; case 2: return "Untrusted"; default: return nil }
    }

    /// The line's TLS facts (`X=` with `CV=`), Strings made by `make`.
    @inlinable public func tlsInfo(_ make: (Span) -> String) -> TLSInfo? {
        guard let t = tls else { return nil }
        return EximLine.tlsInfo(t, trust: trustWord, bytes, make)
    }

    /// The line's TLS facts, Strings through `c` and, for ciphers longer than `c` keeps, `long`
    /// (the hot path's form of `tlsInfo(_:)`).
    @inlinable public func tlsInfo(cache c: inout EximStrings, long: inout FewStrings) -> TLSInfo? {
        guard let t = tls else { return nil }
        let b = bytes
        // Fields first, one TLSInfo after (each setter would make a new one).
        var proto: String? = nil
        if t.proto.isPresent {
            if t.protoAddV {
                if b.equals(t.proto, "TLS1.2") { proto = "TLSv1.2" }
                else if b.equals(t.proto, "TLS1.3") { proto = "TLSv1.3" }
                else { proto = "TLSv" + String(decoding: b.buffer(t.proto).dropFirst(3), as: UTF8.self) }
            } else {
                proto = c.string(t.proto, in: b)
            }
        }
        let cipher = t.cipher.count > 32 ? long.string(t.cipher, in: b) : c.string(t.cipher, in: b)
        return TLSInfo(proto: proto, cipher: cipher, bits: t.bits, trust: trustWord)
    }

    /// The peer of `p` (spans of this line), Strings through `c`.
    @inlinable public func peer(_ p: PeerSpans, cache c: inout EximStrings) -> Peer {
        let b = bytes
        return Peer(name: c.optionalString(p.name, in: b), ip: c.optionalString(p.ip, in: b), port: p.port)
    }

    /// TLS facts of `t` (spans of `b`) with the trust word `trust`, Strings made by `make`.
    @inlinable public static func tlsInfo(_ t: EximTLSSpans, trust: String?, _ b: LineBytes,
                                          _ make: (Span) -> String) -> TLSInfo {
        var proto: String? = nil
        if t.proto.isPresent {
            if t.protoAddV {
                if b.equals(t.proto, "TLS1.2") { proto = "TLSv1.2" }
                else if b.equals(t.proto, "TLS1.3") { proto = "TLSv1.3" }
                else { proto = "TLSv" + String(decoding: b.buffer(t.proto).dropFirst(3), as: UTF8.self) }
            } else {
                proto = make(t.proto)
            }
        }
        return TLSInfo(proto: proto, cipher: make(t.cipher), bits: t.bits, trust: trust)
    }

    /// The peer of `p`, Strings made by `make`.
    @inlinable public static func peer(_ p: PeerSpans, _ make: (Span) -> String) -> Peer {
        Peer(name: p.name.isPresent ? make(p.name) : nil, ip: p.ip.isPresent ? make(p.ip) : nil, port: p.port)
    }

    /// A quoted value's text with Exim's `\"` and `\\` escapes removed (other escapes kept as written).
    public static func unescaped(_ b: LineBytes, _ s: Span) -> String {
        let buf = b.buffer(s)
        guard buf.count > 0, memchr(buf.baseAddress!, 0x5C, buf.count) != nil else {
            return String(decoding: buf, as: UTF8.self)
        }
        var out: [UInt8] = []
        out.reserveCapacity(buf.count)
        var k = 0
        while k < buf.count {
            let c = buf[k]
            if c == 0x5C, k + 1 < buf.count, buf[k + 1] == 0x22 || buf[k + 1] == 0x5C {
                out.append(buf[k + 1]); k += 2
            } else {
                out.append(c); k += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Strings of a few long values that repeat (TLS cipher names over `StringCache`'s 32 bytes, such
/// as GnuTLS's `ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM`): up to 16, found by comparing
/// bytes, the oldest replaced first. Only saves allocations; not part of any saved state.
public struct FewStrings: Sendable {
    @usableFromInline var values: [String] = []
    @usableFromInline var next = 0

    public init() {}

    /// The span's text (absent: "").
    @inlinable public mutating func string(_ s: Span, in b: LineBytes) -> String {
        let bytes = b.buffer(s)
        for v in values where LineBytes.equal(bytes, v) { return v }
        let v = b.string(s)
        if values.count < 16 { values.append(v) } else { values[next] = v; next = (next + 1) & 15 }
        return v
    }
}

/// The Strings of recent Exim queue IDs (16 to 24 bytes: the 6-6-2 and 6-11-4 forms), so that
/// the ID an arrival makes is the one the previous hop's delivery (`250 OK id=X`, logged a few
/// lines later by another host) stores as its next queue ID. Direct-mapped by a hash of the ID's
/// words, `slots` entries (8 KB of keys and 4 KB of Strings: they stay in cache, where
/// `SharedStringCache`'s 4,096 entries did not: a new ID there read a cold entry and released
/// the cold String it evicted). Keys are the ID's first, second and last words and its length,
/// which tell any two IDs of 16 to 24 bytes apart. Two pointers (copies share the storage and
/// cost no reference counting); the owner calls `free()` once. Not part of any saved state.
public struct EximIDMemo: @unchecked Sendable {
    public static let slots = 256
    /// Per slot: first word, second word, last word, length (0: empty).
    @usableFromInline let keys: UnsafeMutablePointer<UInt64>
    @usableFromInline let values: UnsafeMutablePointer<String>

    /// An empty memo (its Strings are "", which hold no storage).
    public static func make() -> EximIDMemo {
        let keys = UnsafeMutablePointer<UInt64>.allocate(capacity: 4 * slots)
        keys.initialize(repeating: 0, count: 4 * slots)
        let values = UnsafeMutablePointer<String>.allocate(capacity: slots)
        values.initialize(repeating: "", count: slots)
        return EximIDMemo(keys: keys, values: values)
    }

    @usableFromInline init(keys: UnsafeMutablePointer<UInt64>, values: UnsafeMutablePointer<String>) {
        self.keys = keys; self.values = values
    }

    /// Whether `string(_:_:)` takes an ID of `n` bytes.
    @inlinable public static func fits(_ n: Int) -> Bool { n >= 16 && n <= 24 }

    /// The `n` bytes at `p` (`fits(n)`) as a String (`String(decoding:as:)`): the memo's when the
    /// same bytes were stored lately, else made and stored (replacing the slot's entry).
    @inlinable
    public func string(_ p: UnsafePointer<UInt8>, _ n: Int) -> String {
        let raw = UnsafeRawPointer(p)
        let w0 = raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        let w1 = raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        let w2 = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        var h = (w0 ^ UInt64(n)) &* 0x9E37_79B9_7F4A_7C15
        h ^= (w1 &* 0xC2B2_AE3D_27D4_EB4F) ^ (w2 &* 0x1656_67B1_9E37_79F9)
        let i = Int(truncatingIfNeeded: (h ^ (h >> 29)) >> 56)   // 0..<256
        let k = keys + 4 * i
        if k[0] == w0 && k[1] == w1 && k[2] == w2 && k[3] == UInt64(n) { return values[i] }
        let v = String(decoding: UnsafeBufferPointer(start: p, count: n), as: UTF8.self)
        k[0] = w0; k[1] = w1; k[2] = w2; k[3] = UInt64(n)
        values[i] = v
        return v
    }

    /// Frees the storage (once, by the owner; no copy may be used after).
    public func free() {
        values.deinitialize(count: EximIDMemo.slots)
        values.deallocate()
        keys.deallocate()
    }
}

/// Owns the storage of one `EximLine` (the parser keeps one and refills it per line).
public final class EximLineBuffer: @unchecked Sendable {
    /// The view of this buffer's fields (valid while the buffer lives).
    public let line: EximLine

    /// A buffer for a parser's lines: with a Strings cache shared by the correlators its lines go to.
    public convenience init() { self.init(sharedStrings: true) }

    /// `sharedStrings`: whether its lines share a `strings` cache (`EximLine.Fields.sharesStrings`).
    public init(sharedStrings: Bool) {
        let p = UnsafeMutablePointer<EximLine.Fields>.allocate(capacity: 1)
        p.initialize(to: EximLine.Fields(bytes: LineBytes(base: LineBytes.emptyBase, count: 0)))
        p.pointee.sharesStrings = sharedStrings
        line = EximLine(storage: p)
    }

    deinit {
        line.storage.pointee.queueIDs?.free()
        line.storage.deinitialize(count: 1)
        line.storage.deallocate()
    }
}
