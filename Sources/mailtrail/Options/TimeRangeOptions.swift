// TimeRangeOptions: --since / --until, shared by search and report.
import ArgumentParser
import MailTrailModel
import Query

struct TimeRangeOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Only from this time on: a date, a date and time (UTC unless an offset is given), or an age like 2h or 7d.",
                               valueName: "time"))
    var since: String?

    @Option(help: ArgumentHelp("Only up to this time (same forms as --since).", valueName: "time"))
    var until: String?

    mutating func validate() throws {
        let now = TimeSpec.now()
        for (flag, value) in [("--since", since), ("--until", until)] {
            guard let value else { continue }
            do { _ = try TimeSpec.parse(value, now: now) } catch let e as TimeSpecError {
                throw ValidationError("\(flag): \(e.description)")
            }
        }
        if let a = sinceTime, let b = untilTime, a > b {
            throw ValidationError("--since is after --until; swap them")
        }
    }

    var sinceTime: Timestamp? { since.flatMap { try? TimeSpec.parse($0) } }
    var untilTime: Timestamp? { until.flatMap { try? TimeSpec.parse($0) } }
}
