/// CopyText: encoder of PostgreSQL COPY text-format rows into a reusable byte buffer,
/// and `CopySink`, the chunked writer `PGConnection.copyIn` hands to its caller.
///
/// Contract (COPY … FROM STDIN, text format, default delimiter TAB, NULL `\N`):
/// * Fields are separated by TAB, rows end with LF; SQL NULL is `\N`.
/// * In text values, backslash, TAB, LF and CR are escaped as `\\`, `\t`, `\n`,
///   `\r`, and backspace, form feed and vertical tab as `\b`, `\f`, `\v`. Every
///   other byte is written as is, so any Unicode text round-trips exactly.
/// * **The NUL / UTF-8 rule.** PostgreSQL `text` cannot hold U+0000, so NUL
///   becomes U+FFFD (the replacement character). Swift `String`s are always
///   valid Unicode: invalid UTF-8 in the log was already replaced by U+FFFD
///   upstream when the String was made. Nothing else is altered. Lines whose
///   exact bytes matter are kept in `unparsed_lines.raw` (bytea).
/// * bytea is written as `\\x` + lowercase hex, so any bytes round-trip.
/// * Timestamps are RFC 3339 UTC exactly as `Timestamp.rfc3339`
///   (`2024-03-01T12:00:00Z`, `.ffffff` only when non-zero).
/// * Doubles use Swift's shortest round-trip form (which PostgreSQL's float
///   input reads, exponent form included); infinities and NaN are spelled
///   `Infinity`, `-Infinity`, `NaN`.
/// * `inet` fields accept only what `inet_pton` accepts (IPv4 dotted quad,
///   IPv6, optional `IPv6:` prefix); anything else (`unknown`, a zone id) is
///   written as NULL so one odd log line cannot fail a batch.
/// Limits: the caller must write the fields in the order of the COPY column
/// list (`*Columns` below for the staging tables). Not thread-safe (a value type).
import MailTrailModel
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

public struct CopyText: Sendable {
    /// The encoded rows so far.
    public private(set) var bytes: [UInt8]
    private var atRowStart = true

