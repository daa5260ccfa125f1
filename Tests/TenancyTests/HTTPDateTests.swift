import Codecs
import Foundation
import Testing

@Suite("HTTP dates (Retry-After)")
struct HTTPDateTests {
    @Test("the three forms RFC 9110 requires name the same instant")
    func threeForms() {
        let expected: Int64 = 784_111_777  // Sun, 06 Nov 1994 08:49:37 GMT, RFC 9110's own example
        #expect(HTTPDate.secondsSince1970("Sun, 06 Nov 1994 08:49:37 GMT") == expected)
        #expect(HTTPDate.secondsSince1970("Sunday, 06-Nov-94 08:49:37 GMT") == expected)
        #expect(HTTPDate.secondsSince1970("Sun Nov  6 08:49:37 1994") == expected)
        #expect(HTTPDate.secondsSince1970("  Sun, 06 Nov 1994 08:49:37 GMT ") == expected)
    }

    @Test("agrees with Foundation's formatter over four centuries of days")
    func matchesFoundation() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        var seconds: Int64 = -2_208_988_800  // 1900-01-01
        while seconds < 10_413_792_000 {  // 2300-01-01
            let text = formatter.string(from: Date(timeIntervalSince1970: Double(seconds)))
            #expect(HTTPDate.secondsSince1970(text) == seconds, "\(text)")
            seconds += 86_400 * 13 + 3_661 * 7
        }
    }

    @Test(
        "anything else is refused, not guessed",
        arguments: [
            "", "5", "Sun, 06 Nov 1994 08:49:37", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 2026 00:00:00 GMT",
            "Sun, 29 Feb 2025 00:00:00 GMT", "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
            "Xyz, 06 Nov 1994 08:49:37 GMT", "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT trailing", "Sun Nov 6 08:49:37", "Sunday, 06-Nov-1994 08:49:37 GMT",
            String(repeating: "Sun, ", count: 1000),
        ])
    func refused(text: String) {
        #expect(HTTPDate.secondsSince1970(text) == nil)
    }

    @Test("leap days are real dates")
    func leapDays() {
        #expect(HTTPDate.secondsSince1970("Thu, 29 Feb 2024 12:00:00 GMT") == 1_709_208_000)
        #expect(HTTPDate.secondsSince1970("Tue, 29 Feb 2000 00:00:00 GMT") == 951_782_400)
        #expect(HTTPDate.secondsSince1970("Mon, 29 Feb 2100 00:00:00 GMT") == nil)
    }
}
