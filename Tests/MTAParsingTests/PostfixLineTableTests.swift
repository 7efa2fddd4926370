// PostfixLineTableTests: a broad table of hand-picked Postfix lines with the
// exact event (or ignore category / unparsed) each must produce. Lines come
// from the permissively licensed corpus sources or are built from the format
// strings in log-formats.md (example.org / 192.0.2.0/24 / 2001:db8::/32).

import Testing
import MailTrailModel
import SyslogFraming
import MTAParsing

enum Expect: Sendable, Equatable {
    case event(PostfixEvent)
    case ignored(String)
    case unparsed(String)
}

struct LineCase: Sendable, CustomTestStringConvertible {
    var tag: String
    var body: String
    var expect: Expect
    init(_ tag: String, _ body: String, _ expect: Expect) { self.tag = tag; self.body = body; self.expect = expect }
    var line: String { "Jan  5 09:12:01 mx1 \(tag)[2101]: \(body)" }
    var testDescription: String { "\(tag): \(body.prefix(90))" }
}

private func peer(_ name: String?, _ ip: String? = nil, _ port: Int? = nil) -> Peer { Peer(name: name, ip: ip, port: port) }
private let tls13 = TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Anonymous")

let lineCases: [LineCase] = [
    // smtpd sessions
    LineCase("postfix/smtpd", "connect from mail.example.org[203.0.113.5]",
             .event(.connect(client: peer("mail.example.org", "203.0.113.5")))),
    LineCase("postfix/smtpd", "connect from unknown[2001:db8::25]:51234",
             .event(.connect(client: peer("unknown", "2001:db8::25", 51234)))),
    LineCase("postfix/submission/smtpd", "connect from unknown[fe80::1:2:3:4]",
             .event(.connect(client: peer("unknown", "fe80::1:2:3:4")))),
    LineCase("postfix/smtpd", "disconnect from mail.example.org[203.0.113.5] ehlo=2 starttls=1 mail=1 rcpt=1 data=1 quit=1 commands=7",
             .event(.disconnect(client: peer("mail.example.org", "203.0.113.5")))),
    LineCase("postfix/smtpd", "disconnect from unknown[unknown] commands=0/0",
             .event(.disconnect(client: peer("unknown")))),
    LineCase("postfix/smtpd", "Anonymous TLS connection established from mail.example.org[203.0.113.5]: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256",
             .event(.tls(direction: .inbound, peer: peer("mail.example.org", "203.0.113.5"), info: tls13))),
    LineCase("postfix/smtp", "Untrusted TLS connection established to mx4.hotmail.com[65.55.92.136]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-SHA384 (256/256 bits)",
             .event(.tls(direction: .outbound, peer: peer("mx4.hotmail.com", "65.55.92.136", 25),
                         info: TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-SHA384", bits: 256, trust: "Untrusted")))),
    LineCase("postfix/smtp", "Verified TLS connection established to mx2.comcast.net[2001:558:fe21:2a::6]:25: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
             .event(.tls(direction: .outbound, peer: peer("mx2.comcast.net", "2001:558:fe21:2a::6", 25),
                         info: TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: 256, trust: "Verified")))),
    LineCase("postfix/smtp", "Trusted TLS connection established to mta5.am0.yahoodns.net[67.195.228.106]:25: TLSv1.2 with cipher ECDHE-RSA-AES128-GCM-SHA256 (128/128 bits)",
             .event(.tls(direction: .outbound, peer: peer("mta5.am0.yahoodns.net", "67.195.228.106", 25),
                         info: TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES128-GCM-SHA256", bits: 128, trust: "Trusted")))),
    LineCase("postfix/tlsproxy", "Anonymous TLS connection established from [192.0.2.41]:52908: TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)",
             .event(.tls(direction: .inbound, peer: peer(nil, "192.0.2.41", 52908),
                         info: TLSInfo(proto: "TLSv1.2", cipher: "ECDHE-RSA-AES256-GCM-SHA384", bits: 256, trust: "Anonymous")))),
    LineCase("postfix/smtpd", "Trusted TLS connection established from mail.example.org[203.0.113.5] to mx1.example.net: TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)",
             .event(.tls(direction: .inbound, peer: peer("mail.example.org", "203.0.113.5"),
                         info: TLSInfo(proto: "TLSv1.3", cipher: "TLS_AES_256_GCM_SHA384", bits: 256, trust: "Trusted")))),
    // client=
    LineCase("postfix/smtpd", "4T9x2B1kQPz9sQk: client=mail.example.org[203.0.113.5]",
             .event(.client(queueID: "4T9x2B1kQPz9sQk", client: peer("mail.example.org", "203.0.113.5"),
                            saslMethod: nil, saslUsername: nil, origQueueID: nil, origClient: nil))),
    LineCase("postfix/submission/smtpd", "3p7RMT0zrYz20p: client=unknown[192.168.0.100], sasl_method=DIGEST-MD5, sasl_username=user@dmain.com",
             .event(.client(queueID: "3p7RMT0zrYz20p", client: peer("unknown", "192.168.0.100"),
                            saslMethod: "DIGEST-MD5", saslUsername: "user@dmain.com", origQueueID: nil, origClient: nil))),
    LineCase("postfix/10025/smtpd", "4T9x2C0d3Hz1Wbq: client=localhost[127.0.0.1], orig_queue_id=4T9x2B1kQPz9sQk, orig_client=mail.example.org[203.0.113.5]",
             .event(.client(queueID: "4T9x2C0d3Hz1Wbq", client: peer("localhost", "127.0.0.1"), saslMethod: nil,
                            saslUsername: nil, origQueueID: "4T9x2B1kQPz9sQk",
                            origClient: peer("mail.example.org", "203.0.113.5")))),
    // pickup
    LineCase("postfix/pickup", "D2FAE20586: uid=0 from=<fail2ban>",
             .event(.pickup(queueID: "D2FAE20586", uid: 0, sender: "fail2ban", origID: nil))),
    LineCase("postfix/pickup", "4T9x2D0bcdz1Wbq: uid=89 from=<alice@example.org> orig_id=4T9x2B1kQPz9sQk",
             .event(.pickup(queueID: "4T9x2D0bcdz1Wbq", uid: 89, sender: "alice@example.org", origID: "4T9x2B1kQPz9sQk"))),
    // cleanup message-id
    LineCase("postfix/cleanup", "4T9x2B1kQPz9sQk: message-id=<abc123@example.org>",
             .event(.messageID(queueID: "4T9x2B1kQPz9sQk", messageID: "abc123@example.org"))),
    LineCase("postfix/cleanup", "4104E3D: message-id=<>", .event(.messageID(queueID: "4104E3D", messageID: ""))),
    LineCase("postfix/cleanup", "4Pbf065nmSz3tBr: message-id=<[9ff2fa8f-JFBV@microsoft.com]>",
             .event(.messageID(queueID: "4Pbf065nmSz3tBr", messageID: "[9ff2fa8f-JFBV@microsoft.com]"))),
    LineCase("postfix/cleanup", "4104E3D: message-id=<a b <c>@example.org>",
             .event(.messageID(queueID: "4104E3D", messageID: "a b <c>@example.org"))),
    LineCase("postfix/cleanup", "ADD961003206D: message-id==?UTF-8?B?PDE5?=? =?UTF-8?B?MTIy?=",
             .event(.messageID(queueID: "ADD961003206D", messageID: "=?UTF-8?B?PDE5?=? =?UTF-8?B?MTIy?="))),
    LineCase("postfix/cleanup", "4104E3D: resent-message-id=<r@example.org>", .ignored("resent-message-id")),
    // qmgr
    LineCase("postfix/qmgr", "4T9x2B1kQPz9sQk: from=<alice@example.org>, size=4821, nrcpt=1 (queue active)",
             .event(.queued(queueID: "4T9x2B1kQPz9sQk", sender: "alice@example.org", size: 4821, nrcpt: 1))),
    LineCase("postfix/qmgr", "3mPVKl0Mhjz7sXv: from=<>, size=2666, nrcpt=2 (queue active)",
             .event(.queued(queueID: "3mPVKl0Mhjz7sXv", sender: "", size: 2666, nrcpt: 2))),
    LineCase("postfix-secondary/qmgr", "C3CD21F3E90: from=<\"john, doe>x\"@example.org>, size=100, nrcpt=3 (queue active)",
             .event(.queued(queueID: "C3CD21F3E90", sender: "\"john, doe>x\"@example.org", size: 100, nrcpt: 3))),
    LineCase("postfix/qmgr", "BACE842E72: from=<noreply@example.com>, status=expired, returned to sender",
             .event(.expired(queueID: "BACE842E72", sender: "noreply@example.com", status: "expired"))),
    LineCase("postfix/qmgr", "BACE842E73: from=<noreply@example.com>, status=force-expired, returned to sender",
             .event(.expired(queueID: "BACE842E73", sender: "noreply@example.com", status: "force-expired"))),
    LineCase("postfix/qmgr", "4PbC4x469Jz3tBr: removed", .event(.removed(queueID: "4PbC4x469Jz3tBr", detail: nil))),
    LineCase("postfix/cleanup", "4PbC4x469Jz3tBr: removed (canceled)",
             .event(.removed(queueID: "4PbC4x469Jz3tBr", detail: "canceled"))),
    LineCase("postfix/qmgr", "ED06590130AA1C9D6D862: skipped, still being delivered", .ignored("qmgr-skipped")),
    // delivery agents
    LineCase("postfix/smtp", "4T9x2B1kQPz9sQk: to=<bob@example.net>, relay=mx.example.net[198.51.100.25]:25, delay=1.1, delays=0.4/0.01/0.3/0.39, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 4T9x2C0d3Hz1Wbq)",
             .event(.delivery(queueID: "4T9x2B1kQPz9sQk", PostfixDelivery(
                recipient: "bob@example.net", relay: peer("mx.example.net", "198.51.100.25", 25), delay: 1.1,
                delays: [0.4, 0.01, 0.3, 0.39], dsn: "2.0.0", status: .sent,
                response: "250 2.0.0 Ok: queued as 4T9x2C0d3Hz1Wbq", nextQueueID: "4T9x2C0d3Hz1Wbq")))),
    LineCase("postfix/smtp", "4E74613FE76: to=<redacted@gmail.com>, relay=gmail-smtp-in.l.google.com[2607:f8b0:400e:c04::1b]:25, delay=1.9, delays=0.05/0/1.1/0.71, dsn=5.7.1, status=bounced (host gmail-smtp-in.l.google.com[2607:f8b0:400e:c04::1b] said: 550-5.7.1 blocked; see (x) (in reply to end of DATA command))",
             .event(.delivery(queueID: "4E74613FE76", PostfixDelivery(
                recipient: "redacted@gmail.com", relay: peer("gmail-smtp-in.l.google.com", "2607:f8b0:400e:c04::1b", 25),
                delay: 1.9, delays: [0.05, 0, 1.1, 0.71], dsn: "5.7.1", status: .bounced,
                response: "host gmail-smtp-in.l.google.com[2607:f8b0:400e:c04::1b] said: 550-5.7.1 blocked; see (x) (in reply to end of DATA command)")))),
    LineCase("postfix/smtp", "3mPVKl0Mhjz7sXv: to=<susan@example.org>, orig_to=<alias@example.org>, relay=mx.example.org[192.0.2.21]:25, conn_use=2, delay=1.2, delays=0.76/0.01/0.09/0.34, dsn=2.0.0, status=sent (250 2.0.0 t5UI2nBt018923-t5UI2nBw018923 Message accepted for delivery)",
             .event(.delivery(queueID: "3mPVKl0Mhjz7sXv", PostfixDelivery(
                recipient: "susan@example.org", origRecipient: "alias@example.org", relay: peer("mx.example.org", "192.0.2.21", 25),
                connUse: 2, delay: 1.2, delays: [0.76, 0.01, 0.09, 0.34], dsn: "2.0.0", status: .sent,
                response: "250 2.0.0 t5UI2nBt018923-t5UI2nBw018923 Message accepted for delivery",
                nextQueueID: "t5UI2nBt018923-t5UI2nBw018923")))),
    LineCase("postfix/smtp", "7EE668039: to=<user@example.com>, relay=mail.example.com[192.0.2.4]:25, delay=3.6, delays=0.08/0.02/0.85/0.14, tls=dane/!requiretls:nocertmatch, dsn=2.1.5, status=sent (250 2.0.0 Ok: queued as 153053D)",
             .event(.delivery(queueID: "7EE668039", PostfixDelivery(
                recipient: "user@example.com", relay: peer("mail.example.com", "192.0.2.4", 25), delay: 3.6,
                delays: [0.08, 0.02, 0.85, 0.14], tlsFeature: "dane/!requiretls:nocertmatch", dsn: "2.1.5", status: .sent,
                response: "250 2.0.0 Ok: queued as 153053D", nextQueueID: "153053D")))),
    LineCase("postfix/amavis/smtp", "4PbCNM3z5lz3tBr: to=<user01.test@uhu-banane.net>, relay=127.0.0.1[127.0.0.1]:10024, delay=26, delays=25/0.02/0.01/1.3, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4PbCNs434mz3tG3)",
             .event(.delivery(queueID: "4PbCNM3z5lz3tBr", PostfixDelivery(
                recipient: "user01.test@uhu-banane.net", relay: peer("127.0.0.1", "127.0.0.1", 10024), delay: 26,
                delays: [25, 0.02, 0.01, 1.3], dsn: "2.0.0", status: .sent,
                response: "250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as 4PbCNs434mz3tG3",
                nextQueueID: "4PbCNs434mz3tG3")))),
    LineCase("postfix/lmtp", "AD6E41CDC05C: to=<admin@example.com>, relay=sub1.example.com[private/dovecot-lmtp], delay=0.15, delays=0.04/0/0.02/0.08, dsn=2.0.0, status=sent (250 2.0.0 <admin@example.com> qYyyBMsl9FRuZQAAA15QOA Saved)",
             .event(.delivery(queueID: "AD6E41CDC05C", PostfixDelivery(
                recipient: "admin@example.com", relay: peer("sub1.example.com[private/dovecot-lmtp]"), delay: 0.15,
                delays: [0.04, 0, 0.02, 0.08], dsn: "2.0.0", status: .sent,
                response: "250 2.0.0 <admin@example.com> qYyyBMsl9FRuZQAAA15QOA Saved")))),
    LineCase("postfix/pipe", "0F5383D: to=<tom@example.com>, orig_to=<admin@example.com>, relay=dovecot, delay=3.4, delays=3.3/0.03/0/0.12, dsn=2.0.0, status=sent (delivered via dovecot service)",
             .event(.delivery(queueID: "0F5383D", PostfixDelivery(
                recipient: "tom@example.com", origRecipient: "admin@example.com", relay: peer("dovecot"), delay: 3.4,
                delays: [3.3, 0.03, 0, 0.12], dsn: "2.0.0", status: .sent, response: "delivered via dovecot service")))),
    LineCase("postfix/local", "3mLQKH6hqhz7sWK: to=<logspam@system.alerts>, relay=local, delay=3.1, delays=1.8/0.86/0/0.44, dsn=2.0.0, status=sent (forwarded as 3mLQKK4rDdz7sVS)",
             .event(.delivery(queueID: "3mLQKH6hqhz7sWK", PostfixDelivery(
                recipient: "logspam@system.alerts", relay: peer("local"), delay: 3.1, delays: [1.8, 0.86, 0, 0.44],
                dsn: "2.0.0", status: .sent, response: "forwarded as 3mLQKK4rDdz7sVS", nextQueueID: "3mLQKK4rDdz7sVS")))),
    LineCase("postfix/virtual", "199041033BE: to=<me@example.fr>, relay=virtual, delay=0.08, delays=0.08/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
             .event(.delivery(queueID: "199041033BE", PostfixDelivery(
                recipient: "me@example.fr", relay: peer("virtual"), delay: 0.08, delays: [0.08, 0, 0, 0], dsn: "2.0.0",
                status: .sent, response: "delivered to maildir")))),
    LineCase("postfix/error", "5BECF63C4A: to=<x@icloud.example>, relay=none, delay=44899, delays=44869/0/30/0, dsn=4.4.1, status=deferred (connect to icloud.example[192.0.2.4]:25: Connection timed out)",
             .event(.delivery(queueID: "5BECF63C4A", PostfixDelivery(
                recipient: "x@icloud.example", relay: peer("none"), delay: 44899, delays: [44869, 0, 30, 0], dsn: "4.4.1",
                status: .deferred, response: "connect to icloud.example[192.0.2.4]:25: Connection timed out")))),
    LineCase("postfix/smtp", "CCAE27A4: to=<bob@example.net>, relay=mx.example.net[198.51.100.7], delay=9, status=sent (250 Queued! 1108907778 qp 18309)",
             .event(.delivery(queueID: "CCAE27A4", PostfixDelivery(
                recipient: "bob@example.net", relay: peer("mx.example.net", "198.51.100.7"), delay: 9, status: .sent,
                response: "250 Queued! 1108907778 qp 18309")))),
    LineCase("postfix/local", "0D7037A4: to=<postfix@example.net>, orig_to=<root>, relay=local, delay=0, status=sent (delivered to mailbox)",
             .event(.delivery(queueID: "0D7037A4", PostfixDelivery(
                recipient: "postfix@example.net", origRecipient: "root", relay: peer("local"), delay: 0, status: .sent,
                response: "delivered to mailbox")))),
    LineCase("postfix/local", "2A22C263F6: to=user@host.example.com, orig_to=root@localhost, relay=local, delay=0.07, delays=0.04/0/0/0.03, dsn=2.0.0, status=sent (delivered to command: procmail -a \"$EXTENSION\")",
             .event(.delivery(queueID: "2A22C263F6", PostfixDelivery(
                recipient: "user@host.example.com", origRecipient: "root@localhost", relay: peer("local"), delay: 0.07,
                delays: [0.04, 0, 0, 0.03], dsn: "2.0.0", status: .sent,
                response: "delivered to command: procmail -a \"$EXTENSION\"")))),
    LineCase("postfix/smtp", "C3CD21F3E90: to=<\"a>b, c\"@example.net>, relay=none, delay=0.1, delays=0.1/0/0/0, dsn=5.1.1, status=SOFTBOUNCE (unknown user)",
             .event(.delivery(queueID: "C3CD21F3E90", PostfixDelivery(
                recipient: "\"a>b, c\"@example.net", relay: peer("none"), delay: 0.1, delays: [0.1, 0, 0, 0], dsn: "5.1.1",
                status: .softbounce, response: "unknown user")))),
    LineCase("postfix/error", "3E29030F8637E: to=<user@example.com>, relay=none, delay=0.01, delays=0.01/0/0/0, dsn=5.1.1, status=undeliverable-but-not-cached (User unknown in virtual alias table)",
             .event(.delivery(queueID: "3E29030F8637E", PostfixDelivery(
                recipient: "user@example.com", relay: peer("none"), delay: 0.01, delays: [0.01, 0, 0, 0], dsn: "5.1.1",
                status: .undeliverable, response: "User unknown in virtual alias table")))),
    LineCase("postfix-out/smtp", "4T9x2B1kQPz9sQk: to=<bob@example.net>, relay=mx.example.net[2001:db8::25]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 OK id=1tUHfW-000000004Sd-2k8P)",
             .event(.delivery(queueID: "4T9x2B1kQPz9sQk", PostfixDelivery(
                recipient: "bob@example.net", relay: peer("mx.example.net", "2001:db8::25", 25), delay: 0.5,
                delays: [0.1, 0, 0.2, 0.2], dsn: "2.0.0", status: .sent, response: "250 OK id=1tUHfW-000000004Sd-2k8P",
                nextQueueID: "1tUHfW-000000004Sd-2k8P")))),
    LineCase("postfix/smtp", "4T9x2B1kQPz9sQk: to=<bob@example.net>, relay=mx.example.net[198.51.100.25]:25, delay=0.5, delays=0.1/0/0.2/0.2, dsn=2.0.0, status=sent (250 2.0.0 Ok: 4821 bytes queued as 4T9x2C0d3Hz1Wbq)",
             .event(.delivery(queueID: "4T9x2B1kQPz9sQk", PostfixDelivery(
                recipient: "bob@example.net", relay: peer("mx.example.net", "198.51.100.25", 25), delay: 0.5,
                delays: [0.1, 0, 0.2, 0.2], dsn: "2.0.0", status: .sent,
                response: "250 2.0.0 Ok: 4821 bytes queued as 4T9x2C0d3Hz1Wbq", nextQueueID: "4T9x2C0d3Hz1Wbq")))),
    LineCase("postfix/smtp", "3mPVKl0Mhjz7sXv: to=<x@example.org>, relay=mail2.example.com[66.100.32.07]:25, delay=2.5, delays=1.6/0.01/0.08/0.81, dsn=5.7.1, status=bounced (host mail2.example.com[66.100.32.07] said: 550 5.7.1 no (in reply to RCPT TO command))",
             .event(.delivery(queueID: "3mPVKl0Mhjz7sXv", PostfixDelivery(
                recipient: "x@example.org", relay: peer("mail2.example.com", nil, 25), delay: 2.5,
                delays: [1.6, 0.01, 0.08, 0.81], dsn: "5.7.1", status: .bounced,
                response: "host mail2.example.com[66.100.32.07] said: 550 5.7.1 no (in reply to RCPT TO command)")))),
    // bounce and postsuper
    LineCase("postfix/bounce", "732BB407C3: sender non-delivery notification: 5DE184083C",
             .event(.notification(queueID: "732BB407C3", kind: "sender non-delivery", newQueueID: "5DE184083C"))),
    LineCase("postfix/bounce", "482E4404AC8: postmaster non-delivery notification: 47335405A44",
             .event(.notification(queueID: "482E4404AC8", kind: "postmaster non-delivery", newQueueID: "47335405A44"))),
    LineCase("postfix/bounce", "264FE1A18: sender delay notification: 0A87A1A08",
             .event(.notification(queueID: "264FE1A18", kind: "sender delay", newQueueID: "0A87A1A08"))),
    LineCase("postfix/postsuper", "D4F2023DB: requeued", .event(.admin(queueID: "D4F2023DB", action: "requeued"))),
    LineCase("postfix/postsuper", "D4F2023DB: placed on hold", .event(.admin(queueID: "D4F2023DB", action: "placed on hold"))),
    LineCase("postfix/postsuper", "3nsF2M5j0nz31GS: released from hold",
             .event(.admin(queueID: "3nsF2M5j0nz31GS", action: "released from hold"))),
    LineCase("postfix/postsuper", "3nsRhm5bH5z306M: removed", .event(.removed(queueID: "3nsRhm5bH5z306M", detail: nil))),
    LineCase("postfix/postsuper", "Deleted: 115 messages", .ignored("postsuper-summary")),
    // refusals
    LineCase("postfix/smtpd", "NOQUEUE: reject: RCPT from unknown[192.0.2.99]: 554 5.7.1 <bob@example.net>: Relay access denied; from=<x@example.com> to=<bob@example.net> proto=ESMTP helo=<pc1>",
             .event(.reject(queueID: nil, PostfixReject(action: "reject", stage: "RCPT", client: peer("unknown", "192.0.2.99"),
                code: "554", dsn: "5.7.1", reason: "<bob@example.net>: Relay access denied", sender: "x@example.com",
                recipient: "bob@example.net", proto: "ESMTP", helo: "pc1")))),
    LineCase("postfix/smtpd", "NOQUEUE: reject: RCPT from news.example.com[192.36.205.58]: 554 5.7.1 Service unavailable; Helo command [news.example.com] blocked using dbl.spamhaus.org; http://www.spamhaus.org/query/dbl?domain=example.com; from=<mark@example.com> to=<tom@example.com> proto=ESMTP helo=<news.example.com>",
             .event(.reject(queueID: nil, PostfixReject(action: "reject", stage: "RCPT", client: peer("news.example.com", "192.36.205.58"),
                code: "554", dsn: "5.7.1",
                reason: "Service unavailable; Helo command [news.example.com] blocked using dbl.spamhaus.org; http://www.spamhaus.org/query/dbl?domain=example.com",
                sender: "mark@example.com", recipient: "tom@example.com", proto: "ESMTP", helo: "news.example.com")))),
    LineCase("postfix/postscreen", "NOQUEUE: reject: RCPT from [27.157.200.233]:4984: 550 5.7.1 Service unavailable; client [27.157.200.233] blocked using zen.spamhaus.org; from=<h@example.com>, to=<4ECEA00F.9040306@example.com>, proto=ESMTP, helo=<example.com>",
             .event(.reject(queueID: nil, PostfixReject(action: "reject", stage: "RCPT", client: peer(nil, "27.157.200.233", 4984),
                code: "550", dsn: "5.7.1", reason: "Service unavailable; client [27.157.200.233] blocked using zen.spamhaus.org",
                sender: "h@example.com", recipient: "4ECEA00F.9040306@example.com", proto: "ESMTP", helo: "example.com")))),
    LineCase("postfix/postscreen", "NOQUEUE: reject: CONNECT from [192.0.2.4]:1337: too many connections",
             .event(.reject(queueID: nil, PostfixReject(action: "reject", stage: "CONNECT", client: peer(nil, "192.0.2.4", 1337),
                reason: "too many connections")))),
    LineCase("postfix/smtpd", "NOQUEUE: reject: CONNECT from unknown[192.0.2.114]: 450 4.7.25 Client host rejected: cannot find your hostname, [192.0.2.114]; proto=SMTP",
             .event(.reject(queueID: nil, PostfixReject(action: "reject", stage: "CONNECT", client: peer("unknown", "192.0.2.114"),
                code: "450", dsn: "4.7.25", reason: "Client host rejected: cannot find your hostname, [192.0.2.114]", proto: "SMTP")))),
    LineCase("postfix-incoming/smtpd", "NOQUEUE: reject: EHLO from s271272.example.ru[78.107.251.238]: 504 5.5.2 <User>: Helo command rejected: need fully-qualified hostname; proto=SMTP helo=<User>",
             .event(.reject(queueID: nil, PostfixReject(action: "reject", stage: "EHLO", client: peer("s271272.example.ru", "78.107.251.238"),
                code: "504", dsn: "5.5.2", reason: "<User>: Helo command rejected: need fully-qualified hostname", proto: "SMTP", helo: "User")))),
    LineCase("postfix-smo/submission/smtpd", "44JCRG5tYPzCqt2: reject: BDAT from signing-milter.example.com[192.0.2.109]: 550 5.5.3 <DATA>: Data command rejected: Multi-recipient bounce; from=<> to=<some@example.com> proto=ESMTP helo=<domain.tld>",
             .event(.reject(queueID: "44JCRG5tYPzCqt2", PostfixReject(action: "reject", stage: "BDAT",
                client: peer("signing-milter.example.com", "192.0.2.109"), code: "550", dsn: "5.5.3",
                reason: "<DATA>: Data command rejected: Multi-recipient bounce", sender: "", recipient: "some@example.com",
                proto: "ESMTP", helo: "domain.tld")))),
    LineCase("postfix/smtpd", "NOQUEUE: reject_warning: RCPT from example.com[93.184.216.34]: 553 5.7.1 <sender@example.com>: Sender address rejected: not owned by user ph123; from=<sender@example.com> to=<recipient@example.com> proto=ESMTP helo=<example.com>",
             .event(.reject(queueID: nil, PostfixReject(action: "reject_warning", stage: "RCPT", client: peer("example.com", "93.184.216.34"),
                code: "553", dsn: "5.7.1", reason: "<sender@example.com>: Sender address rejected: not owned by user ph123",
                sender: "sender@example.com", recipient: "recipient@example.com", proto: "ESMTP", helo: "example.com")))),
    LineCase("postfix/smtpd", "NOQUEUE: milter-reject: RCPT from mailrelay.example.com[192.0.2.8]: 451 4.7.1 Greylisting in action, please come back later; from=<support@example.com> to=<example@example.org> proto=ESMTP helo=<mailrelay.example.com>",
             .event(.reject(queueID: nil, PostfixReject(action: "milter-reject", stage: "RCPT", client: peer("mailrelay.example.com", "192.0.2.8"),
                code: "451", dsn: "4.7.1", reason: "Greylisting in action, please come back later", sender: "support@example.com",
                recipient: "example@example.org", proto: "ESMTP", helo: "mailrelay.example.com")))),
    LineCase("postfix/cleanup", "4104E3D: milter-reject: END-OF-MESSAGE from 061238241086.static.example.com[61.238.241.86]: 5.7.1 Blocked by SpamAssassin; from=<w@example.com> to=<v@example.com> proto=ESMTP helo=<example.com>",
             .event(.reject(queueID: "4104E3D", PostfixReject(action: "milter-reject", stage: "END-OF-MESSAGE",
                client: peer("061238241086.static.example.com", "61.238.241.86"), dsn: "5.7.1", reason: "Blocked by SpamAssassin",
                sender: "w@example.com", recipient: "v@example.com", proto: "ESMTP", helo: "example.com")))),
    LineCase("postfix/smtpd", "NOQUEUE: filter: RCPT from unknown[85.25.255.255]: <mail@sender.com>: Sender address triggers FILTER smtp-amavis:[127.0.0.1]:10024; from=<mail@sender.com> to=<user@domain.com> proto=ESMTP helo=<plutoapp.biz>",
             .event(.reject(queueID: nil, PostfixReject(action: "filter", stage: "RCPT", client: peer("unknown", "85.25.255.255"),
                reason: "<mail@sender.com>: Sender address triggers FILTER smtp-amavis:[127.0.0.1]:10024", sender: "mail@sender.com",
                recipient: "user@domain.com", proto: "ESMTP", helo: "plutoapp.biz")))),
    LineCase("postfix/cleanup", "8B7EF2BB7: reject: header Date: Mon, 18 Jan 2038 19:07:11 +0800 from unknown[192.168.7.245]; from=<b@example.com> to=<service@example.com> proto=ESMTP helo=<realmail.example.com>: 5.7.1 Message content rejected",
             .event(.reject(queueID: "8B7EF2BB7", PostfixReject(action: "reject", stage: "header", client: peer("unknown", "192.168.7.245"),
                dsn: "5.7.1", reason: "Date: Mon, 18 Jan 2038 19:07:11 +0800: 5.7.1 Message content rejected", sender: "b@example.com",
                recipient: "service@example.com", proto: "ESMTP", helo: "realmail.example.com")))),
    LineCase("postfix/cleanup", "D95341E50350: info: header Subject: mail from bob test from local; from=<from@example.com> to=<to@example.com>",
             .event(.reject(queueID: "D95341E50350", PostfixReject(action: "info", stage: "header", client: peer("local"),
                reason: "Subject: mail from bob test", sender: "from@example.com", recipient: "to@example.com")))),
    LineCase("postfix/cleanup", "4104E3D: milter-header-redirect: header X-Spam-Status: Yes, score=39.3 from mx.example.com[61.238.241.86]; from=<w@example.com> to=<v@example.com> proto=ESMTP helo=<example.com>: tom@example.com",
             .event(.reject(queueID: "4104E3D", PostfixReject(action: "milter-header-redirect", stage: "header",
                client: peer("mx.example.com", "61.238.241.86"), reason: "X-Spam-Status: Yes, score=39.3: tom@example.com",
                sender: "w@example.com", recipient: "v@example.com", proto: "ESMTP", helo: "example.com")))),
    LineCase("postfix/cleanup", "D8B07E3DB6: warning: body buy now from mx.example.com[192.0.2.1]; from=<a@example.com> to=<b@example.com> proto=SMTP helo=<mx.example.com>",
             .event(.reject(queueID: "D8B07E3DB6", PostfixReject(action: "warning", stage: "body", client: peer("mx.example.com", "192.0.2.1"),
                reason: "buy now", sender: "a@example.com", recipient: "b@example.com", proto: "SMTP", helo: "mx.example.com")))),
    LineCase("postfix/smtpd", "proxy-reject: END-OF-MESSAGE: 554 5.7.0 Reject, id=31619-02 - spam; from=<> to=<user2@example2.com> proto=SMTP helo=<17.33.12.53>",
             .event(.reject(queueID: nil, PostfixReject(action: "proxy-reject", stage: "END-OF-MESSAGE", code: "554", dsn: "5.7.0",
                reason: "Reject, id=31619-02 - spam", sender: "", recipient: "user2@example2.com", proto: "SMTP", helo: "17.33.12.53")))),
    // ignored-known
    LineCase("postfix/postscreen", "PASS OLD [192.0.2.128]:36942", .ignored("postscreen")),
    LineCase("postfix/postscreen", "PREGREET 14 after 0.26 from [192.0.2.69]:60556: EHLO ylmf-pc\\r\\n", .ignored("postscreen")),
    LineCase("postfix/dnsblog", "addr 192.0.2.41 listed by domain zen.spamhaus.org as 127.0.0.4", .ignored("dnsblog")),
    LineCase("postfix/anvil", "statistics: max connection rate 1/60s for (smtpd:192.0.2.128) at Mar 13 23:57:31", .ignored("anvil")),
    LineCase("postfix/smtpd", "warning: unknown[192.0.2.42]: SASL LOGIN authentication failed: authentication failure", .ignored("warning")),
    LineCase("postfix/smtpd", "lost connection after STARTTLS from scanner.example.com[192.0.2.223]", .ignored("smtpd-abort")),
    LineCase("postfix/smtpd", "NOQUEUE: lost connection after CONNECT from unknown[192.0.2.25]", .ignored("smtpd-abort")),
    LineCase("postfix/smtpd", "improper command pipelining after AUTH from unknown[192.0.2.11]: QUIT", .ignored("smtpd-pipelining")),
    LineCase("postfix/smtp", "973D120142: host mta5.example.net[192.0.2.77] said: 421 4.7.0 [TSS04] deferred (in reply to MAIL FROM command)", .ignored("smtp-reply")),
    LineCase("postfix/tlsproxy", "CONNECT to [192.0.2.27]:25", .ignored("tlsproxy")),
    LineCase("postfix/master", "daemon started -- version 3.7.5, configuration /etc/postfix", .ignored("master")),
    LineCase("postfix/smtpd", "NOQUEUE: client=unknown[10.100.0.3]", .ignored("noqueue-client")),
    // malformed lines
    LineCase("postfix/smtp", "3mPVKl0Mhjz7sXv: to=<56597@con", .unparsed("unterminated to=<...>")),
    LineCase("postfix/qmgr", "98AEDA06BC: removed\"", .unparsed("unexpected text after 'removed'")),
    LineCase("postfix/smtpd", "NOQUEUE: reject: RCPT from mail-a.example.com[83.167.229.55]: 554 5.7.1 Service unavailable; Client host [83.167.229.",
             .unparsed("refusal without from=/to=/proto= context (truncated?)")),
    LineCase("postfix/qmgr", "4PbC4x469Jz3tBr: something new", .unparsed("unrecognised text after queue ID")),
    LineCase("postfix/smtpd", "something new", .unparsed("unrecognised smtpd line")),
]

@Suite struct PostfixLineTableTests {
    @Test func tableIsBroad() { #expect(lineCases.count >= 40) }

    @Test(arguments: lineCases)
    func lineGivesExactOutcome(_ c: LineCase) {
        let outcome = parseLine(c.line)
        switch c.expect {
        case .event(let e):
            #expect(outcome.event == e)
        case .ignored(let cat):
            #expect(outcome == .ignored(category: cat))
        case .unparsed(let reason):
            #expect(outcome == .unparsed(reason: reason))
        }
    }

    @Test func contextOfAnEventIsTheLinesEnvelope() throws {
        var p = LineParser(format: .postfix, framing: FramingConfig(timeZone: .fixedOffset(seconds: 3600), year: 2024))
        let line = "Mar  1 10:00:00 mx2 postfix-out/relay/smtp[77]: 4T9x2B1kQPz9sQk: removed"
        let o = Array(line.utf8).withUnsafeBufferPointer { p.parse($0, offset: 12_345) }
        let expected = LineContext(time: Timestamp(seconds: CivilDate(year: 2024, month: 3, day: 1).daysSinceEpoch * 86_400 + 9 * 3600),
                                   host: "mx2", instance: "postfix-out", program: "smtp", service: "relay", pid: 77, offset: 12_345)
        #expect(o == .postfix(expected, .removed(queueID: "4T9x2B1kQPz9sQk", detail: nil)))
        #expect(p.lastContext == expected)
        #expect(p.lastLineKind == .postfix)
    }

    @Test func otherProgramsAreIgnoredByFormat() {
        let amavis = "Mar  1 10:00:00 mx2 amavis[272]: (272-01) Passed CLEAN {RelayedInbound}"
        #expect(parseLine(amavis, format: .auto) == .ignored(category: "program:amavis"))
        #expect(parseLine(amavis, format: .postfix) == .ignored(category: "foreign:amavis"))
        // a custom syslog_name whose daemon is a Postfix daemon is still Postfix
        #expect(parseLine("Mar  1 10:00:00 mx2 mail-in/qmgr[1]: 4PbC4x469Jz3tBr: removed").event
                == .removed(queueID: "4PbC4x469Jz3tBr", detail: nil))
        #expect(parseLine("not a syslog line at all") == .unparsed(reason: "no timestamp (month name expected)"))
    }

    @Test func damagedTagsAreUnparsedNotFiledUnderANewInstance() {
        // maillog-gen --malformed puts invalid UTF-8 inside tags; such a line once became a
        // delivery of instance "postfix\u{FFFD}" and so a second, unrelated transaction.
        var bytes = Array("Mar  1 10:00:00 mbox2 postfix/pipe[28367]: 4jVkym0Tdbz8r48: to=<k@example.org>, relay=dovecot, delay=0.26, dsn=2.0.0, status=sent (delivered via dovecot service)".utf8)
        bytes.insert(0xFF, at: 29)
        var p = LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2024))
        let o = bytes.withUnsafeBufferPointer { p.parse($0, offset: 0) }
        #expect(o == .unparsed(reason: "syslog tag with control or non-ASCII bytes"))
        #expect(parseLine("Mar  1 10:00:00 mx2 post\u{1B}7fix/smtp[77]: 4T9x2B1kQPz9sQk: removed")
                == .unparsed(reason: "syslog tag with control or non-ASCII bytes"))
    }

    @Test func truncatedLinesAreUnparsedButDated() {
        var p = LineParser(format: .auto, framing: FramingConfig(timeZone: .fixedOffset(seconds: 0), year: 2024))
        let line = "Mar  1 10:00:00 mx2 postfix/smtp[77]: 4T9x2B1kQPz9sQk: to=<a@example.org>, relay=none"
        let o = Array(line.utf8).withUnsafeBufferPointer { p.parse($0, offset: 0, truncated: true) }
        #expect(o == .unparsed(reason: "line longer than the line-length cap (truncated)"))
        #expect(p.lastContext?.host == "mx2")
    }
}
