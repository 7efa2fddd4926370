// EximSharedStringsTests: a parser's line buffer carries the caches that every Exim correlator
// its lines reach uses (swapped with its own, `EximCorrelator.borrowShared`): queue IDs through
// its `EximIDMemo` (or its Strings cache for other lengths), Message-IDs with their keys through
// its `MessageKey.Cache`; senders, recipients and subjects are made afresh (round 12 of
// docs/performance-history.md: the shared lookup cost more CPU time than the String). The rows must be exactly those of
// correlators fed the same lines from buffers that share nothing (each correlator then uses its
// own cache), on seeded relay transcripts over three hosts whose values repeat across hosts
// (a message's sender, Message-ID and recipient logged again by the next hop, its queue ID in the
// sender's `250 OK id=` reply, its subject (`T="..."` without a backslash); short and long, ASCII
// and not, up to past the cache's 128 bytes),
// with deliveries of messages whose arrival is not in the log; the shared cache must be back on
// the line after each line.
// Limits: lines are built as spans here (no parser), from generated transcripts (seeded).
import Testing
import MailTrailModel
@testable import Correlation

@Suite struct EximSharedStringsTests {
    static let hosts = ["mx1", "mx2", "mbox3"]
    static let senders = ["a@example.org", "brandon.garcia@example.com", "caf\u{E9}.owner@example.net", "",
                          "bounce+x=y@lists.example.org", String(repeating: "long.local.part.", count: 9) + "@example.org"]
    static let recipients = ["x@y.z", "patricia.zimmermann@example.org", "ingrid.williams@example.org",
                             "h\u{F6}st@example.org", "postmaster"]
    /// Quoted `T=` values without a backslash (read through the shared cache, as the next hop logs them again).
    static let subjects = ["Re: Re: quarterly report", "Payment confirmation 31210", "", "short",
                           "caf\u{E9} menu for the week", String(repeating: "a long subject line ", count: 8)]
    static let messageIDs = ["m1@x", "CAxJzZJ66QZuYNI+PJpGYW754FT1jC_3EVUgAGwkDhoYdVnWVX0m5xchrj@mail.gmail.com",
                             "000001c294c6011e$2a567ce4$854f86db$@example.com",
                             String(repeating: "0102018ea5650dc6-d7fcd7db-", count: 6) + "@amazonses.com"]

    /// Pieces of a line's text, appended with their spans (as the direct-arrival tests build them).
    typealias Text = EximDirectArrivalTests.Text

    /// One line of the transcript: its host, its text and how to fill its spans.
    struct Line {
        var host: Int
        var bytes: [UInt8]
        var fill: (EximLine) -> Void
    }

    static func queueID(_ rng: inout SplitMix64) -> String {
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        func part(_ n: Int) -> String { String((0..<n).map { _ in alphabet[Int(rng.next() % 62)] }) }
        return "1" + part(5) + "-" + part(6) + "-" + part(2)
    }

    static func arrival(_ host: Int, id: String, sender: String, messageID: String?, reference: String?,
                        subject: String? = nil) -> Line {
        var t = Text()
        let idSpan = t.add(id)
        let senderSpan = sender.isEmpty ? Span(t.bytes.count..<t.bytes.count) : t.add(sender)
        let mid = messageID.map { t.add($0) } ?? .absent
        let ref = reference.map { t.add($0) } ?? .absent
        let name = t.add("mx\(host).example.com")
        let ip = t.add("10.0.0.\(host + 1)")
        let subjectSpan = subject.map { $0.isEmpty ? Span(t.bytes.count..<t.bytes.count) : t.add($0) } ?? .absent
        return Line(host: host, bytes: t.bytes) { e in
            e.storage.pointee.messageID = idSpan
            e.beginArrival(fake: false)
            e.storage.pointee.sender = senderSpan
            e.storage.pointee.client = PeerSpans(name: name, ip: ip, port: nil)
            e.storage.pointee.messageIDHeader = mid
            e.storage.pointee.reference = ref
            e.storage.pointee.size = 1000
            e.storage.pointee.subject = subjectSpan
            e.storage.pointee.subjectEscapeFree = subjectSpan.isPresent
        }
    }

