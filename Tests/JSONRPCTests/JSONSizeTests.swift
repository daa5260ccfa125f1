import TestSupport
import Testing

@testable import JSONRPC

@Suite("JSON size without encoding")
struct JSONSizeTests {
    /// Values chosen for every branch of the writer: each escape, `\u00XX`, multi-byte UTF-8, integer widths and
    /// signs, double formats, non-finite doubles, empty and nested containers.
    static let corpus: [JSONValue] = [
        .null, true, false,
        .int(0), .int(9), .int(10), .int(-1), .int(-9), .int(-10), .int(99), .int(100), .int(1_234_567_890),
        .int(.max), .int(.min), .int(.min + 1),
        .double(1.5), .double(-0.0), .double(1e-7), .double(1e20), .double(123_456.789), .double(.pi),
        .double(.nan), .double(.infinity), .double(-.infinity), .double(.leastNonzeroMagnitude),
        "", "plain", "quote \" and backslash \\", "\n\r\t\u{08}\u{0C}", "\u{00}\u{01}\u{1F}\u{7F}",
        "é ü ß", "日本語のテキスト", "emoji 😀👍🏽 family 👨‍👩‍👧", "/ is not escaped", "\u{2028}\u{2029}",
        [], [[]], [.null, 1, "two", [3, ["four": 4]]],
        [:], ["": ""], ["k\"ey\n": "v\u{01}", "ключ": ["nested": ["deeper": [1, 2.5, false, .null]]]],
        ["items": .array((0..<50).map { .object(["id": .int(Int64($0)), "name": .string("user \($0) \"x\"")]) })],
    ]

    @Test("encodedSize equals the byte count of encode for every value in the corpus")
    func corpusSizes() {
        for value in Self.corpus {
            #expect(JSONWriter.encodedSize(value) == JSONWriter.encode(value).count, "\(value)")
        }
        // Each value also inside containers, where separators and keys count too.
        let all = JSONValue.array(Self.corpus)
        #expect(JSONWriter.encodedSize(all) == JSONWriter.encode(all).count)
        var object = JSONObject()
        for (index, value) in Self.corpus.enumerated() { object["key \(index) \"\u{01}é"] = value }
        #expect(JSONWriter.encodedSize(object) == JSONWriter.encode(.object(object)).count)
    }

    @Test(
        "strings escape the same whether short or long, clean or dense with escapes: each parses back to itself",
        arguments: [1, 7, 8, 9, 100, 2_731, 2_732, 20_000])
    func escapesRoundTrip(repeats: Int) throws {
        // Every ASCII byte once per repeat, after a clean prefix: both the one-pass and the in-place escape paths
        // (the switch is at 16 KB of text after the first escape), and the clean prefix the word scan skips.
        let unit = (0...127).map { UInt8($0) }
        let text =
            "clean prefix of some length "
            + String(decoding: Array(repeating: unit, count: repeats).joined(), as: UTF8.self)
        let encoded = JSONWriter.encode(.string(text))
        #expect(encoded.count == JSONWriter.stringSize(text))
        #expect(try JSONParser.parse(encoded) == .string(text))
        #expect(!encoded.dropFirst().dropLast().contains(where: { $0 < 0x20 }))
    }

    @Test("an object's kept encoding is what the writer writes, and any change to the object drops it")
    func keptEncoding() {
        let object: JSONObject = ["a": 1, "b": ["c": "d\"e"], "list": [1, 2]]
        let kept = JSONWriter.encodingKept(object)
        #expect(kept.encoding == JSONWriter.encode(.object(object)))
        #expect(kept == object)
        #expect(JSONWriter.encode(["result": .object(kept)]) == JSONWriter.encode(["result": .object(object)]))
        #expect(JSONWriter.encodedSize(.object(kept)) == JSONWriter.encode(.object(object)).count)

        var changed = kept
        changed["a"] = 2
        #expect(changed.encoding == nil)
        #expect(JSONWriter.encode(.object(changed)) == Array(#"{"a":2,"b":{"c":"d\"e"},"list":[1,2]}"#.utf8))
        var removed = kept
        removed.removeValue(forKey: "b")
        #expect(removed.encoding == nil)
        #expect(JSONWriter.encode(.object(removed)) == Array(#"{"a":1,"list":[1,2]}"#.utf8))
        var appended = kept
        appended.appendUnchecked("z", .null)
        #expect(appended.encoding == nil)
        #expect(JSONWriter.encodedSize(.object(appended)) == JSONWriter.encode(.object(appended)).count)
    }

    @Test("stringSize counts every byte from 0 to 127 as the writer escapes it")
    func everyASCIIByte() {
        for byte in UInt8(0)...127 {
            let string = "a" + String(decoding: [byte], as: UTF8.self) + "b"
            #expect(JSONWriter.stringSize(string) == JSONWriter.encode(.string(string)).count, "byte \(byte)")
        }
    }

    @Test("integers are written digit by digit exactly as Swift prints them, at every width and sign")
    func integers() {
        var generator = SplitMix(seed: 7)
        var numbers: [Int64] = [0, 1, 9, 10, 11, 99, 100, -1, -9, -10, -100, .max, .min, .max - 1, .min + 1]
        for _ in 0..<2_000 { numbers.append(Int64(bitPattern: generator.next()) >> Int64(generator.below(64))) }
        for number in numbers {
            #expect(JSONWriter.encode(.int(number)) == Array(String(number).utf8), "\(number)")
            #expect(JSONWriter.encodedSize(.int(number)) == String(number).utf8.count, "\(number)")
        }
        // After other bytes, digits land at the end of the buffer, not at its start.
        #expect(
            JSONWriter.encode([1, -23, 456, "x", .int(.min)]) == Array(#"[1,-23,456,"x",-9223372036854775808]"#.utf8))
    }

    @Test("encodedSize equals the encoded byte count for random nested values")
    func randomValues() {
        var generator = SplitMix(seed: 0x5EED)
        for _ in 0..<300 {
            let value = generator.value(depth: 4)
            #expect(JSONWriter.encodedSize(value) == JSONWriter.encode(value).count, "\(value)")
        }
    }
}

/// Random JSON values covering every kind, nested, with strings that need escaping.
extension SplitMix {
    private static let pieces = ["a", "Z", "0", " ", "\"", "\\", "\n", "\t", "\u{01}", "\u{1F}", "é", "日", "😀", "/"]

    mutating func string() -> String {
        var text = ""
        for _ in 0..<below(12) { text += Self.pieces[below(Self.pieces.count)] }
        return text
    }

    mutating func value(depth: Int) -> JSONValue {
        switch below(depth > 0 ? 8 : 5) {
        case 0: return .null
        case 1: return .bool(below(2) == 0)
        case 2: return .int(Int64(bitPattern: next()) >> Int64(below(64)))
        case 3: return .double(Double(Int64(bitPattern: next()) >> 20) / Double(1 + below(1000)))
        case 4: return .string(string())
        case 5, 6:
            var object = JSONObject()
            for _ in 0..<below(5) { object[string()] = value(depth: depth - 1) }
            return .object(object)
        default: return .array((0..<below(5)).map { _ in value(depth: depth - 1) })
        }
    }
}
