import Codecs

/// Limits the parser enforces, each answered with its own status.
package struct HTTPParserLimits: Sendable {
    /// Request line plus header fields, in bytes (→ 431, or 414 for the request line alone).
    package var maxHeadBytes = 16 * 1024
    package var maxRequestLineBytes = 8 * 1024
    package var maxHeaderCount = 100
    /// Request body, in bytes (→ 413).
    package var maxBodyBytes = 4 * 1024 * 1024

    package init() {}
}

/// How the body of a request is delimited.
package enum HTTPBodyFraming: Sendable, Equatable {
    case none
    case length(Int)
    case chunked
}

/// A parsed request head.
package struct HTTPRequestHead: Sendable {
    package var method: String
    package var target: String
    package var version: String
    package var headers: HTTPHeaders
    package var framing: HTTPBodyFraming
    package var keepAlive: Bool
    package var expectsContinue: Bool
}

/// A request the server refuses before any handler sees it.
package struct HTTPParseError: Error, Sendable, Equatable {
    package var status: Int
    package var message: String

    package init(_ status: Int, _ message: String) {
        self.status = status
        self.message = message
    }
}

/// Parses an HTTP/1.1 request head from a byte buffer (RFC 9112), strictly enough to rule out request smuggling:
/// no whitespace before colons, no obsolete line folding, no conflicting Content-Length/Transfer-Encoding.
package enum HTTPHeadParser {
    package enum Outcome: Sendable {
        case needMore
        /// The head and how many bytes it took.
        case head(HTTPRequestHead, consumed: Int)
    }

    package static func parse(
        _ buffer: UnsafeBufferPointer<UInt8>,
        limits: HTTPParserLimits
    ) throws(HTTPParseError) -> Outcome {
        // Tolerate stray CRLFs before a request line (RFC 9112 §2.2).
        var start = 0
        while start + 1 < buffer.count, buffer[start] == 0x0D, buffer[start + 1] == 0x0A { start += 2 }

        let requestLineLength = nextLineEnd(buffer, from: start, limit: buffer.count) - start
        if requestLineLength > limits.maxRequestLineBytes {
            throw HTTPParseError(414, "request line exceeds \(limits.maxRequestLineBytes) bytes")
        }
        guard let end = findHeadEnd(buffer, from: start) else {
            if buffer.count - start > limits.maxHeadBytes {
                throw HTTPParseError(431, "request header fields exceed \(limits.maxHeadBytes) bytes")
            }
            return .needMore
        }
        if end.headEnd - start > limits.maxHeadBytes {
            throw HTTPParseError(431, "request header fields exceed \(limits.maxHeadBytes) bytes")
        }

        // Lines are read in place, `[lineStart, lineEnd)` without the LF and one CR before it: no copy of the head,
        // no list of lines. The request line ends at the first LF.
        var lineStart = start
        var lineEnd = nextLineEnd(buffer, from: lineStart, limit: end.headEnd)
        let (method, target, version) = try parseRequestLine(buffer, lineStart, trimmingCR(buffer, lineStart, lineEnd))
        let fieldCount = end.lineBreaks  // one field per LF after the request line's
        if fieldCount > limits.maxHeaderCount {
            throw HTTPParseError(431, "more than \(limits.maxHeaderCount) header fields")
        }
        var headers = HTTPHeaders(capacity: fieldCount)
        while lineEnd < end.headEnd {
            lineStart = lineEnd + 1
            lineEnd = nextLineEnd(buffer, from: lineStart, limit: end.headEnd)
            let (name, value) = try parseField(buffer, lineStart, trimmingCR(buffer, lineStart, lineEnd))
            headers.add(name, value)
        }

        let framing = try bodyFraming(headers, limits: limits)
        if version == "HTTP/1.1" && headers.count(of: "Host") != 1 {
            throw HTTPParseError(400, "HTTP/1.1 requests need exactly one Host header")
        }
        let keepAlive = Self.keepAlive(version: version, headers: headers)
        let expectsContinue =
            headers["Expect"].map { $0.trimmingSpaces().equalsIgnoringASCIICase("100-continue") } ?? false
        let head = HTTPRequestHead(
            method: method,
            target: target,
            version: version,
            headers: headers,
            framing: framing,
            keepAlive: keepAlive,
            expectsContinue: expectsContinue
        )
        return .head(head, consumed: end.consumed)
    }

    /// Whether the client lets the connection be reused: HTTP/1.1 unless `Connection: close`, HTTP/1.0 only with
    /// `Connection: keep-alive`.
    package static func keepAlive(version: String, headers: HTTPHeaders) -> Bool {
        if headers.listContains("Connection", token: "close") { return false }
        return version == "HTTP/1.1" || headers.listContains("Connection", token: "keep-alive")
    }

    /// The end of the head: an empty line, terminated by CRLF or a bare LF. `headEnd` is the LF that ends the last
    /// line before it; `lineBreaks` counts the LFs before `headEnd` (one per header field).
    private static func findHeadEnd(
        _ buffer: UnsafeBufferPointer<UInt8>,
        from start: Int
    ) -> (headEnd: Int, consumed: Int, lineBreaks: Int)? {
        var index = start
        var lineBreaks = 0
        while true {
            index = nextLineEnd(buffer, from: index, limit: buffer.count)
            guard index < buffer.count else { return nil }
            // An LF followed by CRLF or LF ends the head.
            if index + 1 < buffer.count, buffer[index + 1] == 0x0A { return (index, index + 2, lineBreaks) }
            if index + 2 < buffer.count, buffer[index + 1] == 0x0D, buffer[index + 2] == 0x0A {
                return (index, index + 3, lineBreaks)
            }
            lineBreaks += 1
            index += 1
        }
    }

    /// The index of the next LF at or after `start`, or `limit`.
    private static func nextLineEnd(_ buffer: UnsafeBufferPointer<UInt8>, from start: Int, limit: Int) -> Int {
        guard let base = buffer.baseAddress, start < limit else { return limit }
        return ByteScan.firstIndex(of: 0x0A, in: base, from: start, to: limit)
    }

    /// `end`, less one if the line ends in CR.
    private static func trimmingCR(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> Int {
        end > start && buffer[end - 1] == 0x0D ? end - 1 : end
    }

    private static func text(_ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: buffer[start..<end]), as: UTF8.self)
    }

    private static func isTokenByte(_ byte: UInt8) -> Bool { tokenBytes[Int(byte)] }

    /// RFC 9110 `tchar`, by byte value: every header name's bytes are checked.
    private static let tokenBytes: [Bool] = (0...255).map { value in
        let byte = UInt8(value)
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default: return "!#$%&'*+-.^_`|~".utf8.contains(byte)
        }
    }

    private static func parseRequestLine(
        _ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
    ) throws(HTTPParseError) -> (String, String, String) {
        let line = UnsafeBufferPointer(rebasing: buffer[start..<end])
        let parts = line.split(separator: 0x20, maxSplits: 3, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw HTTPParseError(400, "malformed request line")
        }
        guard parts[0].allSatisfy(isTokenByte) else { throw HTTPParseError(400, "malformed method") }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw HTTPParseError(400, "malformed request target")
        }
        let version = String(decoding: parts[2], as: UTF8.self)
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else {
            if version.hasPrefix("HTTP/") { throw HTTPParseError(505, "only HTTP/1.1 and HTTP/1.0 are supported") }
            throw HTTPParseError(400, "malformed HTTP version")
        }
        let target = String(decoding: parts[1], as: UTF8.self)
        guard target.hasPrefix("/") || target == "*" else { throw HTTPParseError(400, "request target must be a path") }
        return (String(decoding: parts[0], as: UTF8.self), target, version)
    }

    /// One header line, `[start, end)` of `buffer` without its line ending.
    private static func parseField(
        _ buffer: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int
    ) throws(HTTPParseError) -> (String, String) {
        guard start < end else { throw HTTPParseError(400, "empty header line") }
        if buffer[start] == 0x20 || buffer[start] == 0x09 {
            throw HTTPParseError(400, "obsolete header line folding is not accepted")
        }
        var colon = start
        while colon < end, buffer[colon] != UInt8(ascii: ":") { colon += 1 }
        guard colon < end else { throw HTTPParseError(400, "header line without ':'") }
        guard colon > start else { throw HTTPParseError(400, "malformed header name") }
        for index in start..<colon where !isTokenByte(buffer[index]) {
            throw HTTPParseError(400, "malformed header name")
        }
        let value = spaceTrimmed(buffer, (colon + 1)..<end)
        if let base = buffer.baseAddress,
            ByteScan.firstFieldControl(in: base, from: value.lowerBound, to: value.upperBound) < value.upperBound
        {
            throw HTTPParseError(400, "control character in header value")
        }
        return (text(buffer, start, colon), text(buffer, value.lowerBound, value.upperBound))
    }

    private static func bodyFraming(
        _ headers: HTTPHeaders, limits: HTTPParserLimits
    ) throws(HTTPParseError) -> HTTPBodyFraming {
        // The common case, one plain Content-Length and no Transfer-Encoding, without building lists.
        if headers.count(of: "Transfer-Encoding") == 0, headers.count(of: "Content-Length") <= 1 {
            guard let text = headers["Content-Length"] else { return .none }
            let digits = text.trimmingSpaces()
            if !digits.isEmpty, digits.utf8.count <= 18, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                let length = Int(digits)
            {
                if length > limits.maxBodyBytes {
                    throw HTTPParseError(
                        413, "request body of \(length) bytes exceeds the \(limits.maxBodyBytes)-byte limit")
                }
                return length == 0 ? .none : .length(length)
            }
        }
        let encodings = headers.values("Transfer-Encoding")
        let lengths = headers.values("Content-Length")
        if !encodings.isEmpty {
            guard lengths.isEmpty else { throw HTTPParseError(400, "both Transfer-Encoding and Content-Length") }
            let codings = encodings.flatMap { $0.split(separator: ",").map { $0.trimmingSpaces().lowercased() } }
            guard codings == ["chunked"] else { throw HTTPParseError(501, "only chunked transfer coding is supported") }
            return .chunked
        }
        guard !lengths.isEmpty else { return .none }
        let values = Set(lengths.flatMap { $0.split(separator: ",").map { $0.trimmingSpaces() } })
        guard values.count == 1, let text = values.first, !text.isEmpty, text.utf8.count <= 18,
            text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let length = Int(text)
        else { throw HTTPParseError(400, "invalid Content-Length") }
        if length > limits.maxBodyBytes {
            throw HTTPParseError(413, "request body of \(length) bytes exceeds the \(limits.maxBodyBytes)-byte limit")
        }
        return length == 0 ? .none : .length(length)
    }
}

