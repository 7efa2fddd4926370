// SendmailInstanceTests: `SendmailCorrelator.instance` (the length checked before the compare)
// against its simple form `program == "sm-msp-queue" ? "sendmail" : program` on the Sendmail
// programs, near misses of the same length, and non-ASCII names.
// Limits: a fixed list.

import Testing
@testable import Correlation

@Suite struct SendmailInstanceTests {
    @Test func agreesWithTheSimpleForm() {
        let programs = ["sm-msp-queue", "sm-mta", "sendmail", "sm-msp-queuE", "sm-msp-queu", "sm-msp-queue ", "",
                        "sm-msp-qüeu", "postfix/smtpd", "sm-msp-queue".uppercased(), String("xsm-msp-queue".dropFirst())]
        for p in programs {
            #expect(SendmailCorrelator.instance(p) == (p == "sm-msp-queue" ? "sendmail" : p), "\(p)")
        }
        #expect(SendmailCorrelator.instance("sm-msp-queue") == "sendmail")
        #expect(SendmailCorrelator.instance("sm-mta") == "sm-mta")
    }
}
