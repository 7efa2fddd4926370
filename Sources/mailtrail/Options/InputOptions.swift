// InputOptions: how to read log lines (format, host, year, zone); shared by ingest and parse.
import ArgumentParser
import Ingest


struct InputOptions: ParsableArguments {
    @Option(help: "Log format: auto (detect per line), postfix, sendmail, exim or utm (Sophos UTM smtp.log).")
    var format: String = "auto"

    @Option(help: "Host name for lines that carry none (the envelope's host name is used otherwise).")
    var host: String?

    @Option(help: "Year of year-less (classic syslog) timestamps; inferred from the file date when omitted.")
    var year: Int?

    @Option(help: "Time zone of timestamps without an offset (IANA name, e.g. Europe/Berlin); default: the system's.")
    var timezone: String?

    mutating func validate() throws {
        guard InputFormat(rawValue: format) != nil else {
            throw ValidationError("unknown --format '\(format)'; use one of: auto, postfix, sendmail, exim, utm")
        }
        if let y = year, !(1970...9999).contains(y) {
            throw ValidationError("--year \(y) is out of range; give a four-digit year such as 2026")
        }
        if let tz = timezone, !ZoneCheck.isKnown(tz) {
            throw ValidationError("unknown --timezone '\(tz)'; use an IANA zone name such as UTC or Europe/Berlin")
        }
    }

    var pipelineOptions: PipelineOptions {
        var o = PipelineOptions()
        o.format = InputFormat(rawValue: format) ?? .auto
        o.host = host
        o.year = year
        o.timeZone = timezone
        return o
    }
}
