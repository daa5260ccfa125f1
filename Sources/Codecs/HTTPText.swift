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