    static func delivery(_ host: Int, id: String, flag: EximDeliveryFlag, recipient: String, local: Bool,
                         next: String?) -> Line {
        var t = Text()
        let idSpan = t.add(id)
        // A local delivery logs the local part, then the address (`=> alice <alice@example.com>`).
        let logged = t.add(local ? String(recipient.prefix { $0 != "@" }) : recipient)
        let orig = local ? t.add(recipient) : .absent
        let response = next.map { t.add("250 OK id=\($0)") } ?? .absent
        let nextSpan = next.map { _ in Span((Int(response.hi) - 16)..<Int(response.hi)) } ?? .absent
        let router = t.add(local ? "local_user" : "internal_relay")
        return Line(host: host, bytes: t.bytes) { e in
            e.storage.pointee.messageID = idSpan
            e.beginDelivery(flag)
            e.storage.pointee.recipient = logged
            e.storage.pointee.origRecipient = orig
            e.storage.pointee.router = router
            e.storage.pointee.response = response
            e.storage.pointee.responseQuoted = response.isPresent
            e.storage.pointee.responseEscapeFree = response.isPresent
            e.storage.pointee.nextQueueID = nextSpan
        }
    }

    static func completed(_ host: Int, id: String) -> Line {
        var t = Text()
        let idSpan = t.add(id)
        return Line(host: host, bytes: t.bytes) { e in
            e.storage.pointee.messageID = idSpan
            e.storage.pointee.kind = .completed
        }
    }

    /// A seeded transcript of relayed messages (mx host -> mbox3), flows interleaved.
    static func transcript(seed: UInt64, messages: Int) -> [Line] {
        var rng = SplitMix64(seed: seed)
        func pick<T>(_ a: [T]) -> T { a[Int(rng.next() % UInt64(a.count))] }
        var flows: [[Line]] = []
        var earlier: [String] = []
        for _ in 0..<messages {
            let mx = Int(rng.next() % 2)
            let q1 = queueID(&rng), q2 = queueID(&rng)
            let sender = pick(senders), rcpt = pick(recipients)
            let mid: String? = rng.next() % 5 == 0 ? nil : pick(messageIDs)
            let reference: String? = rng.next() % 6 == 0 && !earlier.isEmpty ? pick(earlier) : nil
            let subject: String? = rng.next() % 3 == 0 ? nil : pick(subjects)
            var flow: [Line] = [
                arrival(mx, id: q1, sender: sender, messageID: mid, reference: reference, subject: subject),
                arrival(2, id: q2, sender: sender, messageID: mid, reference: nil, subject: subject),
                delivery(mx, id: q1, flag: .delivered, recipient: rcpt, local: false, next: q2),
                delivery(2, id: q2, flag: rng.next() % 4 == 0 ? .deferred : .delivered, recipient: rcpt,
                         local: rcpt.contains("@"), next: nil),
                completed(mx, id: q1),
                completed(2, id: q2),
            ]
            if rng.next() % 5 == 0 {
                // A delivery of a message whose arrival is not in the log.
                flow.append(delivery(Int(rng.next() % 3), id: queueID(&rng), flag: .failed, recipient: pick(recipients),
                                     local: false, next: rng.next() % 2 == 0 ? queueID(&rng) : nil))
            }
            earlier.append(q1)
            flows.append(flow)
        }
        // Interleave: repeatedly take the next line of one of the first few open flows.
        var lines: [Line] = []
        var open = flows.map { ArraySlice($0) }
        while !open.isEmpty {
            let k = Int(rng.next() % UInt64(min(3, open.count)))
            lines.append(open[k].removeFirst())
            if open[k].isEmpty { open.remove(at: k) }
        }
        return lines
    }

    /// Feeds `lines` to one correlator per host through `buffer(host)`'s line.
    static func run(_ lines: [Line], buffer: (Int) -> EximLineBuffer) -> [CorrelatorOutput] {
        runKeeping(lines, buffer: buffer).outputs
    }

