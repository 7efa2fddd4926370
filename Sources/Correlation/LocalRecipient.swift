/// LocalRecipient: which of a local delivery's two addresses is its recipient.
///
/// Contract: Sendmail (`to=alice, ctladdr=<alice@example.com>`) and Exim
/// (`=> alice <alice@example.com>`) log a local delivery under the mailbox
/// name and give the address it was for beside it. When the logged recipient
/// has no `@` and the other address has one, the address is the recipient —
/// it is what the previous hop delivered to, so per-recipient traces and
/// searches match across hops — and the mailbox name becomes
/// `orig_recipient`. Otherwise both stay as logged (Postfix's `to=`/`orig_to=`
/// meaning: final address, original address).
enum LocalRecipient {
    /// The (recipient, orig_recipient) pair to store for a delivery logged as `logged` with `other` beside it.
    static func resolve(logged: String, other: String?) -> (recipient: String, original: String?) {
        if let o = other, !logged.utf8.contains(UInt8(ascii: "@")), o.utf8.contains(UInt8(ascii: "@")) {
            return (o, logged)
        }
        return (logged, other)
    }
}