    public init(capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Empties the buffer, keeping its capacity.
    public mutating func removeAll() {
        bytes.removeAll(keepingCapacity: true)
        atRowStart = true
    }

    // MARK: Fields

    @inline(__always) private mutating func separator() {
        if atRowStart { atRowStart = false } else { bytes.append(0x09) }
    }

    /// SQL NULL.
    public mutating func null() {
        separator()
        bytes.append(0x5C); bytes.append(UInt8(ascii: "N"))
    }

    /// A text field (nil = NULL), escaped; NUL becomes U+FFFD.
    public mutating func text(_ value: String?) {
        guard var s = value else { return null() }
        separator()
        s.withUTF8 { appendEscaped($0) }
    }

    /// An integer field (nil = NULL).
    public mutating func int<I: BinaryInteger>(_ value: I?) {
        guard let v = value else { return null() }
        separator()
        appendDecimal(Int64(v))
    }

    /// A float field (nil = NULL): shortest round-trip digits; `Infinity`, `-Infinity`, `NaN`.
    public mutating func double(_ value: Double?) {
        guard let v = value else { return null() }
        separator()
        if v.isNaN { bytes.append(contentsOf: "NaN".utf8) }
        else if v == .infinity { bytes.append(contentsOf: "Infinity".utf8) }
        else if v == -.infinity { bytes.append(contentsOf: "-Infinity".utf8) }
        else { bytes.append(contentsOf: v.description.utf8) }
    }

    /// A boolean field (nil = NULL): `t` / `f`.
    public mutating func bool(_ value: Bool?) {
        guard let v = value else { return null() }
        separator()
        bytes.append(v ? UInt8(ascii: "t") : UInt8(ascii: "f"))
    }

    /// A timestamptz field (nil = NULL) in RFC 3339 UTC, byte for byte `Timestamp.rfc3339`.
    public mutating func timestamp(_ value: Timestamp?) {
        guard let t = value else { return null() }
        separator()
        appendRFC3339(t)
    }

    /// A bytea field (nil = NULL) as `\\x` + hex: exact for any bytes.
    public mutating func bytea<C: Collection>(_ value: C?) where C.Element == UInt8 {
        guard let b = value else { return null() }
        separator()
        bytes.append(0x5C); bytes.append(0x5C); bytes.append(UInt8(ascii: "x"))
        bytes.reserveCapacity(bytes.count + 2 * b.count)
        for byte in b {
            bytes.append(PGResult.hexDigits[Int(byte >> 4)])
            bytes.append(PGResult.hexDigits[Int(byte & 0x0f)])
        }
    }

    /// An inet field: the address when `inet_pton` accepts it (an `IPv6:` prefix is dropped),
    /// else NULL.
    public mutating func inet(_ value: String?) {
        guard let v = value, let address = CopyText.validIP(v) else { return null() }
        text(address)
    }

    /// Ends the current row.
    public mutating func endRow() {
        bytes.append(0x0A)
        atRowStart = true
    }

    /// Appends bytes that are already COPY text (e.g. a pre-encoded row ending in LF).
    public mutating func appendRaw<C: Collection>(_ raw: C) where C.Element == UInt8 {
        bytes.append(contentsOf: raw)
        atRowStart = bytes.last == 0x0A
    }

    /// The escaped COPY text form of one value (for tests and diagnostics).
    public static func escape(_ s: String) -> String {
        var c = CopyText()
        c.text(s)
        return String(decoding: c.bytes, as: UTF8.self)
    }

    /// The address in the form PostgreSQL's inet accepts, or nil.
    public static func validIP(_ s: String) -> String? {
        var candidate = Substring(s)
        if candidate.count > 5, candidate.prefix(5).lowercased() == "ipv6:" { candidate = candidate.dropFirst(5) }
        let address = String(candidate)
        if address.isEmpty || address.utf8.count > 45 { return nil }
        var buf = (UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &buf) { p -> String? in
            if address.utf8.contains(UInt8(ascii: ":")) {
                return inet_pton(AF_INET6, address, p.baseAddress) == 1 ? address : nil
            }
            return inet_pton(AF_INET, address, p.baseAddress) == 1 ? address : nil
        }
    }

    // MARK: Internals

    private mutating func appendEscaped(_ buf: UnsafeBufferPointer<UInt8>) {
        var runStart = 0
        var i = 0
        let n = buf.count
        while i < n {
            let b = buf[i]
            if b >= 0x20 && b != 0x5C { i += 1; continue }
            if runStart < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<i])) }
            switch b {
            case 0x5C: bytes.append(0x5C); bytes.append(0x5C)
            case 0x09: bytes.append(0x5C); bytes.append(UInt8(ascii: "t"))
            case 0x0A: bytes.append(0x5C); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(0x5C); bytes.append(UInt8(ascii: "r"))
            case 0x08: bytes.append(0x5C); bytes.append(UInt8(ascii: "b"))
            case 0x0C: bytes.append(0x5C); bytes.append(UInt8(ascii: "f"))
            case 0x0B: bytes.append(0x5C); bytes.append(UInt8(ascii: "v"))
            case 0x00: bytes.append(0xEF); bytes.append(0xBF); bytes.append(0xBD)   // U+FFFD
            default: bytes.append(b)
            }
            i += 1
            runStart = i
        }
        if runStart < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[runStart..<n])) }
    }

    private mutating func appendDecimal(_ v: Int64) {
        if v == Int64.min { bytes.append(contentsOf: "-9223372036854775808".utf8); return }
        var x = v
        if x < 0 { bytes.append(UInt8(ascii: "-")); x = -x }
        if x < 10 { bytes.append(UInt8(ascii: "0") + UInt8(x)); return }
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &tmp) { p in
            var i = 20
            while x > 0 {
                i -= 1
                p[i] = UInt8(ascii: "0") + UInt8(x % 10)
                x /= 10
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: p[i..<20]))
        }
    }

    @inline(__always) private mutating func append2(_ v: Int) {
        bytes.append(UInt8(ascii: "0") + UInt8(v / 10))
        bytes.append(UInt8(ascii: "0") + UInt8(v % 10))
    }

    private mutating func appendRFC3339(_ t: Timestamp) {
        let s = t.seconds
        let day = s >= 0 ? s / 86_400 : (s - 86_399) / 86_400
        let date = CivilDate(daysSinceEpoch: day)
        let sod = Int(s - day * 86_400)
        let frac = t.micros - s * 1_000_000
        if (0...9999).contains(date.year) {
            append2(date.year / 100); append2(date.year % 100)
        } else {
            var y = String(date.year)
            while y.count < 4 { y = "0" + y }
            bytes.append(contentsOf: y.utf8)
        }
        bytes.append(UInt8(ascii: "-")); append2(date.month)
        bytes.append(UInt8(ascii: "-")); append2(date.day)
        bytes.append(UInt8(ascii: "T")); append2(sod / 3600)
        bytes.append(UInt8(ascii: ":")); append2(sod / 60 % 60)
        bytes.append(UInt8(ascii: ":")); append2(sod % 60)
        if frac != 0 {
            bytes.append(UInt8(ascii: "."))
            let f = Int(frac)
            var divisor = 100_000
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(f / divisor % 10))
                divisor /= 10
            }
        }
        bytes.append(UInt8(ascii: "Z"))
    }
}

