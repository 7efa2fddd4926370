// PostfixCostTests: the cheaper forms of round 8 in the Postfix correlator against the forms
// they replace, on exact values — lookup keys that borrow the line's tag (`ProcessKey`) against
// keys that hold it.
// Limits: fixed cases (deterministic).

import Testing
@testable import Correlation
import MailTrailModel

@Suite struct PostfixCostTests {
    typealias ProcessKey = PostfixCorrelator.ProcessKey

    /// A borrowing key finds exactly what a holding key of the same tag parts and pid finds,
    /// whether the tag is the stored object or another object with the same parts.
    @Test func borrowedProcessKeysFindWhatHoldingKeysFind() {
        let smtpd = LineTag(instance: "postfix", program: "smtpd")
        let sameParts = LineTag(instance: "postfix", program: "smtpd")
        let submission = LineTag(instance: "postfix", service: "submission", program: "smtpd")
        let other = LineTag(instance: "postfix-out", program: "smtpd")
        var map = FastMap<ProcessKey, Int>()
        map[ProcessKey(tag: smtpd, pid: 10)] = 1
        map[ProcessKey(tag: submission, pid: 10)] = 2
        map[ProcessKey(tag: other, pid: 11)] = 3
        for tag in [smtpd, sameParts, submission, other] {
            for pid: Int32 in [10, 11, 12] {
                let holding = map.index(of: ProcessKey(tag: tag, pid: pid)).map { map.values[$0] }
                let borrowed = map.index(of: ProcessKey(borrowing: tag, pid: pid)).map { map.values[$0] }
                #expect(borrowed == holding, "tag \(tag.instance)/\(tag.service)/\(tag.program) pid \(pid)")
            }
        }
        #expect(map.index(of: ProcessKey(borrowing: sameParts, pid: 10)).map { map.values[$0] } == 1)
        #expect(map.index(of: ProcessKey(borrowing: submission, pid: 10)).map { map.values[$0] } == 2)
        #expect(map.index(of: ProcessKey(borrowing: other, pid: 10)) == nil)
        #expect(ProcessKey(borrowing: smtpd, pid: 10) == ProcessKey(tag: sameParts, pid: 10))
        #expect(ProcessKey(borrowing: smtpd, pid: 10).fastHash == ProcessKey(tag: sameParts, pid: 10).fastHash)
        #expect(ProcessKey(borrowing: smtpd, pid: 10) != ProcessKey(tag: smtpd, pid: 11))
    }

    /// A stored key keeps its tag alive after the line's reference is gone, and is saved with
    /// the tag's parts.
    @Test func storedProcessKeyHoldsItsTag() throws {
        var map = FastMap<ProcessKey, Int>()
        do {
            let tag = LineTag(instance: "postfix", service: "submission", program: "smtpd")
            map[ProcessKey(tag: tag, pid: 42)] = 7
        }
        let probe = LineTag(instance: "postfix", service: "submission", program: "smtpd")
        #expect(map.index(of: ProcessKey(borrowing: probe, pid: 42)).map { map.values[$0] } == 7)
        #expect(map.keys[0].tag.instance == "postfix")
        #expect(map.keys[0].tag.service == "submission")
        #expect(map.keys[0].tag.program == "smtpd")
    }
}
