/// Byte searches eight bytes per step, without a C library: a word holds a zero byte exactly when
/// `(word - 0x01…) & ~word & 0x80…` is non-zero, and a byte below `n` (n ≤ 128) exactly when
/// `(word - n·0x01…) & ~word & 0x80…` is. Every request scans its head, its body's lines and the JSON it writes.
package enum ByteScan {
    // Inlinable: callers scan many short strings (JSON keys), where a call would cost more than the scan.
    @usableFromInline static var ones: UInt64 { 0x0101_0101_0101_0101 }
    @usableFromInline static var highs: UInt64 { 0x8080_8080_8080_8080 }

    @inlinable @inline(__always)
    static func hasZeroByte(_ word: UInt64) -> Bool { (word &- ones) & ~word & highs != 0 }

    @inlinable @inline(__always)
    static func hasByte(_ word: UInt64, below limit: UInt8) -> Bool {
        (word &- ones &* UInt64(limit)) & ~word & highs != 0
    }

    @inlinable @inline(__always)
    static func hasByte(_ word: UInt64, equalTo byte: UInt8) -> Bool { hasZeroByte(word ^ (ones &* UInt64(byte))) }

    /// The offset of the first `byte` in `[start, end)` of `base`, or `end`.
    @inlinable
    package static func firstIndex(of byte: UInt8, in base: UnsafeRawPointer, from start: Int, to end: Int) -> Int {
        var offset = start
        while offset + 8 <= end, !hasByte(base.loadUnaligned(fromByteOffset: offset, as: UInt64.self), equalTo: byte) {
            offset += 8
        }
        while offset < end, base.load(fromByteOffset: offset, as: UInt8.self) != byte { offset += 1 }
        return offset
    }

    /// How many of the eight bytes loaded as `word` come before the first one a JSON string cannot hold as it is
    /// (a control character, `"` or `\`): 8 when there is none. The lowest flagged byte of each test is exact (a
    /// borrow only carries upwards from a match), so the lowest of all three is the first such byte.
    @inlinable @inline(__always)
    package static func jsonCleanPrefix(_ word: UInt64) -> Int {
        let value = word.littleEndian  // the first byte in memory is the lowest
        let quotes = value ^ (ones &* 0x22)
        let backslashes = value ^ (ones &* 0x5C)
        let flags =
            ((value &- ones &* 0x20) & ~value | (quotes &- ones) & ~quotes | (backslashes &- ones) & ~backslashes)
            & highs
        return flags == 0 ? 8 : flags.trailingZeroBitCount >> 3
    }

    /// The offset of the first byte in `[start, end)` that a JSON string cannot hold as it is (a control character,
    /// `"` or `\`), or `end`.
    @inlinable
    package static func firstJSONEscape(in base: UnsafeRawPointer, from start: Int, to end: Int) -> Int {
        var offset = start
        while offset + 8 <= end {
            let clean = jsonCleanPrefix(base.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += clean
            if clean < 8 { return offset }
        }
        while offset < end {
            let byte = base.load(fromByteOffset: offset, as: UInt8.self)
            if byte < 0x20 || byte == 0x22 || byte == 0x5C { return offset }
            offset += 1
        }
        return offset
    }

    /// Whether every byte is below 0x80.
    @inlinable
    package static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let raw = UnsafeRawPointer(base)
        var offset = 0
        var seen: UInt64 = 0
        while offset + 8 <= bytes.count {
            seen |= raw.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            offset += 8
        }
        var tail: UInt8 = 0
        while offset < bytes.count {
            tail |= base[offset]
            offset += 1
        }
        return seen & highs == 0 && tail < 0x80
    }

    /// The offset of the first control character other than tab (below 0x20, or DEL) in `[start, end)`, or `end`:
    /// what an HTTP field value may not contain.
    @inlinable
    package static func firstFieldControl(in base: UnsafeRawPointer, from start: Int, to end: Int) -> Int {
        func isControl(_ offset: Int) -> Bool {
            let byte = base.load(fromByteOffset: offset, as: UInt8.self)
            return (byte < 0x20 && byte != 0x09) || byte == 0x7F
        }
        var offset = start
        while offset + 8 <= end {
            let word = base.loadUnaligned(fromByteOffset: offset, as: UInt64.self)
            // A tab also matches the word test: look at the eight bytes, then go on by words.
            if hasByte(word, below: 0x20) || hasByte(word, equalTo: 0x7F) {
                for candidate in offset..<(offset + 8) where isControl(candidate) { return candidate }
            }
            offset += 8
        }
        while offset < end, !isControl(offset) { offset += 1 }
        return offset
    }
}
