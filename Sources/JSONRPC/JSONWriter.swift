import Codecs

/// Serialises `JSONValue` to compact UTF-8 JSON, appending to a byte buffer.
///
/// Output is one line (newlines inside strings are escaped), which is what stdio framing needs. Non-finite doubles,
/// which JSON cannot express, are written as `null`.
package struct JSONWriter {
    package private(set) var bytes: [UInt8]

    package init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    package static func encode(_ value: JSONValue, capacity: Int = 256) -> [UInt8] {
        var writer = JSONWriter(capacity: capacity)
        writer.write(value)
        return writer.bytes
    }

    /// Encodes `object` and returns it with its encoding kept (see `JSONObject.encoding`), for an object that is
    /// about to be written again unchanged.
    package static func encodingKept(_ object: JSONObject, capacity: Int = 256) -> JSONObject {
        var object = object
        object.encoding = encode(.object(object), capacity: capacity)
        return object
    }

    package static func encodeString(_ value: JSONValue, capacity: Int = 256) -> String {
        String(decoding: encode(value, capacity: capacity), as: UTF8.self)
    }

    package mutating func write(_ value: JSONValue) {
        switch value {
        case .null: append("null")
        case .bool(let flag): append(flag ? "true" : "false")
        case .int(let number): writeInteger(number)
        case .double(let number): writeDouble(number)
        case .string(let string): writeString(string)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            elements.withUnsafeBufferPointer { elements in
                for position in elements.indices {
                    if position > 0 { bytes.append(UInt8(ascii: ",")) }
                    write(elements[position])
                }
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let object): write(object)
        }
    }

    package mutating func write(_ object: JSONObject) {
        if let encoding = object.encoding {
            bytes.append(contentsOf: encoding)
            return
        }
        bytes.append(UInt8(ascii: "{"))
        // Entries are read in place, not copied out one by one (a retain and a release each).
        object.entries.withUnsafeBufferPointer { entries in
            for position in entries.indices {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                writeString(entries[position].key)
                bytes.append(UInt8(ascii: ":"))
                write(entries[position].value)
            }
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Indented two spaces per level, for JSON a person reads and pastes (configuration printed at start-up).
    package static func prettyString(_ value: JSONValue) -> String {
        var writer = JSONWriter(capacity: 256)
        writer.writePretty(value, depth: 0)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    private mutating func writePretty(_ value: JSONValue, depth: Int) {
        func newline(_ depth: Int) {
            bytes.append(0x0A)
            bytes.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
        }
        switch value {
        case .array(let elements) where !elements.isEmpty:
            bytes.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                writePretty(element, depth: depth + 1)
            }
            newline(depth)
            bytes.append(UInt8(ascii: "]"))
        case .object(let object) where !object.entries.isEmpty:
            bytes.append(UInt8(ascii: "{"))
            for (position, entry) in object.entries.enumerated() {
                if position > 0 { bytes.append(UInt8(ascii: ",")) }
                newline(depth + 1)
                writeString(entry.key)
                append(": ")
                writePretty(entry.value, depth: depth + 1)
            }
            newline(depth)
            bytes.append(UInt8(ascii: "}"))
        default: write(value)
        }
    }

    package mutating func append(_ literal: StaticString) {
        literal.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    /// Digits straight into the buffer: ids, counts and timestamps are everywhere, and a `String` per number is not.
    private mutating func writeInteger(_ number: Int64) {
        if number >= 0 && number < 10 {
            bytes.append(UInt8(ascii: "0") + UInt8(number))
            return
        }
        // Right to left into room on the stack, then one append: 20 bytes hold Int64.min's sign and 19 digits.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { digits in
            var position = 20
            var magnitude = number.magnitude  // UInt64, so that Int64.min does not overflow
            repeat {
                position -= 1
                digits[position] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            if number < 0 {
                position -= 1
                digits[position] = UInt8(ascii: "-")
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: digits[position...]))
        }
    }

    private mutating func writeDouble(_ number: Double) {
        guard number.isFinite else {
            append("null")
            return
        }
        // Swift's description is the shortest round-tripping form and is valid JSON ("1.5", "1e-07", "1e+20").
        bytes.append(contentsOf: number.description.utf8)
    }

    package mutating func writeString(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            let clean = utf8.baseAddress.map { ByteScan.firstJSONEscape(in: $0, from: 0, to: utf8.count) } ?? 0
            if clean == utf8.count {
                bytes.append(contentsOf: utf8)
            } else {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[..<clean]))
                appendEscaped(UnsafeBufferPointer(rebasing: utf8[clean...]))
            }
            bytes.append(UInt8(ascii: "\""))
        }
    }

    /// Appends `source` escaped. Text content (a JSON document inside a string) escapes every quote, so this is a
    /// byte loop either way: one pass into scratch room for the worst case (six bytes per byte) while that room is
    /// small, else a counting pass and then the escapes written in place.
    private mutating func appendEscaped(_ source: UnsafeBufferPointer<UInt8>) {
        if source.count <= 16 * 1024 {
            let escaped = [UInt8](unsafeUninitializedCapacity: source.count * 6) { buffer, count in
                count = Self.escape(source, into: buffer.baseAddress!)
            }
            bytes.append(contentsOf: escaped)
            return
        }
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: source.count + Self.escapedExtra(source)))
        bytes.withUnsafeMutableBufferPointer { output in
            _ = Self.escape(source, into: output.baseAddress! + start)
        }
    }

    /// How many bytes escaping adds to `utf8`: one per short escape, five per `\u00XX`. Most strings need none, and
    /// are cleared eight bytes at a time.
    static func escapedExtra(_ utf8: UnsafeBufferPointer<UInt8>) -> Int {
        guard let base = utf8.baseAddress else { return 0 }
        var offset = ByteScan.firstJSONEscape(in: base, from: 0, to: utf8.count)
        var extra = 0
        while offset < utf8.count {
            let byte = base[offset]
            if byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                extra += isShortEscape(byte) ? 1 : 5
            }
            offset += 1
        }
        return extra
    }

    /// Writes `source` escaped for a JSON string at `output`, which has room for it; returns how many bytes it wrote.
    ///
    /// Eight bytes at a time: each step stores a whole word and moves on past its clean prefix, then escapes the
    /// byte that ended it. A JSON text inside a string (the text block) has a quote every few bytes, so finding each
    /// one in a word, not a byte loop, is what makes this fast. The word may land past what is kept of it: there is
    /// room, since at least eight bytes of output are still to come.
    @discardableResult
    private static func escape(_ source: UnsafeBufferPointer<UInt8>, into output: UnsafeMutablePointer<UInt8>) -> Int {
        guard let base = source.baseAddress else { return 0 }
        let raw = UnsafeRawPointer(base)
        var out = output
        var offset = 0
        while offset + 8 <= source.count {
            let word = raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            UnsafeMutableRawPointer(out).storeBytes(of: word, as: UInt64.self)
            let clean = ByteScan.jsonCleanPrefix(word)
            out += clean
            offset += clean
            if clean < 8 {
                out = writeEscape(base[offset], at: out)
                offset += 1
            }
        }
        while offset < source.count {
            let byte = base[offset]
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                out.pointee = byte
                out += 1
            } else {
                out = writeEscape(byte, at: out)
            }
            offset += 1
        }
        return out - output
    }

    /// Writes the escape for `byte` (one a JSON string cannot hold as it is) at `out`; returns where it ended.
    @inline(__always)
    private static func writeEscape(_ byte: UInt8, at out: UnsafeMutablePointer<UInt8>) -> UnsafeMutablePointer<UInt8> {
        out[0] = UInt8(ascii: "\\")
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): out[1] = byte
        case 0x0A: out[1] = UInt8(ascii: "n")
        case 0x0D: out[1] = UInt8(ascii: "r")
        case 0x09: out[1] = UInt8(ascii: "t")
        case 0x08: out[1] = UInt8(ascii: "b")
        case 0x0C: out[1] = UInt8(ascii: "f")
        default:
            out[1] = UInt8(ascii: "u")
            out[2] = UInt8(ascii: "0")
            out[3] = UInt8(ascii: "0")
            out[4] = hexDigit(byte >> 4)
            out[5] = hexDigit(byte & 0x0F)
            return out + 6
        }
        return out + 2
    }

    /// Escaped as two bytes (`\"`, `\\`, `\n`, …) rather than six (`\u00XX`).
    static func isShortEscape(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), 0x0A, 0x0D, 0x09, 0x08, 0x0C: true
        default: false
        }
    }

    private static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? UInt8(ascii: "0") + value : UInt8(ascii: "a") + value - 10
    }
}
