// InlineValuesTests: the inline stand-ins for small arrays on the hot path behave as the arrays
// they replaced — `Delays` (a delivery's four delay parts) reads, compares and encodes like the
// `[Double]` it was, and `OneOrMore` (a transaction's recipients) keeps order and updates in
// place across the inline/heap boundary.
// Limits: `OneOrMore` has no removal, so none is tested.

import Foundation
import Testing
@testable import Correlation
import MailTrailModel

@Suite struct InlineValuesTests {
    @Test func delaysReadAndEncodeAsTheArrayTheyReplace() throws {
        let d = Delays(0.07, 0, 0.01, 0.3)
        #expect(Array(d) == [0.07, 0, 0.01, 0.3])
        #expect(d.count == 4)
        #expect(d[3] == 0.3)
        #expect(Delays([1, 2, 3]) == nil)
        #expect(Delays([1, 2, 3, 4]) == Delays(1, 2, 3, 4))
        #expect(Delays(1, 2, 3, 4) != Delays(1, 2, 3, 5))
        #expect(Set([Delays(1, 2, 3, 4), Delays(1, 2, 3, 4), Delays(4, 3, 2, 1)]).count == 2)
        // Saved as before (a JSON array of four numbers), and read back from that form.
        let json = try JSONEncoder().encode(d)
        #expect(String(decoding: json, as: UTF8.self) == "[0.07,0,0.01,0.3]")
        #expect(try JSONDecoder().decode(Delays.self, from: Data("[1,2,3,4]".utf8)) == Delays(1, 2, 3, 4))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Delays.self, from: Data("[1,2]".utf8)) }
    }

    @Test func oneOrMoreKeepsOrderAndUpdatesInPlace() {
        var list = OneOrMore<String>()
        #expect(list.isEmpty)
        #expect(list.count == 0)
        list.append("a")
        #expect(Array(list) == ["a"])
        list.append("b")
        list.append("c")
        #expect(Array(list) == ["a", "b", "c"])
        list[0] = "A"
        list[2] = "C"
        #expect(Array(list) == ["A", "b", "C"])
        #expect(list.firstIndex(of: "b") == 1)
        #expect(Array(OneOrMore(["x", "y"])) == ["x", "y"])
        #expect(OneOrMore<String>([]).isEmpty)
    }
}
