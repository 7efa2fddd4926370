// EximDirectArrivalTests: the hot path's direct arrival (`EximCorrelator.arriveDirect`: a new
// message's row made straight from its `EximLine`) against the general form (`arrival` with
// `fillArrival`, then `emit`), both fed the same lines: listed cases and seeded random
// arrivals (every optional fact present or absent, escaped and plain subjects, bounces and
// references, listener lines whose name fills in the client, ACL notes of the same session,
// pre-arrival DKIM lines and repeated IDs that take the general path in both), compared on
// every row and on the saved state after each line.
// Limits: lines are built as spans here (no parser), so they are as varied as the generator.
import Foundation
import Testing
import MailTrailModel
@testable import Correlation

@Suite struct EximDirectArrivalTests {
    /// One input of the transcript: a hot-path line (its text and how to fill its spans) or an event.
    enum Input {
        case line(Int64, Int32, [UInt8], (EximLine, UnsafeBufferPointer<UInt8>) -> Void)
        case event(Int64, Int32, EximEvent)
    }

    /// Pieces of a line's text, appended with their spans.
    struct Text {
        var bytes: [UInt8] = []
        mutating func add(_ s: String) -> Span {
            let lo = bytes.count
            bytes += Array(s.utf8)
            bytes.append(0x20)
            return Span(lo..<(lo + s.utf8.count))
        }
        /// Raw bytes (non-ASCII, invalid UTF-8): what the packed row and the Strings must read alike.
        mutating func add(bytes b: [UInt8]) -> Span {
            let lo = bytes.count
            bytes += b
            bytes.append(0x20)
            return Span(lo..<(lo + b.count))
        }
    }

    /// Non-ASCII text with invalid UTF-8 in it (a lone continuation byte, a cut sequence).
    static let oddBytes: [UInt8] = Array("j\u{F6}rg".utf8) + [0x80, 0x41, 0xC3] + Array("@ex\u{E4}mple.org".utf8)

    static func ctx(_ s: Int64, _ pid: Int32) -> LineContext {
        LineContext(time: Timestamp(seconds: 1_760_000_000 + s), host: "h", instance: "", program: "exim", pid: pid)
    }

    /// Feeds `inputs` to a correlator (direct arrivals on or off): its rows and its state after each input.
    static func run(_ inputs: [Input], direct: Bool) throws -> (CorrelatorOutput, [Data]) {
        var m = EximCorrelator(host: "h")
        m.directArrivals = direct
        var out = CorrelatorOutput()
        var states: [Data] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let buffer = EximLineBuffer()
        for input in inputs {
            switch input {
            case .line(let s, let pid, let bytes, let fill):
                bytes.withUnsafeBufferPointer { buf in
                    let e = buffer.line
                    e.reset(bytes: LineBytes(buf))
                    fill(e, buf)
                    m.receive(ctx(s, pid), e, into: &out)
                }
            case .event(let s, let pid, let e):
                m.receive(ctx(s, pid), e, into: &out)
            }
            states.append(try encoder.encode(m))
        }
        return (out, states)
    }

    static func expectSame(_ inputs: [Input]) throws {
        let (a, sa) = try run(inputs, direct: true)
        let (b, sb) = try run(inputs, direct: false)
        #expect(a.messages == b.messages)
        #expect(a.deliveries == b.deliveries)
        #expect(a.rejections == b.rejections)
        #expect(try sa.map(normalized) == sb.map(normalized))
    }

    /// A saved state with `sessionNotes` (a Dictionary, encoded in its instance's own hash order
    /// as key, value, key, value...) in a fixed order.
    static func normalized(_ state: Data) throws -> Data {
        var object = try #require(try JSONSerialization.jsonObject(with: state) as? [String: Any])
        if let flat = object["sessionNotes"] as? [Any] {
            var pairs: [String] = []
            for k in stride(from: 0, to: flat.count - 1, by: 2) {
                let pair = try JSONSerialization.data(withJSONObject: [flat[k], flat[k + 1]], options: .sortedKeys)
                pairs.append(String(decoding: pair, as: UTF8.self))
            }
            object["sessionNotes"] = pairs.sorted()
        }
        return try JSONSerialization.data(withJSONObject: object, options: .sortedKeys)
    }

