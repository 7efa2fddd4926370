/// CopyBinary: encoder of PostgreSQL binary COPY data (`COPY … FROM STDIN
/// (FORMAT binary)`) into a reusable byte buffer, with the row encoders of
/// the fact tables; and `CopySink`, the chunked writer `PGConnection.copyIn`
/// hands to its caller.
///
/// Contract (PostgreSQL's binary COPY format, network byte order):
/// * Data = `header`, rows, `trailer`. A row = int16 field count, then per
///   field an int32 byte length (-1 = SQL NULL) and the value in the binary
///   form of the column's type: `text` as UTF-8 bytes, `bigint` 8 bytes,
///   `integer` 4 bytes, `real` a 4-byte IEEE float, `timestamptz` 8 bytes of
///   microseconds since 2000-01-01 00:00 UTC, `inet` family/bits/is_cidr/
///   length/address bytes, `bytea` the bytes. Nothing is escaped: a value is
///   its length and its bytes, so any text (tabs, backslashes, quotes, SQL)
///   round-trips exactly and the server parses no text.
/// * The row encoders write exactly the columns of the `*Columns` lists, in
///   that order, with the types of the tables (sql/migrations); the server
///   refuses a field whose length does not fit its type, so a mismatch fails
///   loudly, never silently.
/// * **The NUL / UTF-8 rule.** PostgreSQL `text` cannot hold U+0000, so NUL
///   becomes U+FFFD (the replacement character). Swift `String`s are always
///   valid Unicode: invalid UTF-8 in the log was already replaced by U+FFFD
///   upstream when the String was made; a packed row's bytes (`RowText`) are
///   written as they are when valid UTF-8, else as the String made of them
///   (the same repair), so a packed row and its record encode alike.
///   Nothing else is altered. Lines whose
///   exact bytes matter are kept in `unparsed_lines.raw` (bytea).
/// * Values a column cannot hold become NULL instead of failing the batch:
///   `inet` fields accept only what `inet_pton` accepts (IPv4 dotted quad,
///   IPv6, optional `IPv6:` prefix), not `unknown` or a zone id; `integer`
///   fields (ports, counts, key bits) outside the 32-bit range.
/// * `real` fields get the nearest 4-byte float of the Double; infinities and
///   NaN pass as such.
/// * The buffer is the encoder's own (copy-on-write, like `RowText`): fields
///   are written with unaligned big-endian stores, and a text field is copied
///   in words that are tested for a zero byte as they pass; `[UInt8]` appends
///   cost about 125 instructions a field (round 18, docs/performance-history.md).
///   `bytes` is a copy; `withBytes` lends the bytes without one.
/// Limits: the caller must write each row's fields in the order and types of
/// the COPY column list. Not thread-safe (a value type).
import MailTrailModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct CopyBinary: @unchecked Sendable {
    /// Owns the buffer; replaced (not changed) when the buffer grows or is shared.
    @usableFromInline var storage: ByteStorage
    /// `storage.base` and `.capacity`, held here: reading them through the class costs a load each.
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    /// Bytes encoded so far.
    public private(set) var count: Int = 0

    /// The 19-byte header every binary COPY stream starts with (signature, flags, extension length).
    public static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    /// The field count -1 that ends a binary COPY stream.
    public static let trailer: [UInt8] = [0xFF, 0xFF]
    /// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
    static let postgresEpochMicros: Int64 = 946_684_800_000_000

    public init(capacity: Int = 0) {
        storage = ByteStorage(capacity: max(capacity, 256))
        base = storage.base
        self.capacity = storage.capacity
    }

    /// The encoded data so far (a copy; `withBytes` lends them without one).
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Whether nothing is encoded.
    public var isEmpty: Bool { count == 0 }

    /// Calls `body` with the encoded bytes (valid during the call only).
    public func withBytes<R>(_ body: (UnsafeBufferPointer<UInt8>) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeBufferPointer(start: base, count: count)) }
    }

    /// Empties the buffer, keeping its capacity (a fresh one when a copy shares it).
    public mutating func removeAll() {
        if !isKnownUniquelyReferenced(&storage) { replace(minimumCapacity: capacity, keeping: 0) }
        count = 0
    }

    /// Appends bytes as they are (the header, the trailer, pre-encoded rows).
    public mutating func appendRaw<C: Collection>(_ raw: C) where C.Element == UInt8 {
        claim()
        room(raw.count)
        let done = raw.withContiguousStorageIfAvailable { b -> Bool in
            if let p = b.baseAddress { (base + count).update(from: p, count: b.count) }
            return true
        }
        if done == nil {
            var i = count
            for x in raw { base[i] = x; i &+= 1 }
        }
        count &+= raw.count
    }

    // MARK: Buffer

    @usableFromInline @inline(never)
    mutating func replace(minimumCapacity: Int, keeping: Int) {
        storage = ByteStorage(replacing: base, capacity: max(capacity, 256), minimum: minimumCapacity, keeping: keeping)
        base = storage.base; capacity = storage.capacity
    }

    /// Makes the buffer this value's alone (a copy made since keeps its bytes). Every public
    /// writer calls it once (a row encoder once per row: the check is a runtime call); the
    /// `w`-prefixed writers below do not.
    @inline(__always) mutating func claim() {
        if _slowPath(!isKnownUniquelyReferenced(&storage)) { replace(minimumCapacity: capacity, keeping: count) }
    }

    /// Room for `n` more bytes.
    @inline(__always) mutating func room(_ n: Int) {
        if _slowPath(count &+ n > capacity) { replace(minimumCapacity: count &+ n, keeping: count) }
    }

    @inline(__always) mutating func put16(_ v: UInt16) {
        room(2)
        UnsafeMutableRawPointer(base + count).storeBytes(of: v.bigEndian, as: UInt16.self)
        count &+= 2
    }

    @inline(__always) mutating func put32(_ v: UInt32) {
        room(4)
        UnsafeMutableRawPointer(base + count).storeBytes(of: v.bigEndian, as: UInt32.self)
        count &+= 4
    }

    @inline(__always) mutating func put64(_ v: UInt64) {
        room(8)
        UnsafeMutableRawPointer(base + count).storeBytes(of: v.bigEndian, as: UInt64.self)
        count &+= 8
    }

    // MARK: Fields

    /// Starts a row of `fields` fields.
    @inline(__always) public mutating func beginRow(_ fields: Int) { claim(); wBeginRow(fields) }
    /// SQL NULL.
    @inline(__always) public mutating func null() { claim(); wNull() }
    /// A `text` field (nil = NULL); NUL becomes U+FFFD.
    public mutating func text(_ value: String?) { claim(); wText(value) }
    /// A `bigint` field (nil = NULL).
    public mutating func int8(_ value: Int64?) { claim(); wInt8(value) }
    /// An `integer` field (nil = NULL); a value outside the 32-bit range is NULL too.
    public mutating func int4(_ value: Int?) { claim(); wInt4(value) }
    /// A `real` field (nil = NULL): the nearest 4-byte float.
    public mutating func float4(_ value: Double?) { claim(); wFloat4(value) }
    /// A `timestamptz` field (nil = NULL), microseconds exact.
    public mutating func timestamptz(_ value: Timestamp?) { claim(); wTimestamptz(value) }
    /// A `bytea` field (nil = NULL): the bytes exactly.
    public mutating func bytea(_ value: [UInt8]?) { claim(); wBytea(value) }
    /// An `inet` field: the address when `inet_pton` accepts it (an `IPv6:` prefix is dropped),
    /// else NULL.
    public mutating func inet(_ value: String?) { claim(); wInet(value) }
    /// A `text` field from a packed row's bytes (`.none` = NULL), by the rule of the String
    /// `RowText.string` makes of them: valid UTF-8 as it is (NUL becomes U+FFFD), anything else
    /// through that String.
    public mutating func text(_ ref: TextRef, in t: RowText) { claim(); wText(ref, in: t) }
    /// An `inet` field from a packed row's bytes (`inet(_: String?)`'s rule: a byte that is not
    /// ASCII is not an address either way).
    public mutating func inet(_ ref: TextRef, in t: RowText) { claim(); wInet(ref, in: t) }

    // The writers without `claim()` (see `claim`).

    @inline(__always) mutating func wBeginRow(_ fields: Int) { put16(UInt16(truncatingIfNeeded: fields)) }

    @inline(__always) mutating func wNull() { put32(UInt32.max) }

    @inline(__always) mutating func wText(_ value: String?) {
        guard var s = value else { return wNull() }
        s.withUTF8 { wText($0) }
    }

    @inline(__always) mutating func wText(_ buf: UnsafeBufferPointer<UInt8>) {
        guard let p = buf.baseAddress else { return put32(0) }
        wText(p, buf.count)
    }

    /// A `text` field of `n` bytes at `p`: length and bytes copied in one pass that also looks
    /// for NUL (a field with one is written again by `wTextWithNULs`).
    @inline(__always) mutating func wText(_ p: UnsafePointer<UInt8>, _ n: Int) {
        room(4 &+ n)
        let start = count
        UnsafeMutableRawPointer(base + start).storeBytes(of: UInt32(truncatingIfNeeded: n).bigEndian, as: UInt32.self)
        if _slowPath(CopyBinary.copyFindingNUL(base + (start &+ 4), p, n)) { return wTextWithNULs(p, n) }
        count = start &+ 4 &+ n
    }

    /// Copies `n` bytes from `src` to `dst`; whether one of them is NUL. Fields are mostly
    /// short: whole unaligned words (the last one overlapping) tested for a zero byte as they
    /// pass, where `memcpy` and `memchr` calls cost more than the work; long ones by those calls.
    @inline(__always)
    static func copyFindingNUL(_ to: UnsafeMutablePointer<UInt8>, _ from: UnsafePointer<UInt8>, _ n: Int) -> Bool {
        let dst = UnsafeMutableRawPointer(to), src = UnsafeRawPointer(from)
        let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
        if n >= 8 && n <= 256 {
            var zero: UInt64 = 0
            var i = 0
            while i &+ 8 < n {
                let w = src.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                zero |= (w &- ones) & ~w & highs
                dst.storeBytes(of: w, toByteOffset: i, as: UInt64.self)
                i &+= 8
            }
            let w = src.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self)
            zero |= (w &- ones) & ~w & highs
            dst.storeBytes(of: w, toByteOffset: n &- 8, as: UInt64.self)
            return zero != 0
        }
        if n > 256 {
            dst.copyMemory(from: src, byteCount: n)
            return memchr(src, 0, n) != nil
        }
        var i = 0, nul = false
        while i < n { let b = from[i]; nul = nul || b == 0; to[i] = b; i &+= 1 }
        return nul
    }

    /// `wText` of bytes holding NUL: each NUL becomes U+FFFD (EF BF BD).
    @inline(never) mutating func wTextWithNULs(_ p: UnsafePointer<UInt8>, _ n: Int) {
        var nuls = 0
        for i in 0..<n where p[i] == 0 { nuls += 1 }
        put32(UInt32(truncatingIfNeeded: n + 2 * nuls))
        room(n + 2 * nuls)
        var o = count
        for i in 0..<n {
            if p[i] == 0 { base[o] = 0xEF; base[o &+ 1] = 0xBF; base[o &+ 2] = 0xBD; o &+= 3 } else { base[o] = p[i]; o &+= 1 }
        }
        count = o
    }

    @inline(__always) mutating func wInt8(_ value: Int64?) {
        guard let v = value else { return wNull() }
        put32(8); put64(UInt64(bitPattern: v))
    }

    @inline(__always) mutating func wInt4(_ value: Int?) {
        guard let v = value, let i = Int32(exactly: v) else { return wNull() }
        put64(4 << 32 | UInt64(UInt32(bitPattern: i)))
    }

    @inline(__always) mutating func wFloat4(_ value: Double?) {
        guard let v = value else { return wNull() }
        put64(4 << 32 | UInt64(Float(v).bitPattern))
    }

    @inline(__always) mutating func wTimestamptz(_ value: Timestamp?) {
        guard let t = value else { return wNull() }
        put32(8); put64(UInt64(bitPattern: t.micros &- CopyBinary.postgresEpochMicros))
    }

    mutating func wBytea(_ value: [UInt8]?) {
        guard let b = value else { return wNull() }
        put32(UInt32(truncatingIfNeeded: b.count))
        room(b.count)
        b.withUnsafeBufferPointer { u in if let p = u.baseAddress { (base + count).update(from: p, count: u.count) } }
        count &+= b.count
    }

    mutating func wInet(_ value: String?) {
        guard var v = value else { return wNull() }
        var address = (UInt64(0), UInt64(0))
        let parsed = v.withUTF8 { CopyBinary.parseIP($0, into: &address)?.v6 }
        guard let v6 = parsed else { return wNull() }
        wInetValue(v6, address)
    }

    @inline(__always) mutating func wText(_ ref: TextRef, in t: RowText) {
        guard ref.isPresent else { return wNull() }
        let b = t.bytes(ref)
        if RowText.isValidUTF8(b) { wText(b) } else { wText(t.string(ref)) }
    }

    mutating func wInet(_ ref: TextRef, in t: RowText) {
        guard ref.isPresent else { return wNull() }
        var address = (UInt64(0), UInt64(0))
        guard let v6 = CopyBinary.parseIP(t.bytes(ref), into: &address)?.v6 else { return wNull() }
        wInetValue(v6, address)
    }

    /// An inet value: PGSQL_AF_INET is AF_INET (2), PGSQL_AF_INET6 is AF_INET + 1; a host
    /// address (all bits), not cidr; `address` in network order.
    @inline(__always) mutating func wInetValue(_ v6: Bool, _ address: (UInt64, UInt64)) {
        let n = v6 ? 16 : 4
        put32(UInt32(4 + n))
        put32(v6 ? 0x0380_0010 : 0x0220_0004)
        room(n)
        var a = address
        withUnsafeBytes(of: &a) { (base + count).update(from: $0.bindMemory(to: UInt8.self).baseAddress!, count: n) }
        count &+= n
    }

    /// The address in the form PostgreSQL's inet accepts, or nil.
    public static func validIP(_ s: String) -> String? {
        var s = s
        var address = (UInt64(0), UInt64(0))
        return s.withUTF8 { buf in
            parseIP(buf, into: &address).map { String(decoding: UnsafeBufferPointer(rebasing: buf[$0.range]), as: UTF8.self) }
        }
    }

    /// Parses the bytes of `b` that `inet_pton` accepts as an IPv4 or IPv6 address (after an
    /// optional `IPv6:` prefix, any case) into `address` (network order); returns their range
    /// and whether it is IPv6, or nil. No allocation: the candidate is checked in a stack copy.
    static func parseIP(_ b: UnsafeBufferPointer<UInt8>, into address: inout (UInt64, UInt64)) -> (range: Range<Int>, v6: Bool)? {
        var start = 0
        if b.count > 5, b[0] | 0x20 == UInt8(ascii: "i"), b[1] | 0x20 == UInt8(ascii: "p"),
           b[2] | 0x20 == UInt8(ascii: "v"), b[3] == UInt8(ascii: "6"), b[4] == UInt8(ascii: ":") {
            start = 5
        }
        let n = b.count - start
        if n == 0 || n > 45 { return nil }
        var candidate: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)   // 48 bytes, NUL-filled
        return withUnsafeMutableBytes(of: &candidate) { c -> (range: Range<Int>, v6: Bool)? in
            var v6 = false
            for i in 0..<n {
                let byte = b[start + i]
                if byte == 0 { return nil }
                if byte == UInt8(ascii: ":") { v6 = true }
                c[i] = byte
            }
            let rc = withUnsafeMutableBytes(of: &address) { a in
                inet_pton(v6 ? AF_INET6 : AF_INET, c.baseAddress!.assumingMemoryBound(to: CChar.self), a.baseAddress)
            }
            return rc == 1 ? (start..<b.count, v6) : nil
        }
    }
}