/// Decodes a chunked body incrementally (RFC 9112 §7.1), bounding every piece it buffers.
package struct ChunkedDecoder: Sendable {
    private enum State: Sendable {
        case size
        case data(remaining: Int)
        case dataEnd
        case trailers
        case done
    }

    private var state = State.size
    private var line: [UInt8] = []
    private var trailerBytes = 0
    package private(set) var body: [UInt8] = []
    let maxBodyBytes: Int
    let maxLineBytes = 4096

    package init(maxBodyBytes: Int) { self.maxBodyBytes = maxBodyBytes }

    package var isComplete: Bool { if case .done = state { true } else { false } }

    /// Consumes bytes; returns how many were used (less than offered once the body is complete).
    package mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) throws(HTTPParseError) -> Int {
        var index = 0
        while index < bytes.count {
            switch state {
            case .done:
                return index
            case .size, .dataEnd, .trailers:
                let byte = bytes[index]
                index += 1
                if byte != 0x0A {
                    line.append(byte)
                    if line.count > maxLineBytes { throw HTTPParseError(400, "chunk line too long") }
                    continue
                }
                if line.last == 0x0D { line.removeLast() }
                let current = line
                line.removeAll(keepingCapacity: true)
                try endOfLine(current)
            case .data(let remaining):
                let take = min(remaining, bytes.count - index)
                body.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[index..<(index + take)]))
                index += take
                state = remaining - take == 0 ? .dataEnd : .data(remaining: remaining - take)
            }
        }
        return index
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66)
    }

    private mutating func endOfLine(_ line: [UInt8]) throws(HTTPParseError) {
        switch state {
        case .size:
            // Hex digits only: Int(_:radix:) would also accept a sign, and a negative size must never reach slicing.
            let sizeText = line.prefix { $0 != UInt8(ascii: ";") }
            guard !sizeText.isEmpty, sizeText.count <= 15, sizeText.allSatisfy(Self.isHexDigit),
                let size = Int(String(decoding: sizeText, as: UTF8.self), radix: 16)
            else { throw HTTPParseError(400, "invalid chunk size") }
            if body.count + size > maxBodyBytes {
                throw HTTPParseError(413, "request body exceeds the \(maxBodyBytes)-byte limit")
            }
            state = size == 0 ? .trailers : .data(remaining: size)
        case .dataEnd:
            guard line.isEmpty else { throw HTTPParseError(400, "chunk data longer than its size") }
            state = .size
        case .trailers:
            if line.isEmpty {
                state = .done
            } else {
                trailerBytes += line.count
                if trailerBytes > 16 * 1024 { throw HTTPParseError(431, "chunked trailers too large") }
            }
        case .data, .done:
            break
        }
    }
}
