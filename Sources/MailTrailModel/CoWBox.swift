/// CoWBox: one heap copy of an event payload's fields, shared by its copies.
///
/// Contract: the large Sendmail and Exim event payloads (`SendmailFrom`,
/// `SendmailTo`, `SendmailReject`, `EximArrival`, `EximDelivery`,
/// `EximReject`) keep their fields in a `CoWBox`, so copying an event is one
/// retain instead of a memcpy plus a retain per field. A payload calls
/// `CoWBox.makeUnique(&box)` before every mutation (copy-on-write), so value
/// semantics are kept.
/// Known limits: not thread-safe for concurrent mutation of one payload value
/// (like any Swift value: one writer at a time).

/// A reference holding one `Fields` value for copy-on-write payloads.
@usableFromInline
final class CoWBox<Fields>: @unchecked Sendable {
    @usableFromInline var f: Fields
    @usableFromInline init(_ f: Fields) { self.f = f }

    /// Gives `box` its own copy when another value shares it.
    @inlinable static func makeUnique(_ box: inout CoWBox<Fields>) {
        if !isKnownUniquelyReferenced(&box) { box = CoWBox(box.f) }
    }
}
