/// Files: the file-system facts the follower needs — identity (device,
/// inode), size, first-line fingerprint of a live file or a (gzip'd) rotated
/// copy, glob expansion and the rotated siblings of a path in rotation order.
///
/// Contract: nothing here throws for a missing file (nil / empty instead);
/// rotated siblings of `/d/mail.log` are the names in `/d` that start with
/// `mail.log.` or `mail.log-` (mail.log.1, mail.log.2.gz, mail.log-20260101.gz),
/// oldest first: numbered suffixes by number descending, others by name
/// (dateext names sort chronologically).
/// Limits: rotation schemes that move files to another directory
/// (logrotate `olddir`) are not searched.
import LogReading
#if canImport(Glibc)
import Glibc
#endif

struct FileIdentity: Equatable {
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var mtime: Int64
}

enum Files {
    static func identity(path: String) -> FileIdentity? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return FileIdentity(st)
    }

    static func identity(fd: Int32) -> FileIdentity? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return FileIdentity(st)
    }

    /// Fingerprint of the first line readable through `fd` (nil until a first line is complete).
    static func fingerprint(fd: Int32) -> String? {
        var buf = [UInt8](repeating: 0, count: Fingerprint.maxBytes)
        var got = 0
        while got < buf.count {
            let n = buf.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, $0.count - got, off_t(got)) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            got += n
        }
        return Fingerprint.of(prefix: buf[0..<got])
    }

    /// Fingerprint of a file that may be gzip'd (a rotated copy); nil when unreadable or no line yet.
    static func fingerprint(path: String) -> String? {
        guard let r = try? ChunkReader(path: path, chunkSize: 64 * 1024) else { return nil }
        var buf: [UInt8] = []
        while buf.count < Fingerprint.maxBytes {
            guard let n = try? r.read(into: &buf), n > 0 else { break }
            if buf.contains(0x0a) { break }
        }
        return Fingerprint.of(prefix: buf[...])
    }

    /// Paths matching `pattern` (regular files only), sorted; the pattern itself when it has no glob characters.
    static func expand(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        var out: [String] = []
        for i in 0..<Int(g.gl_pathc) {
            if let p = g.gl_pathv[i] {
                let s = String(cString: p)
                var st = stat()
                if stat(s, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG { out.append(s) }
            }
        }
        return out.sorted()
    }

    /// Rotated copies of `path` in its directory, oldest first (see the file header).
    static func rotatedSiblings(of path: String) -> [String] {
        guard let slash = path.lastIndex(of: "/") else { return [] }
        let dir = String(path[..<slash])
        let base = String(path[path.index(after: slash)...])
        guard let d = opendir(dir.isEmpty ? "/" : dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard name.count > base.count + 1, name.hasPrefix(base) else { continue }
            let sep = name[name.index(name.startIndex, offsetBy: base.count)]
            guard sep == "." || sep == "-" else { continue }
            names.append(name)
        }
        func number(_ name: String) -> Int? {
            var rest = name.dropFirst(base.count + 1)
            if rest.hasSuffix(".gz") { rest = rest.dropLast(3) }
            return Int(rest)
        }
        let numbered = names.allSatisfy { number($0) != nil }
        let sorted = numbered
            ? names.sorted { (number($0)!, $1) > (number($1)!, $0) }
            : names.sorted()
        return sorted.map { dir + "/" + $0 }
    }
}

extension FileIdentity {
    init(_ st: stat) {
        device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size); mtime = Int64(st.st_mtim.tv_sec)
    }
}
