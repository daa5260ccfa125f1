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
