import Codecs

/// HTTP header fields in arrival order. Names compare case-insensitively; repeated fields are kept.
package struct HTTPHeaders: Sendable, Equatable, Sequence, ExpressibleByDictionaryLiteral {
    package struct Field: Sendable, Equatable {
        package var name: String
        package var value: String
    }

    package private(set) var fields: [Field] = []

    package init() {}

    /// Room for `capacity` fields: the parser knows how many lines a head has before it reads them.
    package init(capacity: Int) { fields.reserveCapacity(capacity) }

    package init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { Field(name: $0.0, value: $0.1) }
    }

    package var count: Int { fields.count }

    /// The first value of `name`, or `nil`.
    package subscript(name: String) -> String? {
        for field in fields where field.name.equalsIgnoringASCIICase(name) { return field.value }
        return nil
    }

    /// Every value of `name`, in order.
    package func values(_ name: String) -> [String] {
        fields.filter { $0.name.equalsIgnoringASCIICase(name) }.map(\.value)
    }

    package func contains(_ name: String) -> Bool { self[name] != nil }

    /// How many fields are called `name`.
    package func count(of name: String) -> Int {
        var count = 0
        for field in fields where field.name.equalsIgnoringASCIICase(name) { count += 1 }
        return count
    }

    package mutating func add(_ name: String, _ value: String) { fields.append(Field(name: name, value: value)) }

    /// Replaces every field called `name` with one field.
    package mutating func set(_ name: String, _ value: String) {
        remove(name)
        add(name, value)
    }

    package mutating func remove(_ name: String) { fields.removeAll { $0.name.equalsIgnoringASCIICase(name) } }

    package func makeIterator() -> IndexingIterator<[Field]> { fields.makeIterator() }

    /// Whether a comma-separated header (`Connection`, `Accept`, …) lists `token`, ignoring case and parameters.
    package func listContains(_ name: String, token: String) -> Bool {
        fields.contains { $0.name.equalsIgnoringASCIICase(name) && $0.value.httpListContains(token) }
    }
}

/// Byte-wise equality with ASCII letters compared case-insensitively (header names and tokens).
func asciiCaseInsensitiveEqual(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    for (a, b) in zip(lhs, rhs) where a != b {
        let la = a >= 0x41 && a <= 0x5A ? a + 0x20 : a
        let lb = b >= 0x41 && b <= 0x5A ? b + 0x20 : b
        if la != lb { return false }
    }
    return true
}

extension String {
    /// Header names are looked up a hundred times per request: compared over contiguous bytes, not by iterating two
    /// UTF-8 views (which cost a fifth of an HTTP call's instructions in header look-ups alone).
    package func equalsIgnoringASCIICase(_ other: String) -> Bool {
        guard utf8.count == other.utf8.count else { return false }
        let contiguous = utf8.withContiguousStorageIfAvailable { lhs in
            other.utf8.withContiguousStorageIfAvailable { rhs in asciiCaseInsensitiveEqual(lhs, rhs) }
        }
        if let contiguous, let equal = contiguous { return equal }
        return asciiCaseInsensitiveEqual(utf8, other.utf8)
    }
}
