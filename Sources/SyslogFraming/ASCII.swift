// ASCII: named byte values used by the framer's scanners.
//
// Contract: internal constants only; no behaviour. Known limits: ASCII only,
// which is all a syslog envelope contains.

enum ASCII {
    static let newline: UInt8 = 0x0A       // \n
    static let carriageReturn: UInt8 = 0x0D // \r
    static let space: UInt8 = 0x20
    static let colon: UInt8 = 0x3A
    static let slash: UInt8 = 0x2F
    static let dot: UInt8 = 0x2E
    static let comma: UInt8 = 0x2C
    static let plus: UInt8 = 0x2B
    static let minus: UInt8 = 0x2D
    static let openBracket: UInt8 = 0x5B    // [
    static let closeBracket: UInt8 = 0x5D   // ]
    static let zero: UInt8 = 0x30
    static let lessThan: UInt8 = 0x3C      // <
    static let greaterThan: UInt8 = 0x3E   // >
    static let nine: UInt8 = 0x39
    static let upperT: UInt8 = 0x54
    static let lowerT: UInt8 = 0x74
    static let upperZ: UInt8 = 0x5A
    static let lowerZ: UInt8 = 0x7A

    @inline(__always) static func isDigit(_ b: UInt8) -> Bool { b &- zero < 10 }
    @inline(__always) static func digit(_ b: UInt8) -> Int { Int(b &- zero) }
}