// MARK: - Rows of the fact tables

extension CopyBinary {
    /// COPY column list of `mailtrail.messages` (and its day partitions), in the order `append(_: MessageRecord)` writes.
    public static let messageColumns = [
        "received_at", "msg_key", "host", "mta", "instance", "queue_id", "message_id", "sender",
        "client_name", "client_ip", "client_port", "size", "nrcpt", "proto", "helo",
        "tls_proto", "tls_cipher", "tls_bits", "tls_trust", "sasl_method", "sasl_username",
        "origin_queue_id", "origin_kind",
        "subject", "local_user", "dkim_result", "dkim_domain", "spam_verdict", "spam_score",
    ]
    /// COPY column list of `mailtrail.deliveries`.
    public static let deliveryColumns = [
        "at", "msg_key", "host", "instance", "queue_id", "received_at", "recipient", "orig_recipient",
        "status", "dsn", "transport", "relay_name", "relay_ip", "relay_port",
        "delay", "delay_before_qmgr", "delay_in_qmgr", "delay_conn", "delay_xmit",
        "conn_use", "tls_feature", "tls_proto", "tls_cipher", "tls_bits", "response", "next_queue_id",
        "router", "tls_trust",
    ]
    /// COPY column list of `mailtrail.rejections`.
    public static let rejectionColumns = [
        "at", "msg_key", "host", "instance", "queue_id", "program", "action", "stage",
        "client_name", "client_ip", "client_port", "helo", "sender", "recipient", "proto",
        "code", "dsn", "reason",
    ]
    /// COPY column list of `mailtrail.unparsed_lines`.
    public static let unparsedColumns = ["at", "source_id", "host", "line_number", "byte_offset", "reason", "raw"]

