/// SplitMix64: a small, fast, seeded generator, so that fuzz inputs and randomized tests are
/// the same on every run.
///
/// Contract: `next()` yields the SplitMix64 sequence (Steele, Lea & Flood) that starts from
/// `seed`; the same seed gives the same numbers on every platform.
/// Known limits: predictable by design; not for anything that must not be guessed.
public struct SplitMix64: Sendable {
    public var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