// MARK: - Rows of the staging tables

extension CopyText {
    /// COPY column list of `pg_temp.stage_messages`, in the order `append(_: MessageRecord)` writes.
    public static let messageColumns = [
        "received_at", "msg_key", "host", "mta", "instance", "queue_id", "message_id", "sender",
        "client_name", "client_ip", "client_port", "size", "nrcpt", "proto", "helo",
        "tls_proto", "tls_cipher", "tls_bits", "tls_trust", "sasl_method", "sasl_username",
        "origin_queue_id", "origin_kind",
        "subject", "local_user", "dkim_result", "dkim_domain", "spam_verdict", "spam_score",
    ]
    /// COPY column list of `pg_temp.stage_deliveries`.
    public static let deliveryColumns = [
        "at", "msg_key", "host", "instance", "queue_id", "received_at", "recipient", "orig_recipient",
        "status", "dsn", "transport", "relay_name", "relay_ip", "relay_port",
        "delay", "delay_before_qmgr", "delay_in_qmgr", "delay_conn", "delay_xmit",
        "conn_use", "tls_feature", "tls_proto", "tls_cipher", "tls_bits", "response", "next_queue_id",
        "router", "tls_trust",
    ]
    /// COPY column list of `pg_temp.stage_rejections`.
    public static let rejectionColumns = [
        "at", "msg_key", "host", "instance", "queue_id", "program", "action", "stage",
        "client_name", "client_ip", "client_port", "helo", "sender", "recipient", "proto",
        "code", "dsn", "reason",
    ]
    /// COPY column list of `pg_temp.stage_unparsed` (the merge adds source_id).
    public static let unparsedColumns = ["at", "host", "line_number", "byte_offset", "reason", "raw"]
    /// COPY column list of `pg_temp.stage_counts`.
    public static let countColumns = ["host", "lines_read", "parsed", "ignored", "unparsed"]

    /// One `messages` row.
    public mutating func append(_ m: MessageRecord) {
        timestamp(m.receivedAt); int(m.msgKey); text(m.host); text(m.mta); text(m.instance)
        text(m.queueID); text(m.messageID); text(m.sender)
        text(m.client.name); inet(m.client.ip); int(m.client.port)
        int(m.size); int(m.nrcpt); text(m.proto); text(m.helo)
        text(m.tls?.proto); text(m.tls?.cipher); int(m.tls?.bits); text(m.tls?.trust)
        text(m.saslMethod); text(m.saslUsername)
        text(m.originQueueID); text(m.originKind?.rawValue)
        text(m.subject); text(m.localUser); text(m.dkimResult); text(m.dkimDomain)
        text(m.spamVerdict); double(m.spamScore)
        endRow()
    }

