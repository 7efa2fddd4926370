/// RunMailtrail: runs the built `mailtrail` binary from a test (it sits next to
/// the test bundle in the build folder) and collects its exit status and output.
/// Shared by every test target that drives the real binary.
import Foundation

/// Runs `mailtrail args` with extra environment and optional stdin (a file path).
public func runMailtrail(_ args: [String], environment: [String: String] = [:],
                         stdin: String? = nil) throws -> (status: Int32, out: String, err: String) {
    let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        .appendingPathComponent("mailtrail")
    let p = Process()
    p.executableURL = exe
    p.arguments = args
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    if let stdin { p.standardInput = FileHandle(forReadingAtPath: stdin) }
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
