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

public struct CopyBinary: Sendable {
    /// The encoded data so far.
    public private(set) var bytes: [UInt8]

    /// The 19-byte header every binary COPY stream starts with (signature, flags, extension length).
    public static let header: [UInt8] = Array("PGCOPY\n".utf8) + [0xFF, 0x0D, 0x0A, 0x00] + [0, 0, 0, 0] + [0, 0, 0, 0]
    /// The field count -1 that ends a binary COPY stream.
    public static let trailer: [UInt8] = [0xFF, 0xFF]
    /// Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's timestamp epoch.
    static let postgresEpochMicros: Int64 = 946_684_800_000_000

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
    }

    /// Appends bytes as they are (the header, the trailer, pre-encoded rows).
    public mutating func appendRaw<C: Collection>(_ raw: C) where C.Element == UInt8 {
        bytes.append(contentsOf: raw)
    }

    // MARK: Fields

    /// Starts a row of `fields` fields.
    @inline(__always) public mutating func beginRow(_ fields: Int) {
        bytes.append(UInt8(truncatingIfNeeded: fields >> 8)); bytes.append(UInt8(truncatingIfNeeded: fields))
    }

    @inline(__always) private mutating func be32(_ v: Int32) {
        let u = UInt32(bitPattern: v)
        bytes.append(UInt8(truncatingIfNeeded: u >> 24)); bytes.append(UInt8(truncatingIfNeeded: u >> 16))
        bytes.append(UInt8(truncatingIfNeeded: u >> 8)); bytes.append(UInt8(truncatingIfNeeded: u))
    }

    @inline(__always) private mutating func be64(_ v: Int64) {
        let u = UInt64(bitPattern: v)
        be32(Int32(bitPattern: UInt32(truncatingIfNeeded: u >> 32)))
        be32(Int32(bitPattern: UInt32(truncatingIfNeeded: u)))
    }

    /// SQL NULL.
    @inline(__always) public mutating func null() { be32(-1) }

    /// A `text` field (nil = NULL); NUL becomes U+FFFD.
    public mutating func text(_ value: String?) {
        guard var s = value else { return null() }
        s.withUTF8 { appendText($0) }
    }

    /// A `text` field from UTF-8 bytes; NUL becomes U+FFFD.
    private mutating func appendText(_ buf: UnsafeBufferPointer<UInt8>) {
        guard let base = buf.baseAddress, memchr(base, 0, buf.count) != nil else {
            be32(Int32(truncatingIfNeeded: buf.count))
            bytes.append(contentsOf: buf)
            return
        }
        var nuls = 0
        for b in buf where b == 0 { nuls += 1 }
        be32(Int32(truncatingIfNeeded: buf.count + 2 * nuls))
        for b in buf {
            if b == 0 { bytes.append(0xEF); bytes.append(0xBF); bytes.append(0xBD) } else { bytes.append(b) }
        }
    }

    /// A `bigint` field (nil = NULL).
    public mutating func int8(_ value: Int64?) {
        guard let v = value else { return null() }
        be32(8); be64(v)
    }

    /// An `integer` field (nil = NULL); a value outside the 32-bit range is NULL too.
    public mutating func int4(_ value: Int?) {
        guard let v = value, let i = Int32(exactly: v) else { return null() }
        be32(4); be32(i)
    }

    /// A `real` field (nil = NULL): the nearest 4-byte float.
    public mutating func float4(_ value: Double?) {
        guard let v = value else { return null() }
        be32(4); be32(Int32(bitPattern: Float(v).bitPattern))
    }

    /// A `timestamptz` field (nil = NULL), microseconds exact.
    public mutating func timestamptz(_ value: Timestamp?) {
        guard let t = value else { return null() }
        be32(8); be64(t.micros &- CopyBinary.postgresEpochMicros)
    }

    /// A `bytea` field (nil = NULL): the bytes exactly.
    public mutating func bytea(_ value: [UInt8]?) {
        guard let b = value else { return null() }
        be32(Int32(truncatingIfNeeded: b.count))
        bytes.append(contentsOf: b)
    }

    /// An `inet` field: the address when `inet_pton` accepts it (an `IPv6:` prefix is dropped),
    /// else NULL.
    public mutating func inet(_ value: String?) {
        guard var v = value else { return null() }
        var address = (UInt64(0), UInt64(0))
        let parsed = v.withUTF8 { CopyBinary.parseIP($0, into: &address)?.v6 }
        guard let v6 = parsed else { return null() }
        let n = v6 ? 16 : 4
        be32(Int32(4 + n))
        // PGSQL_AF_INET is AF_INET (2), PGSQL_AF_INET6 is AF_INET + 1; host address: all bits, not cidr.
        bytes.append(v6 ? 3 : 2); bytes.append(v6 ? 128 : 32); bytes.append(0); bytes.append(UInt8(n))
        withUnsafeBytes(of: &address) { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
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
        beginRow(29)
        timestamptz(m.receivedAt); int8(m.msgKey); text(m.host); text(m.mta); text(m.instance)
        text(m.queueID); text(m.messageID); text(m.sender)
        text(m.client.name); inet(m.client.ip); int4(m.client.port)
        int8(m.size); int4(m.nrcpt); text(m.proto); text(m.helo)
        text(m.tls?.proto); text(m.tls?.cipher); int4(m.tls?.bits); text(m.tls?.trust)
        text(m.saslMethod); text(m.saslUsername)
        text(m.originQueueID); text(m.originKind?.rawValue)
        text(m.subject); text(m.localUser); text(m.dkimResult); text(m.dkimDomain)
        text(m.spamVerdict); float4(m.spamScore)
    }

    /// One `deliveries` row; `delays` fills the four delay parts in order (no `delays`: four NULLs).
    public mutating func append(_ d: DeliveryRecord) {
        beginRow(28)
        timestamptz(d.at); int8(d.msgKey); text(d.host); text(d.instance); text(d.queueID)
        timestamptz(d.receivedAt); text(d.recipient); text(d.origRecipient)
        text(d.status.rawValue); text(d.dsn); text(d.transport)
        text(d.relay.name); inet(d.relay.ip); int4(d.relay.port)
        float4(d.delay)
        for k in 0..<4 { float4(d.delays?[k]) }
        int4(d.connUse); text(d.tlsFeature)
        text(d.tls?.proto); text(d.tls?.cipher); int4(d.tls?.bits)
        text(d.response); text(d.nextQueueID)
        text(d.router); text(d.tls?.trust)
    }

    /// A `text` field from a packed row's bytes (`.none` = NULL), by the rule of the String
    /// `RowText.string` makes of them: valid UTF-8 as it is (NUL becomes U+FFFD), anything else
    /// through that String.
    @inline(__always)
    public mutating func text(_ ref: TextRef, in t: RowText) {
        guard ref.isPresent else { return null() }
        let b = t.bytes(ref)
        if RowText.isValidUTF8(b) { appendText(b) } else { text(t.string(ref)) }
    }

    /// An `inet` field from a packed row's bytes (`inet(_: String?)`'s rule: a byte that is not
    /// ASCII is not an address either way).
    public mutating func inet(_ ref: TextRef, in t: RowText) {
        guard ref.isPresent else { return null() }
        var address = (UInt64(0), UInt64(0))
        guard let v6 = CopyBinary.parseIP(t.bytes(ref), into: &address)?.v6 else { return null() }
        let n = v6 ? 16 : 4
        be32(Int32(4 + n))
        bytes.append(v6 ? 3 : 2); bytes.append(v6 ? 128 : 32); bytes.append(0); bytes.append(UInt8(n))
        withUnsafeBytes(of: &address) { bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
    }

    /// One `messages` row from a packed row and its batch's text (the columns of `append(_: MessageRecord)`).
    public mutating func append(_ m: PackedMessage, text t: RowText) {
        beginRow(29)
        timestamptz(m.receivedAt); int8(m.msgKey); text(m.host); text(m.mta); text(m.instance)
        text(m.queueID, in: t); text(m.messageID, in: t); text(m.sender, in: t)
        text(m.clientName, in: t); inet(m.clientIP, in: t); int4(m.clientPort)
        int8(m.size); int4(m.nrcpt); text(m.proto, in: t); text(m.helo, in: t)
        text(m.tls?.proto); text(m.tls?.cipher); int4(m.tls?.bits); text(m.tls?.trust)
        text(m.saslMethod, in: t); text(m.saslUsername, in: t)
        text(m.originQueueID, in: t); text(m.originKind?.rawValue)
        text(m.subject, in: t); text(m.localUser, in: t); text(m.dkimResult, in: t); text(m.dkimDomain, in: t)
        text(m.spamVerdict, in: t); float4(m.spamScore)
    }

    /// One `deliveries` row from a packed row and its batch's text (the columns of `append(_: DeliveryRecord)`).
    public mutating func append(_ d: PackedDelivery, text t: RowText) {
        beginRow(28)
        timestamptz(d.at); int8(d.msgKey); text(d.host); text(d.instance); text(d.queueID, in: t)
        timestamptz(d.receivedAt); text(d.recipient, in: t); text(d.origRecipient, in: t)
        text(d.status.rawValue); text(d.dsn, in: t); text(d.transport, in: t)
        text(d.relayName, in: t); inet(d.relayIP, in: t); int4(d.relayPort)
        float4(d.delay)
        for k in 0..<4 { float4(d.delays?[k]) }
        int4(d.connUse); text(d.tlsFeature, in: t)
        text(d.tls?.proto); text(d.tls?.cipher); int4(d.tls?.bits)
        text(d.response, in: t); text(d.nextQueueID, in: t)
        text(d.router, in: t); text(d.tls?.trust)
    }

    /// One `rejections` row.
    public mutating func append(_ r: RejectionRecord) {
        beginRow(18)
        timestamptz(r.at); int8(r.msgKey); text(r.host); text(r.instance); text(r.queueID)
        text(r.program); text(r.action); text(r.stage)
        text(r.client.name); inet(r.client.ip); int4(r.client.port)
        text(r.helo); text(r.sender); text(r.recipient); text(r.proto)
        text(r.code); text(r.dsn); text(r.reason)
    }

    /// One `unparsed_lines` row of source `sourceID` (raw bytes exact).
    public mutating func append(_ u: UnparsedLine, sourceID: Int64) {
        beginRow(7)
        timestamptz(u.at); int8(sourceID); text(u.host); int8(u.lineNumber); int8(u.offset); text(u.reason); bytea(u.raw)
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
        if encoder.bytes.count >= chunkSize { try flush() }
    }

    /// Sends whatever is buffered. The corresponding libpq function is `PQputCopyData`.
    public mutating func flush() throws {
        guard !encoder.bytes.isEmpty else { return }
        try encoder.bytes.withUnsafeBufferPointer { try send($0) }
        bytesSent += Int64(encoder.bytes.count)
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
        try flush()
        var start = 0
        while start < raw.count {
            let end = min(start + chunkSize, raw.count)
            try raw.withUnsafeBufferPointer { try send(UnsafeBufferPointer(rebasing: $0[start..<end])) }
            bytesSent += Int64(end - start)
            start = end
        }
    }
}
