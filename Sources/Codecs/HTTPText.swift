extension StringProtocol {
    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace). By bytes: header values are ASCII,
    /// and walking them by characters (grapheme breaking) was a visible cost of every request and response.
    package func trimmingSpaces() -> String {
        let text = Substring(self)
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        guard let start = text.utf8.firstIndex(where: { !isSpace($0) }),
            let end = text.utf8.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return String(text[start...end])
    }
}

extension String {
    /// Whether this comma-separated header value (`Connection`, `Accept`, …) lists `token`, ignoring ASCII case,
    /// optional whitespace and parameters after `;`. By bytes, with no list built.
    package func httpListContains(_ token: String) -> Bool {
        var token = token
        var value = self
        return value.withUTF8 { value in
            token.withUTF8 { token in
                var index = 0
                while index <= value.count {
                    var end = index
                    while end < value.count, value[end] != UInt8(ascii: ",") { end += 1 }
                    var itemEnd = index
                    while itemEnd < end, value[itemEnd] != UInt8(ascii: ";") { itemEnd += 1 }
                    let item = spaceTrimmed(value, index..<itemEnd)
                    if asciiCaseInsensitiveEqual(value[item], token) { return true }
                    index = end + 1
                }
                return false
            }
        }
    }

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

/// `byte` with an ASCII capital letter made small.
@inlinable
package func asciiLowercased(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }

/// Byte-wise equality with ASCII letters compared case-insensitively (header names and tokens).
func asciiCaseInsensitiveEqual(_ lhs: some Collection<UInt8>, _ rhs: some Collection<UInt8>) -> Bool {
    guard lhs.count == rhs.count else { return false }
    for (a, b) in zip(lhs, rhs) where a != b && asciiLowercased(a) != asciiLowercased(b) { return false }
    return true
}

/// `range` of `bytes` without leading and trailing spaces and tabs (HTTP's optional whitespace).
package func spaceTrimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
    var start = range.lowerBound
    var end = range.upperBound
    while start < end, bytes[start] == 0x20 || bytes[start] == 0x09 { start += 1 }
    while end > start, bytes[end - 1] == 0x20 || bytes[end - 1] == 0x09 { end -= 1 }
    return start..<end
}