    /// A random arrival of `id` (every fact drawn from `rng`).
    static func arrival(_ s: Int64, pid: Int32, id: String, _ rng: inout SplitMix64) -> Input {
        func pick<T>(_ xs: [T]) -> T { xs[Int(rng.next() % UInt64(xs.count))] }
        var t = Text()
        let idSpan = t.add(id)
        let sender = pick(["", "a@b.c", "a.rather.long.sender@example.com", "bounce+x=y@lists.example.org"])
        let senderSpan = rng.next() % 6 == 0 ? t.add(bytes: oddBytes)
            : sender.isEmpty ? Span(t.bytes.count..<t.bytes.count) : t.add(sender)
        let name = pick([nil, "mx", "mail-lf2-f90.google.com"]).map { t.add($0) } ?? .absent
        let ip = pick([nil, "192.0.2.7", "10.1.9.15", "2001:db8::1"]).map { t.add($0) } ?? .absent
        let port: Int? = pick([nil, 25, 46054])
        let helo = rng.next() % 6 == 0 ? t.add(bytes: oddBytes)
            : pick([nil, "DESKTOP-1", "a.long.helo.name.example.net"]).map { t.add($0) } ?? .absent
        let proto = pick([nil, "esmtps", "esmtpsa", "local"]).map { t.add($0) } ?? .absent
        let auth = pick([nil, "dovecot_plain"]).map { t.add($0) } ?? .absent
        let authID = pick([nil, "user", "brandon.garcia@example.com"]).map { t.add($0) } ?? .absent
        let localUser = pick([nil, "root"]).map { t.add($0) } ?? .absent
        let subjects: [(String, Bool)?] = [nil, ("Hi", true), ("Re: quarterly report for the board", true),
                                           ("say \\\"hi\\\" \\\\ now", false), ("", true), ("Gr\u{FC}\u{DF}e \u{1F600}", true)]
        var subject = pick(subjects)
        var subjectSpan = subject.map { t.add($0.0) } ?? .absent
        if rng.next() % 6 == 0 { subject = ("", rng.next() % 2 == 0); subjectSpan = t.add(bytes: oddBytes) }
        let mid = pick([nil, "abc@x", "000001c294c6011e$2a567ce4$854f86db$@example.com"]).map { t.add($0) } ?? .absent
        let dkim = pick([nil, "example.com"]).map { t.add($0) } ?? .absent
        let reference = pick([nil, "1rfqKL-00059H-U4"]).map { t.add($0) } ?? .absent
        let tlsProto = pick([nil, "TLS1.3", "TLSv1.2"]).map { t.add($0) } ?? .absent
        let cipher = t.add(pick(["ECDHE_X25519__RSA_PSS_RSAE_SHA256__AES_128_GCM", "TLS_AES_256_GCM_SHA384"]))
        let withTLS = rng.next() % 2 == 0
        let trust = UInt8(rng.next() % 3)
        let bits: Int? = pick([nil, 128, 256])
        let count = Int(rng.next() % 3)
        let size: Int64? = pick([nil, 1, 10561])
        let fake = rng.next() % 5 == 0
        return .line(s, pid, t.bytes) { e, _ in
            e.storage.pointee.messageID = idSpan
            e.beginArrival(fake: fake)
            let f = e.storage
            f.pointee.sender = senderSpan
            f.pointee.client = PeerSpans()
            f.pointee.client.name = name; f.pointee.client.ip = ip; f.pointee.client.port = port
            f.pointee.helo = helo; f.pointee.proto = proto; f.pointee.authenticator = auth; f.pointee.authID = authID
            f.pointee.localUser = localUser; f.pointee.subject = subjectSpan
            f.pointee.subjectEscapeFree = subject?.1 ?? false
            f.pointee.messageIDHeader = mid; f.pointee.dkimDomain = dkim; f.pointee.reference = reference
            if withTLS {
                var x = EximTLSSpans()
                x.proto = tlsProto; x.protoAddV = tlsProto.isPresent && tlsProto.count == 6; x.cipher = cipher
                x.bits = bits
                f.pointee.tls = x
            }
            f.pointee.trust = trust
            f.pointee.recipientCount = count
            f.pointee.size = size
        }
    }

