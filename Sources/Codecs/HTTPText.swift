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
                    var itemStart = index
                    while itemStart < itemEnd, value[itemStart] == 0x20 || value[itemStart] == 0x09 { itemStart += 1 }
                    while itemEnd > itemStart, value[itemEnd - 1] == 0x20 || value[itemEnd - 1] == 0x09 { itemEnd -= 1 }
                    if itemEnd - itemStart == token.count
                        && zip(value[itemStart..<itemEnd], token).allSatisfy({ lowerASCII($0) == lowerASCII($1) })
                    {
                        return true
                    }
                    index = end + 1
                }
                return false
            }
        }
    }
}

private func lowerASCII(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte }
