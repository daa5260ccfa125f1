/// A JSON object that keeps its members in insertion order.
///
/// Lookup is a linear scan: MCP messages and API entities have few keys, and a scan over a small contiguous
/// array beats hashing. Equality ignores order, as JSON object semantics require.
package struct JSONObject: Sendable, Hashable, Sequence, ExpressibleByDictionaryLiteral {
    package struct Entry: Sendable, Hashable {
        package var key: String
        package var value: JSONValue

        package init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    package private(set) var entries: [Entry] {
        didSet { encoding = nil }
    }

    /// What `JSONWriter` wrote for this object, kept by `JSONWriter.encodingKept` so that writing it again (a tool
    /// result is sent as text and as structured content) copies bytes instead of walking the tree. Any change to
    /// the entries drops it; equality and hashing ignore it.
    package internal(set) var encoding: [UInt8]?

    package init() { entries = [] }

    /// Builds an object; a repeated key keeps its first position and its last value.
    ///
    /// Linear in the common case (no duplicates): building key by key through the subscript would be quadratic, and
    /// every upstream object passes through here.
    package init(_ entries: [Entry]) {
        self.entries = entries
        guard Self.hasDuplicateKeys(entries) else { return }
        self.entries = []
        self.entries.reserveCapacity(entries.count)
        for entry in entries { self[entry.key] = entry.value }
    }

    private static func hasDuplicateKeys(_ entries: [Entry]) -> Bool {
        if entries.count < 2 { return false }
        // Pairwise up to 32 keys (at most 496 comparisons, most of them two words each for short keys): cheaper than
        // hashing every key into a set, and API entities often have a dozen or two fields.
        if entries.count <= 32 {
            for first in 0..<entries.count {
                for second in (first + 1)..<entries.count where entries[first].key == entries[second].key {
                    return true
                }
            }
            return false
        }
        var seen = Set<String>(minimumCapacity: entries.count)
        for entry in entries where !seen.insert(entry.key).inserted { return true }
        return false
    }

    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        self.init(elements.map { Entry(key: $0.0, value: $0.1) })
    }

    package var count: Int { entries.count }
    package var isEmpty: Bool { entries.isEmpty }
    package var keys: [String] { entries.map(\.key) }

    package subscript(key: String) -> JSONValue? {
        get {
            for entry in entries where entry.key == key { return entry.value }
            return nil
        }
        set {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                if let newValue { entries[index].value = newValue } else { entries.remove(at: index) }
            } else if let newValue {
                entries.append(Entry(key: key, value: newValue))
            }
        }
    }

    /// Appends without checking for an existing key; for builders that know keys are unique.
    package mutating func appendUnchecked(_ key: String, _ value: JSONValue) {
        entries.append(Entry(key: key, value: value))
    }

    @discardableResult
    package mutating func removeValue(forKey key: String) -> JSONValue? {
        guard let index = entries.firstIndex(where: { $0.key == key }) else { return nil }
        return entries.remove(at: index).value
    }

    package func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    package static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        guard lhs.entries.count == rhs.entries.count else { return false }
        for entry in lhs.entries where rhs[entry.key] != entry.value { return false }
        return true
    }

    package func hash(into hasher: inout Hasher) {
        // Order-independent: combine per-entry hashes commutatively.
        var combined = 0
        for entry in entries {
            var entryHasher = Hasher()
            entryHasher.combine(entry.key)
            entryHasher.combine(entry.value)
            combined = combined &+ entryHasher.finalize()
        }
        hasher.combine(entries.count)
        hasher.combine(combined)
    }
}
