import TestSupport
import Testing

@testable import NudjTools

/// Upstream error text passes through `UpstreamErrors.redact` before an agent sees it: any run of 8 or more
/// consecutive characters of the caller's token becomes `[redacted]`.
@Suite("Token redaction in upstream error text")
struct RedactionTests {
    static let token = "eyJhbGciOiJIUzI1NiJ9.eyJvcmciOiJhY21lIn0.c2lnbmF0dXJlLXZhbHVl"

    @Test("runs of 8 or more token characters are redacted wherever they are; 7 are ordinary text")
    func runs() {
        let token = Array(Self.token)
        let seven = String(token[21..<28])
        let eight = String(token[21..<29])
        #expect(UpstreamErrors.redact("bad \(seven) here", secret: Self.token) == "bad \(seven) here")
        #expect(UpstreamErrors.redact("bad \(eight) here", secret: Self.token) == "bad [redacted] here")
        #expect(UpstreamErrors.redact("Bearer \(Self.token)", secret: Self.token) == "Bearer [redacted]")
        #expect(UpstreamErrors.redact(eight, secret: Self.token) == "[redacted]")
        #expect(
            UpstreamErrors.redact("a \(String(token[0..<10])) b \(String(token[40..<52])) c", secret: Self.token)
                == "a [redacted] b [redacted] c")
        // A short secret is replaced only whole.
        #expect(UpstreamErrors.redact("key abcde and abcd", secret: "abcde") == "key [redacted] and abcd")
    }

    @Test("the result matches a direct search for shared runs, on 2,000 generated messages")
    func matchesReference() {
        var generator = SplitMix(seed: 13)
        let token = Array(Self.token.utf8)
        let noise = Array("abcdefghijklmnopqrstuvwxyz .:-_0123456789J".utf8)
        for _ in 0..<2_000 {
            var text: [UInt8] = []
            while text.count < 120 {
                if generator.below(4) == 0 {
                    let length = generator.below(12) + 1
                    let start = generator.below(token.count - length)
                    text += token[start..<(start + length)]
                } else {
                    text.append(noise[generator.below(noise.count)])
                }
            }
            let message = String(decoding: text, as: UTF8.self)
            #expect(UpstreamErrors.redact(message, secret: Self.token) == Self.reference(text, token))
        }
    }

    /// Marks every byte inside a run of ≥ 8 bytes that also occurs in the token, by trying every pair of starting
    /// positions: slow, obvious.
    private static func reference(_ text: [UInt8], _ token: [UInt8]) -> String {
        var covered = [Bool](repeating: false, count: text.count)
        for start in 0..<text.count {
            var longest = 0
            for tokenStart in 0..<token.count {
                var length = 0
                while start + length < text.count, tokenStart + length < token.count,
                    text[start + length] == token[tokenStart + length]
                {
                    length += 1
                }
                longest = max(longest, length)
            }
            if longest >= 8 { for index in start..<(start + longest) { covered[index] = true } }
        }
        var output: [UInt8] = []
        var index = 0
        while index < text.count {
            if covered[index] {
                output += Array("[redacted]".utf8)
                while index < text.count && covered[index] { index += 1 }
            } else {
                output.append(text[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }
}
