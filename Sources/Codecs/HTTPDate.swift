/// HTTP dates (RFC 9110 §5.6.7), as a `Retry-After` header may carry them. Recipients must accept all three forms:
/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the obsolete RFC 850 form (`Sunday, 06-Nov-94 08:49:37 GMT`) and
/// asctime (`Sun Nov  6 08:49:37 1994`). Parsed by hand, in UTC, without locale or calendar machinery.
package enum HTTPDate {
    /// Seconds since 1970-01-01T00:00:00Z, or `nil` when `text` is none of the three forms or names no real date.
    package static func secondsSince1970(_ text: some StringProtocol) -> Int64? {
        var reader = Reader(Array(text.utf8))
        reader.skipSpaces()
        guard let weekday = reader.letters(),
            weekdays.contains(weekday.lowercased()) || weekdaysLong.contains(weekday.lowercased())
        else {
            return nil
        }
        let fields: (day: Int, month: Int, year: Int, time: (Int, Int, Int))
        if reader.take(UInt8(ascii: ",")) {
            reader.skipSpaces()
            guard let day = reader.number(digits: 2) else { return nil }
            if reader.take(UInt8(ascii: "-")) {
                // RFC 850: 06-Nov-94 08:49:37 GMT; a two-digit year within 50 years of now is read as 19xx or 20xx
                // (RFC 9110 says "in the past"; a Retry-After date is in the future, so the window is centred).
                guard let month = reader.month(), reader.take(UInt8(ascii: "-")), let short = reader.number(digits: 2)
                else { return nil }
                fields = (day, month, short < 70 ? 2000 + short : 1900 + short, (0, 0, 0))
            } else {
                // IMF-fixdate: 06 Nov 1994 08:49:37 GMT
                guard reader.take(UInt8(ascii: " ")), let month = reader.month(), reader.take(UInt8(ascii: " ")),
                    let year = reader.number(digits: 4)
                else { return nil }
                fields = (day, month, year, (0, 0, 0))
            }
            guard reader.take(UInt8(ascii: " ")), let time = reader.time(), reader.take(UInt8(ascii: " ")),
                reader.letters() == "GMT"
            else { return nil }
            reader.skipSpaces()
            guard reader.atEnd else { return nil }
            return seconds(day: fields.day, month: fields.month, year: fields.year, time: time)
        }
        // asctime: Nov  6 08:49:37 1994 (the day is space-padded to two characters)
        guard reader.take(UInt8(ascii: " ")), let month = reader.month(), reader.take(UInt8(ascii: " ")) else {
            return nil
        }
        _ = reader.take(UInt8(ascii: " "))
        guard let day = reader.number(digits: 1...2), reader.take(UInt8(ascii: " ")), let time = reader.time(),
            reader.take(UInt8(ascii: " ")), let year = reader.number(digits: 4)
        else { return nil }
        reader.skipSpaces()
        guard reader.atEnd else { return nil }
        return seconds(day: day, month: month, year: year, time: time)
    }

    private static let weekdays: Set<String> = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    private static let weekdaysLong: Set<String> = [
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
    ]
    private static let months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]

    private static func seconds(day: Int, month: Int, year: Int, time: (Int, Int, Int)) -> Int64? {
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let lengths = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...lengths[month - 1]).contains(day), time.0 < 24, time.1 < 60, time.2 < 61 else { return nil }
        return Int64(daysSince1970(year: year, month: month, day: day)) * 86_400
            + Int64(time.0 * 3_600 + time.1 * 60 + time.2)
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (the civil-from-days inverse of Howard Hinnant's
    /// `days_from_civil`).
    private static func daysSince1970(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private struct Reader {
        let bytes: [UInt8]
        var position = 0
        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var atEnd: Bool { position == bytes.count }

        mutating func take(_ byte: UInt8) -> Bool {
            guard position < bytes.count, bytes[position] == byte else { return false }
            position += 1
            return true
        }

        mutating func skipSpaces() { while take(UInt8(ascii: " ")) || take(UInt8(ascii: "\t")) {} }

        /// A run of ASCII letters (at most 9, the longest weekday).
        mutating func letters() -> String? {
            let start = position
            while position < bytes.count, position - start < 10,
                (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[position] | 0x20)
            {
                position += 1
            }
            guard position > start, position - start <= 9 else { return nil }
            return String(decoding: bytes[start..<position], as: UTF8.self)
        }

        mutating func month() -> Int? {
            guard let name = letters(), let index = HTTPDate.months.firstIndex(of: name.lowercased()) else {
                return nil
            }
            return index + 1
        }

        mutating func number(digits: Int) -> Int? { number(digits: digits...digits) }

        mutating func number(digits: ClosedRange<Int>) -> Int? {
            var value = 0
            var count = 0
            while position < bytes.count, count < digits.upperBound,
                (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position])
            {
                value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
                position += 1
                count += 1
            }
            return digits.contains(count) ? value : nil
        }

        /// `HH:MM:SS`
        mutating func time() -> (Int, Int, Int)? {
            guard let hours = number(digits: 2), take(UInt8(ascii: ":")), let minutes = number(digits: 2),
                take(UInt8(ascii: ":")), let seconds = number(digits: 2)
            else { return nil }
            return (hours, minutes, seconds)
        }
    }
}
