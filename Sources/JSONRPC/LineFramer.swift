import Codecs

/// Splits a byte stream into newline-delimited frames with a maximum frame size.
///
/// A frame longer than the limit is dropped as it streams in (memory stays bounded) and reported once, when its
/// terminating newline arrives, so the reader can answer it and carry on with the next line.
package struct LineFramer: Sendable {
    package enum Frame: Sendable, Equatable {
        case line([UInt8])
        /// A line longer than the limit; its bytes were discarded.
        case oversized(byteCount: Int)
    }

    package let maxLineBytes: Int
    private var buffer: [UInt8] = []
    private var discarding = false
    private var discardedCount = 0

    package init(maxLineBytes: Int) { self.maxLineBytes = maxLineBytes }

    /// Bytes held for an unterminated line.
    package var pendingByteCount: Int { discarding ? discardedCount : buffer.count }

    /// Feeds bytes; returns every frame they complete. A trailing `\r` is stripped (CRLF tolerated).
    package mutating func append(_ chunk: UnsafeRawBufferPointer) -> [Frame] {
        var frames: [Frame] = []
        var position = 0
        while position < chunk.count {
            let remaining = chunk.count - position
            let base = chunk.baseAddress! + position
            guard let length = Self.newlineOffset(base, count: remaining) else {
                consume(UnsafeRawBufferPointer(start: base, count: remaining))
                break
            }
            consume(UnsafeRawBufferPointer(start: base, count: length))
            frames.append(finishLine())
            position += length + 1
        }
        return frames
    }

    package mutating func append(_ chunk: [UInt8]) -> [Frame] {
        chunk.withUnsafeBytes { append($0) }
    }

    /// At end of input: the unterminated last line, if any (a client may omit the final newline).
    package mutating func finish() -> Frame? {
        guard discarding || !buffer.isEmpty else { return nil }
        return finishLine()
    }

    private mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        if discarding {
            discardedCount += bytes.count
        } else if buffer.count + bytes.count > maxLineBytes {
            discarding = true
            discardedCount = buffer.count + bytes.count
            buffer = []
        } else {
            buffer.append(contentsOf: bytes)
        }
    }

    private mutating func finishLine() -> Frame {
        if discarding {
            let count = discardedCount
            discarding = false
            discardedCount = 0
            return .oversized(byteCount: count)
        }
        var line = buffer
        buffer = []
        if line.last == 0x0D { line.removeLast() }
        return .line(line)
    }

    /// The offset of the first `\n`, or nil.
    private static func newlineOffset(_ base: UnsafeRawPointer, count: Int) -> Int? {
        let offset = ByteScan.firstIndex(of: 0x0A, in: base, from: 0, to: count)
        return offset < count ? offset : nil
    }
}