    /// One `messages` row.
    public mutating func append(_ m: MessageRecord) {
        claim(); wBeginRow(29)
        wTimestamptz(m.receivedAt); wInt8(m.msgKey); wText(m.host); wText(m.mta); wText(m.instance)
        wText(m.queueID); wText(m.messageID); wText(m.sender)
        wText(m.client.name); wInet(m.client.ip); wInt4(m.client.port)
        wInt8(m.size); wInt4(m.nrcpt); wText(m.proto); wText(m.helo)
        wText(m.tls?.proto); wText(m.tls?.cipher); wInt4(m.tls?.bits); wText(m.tls?.trust)
        wText(m.saslMethod); wText(m.saslUsername)
        wText(m.originQueueID); wText(m.originKind?.rawValue)
        wText(m.subject); wText(m.localUser); wText(m.dkimResult); wText(m.dkimDomain)
        wText(m.spamVerdict); wFloat4(m.spamScore)
    }

    /// One `deliveries` row; `delays` fills the four delay parts in order (no `delays`: four NULLs).
    public mutating func append(_ d: DeliveryRecord) {
        claim(); wBeginRow(28)
        wTimestamptz(d.at); wInt8(d.msgKey); wText(d.host); wText(d.instance); wText(d.queueID)
        wTimestamptz(d.receivedAt); wText(d.recipient); wText(d.origRecipient)
        wText(d.status.rawValue); wText(d.dsn); wText(d.transport)
        wText(d.relay.name); wInet(d.relay.ip); wInt4(d.relay.port)
        wFloat4(d.delay)
        for k in 0..<4 { wFloat4(d.delays?[k]) }
        wInt4(d.connUse); wText(d.tlsFeature)
        wText(d.tls?.proto); wText(d.tls?.cipher); wInt4(d.tls?.bits)
        wText(d.response); wText(d.nextQueueID)
        wText(d.router); wText(d.tls?.trust)
    }

