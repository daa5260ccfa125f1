extension JSONWriter {
    /// The number of bytes `encode(value)` would produce, computed without building them.
    ///
    /// Budgets measure results many times while trimming; this walks the value once and allocates nothing for
    /// strings, integers and containers (only a finite double is formatted to learn its length). It follows
    /// `write` rule for rule, and the tests check the two agree.
    package static func encodedSize(_ value: JSONValue) -> Int {
        switch value {
        case .null: 4
        case .bool(let flag): flag ? 4 : 5
        case .int(let number): integerSize(number)
        case .double(let number): number.isFinite ? number.description.utf8.count : 4
        case .string(let string): stringSize(string)
        case .array(let elements):
            elements.reduce(2 + max(0, elements.count - 1)) { $0 + encodedSize($1) }
        case .object(let object): encodedSize(object)
        }
    }

    /// The number of bytes `write(object)` appends.
    package static func encodedSize(_ object: JSONObject) -> Int {
        if let encoding = object.encoding { return encoding.count }
        return
            object.entries.reduce(2 + max(0, object.entries.count - 1)) {
                $0 + stringSize($1.key) + 1 + encodedSize($1.value)
            }
    }

    /// The number of bytes `writeString` appends: quotes, plus two bytes for each short escape and six for `\u00XX`.
    package static func stringSize(_ string: String) -> Int {
        var string = string
        return string.withUTF8 { utf8 in 2 + utf8.count + escapedExtra(utf8) }
    }

    static func integerSize(_ number: Int64) -> Int {
        // Digits of the magnitude, counted on UInt64 so that Int64.min does not overflow.
        var magnitude = number.magnitude
        var digits = 1
        while magnitude >= 10 {
            magnitude /= 10
            digits += 1
        }
        return number < 0 ? digits + 1 : digits
    }
}
