// ZoneConverter: local wall-clock time in one zone -> UTC, cached per local hour.
//
// Contract (DST rule):
// * A local time that occurs twice (the repeated hour when clocks go back)
//   maps to its FIRST occurrence, i.e. it is read with the daylight-saving
//   offset in force before the change.
// * A local time that does not exist (the skipped hour when clocks go
//   forward) is read with the offset in force before the change, which
//   shifts it forward by the gap (Berlin 02:30 on the spring day -> 01:30Z,
//   which is 03:30 CEST).
// * Offsets come from Foundation's `TimeZone` only when a new local hour is
//   seen; the result is cached per local hour (when the whole hour behaves
//   the same), so the hot path does a compare or a dictionary lookup;
//   `lastHourUniform` tells whether the last answer's hour had one offset.
// Known limits: assumes at most one offset change within ±1 day of a time
// (true for every real zone since 1900 except a few wartime edits).

import Foundation

/// Converts naive local seconds (civil time counted as if it were UTC) to UTC seconds.
struct ZoneConverter {
    private let fixed: Int64?
    private let zone: TimeZone?
    private var lastHour: Int64 = .min
    private var lastOffset: Int64 = 0
    private var cache: [Int64: Int64] = [:]

    /// Whether the last `utcSeconds` answer used one offset for its whole local hour (a fixed
    /// offset, or an hour without a change in it): then every time of that hour has that offset.
    private(set) var lastHourUniform = true
    /// Whether the configured zone could be resolved.
    var isValid: Bool { fixed != nil || zone != nil }

    init(_ spec: TimeZoneSpec) {
        switch spec {
        case .fixedOffset(let s): fixed = Int64(s); zone = nil
        case .identifier(let id): fixed = nil; zone = TimeZone(identifier: id)
        }
    }

    /// UTC seconds for a naive local time; nil only when the zone is invalid.
    @inline(__always)
    mutating func utcSeconds(localNaive l: Int64) -> Int64? {
        if let o = fixed { return l - o }
        let hour = l >= 0 ? l / 3600 : (l - 3599) / 3600
        if hour == lastHour { lastHourUniform = true; return l - lastOffset }
        return slowPath(l, hour: hour)
    }

    private mutating func slowPath(_ l: Int64, hour: Int64) -> Int64? {
        guard let tz = zone else { return nil }
        lastHourUniform = true
        if let o = cache[hour] {
            lastHour = hour; lastOffset = o
            return l - o
        }
        let start = hour * 3600
        let o1 = ZoneConverter.offset(forLocal: start, tz)
        let o2 = ZoneConverter.offset(forLocal: start + 3599, tz)
        if o1 == o2 {
            if cache.count > 200_000 { cache.removeAll(keepingCapacity: true) }
            cache[hour] = o1
            lastHour = hour; lastOffset = o1
            return l - o1
        }
        // The hour contains a change at a non-hour boundary: decide per second.
        lastHourUniform = false
        return l - ZoneConverter.offset(forLocal: l, tz)
    }

    /// Offset (seconds east of UTC) to subtract from naive local `l`, by the DST rule above.
    static func offset(forLocal l: Int64, _ tz: TimeZone) -> Int64 {
        func at(_ t: Int64) -> Int64 { Int64(tz.secondsFromGMT(for: Date(timeIntervalSince1970: Double(t)))) }
        let before = at(l - 86_400)
        let after = at(l + 86_400)
        if before == after { return before }
        let i1 = l - before, i2 = l - after
        let v1 = at(i1) == before
        let v2 = at(i2) == after
        switch (v1, v2) {
        case (true, true): return l - min(i1, i2)   // repeated: first occurrence
        case (true, false): return before
        case (false, true): return after
        case (false, false): return before           // skipped: shift forward by the gap
        }
    }
}