    /// One `messages` row from a packed row and its batch's text (the columns of `append(_: MessageRecord)`).
    public mutating func append(_ m: PackedMessage, text t: RowText) {
        claim(); wBeginRow(29)
        wTimestamptz(m.receivedAt); wInt8(m.msgKey); wText(m.host); wText(m.mta); wText(m.instance)
        wText(m.queueID, in: t); wText(m.messageID, in: t); wText(m.sender, in: t)
        wText(m.clientName, in: t); wInet(m.clientIP, in: t); wInt4(m.clientPort)
        wInt8(m.size); wInt4(m.nrcpt); wText(m.proto, in: t); wText(m.helo, in: t)
        wText(m.tls?.proto); wText(m.tls?.cipher); wInt4(m.tls?.bits); wText(m.tls?.trust)
        wText(m.saslMethod, in: t); wText(m.saslUsername, in: t)
        wText(m.originQueueID, in: t); wText(m.originKind?.rawValue)
        wText(m.subject, in: t); wText(m.localUser, in: t); wText(m.dkimResult, in: t); wText(m.dkimDomain, in: t)
        wText(m.spamVerdict, in: t); wFloat4(m.spamScore)
    }

    /// One `deliveries` row from a packed row and its batch's text (the columns of `append(_: DeliveryRecord)`).
    public mutating func append(_ d: PackedDelivery, text t: RowText) {
        claim(); wBeginRow(28)
        wTimestamptz(d.at); wInt8(d.msgKey); wText(d.host); wText(d.instance); wText(d.queueID, in: t)
        wTimestamptz(d.receivedAt); wText(d.recipient, in: t); wText(d.origRecipient, in: t)
        wText(d.status.rawValue); wText(d.dsn, in: t); wText(d.transport, in: t)
        wText(d.relayName, in: t); wInet(d.relayIP, in: t); wInt4(d.relayPort)
        wFloat4(d.delay)
        for k in 0..<4 { wFloat4(d.delays?[k]) }
        wInt4(d.connUse); wText(d.tlsFeature, in: t)
        wText(d.tls?.proto); wText(d.tls?.cipher); wInt4(d.tls?.bits)
        wText(d.response, in: t); wText(d.nextQueueID, in: t)
        wText(d.router, in: t); wText(d.tls?.trust)
    }

