import Codecs
import Testing

@Suite("Word-at-a-time byte scans")
struct ByteScanTests {
    /// Every offset, length and byte class the word tricks could get wrong: each scan is compared with a plain loop
    /// over random buffers made mostly of the bytes near each boundary.
    @Test("each scan finds exactly what a byte-by-byte loop finds")
    func agreesWithPlainLoop() {
        var generator = SystemRandomNumberGenerator()
        let interesting: [UInt8] = [
            0x00, 0x01, 0x08, 0x09, 0x0A, 0x0B, 0x0D, 0x1F, 0x20, 0x21, 0x22, 0x23, 0x5B, 0x5C, 0x5D, 0x7E, 0x7F,
            0x80, 0x9F, 0xA0, 0xDC, 0xFF, 0x41, 0x61,
        ]
        for _ in 0..<20_000 {
            let count = Int.random(in: 0...40, using: &generator)
            let bytes = (0..<count).map { _ in
                Bool.random(using: &generator)
                    ? UInt8(ascii: "a") : interesting.randomElement(using: &generator)!
            }
            let start = count == 0 ? 0 : Int.random(in: 0...count, using: &generator)
            bytes.withUnsafeBytes { raw in
                let base = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!
                let slice = bytes[start..<count]
                #expect(
                    ByteScan.firstIndex(of: 0x0A, in: base, from: start, to: count)
                        == (slice.firstIndex(of: 0x0A) ?? count), "\(bytes) from \(start)")
                #expect(
                    ByteScan.firstJSONEscape(in: base, from: start, to: count)
                        == (slice.firstIndex { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C } ?? count),
                    "\(bytes) from \(start)")
                #expect(
                    bytes.withUnsafeBufferPointer { ByteScan.isASCII(UnsafeBufferPointer(rebasing: $0[start...])) }
                        == slice.allSatisfy { $0 < 0x80 }, "\(bytes) from \(start)")
                #expect(
                    ByteScan.firstFieldControl(in: base, from: start, to: count)
                        == (slice.firstIndex { ($0 < 0x20 && $0 != 0x09) || $0 == 0x7F } ?? count),
                    "\(bytes) from \(start)")
            }
        }
    }
}
