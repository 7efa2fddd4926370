/// OneOrMore: a growable list that keeps its first element inline, for per-transaction lists
/// that almost always hold one entry (a message's recipients).
///
/// Contract: behaves as an array (`RandomAccessCollection` + `MutableCollection`, `append`,
/// order kept); the first element costs no allocation, the second and later ones go to a
/// heap array. Known limits: no removal (the correlators never remove a recipient).
struct OneOrMore<Element>: RandomAccessCollection, MutableCollection {
    private var head: Element?
    private var tail: [Element] = []

    init() {}

    init(_ elements: [Element]) {
        head = elements.first
        if elements.count > 1 { tail = Array(elements.dropFirst()) }
    }

    var startIndex: Int { 0 }
    var endIndex: Int { head == nil ? 0 : 1 + tail.count }

    subscript(i: Int) -> Element {
        get { i == 0 ? head! : tail[i - 1] }
        set { if i == 0 { head = newValue } else { tail[i - 1] = newValue } }
    }

    mutating func append(_ e: Element) {
        if head == nil { head = e } else { tail.append(e) }
    }
}

extension OneOrMore: Sendable where Element: Sendable {}
