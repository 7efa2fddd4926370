// FastMapTests: the correlators' hash table against Swift's Dictionary under a long random
// sequence of inserts, updates, removals and filters, with keys whose hashes collide on
// purpose (long probe chains, wrap-around at the table's end); `filter` leaves a table whose
// every kept key is still found and no dropped one, in the dense order that one `remove(at:)`
// per dropped entry (the simple form of `filter`) leaves.
// Limits: one fixed seed (deterministic); values are plain integers.

import Testing
@testable import Correlation
import MailTrailModel

/// A key whose hash takes few values, so that chains form and cross the table's end.
private struct CollidingKey: FastKey, Hashable {
    let n: Int
    var fastHash: Int { (n % 5) &* 0x3FFF_FFFF }
}

@Suite struct FastMapTests {
    @Test func behavesAsADictionaryUnderRandomOperations() {
        var map = FastMap<CollidingKey, Int>()
        var model: [Int: Int] = [:]
        var rng = SplitMix64(seed: 42)
        var mismatches: [String] = []
        for step in 0..<20_000 {
            let k = Int(rng.next() % 400)
            switch rng.next() % 10 {
            case 0...4:
                map[CollidingKey(n: k)] = step; model[k] = step
            case 5...7:
                map[CollidingKey(n: k)] = nil; model[k] = nil
            case 8:
                let cut = Int(rng.next() % 20_000)
                map.filter { $0 >= cut }
                model = model.filter { $0.value >= cut }
            default:
                map.withValue(CollidingKey(n: k), make: { -1 }) { v, _ in v += 1 }
                model[k, default: -1] += 1
            }
            if map.count != model.count { mismatches.append("step \(step): count \(map.count) vs \(model.count)") }
            if step % 97 == 0 {
                for probe in 0..<400 where map[CollidingKey(n: probe)] != model[probe] {
                    mismatches.append("step \(step): key \(probe) gives \(String(describing: map[CollidingKey(n: probe)])) vs \(String(describing: model[probe]))")
                }
            }
            if mismatches.count > 5 { break }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        #expect(Dictionary(uniqueKeysWithValues: zip(map.keys.map(\.n), map.values)) == model)
    }

    /// `filter` as it was written before its one-pass form: one `remove(at:)` per dropped entry.
    private static func filterByRemovals(_ map: inout FastMap<CollidingKey, Int>, _ keep: (Int) -> Bool) {
        var i = 0
        while i < map.values.count {
            if keep(map.values[i]) { i += 1 } else { map.remove(at: i) }
        }
    }

    @Test func filterLeavesWhatRemovalsOneByOneLeave() {
        var map = FastMap<CollidingKey, Int>()
        var ref = FastMap<CollidingKey, Int>()
        var rng = SplitMix64(seed: 7)
        var mismatches: [String] = []
        for step in 0..<6_000 {
            let k = Int(rng.next() % 300)
            switch rng.next() % 8 {
            case 0...4:
                map[CollidingKey(n: k)] = step; ref[CollidingKey(n: k)] = step
            case 5:
                map[CollidingKey(n: k)] = nil; ref[CollidingKey(n: k)] = nil
            default:
                let cut = step - Int(rng.next() % 3_000)
                let odd = rng.next() % 2 == 0
                let keep: (Int) -> Bool = { v in v >= cut || (odd && v % 2 == 1) }
                map.filter(keep)
                Self.filterByRemovals(&ref, keep)
            }
            if map.keys != ref.keys || map.values != ref.values {
                mismatches.append("step \(step): dense order differs")
            }
            if step % 50 == 0 {
                for probe in 0..<300 where map.index(of: CollidingKey(n: probe)) != ref.index(of: CollidingKey(n: probe)) {
                    mismatches.append("step \(step): key \(probe) at \(String(describing: map.index(of: CollidingKey(n: probe)))) vs \(String(describing: ref.index(of: CollidingKey(n: probe))))")
                }
            }
            if mismatches.count > 5 { break }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
        #expect(map.count == ref.count)
    }

    @Test func filterKeepsExactlyTheKeptEntries() {
        var map = FastMap<CollidingKey, Int>()
        for n in 0..<100 { map[CollidingKey(n: n)] = n }
        map.filter { $0 % 3 == 0 }
        #expect(map.keys.map(\.n).sorted() == Array(stride(from: 0, to: 100, by: 3)))
        #expect(map.values.sorted() == Array(stride(from: 0, to: 100, by: 3)))
        for n in 0..<100 { #expect(map[CollidingKey(n: n)] == (n % 3 == 0 ? n : nil)) }
        map.filter { $0 != 33 }
        #expect(map.count == 33)
        for n in 0..<100 { #expect(map[CollidingKey(n: n)] == (n % 3 == 0 && n != 33 ? n : nil)) }
        map.filter { _ in false }
        #expect(map.isEmpty)
        map[CollidingKey(n: 7)] = 7
        #expect(map[CollidingKey(n: 7)] == 7)
    }
}
