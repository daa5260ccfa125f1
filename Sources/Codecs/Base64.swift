/// Base64 in the standard (RFC 4648 §4) and URL-safe (§5) alphabets, without Foundation.
///
/// Used for JWT segments, opaque cursors and session ids (URL-safe, unpadded) and for MCP's `=?base64?…?=`
/// header values (standard, padded).
package enum Base64 {
    private static let standardAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let decodeTable: [Int8] = {
        var table = [Int8](repeating: -1, count: 256)
        for (index, byte) in standardAlphabet.enumerated() { table[Int(byte)] = Int8(index) }
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    package static func encode(_ bytes: [UInt8], urlSafe: Bool = false, padded: Bool = true) -> String {
        let alphabet = urlSafe ? urlAlphabet : standardAlphabet
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            output.append(alphabet[Int(chunk >> 6 & 63)])
            output.append(alphabet[Int(chunk & 63)])
            index += 3
        }
        let remaining = bytes.count - index
        if remaining > 0 {
            var chunk = UInt32(bytes[index]) << 16
            if remaining == 2 { chunk |= UInt32(bytes[index + 1]) << 8 }
            output.append(alphabet[Int(chunk >> 18 & 63)])
            output.append(alphabet[Int(chunk >> 12 & 63)])
            if remaining == 2 { output.append(alphabet[Int(chunk >> 6 & 63)]) }
            if padded { output.append(contentsOf: Array(repeating: UInt8(ascii: "="), count: 3 - remaining)) }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Decodes either alphabet, with or without padding; `nil` for any other character or an impossible length.
    package static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var sawPadding = false
        for byte in text.utf8 {
            if byte == UInt8(ascii: "=") {
                sawPadding = true
                continue
            }
            guard !sawPadding else { return nil }  // data after padding
            let value = decodeTable[Int(byte)]
            guard value >= 0 else { return nil }
            values.append(UInt8(value))
        }
        if values.count % 4 == 1 { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index + 4 <= values.count {
            let chunk =
                UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12 | UInt32(values[index + 2]) << 6
                | UInt32(values[index + 3])
            output.append(UInt8(chunk >> 16 & 0xFF))
            output.append(UInt8(chunk >> 8 & 0xFF))
            output.append(UInt8(chunk & 0xFF))
            index += 4
        }
        let remaining = values.count - index
        if remaining >= 2 {
            var chunk = UInt32(values[index]) << 18 | UInt32(values[index + 1]) << 12
            if remaining == 3 { chunk |= UInt32(values[index + 2]) << 6 }
            output.append(UInt8(chunk >> 16 & 0xFF))
            if remaining == 3 { output.append(UInt8(chunk >> 8 & 0xFF)) }
        }
        return output
    }
}

/// Unpadded URL-safe base64, the form JWTs and opaque ids use.
package enum Base64URL {
    package static func encode(_ bytes: [UInt8]) -> String { Base64.encode(bytes, urlSafe: true, padded: false) }
    package static func decode(_ text: String) -> [UInt8]? { Base64.decode(text) }
}
