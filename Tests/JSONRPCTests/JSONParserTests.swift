import TestSupport
import Testing

@testable import JSONRPC

@Suite("JSON parser")
struct JSONParserTests {
    @Test("integers stay integers and fractions stay doubles")
    func numberTypes() throws {
        #expect(try JSONParser.parse("42") == .int(42))
        #expect(try JSONParser.parse("-7") == .int(-7))
        #expect(try JSONParser.parse("1.0") == .double(1.0))
        #expect(try JSONParser.parse("1e3") == .double(1000))
        #expect(try JSONParser.parse("-9223372036854775808") == .int(.min))
        #expect(try JSONParser.parse("9223372036854775807") == .int(.max))
        #expect(try JSONParser.parse("9223372036854775808") == .double(9_223_372_036_854_775_808))
    }

    @Test("strings decode every escape, including surrogate pairs")
    func escapes() throws {
        let value = try JSONParser.parse(#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#)
        #expect(value == .string("a\"b\\c/d\u{08}\u{0C}\n\r\té😀"))
    }

    @Test("object key order is preserved and the last duplicate wins")
    func objects() throws {
        let value = try JSONParser.parse(#"{"b":1,"a":2,"b":3}"#)
        #expect(value.objectValue?.keys == ["b", "a"])
        #expect(value["b"] == .int(3))
    }

    @Test(
        "malformed input is rejected with a reason",
        arguments: [
            "", "{", "[1,]", "{\"a\"}", "01", "1.", "-", "tru", "nul", "\"abc", "[1 2]", "{\"a\":1,}",
            "\"\u{01}\"", "\"\\x\"", "\"\\ud800\"", "\"\\udc00x\"", "1 2", "{'a':1}", "NaN", "1e999",
        ]
    )
    func rejectsMalformed(text: String) {
        #expect(throws: JSONParseError.self) { try JSONParser.parse(text) }
    }

    @Test("invalid UTF-8 inside a string is reported as such")
    func invalidUTF8() {
        let bytes: [UInt8] = Array(#"{"a":""#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        #expect(throws: JSONParseError(reason: .invalidUTF8, offset: 6)) { try JSONParser.parse(bytes) }
    }

    @Test("nesting beyond the limit is refused instead of exhausting the stack")
    func depthLimit() throws {
        let deep = String(repeating: "[", count: 300) + String(repeating: "]", count: 300)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
        let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        _ = try JSONParser.parse(fine)
    }

    @Test("writer output parses back to the same value")
    func roundTrip() throws {
        let original: JSONValue = [
            "id": 7, "s": "line\nbreak \"quoted\" \u{01} é", "d": 1.5, "n": .null, "b": true,
            "a": [1, "two", 3.25, ["nested": []]],
        ]
        let text = JSONWriter.encodeString(original)
        #expect(!text.contains("\n"))
        #expect(try JSONParser.parse(text) == original)
    }

    @Test("equality ignores key order")
    func orderInsensitiveEquality() throws {
        #expect(try JSONParser.parse(#"{"a":1,"b":2}"#) == JSONParser.parse(#"{"b":2,"a":1}"#))
    }
}

@Suite("JSON strings: UTF-8 and escapes, against the standard library")
struct JSONStringTests {
    /// Byte strings near UTF-8's edges: lead bytes of every length, continuation bytes, the overlong, surrogate and
    /// past-U+10FFFF ranges, truncation.
    private static func nearlyUTF8(_ random: inout SplitMix) -> [UInt8] {
        let pieces: [[UInt8]] = [
            [0x41], [0x7F], [0xC2, 0x80], [0xDF, 0xBF], [0xC0, 0x80], [0xC1, 0xBF], [0xE0, 0xA0, 0x80],
            [0xE0, 0x9F, 0xBF],
            [0xED, 0x9F, 0xBF], [0xED, 0xA0, 0x80], [0xEF, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80],
            [0xF0, 0x8F, 0xBF, 0xBF],
            [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80], [0x80], [0xBF], [0xFE],
            [0xFF],
            [0xE2, 0x82], [0xF0, 0x9F, 0x98],
        ]
        var bytes: [UInt8] = []
        for _ in 0..<Int(random.next() % 6) { bytes += pieces[Int(random.next() % UInt64(pieces.count))] }
        return bytes
    }

    @Test("the parser accepts exactly the strings the standard library's UTF-8 validation accepts (20,000 generated)")
    func validationAgreesWithStandardLibrary() {
        var random = SplitMix(seed: 0x5EED_0F_0FF5E7)
        for _ in 0..<20_000 {
            let content = Self.nearlyUTF8(&random)
            let expected = String(validating: content, as: UTF8.self)
            let parsed = try? JSONParser.parse(Array(#"[""#.utf8) + content + Array(#""]"#.utf8))
            #expect(parsed == expected.map { .array([.string($0)]) }, "\(content)")
            // The same bytes after an escape take the other path (the escaped-string buffer).
            let escaped = try? JSONParser.parse(Array(#"["\n"#.utf8) + content + Array(#""]"#.utf8))
            #expect(escaped == expected.map { .array([.string("\n" + $0)]) }, "\(content)")
        }
    }

    @Test("every string the writer escapes parses back to itself (20,000 generated, controls and quotes included)")
    func escapesRoundTrip() throws {
        var random = SplitMix(seed: 0xE5CA_9E5)
        let alphabet: [String] = [
            "a", "\"", "\\", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{00}", "\u{1F}", "é", "😀", "/", " ",
        ]
        for _ in 0..<20_000 {
            let text = (0..<Int(random.next() % 48)).map { _ in alphabet[Int(random.next() % UInt64(alphabet.count))] }
                .joined()
            let encoded = JSONWriter.encode(.string(text))
            #expect(encoded == Self.escapedByteByByte(text), "\(text.debugDescription)")
            #expect(encoded.count == JSONWriter.stringSize(text), "\(text.debugDescription)")
            #expect(try JSONParser.parse(encoded) == .string(text), "\(text.debugDescription)")
        }
    }

    /// The writer's escaping spelled out one byte at a time: the word-at-a-time writer must produce exactly this.
    static func escapedByteByByte(_ text: String) -> [UInt8] {
        var out: [UInt8] = [0x22]
        for byte in text.utf8 {
            switch byte {
            case 0x22, 0x5C: out += [0x5C, byte]
            case 0x0A: out += Array(#"\n"#.utf8)
            case 0x0D: out += Array(#"\r"#.utf8)
            case 0x09: out += Array(#"\t"#.utf8)
            case 0x08: out += Array(#"\b"#.utf8)
            case 0x0C: out += Array(#"\f"#.utf8)
            case ..<0x20: out += Array(String(format: "\\u%04x", byte).utf8)
            default: out.append(byte)
            }
        }
        return out + [0x22]
    }
}