    /// One `deliveries` row; `delays` fills the four delay parts in order (missing parts are NULL).
    public mutating func append(_ d: DeliveryRecord) {
        timestamp(d.at); int(d.msgKey); text(d.host); text(d.instance); text(d.queueID)
        timestamp(d.receivedAt); text(d.recipient); text(d.origRecipient)
        text(d.status.rawValue); text(d.dsn); text(d.transport)
        text(d.relay.name); inet(d.relay.ip); int(d.relay.port)
        double(d.delay)
        for k in 0..<4 { double(d.delays.flatMap { k < $0.count ? $0[k] : nil }) }
        int(d.connUse); text(d.tlsFeature)
        text(d.tls?.proto); text(d.tls?.cipher); int(d.tls?.bits)
        text(d.response); text(d.nextQueueID)
        text(d.router); text(d.tls?.trust)
        endRow()
    }

    /// One `rejections` row.
    public mutating func append(_ r: RejectionRecord) {
        timestamp(r.at); int(r.msgKey); text(r.host); text(r.instance); text(r.queueID)
        text(r.program); text(r.action); text(r.stage)
        text(r.client.name); inet(r.client.ip); int(r.client.port)
        text(r.helo); text(r.sender); text(r.recipient); text(r.proto)
        text(r.code); text(r.dsn); text(r.reason)
        endRow()
    }

    /// One `unparsed_lines` staging row (raw bytes exact).
    public mutating func append(_ u: UnparsedLine) {
        timestamp(u.at); text(u.host); int(u.lineNumber); int(u.offset); text(u.reason); bytea(u.raw)
        endRow()
    }
}

// MARK: - CopySink

/// What `PGConnection.copyIn` gives its `write` closure: a `CopyText` buffer that is sent to
/// the server whenever it holds at least `chunkSize` bytes (and once more at the end).
///
/// Use the `append` methods (they flush when full), or fill `encoder` by hand and call
/// `flushIfNeeded()` after each row.
public struct CopySink {
    /// The row encoder; its bytes are sent and cleared by `flush()`.
    public var encoder: CopyText
    /// Flush threshold in bytes.
    public let chunkSize: Int
    /// Bytes handed to libpq so far.
    public private(set) var bytesSent: Int64 = 0
    private let send: ([UInt8]) throws -> Void

    init(chunkSize: Int, send: @escaping ([UInt8]) throws -> Void) {
        self.chunkSize = max(chunkSize, 1024)
        self.encoder = CopyText(capacity: self.chunkSize + 64 * 1024)
        self.send = send
    }

    /// Sends the buffer when it holds at least `chunkSize` bytes.
    public mutating func flushIfNeeded() throws {
        if encoder.bytes.count >= chunkSize { try flush() }
    }

    /// Sends whatever is buffered. The corresponding libpq function is `PQputCopyData`.
    public mutating func flush() throws {
        guard !encoder.bytes.isEmpty else { return }
        try send(encoder.bytes)
        bytesSent += Int64(encoder.bytes.count)
        encoder.removeAll()
    }

    public mutating func append(_ m: MessageRecord) throws { encoder.append(m); try flushIfNeeded() }
    public mutating func append(_ d: DeliveryRecord) throws { encoder.append(d); try flushIfNeeded() }
    public mutating func append(_ r: RejectionRecord) throws { encoder.append(r); try flushIfNeeded() }
    public mutating func append(_ u: UnparsedLine) throws { encoder.append(u); try flushIfNeeded() }

    /// Appends pre-encoded COPY text (whole rows, LF-terminated).
    public mutating func write<C: Collection>(raw: C) throws where C.Element == UInt8 {
        encoder.appendRaw(raw)
        try flushIfNeeded()
    }
}