    /// `run`, also giving back the correlators (their transactions after the last line).
    static func runKeeping(_ lines: [Line], buffer: (Int) -> EximLineBuffer)
        -> (outputs: [CorrelatorOutput], machines: [EximCorrelator]) {
        var machines = hosts.map { EximCorrelator(host: $0) }
        var outs = hosts.map { _ in CorrelatorOutput() }
        for (k, l) in lines.enumerated() {
            let ctx = LineContext(time: Timestamp(seconds: 1_800_000_000 + Int64(k)), host: hosts[l.host],
                                  instance: "", program: "exim", pid: 100)
            let e = buffer(l.host).line
            l.bytes.withUnsafeBufferPointer { b in
                e.reset(bytes: LineBytes(b))
                l.fill(e)
                machines[l.host].receive(ctx, e, into: &outs[l.host])
            }
            if e.storage.pointee.sharesStrings {
                #expect(e.storage.pointee.strings != nil || (e.kind != .arrival && e.kind != .delivery))
            }
        }
        for h in hosts.indices { machines[h].flushHeld(into: &outs[h]) }
        return (outs, machines)
    }

    @Test func sharedCacheGivesTheRowsOfOwnCaches() {
        for seed in UInt64(1)...12 {
            let lines = Self.transcript(seed: seed, messages: 150)
            let shared = EximLineBuffer()
            let own = Self.hosts.map { _ in EximLineBuffer(sharedStrings: false) }
            #expect(shared.line.storage.pointee.sharesStrings)
            #expect(!own[0].line.storage.pointee.sharesStrings)
            let a = Self.run(lines) { _ in shared }
            let b = Self.run(lines) { own[$0] }
            #expect(shared.line.storage.pointee.strings != nil)
            #expect(own.allSatisfy { $0.line.storage.pointee.strings == nil })
            for h in Self.hosts.indices {
                #expect(a[h].messages == b[h].messages)
                #expect(a[h].deliveries == b[h].deliveries)
                #expect(a[h].rejections == b[h].rejections)
            }
            #expect(a.map(\.messages.count).reduce(0, +) == 300)
        }
    }

    /// The shared caches hand out the very String a host made when the next hop logs the same
    /// Message-ID (the transactions keep it); the sender is an equal String made afresh. The rows
    /// are packed from the lines' bytes (arrivals and deliveries), so they read back as equal Strings.
    @Test func nextHopGetsTheSameStrings() throws {
        let q1 = "1rfqKL-00059H-U4", q2 = "1rfqKM-0003Wv-GQ"
        let sender = "brandon.garcia@example.com", mid = Self.messageIDs[1], subject = Self.subjects[4]
        let lines = [
            Self.arrival(0, id: q1, sender: sender, messageID: mid, reference: nil, subject: subject),
            Self.arrival(2, id: q2, sender: sender, messageID: mid, reference: nil, subject: subject),
            Self.delivery(0, id: q1, flag: .delivered, recipient: "x@example.org", local: false, next: q2),
        ]
        let shared = EximLineBuffer()
        let (out, machines) = Self.runKeeping(lines) { _ in shared }
        let m0 = out[0].messages[0], m2 = out[2].messages[0], d0 = out[0].deliveries[0]
        #expect(m0.sender == sender && m2.sender == sender && m2.messageID == mid && d0.nextQueueID == q2)
        #expect(m0.subject == subject && m2.subject == subject)
        func identical(_ a: String?, _ b: String?) -> Bool {
            guard let a, let b else { return false }
            return unsafeBitCast(a, to: (UInt64, UInt64).self) == unsafeBitCast(b, to: (UInt64, UInt64).self)
        }
        func tx(_ h: Int, _ id: String) -> EximCorrelator.Transaction? {
            machines[h].transactions[EximCorrelator.TxKey(instance: "exim", queueID: id)]
        }
        let t0 = try #require(tx(0, q1)), t2 = try #require(tx(2, q2))
        #expect(t0.messageID == mid && identical(t0.messageID, t2.messageID))
        #expect(t0.sender == sender && t2.sender == sender && !identical(t0.sender, t2.sender))
        // Every row is packed: no record to make or destroy.
        #expect(out[0].messages.records.isEmpty && out[2].messages.records.isEmpty && out[0].deliveries.records.isEmpty)
        #expect(m2.queueID == d0.nextQueueID)
    }
}
