import JSONRPC
import Testing

@testable import NudjTools

@Suite("Result trimming measures without encoding and decides as before")
struct TrimmingTests {
    @Test("trim shortens the same fields, in the same order, to the same result as the encode-per-round trimmer")
    func sameDecisions() {
        var random = Random(seed: 42)
        var compared = 0
        for round in 0..<120 {
            let object = random.entity()
            let size = JSONWriter.encode(.object(object)).count
            for fraction in [0.9, 0.5, 0.2, 0.05] {
                let budget = Int(Double(size) * fraction)
                let expected = ReferenceTrimmer.trim(object, budget: budget)
                let actual = ResultShaper.trim(object, budget: budget)
                #expect(actual.paths == expected.paths, "round \(round), budget \(budget)")
                #expect(actual.object == expected.object, "round \(round), budget \(budget)")
                if !expected.paths.isEmpty { compared += 1 }
            }
        }
        #expect(compared > 200, "the corpus must actually exercise trimming")
    }

    @Test("ties go to the first candidate in document order; an array outweighs the strings it holds")
    func ties() {
        let long = String(repeating: "x", count: 100)
        // One byte over: one round. "a" and "b" tie, so "a" (first) is halved.
        let strings: JSONObject = ["a": .string(long), "b": .string(long)]
        let over = JSONWriter.encode(.object(strings)).count - 1
        #expect(ResultShaper.trim(strings, budget: over).paths == ["a"])
        #expect(ReferenceTrimmer.trim(strings, budget: over).paths == ["a"])
        // The array is measured after its elements, yet still wins over the equal string inside it.
        let nested: JSONObject = ["a": .string(long), "c": [.string(long), "y"]]
        let budget = JSONWriter.encode(.object(nested)).count - 1
        #expect(ResultShaper.trim(nested, budget: budget).paths == ["c"])
        #expect(ReferenceTrimmer.trim(nested, budget: budget).paths == ["c"])
    }
}

/// The trimmer as it was before sizes were measured without encoding: it encodes the whole value each round and
/// every array while searching. Kept here as the oracle for `ResultShaper.trim`.
private enum ReferenceTrimmer {
    enum Step: Equatable {
        case key(String)
        case index(Int)
    }

    static func trim(_ object: JSONObject, budget: Int) -> (object: JSONObject, paths: [String]) {
        var value = JSONValue.object(object)
        var paths: [String] = []
        for _ in 0..<200 {
            guard JSONWriter.encode(value).count > budget, let path = largestLeaf(value, path: []) else { break }
            value = shrink(value, at: path[...])
            let rendered = render(path)
            if !paths.contains(rendered) { paths.append(rendered) }
        }
        return (value.objectValue ?? object, paths)
    }

    static func largestLeaf(_ value: JSONValue, path: [Step]) -> [Step]? {
        var best: ([Step], Int)?
        func consider(_ candidate: JSONValue, _ candidatePath: [Step]) {
            switch candidate {
            case .string(let string) where string.utf8.count > 64:
                if string.utf8.count > (best?.1 ?? 0) { best = (candidatePath, string.utf8.count) }
            case .array(let elements) where elements.count > 1:
                let size = JSONWriter.encode(candidate).count
                if size > (best?.1 ?? 0) { best = (candidatePath, size) }
                for (index, element) in elements.enumerated() { consider(element, candidatePath + [.index(index)]) }
            case .array(let elements):
                for (index, element) in elements.enumerated() { consider(element, candidatePath + [.index(index)]) }
            case .object(let object):
                for entry in object { consider(entry.value, candidatePath + [.key(entry.key)]) }
            default:
                break
            }
        }
        consider(value, path)
        return best?.0
    }

    static func shrink(_ value: JSONValue, at path: ArraySlice<Step>) -> JSONValue {
        guard let step = path.first else {
            switch value {
            case .string(let string):
                return .string(String(string.prefix(max(32, string.count / 2))) + "…[truncated]")
            case .array(let elements):
                return .array(Array(elements.prefix(max(1, elements.count / 2))))
            default:
                return value
            }
        }
        switch (step, value) {
        case (.key(let key), .object(var object)):
            if let child = object[key] { object[key] = shrink(child, at: path.dropFirst()) }
            return .object(object)
        case (.index(let index), .array(var elements)) where elements.indices.contains(index):
            elements[index] = shrink(elements[index], at: path.dropFirst())
            return .array(elements)
        default:
            return value
        }
    }

    static func render(_ path: [Step]) -> String {
        var text = ""
        for step in path {
            switch step {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}

/// Deterministic entities with long strings, escapes, unicode and arrays (some of equal size, to exercise ties).
private struct Random {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func below(_ bound: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((state >> 33) % UInt64(bound))
    }

    private static let pieces = ["lorem ", "ipsum ", "\"q\" ", "\\", "\n", "é", "日本", "😀", "\u{01}"]

    mutating func text() -> String {
        let length = [3, 20, 70, 70, 150, 400][below(6)]
        var text = ""
        while text.utf8.count < length { text += Self.pieces[below(Self.pieces.count)] }
        return text
    }

    mutating func value(depth: Int) -> JSONValue {
        switch below(depth > 0 ? 6 : 3) {
        case 0: return .int(Int64(below(100_000)))
        case 1, 2: return .string(text())
        case 3: return .object(entity(depth: depth - 1))
        default: return .array((0..<below(8)).map { _ in value(depth: depth - 1) })
        }
    }

    mutating func entity(depth: Int = 3) -> JSONObject {
        var object = JSONObject()
        for index in 0..<(1 + below(7)) { object["field\(index)"] = value(depth: depth) }
        return object
    }
}