    /// `Completed` of `id`.
    static func completed(_ s: Int64, pid: Int32, id: String) -> Input {
        var t = Text()
        let span = t.add(id)
        return .line(s, pid, t.bytes) { e, _ in
            e.storage.pointee.messageID = span
            e.storage.pointee.kind = .completed
        }
    }

    /// A listener line: `SMTP connection from NAME [IP]:PORT`.
    static func connection(_ s: Int64, name: String?, ip: String, port: Int) -> Input {
        var t = Text()
        let n = name.map { t.add($0) } ?? .absent
        let i = t.add(ip)
        return .line(s, 1, t.bytes) { e, _ in
            e.storage.pointee.kind = .connection
            var p = PeerSpans()
            p.name = n; p.ip = i; p.port = port
            e.storage.pointee.client = p
        }
    }

    static let ids = ["1rfqKL-00059H-U4", "1rfqKM-0003Wv-GQ", "1rfqKV-00059t-Ta", "1haLqi-0002Mp-2G",
                      "1rfqKa-0005A3-6e", "1rg2si-000Ia5-QP"]

    @Test func directArrivalsAgreeOnListedCases() throws {
        var rng = SplitMix64(seed: 1)
        let note = EximEvent.sessionNote(client: Peer(ip: "192.0.2.7"), sender: nil, recipient: nil, text: "Warning: x")
        try Self.expectSame([
            Self.connection(0, name: "mx.example.com", ip: "192.0.2.7", port: 25),
            Self.arrival(1, pid: 3, id: Self.ids[0], &rng),
            Self.completed(2, pid: 3, id: Self.ids[0]),
            .event(3, 4, note),
            Self.arrival(4, pid: 4, id: Self.ids[1], &rng),
            .event(5, 5, .dkim(messageID: Self.ids[2], domain: "x.tld", result: "fail")),
            Self.arrival(6, pid: 5, id: Self.ids[2], &rng),
            Self.arrival(7, pid: 5, id: Self.ids[2], &rng),
            Self.completed(8, pid: 5, id: Self.ids[2]),
            Self.completed(9, pid: 4, id: Self.ids[1]),
        ])
    }

    @Test func directArrivalsAgreeOnRandomTranscripts() throws {
        var rng = SplitMix64(seed: 77)
        for _ in 0..<40 {
            var inputs: [Input] = []
            for k in 0..<40 {
                let s = Int64(k) * Int64(1 + rng.next() % 400)
                let id = Self.ids[Int(rng.next() % UInt64(Self.ids.count))]
                let pid = Int32(rng.next() % 4)
                switch rng.next() % 8 {
                case 0: inputs.append(Self.completed(s, pid: pid, id: id))
                case 1: inputs.append(Self.connection(s, name: rng.next() % 2 == 0 ? nil : "mx.example.com",
                                                      ip: "192.0.2.7", port: rng.next() % 2 == 0 ? 25 : 46054))
                case 2: inputs.append(.event(s, pid, .sessionNote(client: Peer(ip: rng.next() % 2 == 0 ? "192.0.2.7" : nil),
                                                                 sender: nil, recipient: nil, text: "Warning: x")))
                case 3: inputs.append(.event(s, pid, .dkim(messageID: id, domain: "x.tld", result: "pass")))
                default: inputs.append(Self.arrival(s, pid: pid, id: id, &rng))
                }
            }
            try Self.expectSame(inputs)
        }
    }
}