    /// One `rejections` row.
    public mutating func append(_ r: RejectionRecord) {
        claim(); wBeginRow(18)
        wTimestamptz(r.at); wInt8(r.msgKey); wText(r.host); wText(r.instance); wText(r.queueID)
        wText(r.program); wText(r.action); wText(r.stage)
        wText(r.client.name); wInet(r.client.ip); wInt4(r.client.port)
        wText(r.helo); wText(r.sender); wText(r.recipient); wText(r.proto)
        wText(r.code); wText(r.dsn); wText(r.reason)
    }

    /// One `unparsed_lines` row of source `sourceID` (raw bytes exact).
    public mutating func append(_ u: UnparsedLine, sourceID: Int64) {
        claim(); wBeginRow(7)
        wTimestamptz(u.at); wInt8(sourceID); wText(u.host); wInt8(u.lineNumber); wInt8(u.offset); wText(u.reason); wBytea(u.raw)
    }
}

// MARK: - CopySink

/// What `PGConnection.copyIn` gives its `write` closure: a byte buffer (`encoder`) that is sent
/// to the server whenever it holds at least `chunkSize` bytes (and once more at the end), and
/// `send(encoded:)` for data encoded beforehand. The data is whatever the COPY statement's
/// format expects (binary for the loader, text in some tests).
public struct CopySink {
    /// The buffer; its bytes are sent and cleared by `flush()`.
    public var encoder: CopyBinary
    /// Flush threshold in bytes.
    public let chunkSize: Int
    /// Bytes handed to libpq so far.
    public private(set) var bytesSent: Int64 = 0
    private let send: (UnsafeBufferPointer<UInt8>) throws -> Void

