// Transcript tests of the Exim correlator (Exim and Sophos UTM): events in, exact records out.
import Foundation
import Testing
import MailTrailModel
@testable import Correlation

private func t(_ s: Int64) -> Timestamp { Timestamp(seconds: 1_560_164_680 + s) }   // 2019-06-10T11:04:40Z

private struct Transcript {
    var machine = EximCorrelator(host: "defense")
    var out = CorrelatorOutput()
    mutating func exim(_ s: Int64, _ program: String, _ e: EximEvent, pid: Int32 = 1) {
        machine.receive(LineContext(time: t(s), host: "defense", instance: "", program: program, pid: pid), e, into: &out)
    }
    mutating func utm(_ s: Int64, _ e: UTMEvent) {
        machine.receive(LineContext(time: t(s), host: "defense", instance: "", program: "smtpd", pid: 2), e, into: &out)
    }
}

private let A = "1haLqi-0002Mp-2G", B = "1haLql-0002Mh-MA", MID = "02ec01d51f9d@senderdomain.tld"

@Suite struct EximCorrelatorTranscripts {
    @Test func utmChainEximinSmtpdEximout() {
        var x = Transcript()
        x.exim(0, "exim-in", .dkim(messageID: A, domain: "senderdomain.tld", result: "pass"))
        x.exim(1, "exim-in", .spamVerdict(messageID: A, verdict: "Unknown", score: nil))
        let tlsIn = TLSInfo(proto: "TLSv1.2", cipher: "DHE-RSA-AES256-GCM-SHA384", bits: 256)
        x.exim(1, "exim-in", .arrival(messageID: A, EximArrival(sender: "s@x.tld", client: Peer(name: "server.x.tld", port: 53500),
                                                                proto: "esmtps", tls: tlsIn, size: 67579, messageIDHeader: MID)))
        let mk = MessageKey.forMessageID(MID)
        #expect(x.out.messages == [MessageRecord(
            receivedAt: t(1), msgKey: mk, host: "defense", mta: "exim", instance: "exim-in", queueID: A, messageID: MID,
            sender: "s@x.tld", client: Peer(name: "server.x.tld", port: 53500), size: 67579, proto: "esmtps", tls: tlsIn,
            dkimResult: "pass", dkimDomain: "senderdomain.tld", spamVerdict: "Unknown")])
        x.out = CorrelatorOutput()
        x.utm(3, .movedToWorkQueue(queueID: A))
        x.utm(3, .scanner(.arrival(messageID: B, EximArrival(sender: "s@y.tld", proto: "INPUT", size: 63168, reference: A))))
        x.utm(3, .secureMail(UTMSecureMail(eventID: 1000, name: "email passed", subject: "Statement", queueID: B)))
        x.utm(3, .scanner(.delivery(messageID: A, EximDelivery(flag: .delivered, recipient: "work", router: "SCANNER",
                                                               transport: "SCANNER"))))
        x.utm(3, .scanner(.completed(messageID: A)))
        let tlsOut = TLSInfo(proto: "TLSv1.2", cipher: "AES128-SHA256", bits: 128)
        x.exim(4, "exim-out", .delivery(messageID: B, EximDelivery(
            flag: .delivered, recipient: "t@y.tld", router: "static_route_hostlist", transport: "static_smtp",
            relay: Peer(name: "192.168.99.3", ip: "192.168.99.3", port: 25), tls: tlsOut, response: "250 2.6.0 ok", dsn: "2.6.0")))
        x.exim(4, "exim-out", .completed(messageID: B))
        #expect(x.out.messages == [
            MessageRecord(receivedAt: t(3), msgKey: mk, host: "defense", mta: "exim", instance: "exim-out", queueID: B,
                          messageID: MID, sender: "s@y.tld", size: 63168, proto: "INPUT", subject: "Statement"),
            MessageRecord(receivedAt: t(3), msgKey: mk, host: "defense", mta: "exim", instance: "smtpd", queueID: A,
                          messageID: MID, sender: "s@x.tld", size: 67579, originQueueID: A, originKind: .reinjection,
                          subject: "Statement", spamVerdict: "email passed"),
        ])
        #expect(x.out.deliveries == [
            DeliveryRecord(at: t(3), msgKey: mk, host: "defense", instance: "smtpd", queueID: A, receivedAt: t(3),
                           recipient: "work", status: .sent, transport: "SCANNER", nextQueueID: B, router: "SCANNER"),
            DeliveryRecord(at: t(4), msgKey: mk, host: "defense", instance: "exim-out", queueID: B, receivedAt: t(3),
                           recipient: "t@y.tld", status: .sent, dsn: "2.6.0", transport: "static_smtp",
                           relay: Peer(name: "192.168.99.3", ip: "192.168.99.3", port: 25), tls: tlsOut,
                           response: "250 2.6.0 ok", router: "static_route_hostlist"),
        ])
        #expect(x.machine.openTransactions == 1)   // exim-in A stays until its Completed (UTM logs none)
    }

    @Test func eximBounceAndFailure() {
        var x = Transcript()
        let P = "1jmKso-0009d4-Uf", N = "1jmKsr-00040h-1G"
        x.exim(0, "exim", .arrival(messageID: P, EximArrival(sender: "a@test.corp", client: Peer(ip: "2.2.2.2"), helo: "test.corp",
                                                             proto: "smtp", size: 7983)))
        x.exim(3, "exim", .delivery(messageID: P, EximDelivery(flag: .failed, recipient: "m@zee.corp", router: "dnslookup",
                                                               transport: "remote_smtp", response: "550 5.2.0 full", dsn: "5.2.0")))
        x.exim(3, "exim", .arrival(messageID: N, EximArrival(sender: "", localUser: "Debian-exim", proto: "local", size: 9521,
                                                             reference: P)))
        x.exim(3, "exim", .completed(messageID: P))
        let pk = MessageKey.forQueue(host: "defense", queueID: P)
        #expect(x.out.messages == [
            MessageRecord(receivedAt: t(0), msgKey: pk, host: "defense", mta: "exim", instance: "exim", queueID: P,
                          sender: "a@test.corp", client: Peer(ip: "2.2.2.2"), size: 7983, proto: "smtp", helo: "test.corp"),
            MessageRecord(receivedAt: t(3), msgKey: MessageKey.forQueue(host: "defense", queueID: N), host: "defense",
                          mta: "exim", instance: "exim", queueID: N, sender: "", size: 9521, proto: "local",
                          originQueueID: P, originKind: .bounce, localUser: "Debian-exim"),
        ])
        #expect(x.out.deliveries == [DeliveryRecord(
            at: t(3), msgKey: pk, host: "defense", instance: "exim", queueID: P, receivedAt: t(0), recipient: "m@zee.corp",
            status: .bounced, dsn: "5.2.0", transport: "remote_smtp", response: "550 5.2.0 full", router: "dnslookup")])
        #expect(x.machine.openTransactions == 1)
    }

    @Test func pidOnlyNotesJoinTheSessionsNextArrivalButNotAReusedPid() {
        var x = Transcript()
        let client = Peer(name: "server.x.tld", ip: "192.0.2.7", port: 53500)
        x.exim(0, "exim-in", .sessionNote(client: client, sender: nil, recipient: nil,
                                          text: "Warning: x.tld profile excludes greylisting"), pid: 9103)
        x.exim(0, "exim-in", .sessionNote(client: Peer(ip: "192.0.2.7"), sender: "s@x.tld", recipient: "r@y.tld",
                                          text: "Accepted: from relay"), pid: 9103)
        // Another process's arrival does not take them.
        x.exim(1, "exim-in", .arrival(messageID: B, EximArrival(sender: "o@z.tld", client: Peer(ip: "198.51.100.1"))), pid: 9200)
        #expect(x.out.rejections.isEmpty)
        x.exim(1, "exim-in", .arrival(messageID: A, EximArrival(sender: "s@x.tld", client: client, messageIDHeader: MID)),
               pid: 9103)
        let mk = MessageKey.forMessageID(MID)
        #expect(x.out.rejections == [
            RejectionRecord(at: t(0), msgKey: mk, host: "defense", instance: "exim-in", queueID: A, program: "exim-in",
                            action: "warning", client: client, reason: "Warning: x.tld profile excludes greylisting"),
            RejectionRecord(at: t(0), msgKey: mk, host: "defense", instance: "exim-in", queueID: A, program: "exim-in",
                            action: "accepted", stage: "RCPT", client: Peer(ip: "192.0.2.7"), sender: "s@x.tld",
                            recipient: "r@y.tld", reason: "Accepted: from relay"),
        ])
        x.out = CorrelatorOutput()
        // The pid is reused 20 minutes later by another client: its notes wait for their own
        // arrival and the stale ones of an earlier, message-less session are kept unattached.
        x.exim(100, "exim-in", .sessionNote(client: Peer(ip: "203.0.113.9"), sender: nil, recipient: nil,
                                            text: "Warning: greylisted"), pid: 9103)
        x.exim(1300, "exim-in", .sessionNote(client: Peer(ip: "203.0.113.10"), sender: nil, recipient: nil,
                                             text: "Warning: greylisted"), pid: 9103)
        #expect(x.out.rejections.map { [$0.queueID ?? "-", $0.client.ip ?? "-"] } == [["-", "203.0.113.9"]])
        x.exim(1301, "exim-in", .arrival(messageID: "1haLzz-0002Zz-9Z", EximArrival(sender: "q@w.tld",
                                                                                 client: Peer(ip: "203.0.113.10"))),
               pid: 9103)
        #expect(x.out.rejections.map { [$0.queueID ?? "-", $0.client.ip ?? "-"] }
                == [["-", "203.0.113.9"], ["1haLzz-0002Zz-9Z", "203.0.113.10"]])
    }

    @Test func listenerConnectionLineJoinsItsSessionByIPAndPort() {
        var x = Transcript()
        // The listener (pid 6854) logs the connection; the session (pid 9103) logs the arrival
        // without a reverse name; the connection of another port does not join.
        x.exim(0, "exim-in", .connection(client: Peer(name: "server.x.tld", ip: "192.0.2.7", port: 53500)), pid: 6854)
        x.exim(0, "exim-in", .connection(client: Peer(name: "other.x.tld", ip: "192.0.2.7", port: 53501)), pid: 6854)
        x.exim(1, "exim-in", .arrival(messageID: A, EximArrival(sender: "s@x.tld", client: Peer(ip: "192.0.2.7", port: 53500))),
               pid: 9103)
        #expect(x.out.messages.map(\.client) == [Peer(name: "server.x.tld", ip: "192.0.2.7", port: 53500)])
        #expect(x.machine.connections.keys.map(\.string).sorted() == ["192.0.2.7:53501"])
    }

    /// `connectionKey` (the `ip:port` text written into the key's inline words) against the key
    /// of its String (`connectionText`, the former dictionary key): the same text, and equal
    /// exactly when the Strings are equal, also for addresses too long to be inline, with a NUL
    /// or invalid UTF-8 (bytes an `[ip]` may hold after a NUL), and negative or long ports.
    @Test func connectionKeysAreTheirText() {
        let ips: [[UInt8]] = [
            Array("192.0.2.7".utf8), Array("255.255.255.255".utf8), Array("2001:db8::1".utf8), [],
            Array("2001:0db8:85a3:0000:0000:8a2e:0370:7334".utf8), Array("1.2.3.4".utf8) + [0, 0x78],
            Array("1.2.3.4".utf8) + [0, 0xFF], Array("1.2.3.4".utf8) + [0, 0xE2, 0x84, 0xAA],
            Array("1.2.3.4".utf8) + [0, 0x4B], Array("0123456789012345678901234567".utf8),
            Array("01234567890123456789012345678901".utf8),
        ]
        let ports = [0, 7, 25, 53500, 65535, -1, -25, 1_234_567, 999_999_999_999_999_999]
        var keys: [(EximCorrelator.ConnectionKey, String)] = []
        for ip in ips {
            for port in ports {
                ip.withUnsafeBufferPointer { b in
                    let key = EximCorrelator.connectionKey(b, port)
                    let text = EximCorrelator.connectionText(b, port)
                    #expect(key.string == text, "\(ip) \(port)")
                    #expect(key == EximCorrelator.ConnectionKey(text), "\(ip) \(port)")
                    #expect(key.fastHash == EximCorrelator.ConnectionKey(text).fastHash, "\(ip) \(port)")
                    keys.append((key, text))
                }
            }
        }
        for (a, ta) in keys {
            for (b, tb) in keys { #expect((a == b) == (ta == tb), "\(ta) \(tb)") }
        }
    }

    /// `connectionKey`'s word stores for the usual `a.b.c.d:port` against `connectionKeyPlain`'s
    /// byte loop (the same words, hash and text): every address length from 0 to 20 with every
    /// port length, NUL and non-ASCII bytes at every place, seeded random addresses and ports.
    @Test func connectionKeyFastFormAgreesWithPlainForm() {
        var rng = SplitMix64(seed: 41)
        var cases: [([UInt8], Int)] = []
        for n in 0...20 {
            for port in [0, 9, 10, 99, 100, 999, 1_000, 9_999, 10_000, 65_535, 99_999, 100_000, -1] {
                var digitsAndDots: [UInt8] = []
                for k in 0..<n {
                    let digit = UInt8(0x30 + (k * 7) % 10)
                    digitsAndDots.append(k % 4 == 3 ? 0x2E : digit)
                }
                cases.append((digitsAndDots, port))
            }
            for at in 0..<n {
                for b: UInt8 in [0x00, 0x80, 0xFF] {
                    var ip = [UInt8](repeating: 0x31, count: n)
                    ip[at] = b
                    cases.append((ip, 25))
                }
            }
        }
        for _ in 0..<20_000 {
            let ip = (0..<4).map { _ in String(rng.next() % 256) }.joined(separator: ".")
            cases.append((Array(ip.utf8), Int(rng.next() % 100_000)))
        }
        var wrong: [String] = []
        for (ip, port) in cases {
            ip.withUnsafeBufferPointer { b in
                let fast = EximCorrelator.connectionKey(b, port), plain = EximCorrelator.connectionKeyPlain(b, port)
                if fast != plain || fast.fastHash != plain.fastHash || fast.string != plain.string
                    || fast.id.w0 != plain.id.w0 || fast.id.w1 != plain.id.w1 || fast.id.w2 != plain.id.w2
                    || fast.id.w3 != plain.id.w3 {
                    wrong.append("\(ip) \(port)")
                }
            }
        }
        #expect(wrong.isEmpty, "\(wrong.prefix(5))")
    }

    /// Waiting listener connections are saved as a JSON object, and left out of the state when
    /// none waits (the layout of the former optional, set to nil once empty).
    @Test func savedConnectionsOnlyWhileOneWaits() throws {
        var x = Transcript()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        x.exim(0, "exim-in", .connection(client: Peer(name: "server.x.tld", ip: "192.0.2.7", port: 53500)), pid: 6854)
        let waiting = String(decoding: try encoder.encode(x.machine), as: UTF8.self)
        #expect(waiting.contains("\"connections\":{\"192.0.2.7:53500\":{"))
        let restored = try JSONDecoder().decode(EximCorrelator.self, from: Data(waiting.utf8))
        #expect(restored.connections.keys.map(\.string).sorted() == ["192.0.2.7:53500"])
        x.exim(1, "exim-in", .arrival(messageID: A, EximArrival(sender: "s@x.tld", client: Peer(ip: "192.0.2.7", port: 53500))),
               pid: 9103)
        let none = String(decoding: try encoder.encode(x.machine), as: UTF8.self)
        #expect(!none.contains("connections"))
        #expect(try JSONDecoder().decode(EximCorrelator.self, from: Data(none.utf8)).connections.isEmpty)
    }

    /// A saved and restored state (transactions keyed by the inline message ID, a pre-arrival
    /// DKIM result, a listener connection) resumes exactly where the uninterrupted run goes on.
    @Test func stateRoundTripAtEveryLine() throws {
        let tls = TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Verified")
        let events: [(Int64, EximEvent)] = [
            (0, .connection(client: Peer(name: "mx.x.tld", ip: "192.0.2.7", port: 41000))),
            (1, .dkim(messageID: A, domain: "x.tld", result: "pass")),
            (2, .arrival(messageID: A, EximArrival(sender: "s@x.tld", client: Peer(ip: "192.0.2.7", port: 41000),
                                                   proto: "esmtps", tls: tls, size: 10, messageIDHeader: MID,
                                                   recipients: ["r@y.tld", "q@y.tld"]))),
            (3, .delivery(messageID: A, EximDelivery(flag: .delivered, recipient: "r@y.tld", router: "dnslookup",
                                                     transport: "remote_smtp", response: "250 OK id=" + B,
                                                     nextQueueID: B))),
            (4, .delivery(messageID: A, EximDelivery(flag: .deferred, recipient: "q@y.tld", router: "dnslookup",
                                                     transport: "remote_smtp", response: "451 try later",
                                                     dsn: "4.0.0"))),
            (5, .completed(messageID: A)),
        ]
        func run(restoreBefore: Int?) throws -> CorrelatorOutput {
            var m = HostCorrelator(host: "defense")
            var out = CorrelatorOutput()
            for (k, (s, e)) in events.enumerated() {
                if k == restoreBefore { m = try StateCoding.decode(StateCoding.encode(m)) }
                m.receive(LineContext(time: t(s), host: "defense", instance: "", program: "exim", pid: 7), e, into: &out)
            }
            m.flushHeld(into: &out)
            return out
        }
        let whole = try run(restoreBefore: nil)
        #expect(whole.messages.map(\.client) == [Peer(name: "mx.x.tld", ip: "192.0.2.7", port: 41000)])
        #expect(whole.messages.map(\.dkimResult) == ["pass"])
        #expect(whole.messages.map(\.nrcpt) == [2])
        #expect(whole.deliveries.map(\.status) == [.sent, .deferred])
        for k in 1..<events.count {
            let resumed = try run(restoreBefore: k)
            #expect(resumed.messages == whole.messages)
            #expect(resumed.deliveries == whole.deliveries)
        }
    }
}
