/// SlabString: one value's bytes in a `FromText` slab, held instead of a String that most lines
/// never need as a String (the Sendmail correlator's SASL login names).
///
/// Contract: `string` is `String(decoding: bytes, as: UTF8.self)` of the bytes it was made of —
/// the String `SharedStringCache.string` gives for the same span ("" for an absent one) — and
/// `put(into:)` copies those bytes into a row's text, as `RowText.put(_:_:)` of the line's span
/// would. Bytes once written never change (see `FromText`: slabs are append-only and shared by
/// copies), so a copy is one retain of its slab. A value made from a String (a decoded state)
/// gets a slab of its own.
/// Limits: a live value keeps its whole slab (at most `FromText.slabCapacity` bytes), so values
/// go to a slab of their owner's kind: sessions' names to the correlator's `authSlab`, and a
/// transaction takes a copy in `fromSlab` (`copy(into:)`), where its `from=` line's bytes are,
/// so that a transaction left open for days keeps no session's slab; values up to 2 GiB.

import MailTrailModel

extension SendmailCorrelator {
    struct SlabString: @unchecked Sendable {
        let slab: FromText.Slab
        let at: Int32
        let count: Int32

        /// The bytes of `span` (absent: none, read as ""), appended to `current` (or a new slab).
        @inline(__always)
        init(_ b: LineBytes, _ span: Span, slab current: inout FromText.Slab?) {
            let n = span.isPresent ? max(0, span.count) : 0
            self.init(b.base + Int(span.isPresent ? span.lo : 0), n, slab: &current)
        }

        /// The same bytes appended to `current` (or a new slab), so that this value's slab is not
        /// kept alive by the copy.
        @inline(__always)
        func copy(into current: inout FromText.Slab?) -> SlabString {
            // The slab reserved first, then the bytes copied: through `init(_:_:slab:)` inside the
            // source's closure the step was not inlined (+80 instructions a SASL message).
            let n = Int(count)
            let (s, o) = FromText.reserve(bytes: n, in: &current)
            if n > 0 {
                slab.withUnsafeMutablePointerToElements { src in
                    s.withUnsafeMutablePointerToElements { dst in RowText.copy(dst + o, src + Int(at), n) }
                }
            }
            return SlabString(slab: s, at: Int32(truncatingIfNeeded: o), count: count)
        }

        private init(slab: FromText.Slab, at: Int32, count: Int32) {
            self.slab = slab; self.at = at; self.count = count
        }

        /// `n` bytes from `p` appended to `current` (or a new slab).
        @inline(__always)
        private init(_ p: UnsafePointer<UInt8>, _ n: Int, slab current: inout FromText.Slab?) {
            let (s, o) = FromText.reserve(bytes: n, in: &current)
            if n > 0 { s.withUnsafeMutablePointerToElements { RowText.copy($0 + o, p, n) } }
            slab = s; at = Int32(truncatingIfNeeded: o); count = Int32(truncatingIfNeeded: n)
        }

        /// The UTF-8 of `s`, in a slab of its own.
        init(_ s: String) {
            var t = s
            let n = t.utf8.count
            let own = FromText.Slab.create(minimumCapacity: max(n, 1)) { _ in n }
            t.withUTF8 { u in
                if let q = u.baseAddress, n > 0 { own.withUnsafeMutablePointerToElements { RowText.copy($0, q, n) } }
            }
            slab = own; at = 0; count = Int32(truncatingIfNeeded: n)
        }

        /// The value as a String (see the type's contract).
        var string: String {
            slab.withUnsafeMutablePointerToElements { p in
                String(decoding: UnsafeBufferPointer(start: p + Int(at), count: Int(count)), as: UTF8.self)
            }
        }

        /// Copies the bytes into a row's text (claimed by the caller); returns their place.
        @inline(__always)
        func put(into text: inout RowText) -> TextRef {
            slab.withUnsafeMutablePointerToElements { p in text.put(p + Int(at), Int(count)) }
        }
    }
}