    init(chunkSize: Int, send: @escaping (UnsafeBufferPointer<UInt8>) throws -> Void) {
        self.chunkSize = max(chunkSize, 1024)
        self.encoder = CopyBinary(capacity: self.chunkSize + 64 * 1024)
        self.send = send
    }

    /// Sends the buffer when it holds at least `chunkSize` bytes.
    public mutating func flushIfNeeded() throws {
        if encoder.count >= chunkSize { try flush() }
    }

    /// Sends whatever is buffered. The corresponding libpq function is `PQputCopyData`.
    public mutating func flush() throws {
        guard !encoder.isEmpty else { return }
        try encoder.withBytes { try send($0) }
        bytesSent += Int64(encoder.count)
        encoder.removeAll()
    }

    /// Appends raw COPY data (whole rows in the statement's format).
    public mutating func write<C: Collection>(raw: C) throws where C.Element == UInt8 {
        encoder.appendRaw(raw)
        try flushIfNeeded()
    }

    /// Sends COPY data encoded beforehand straight from `raw`, in slices of `chunkSize` bytes,
    /// after whatever the buffer holds; no copy is made.
    public mutating func send(encoded raw: [UInt8]) throws {
        try raw.withUnsafeBufferPointer { try send(encoded: $0) }
    }

    /// `send(encoded:)` of data a `CopyBinary` holds.
    public mutating func send(encoded data: CopyBinary) throws {
        try data.withBytes { try send(encoded: $0) }
    }

    private mutating func send(encoded raw: UnsafeBufferPointer<UInt8>) throws {
        try flush()
        var start = 0
        while start < raw.count {
            let end = min(start + chunkSize, raw.count)
            try send(UnsafeBufferPointer(rebasing: raw[start..<end]))
            bytesSent += Int64(end - start)
            start = end
        }
    }
}
