import Codecs

/// A complete HTTP/1.1 response as the client hands it on: status, headers (names lowercased, repeats joined with
/// ", ") and the decoded body.
package struct HTTPClientResponse: Sendable, Equatable {
    package var status: Int
    package var headers: [String: String]
    package var body: [UInt8]
    /// The connection may carry another request (HTTP/1.1 without `Connection: close`, and the body was framed).
    package var keepAlive: Bool
}

/// Why a response could not be read.
package enum HTTPResponseError: Error, Sendable, Equatable {
    /// The bytes are not an HTTP/1.1 response (the reason is short and quotes nothing from the peer).
    case malformed(String)
    /// The body (or head) is larger than the client accepts.
    case tooLarge(limit: Int)
}

/// Parses one HTTP/1.1 response from bytes fed in any split: the head, then a Content-Length, chunked or
/// close-delimited body. Pure (no I/O), so it is driven byte by byte in tests and fuzzed like `HTTPHeadParser`.
///
/// Interim 1xx responses are skipped. A response to HEAD, a 204 and a 304 have no body whatever their headers say.
package struct HTTPResponseParser {
    package enum Progress: Equatable {
        /// Feed more bytes (or call `finishAtEndOfStream` when the peer closed).
        case needMore
        /// The response ended after `consumed` bytes of this input; bytes after it are not part of it.
        case complete(HTTPClientResponse, consumed: Int)
        case failed(HTTPResponseError)
    }

    private enum State {
        case statusLine
        case headerLine
        case fixedBody(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailerLine
        case untilClose
        case done
        case failed(HTTPResponseError)
    }

    /// The largest decoded body accepted.
    package let maxBodyBytes: Int
    /// The largest status line, header line, chunk-size line or trailer line.
    package static let maxLineBytes = 16 * 1024
    /// The most header (and trailer) lines in one response.
    package static let maxHeaderLines = 256

    private let bodyless: Bool
    private var state = State.statusLine
    private var line: [UInt8] = []
    private var status = 0
    private var http10 = false
    /// Sized for a usual response's fields up front, so that reading them never regrows the table.
    private var headers = [String: String](minimumCapacity: 16)
    private var headerLines = 0
    private var body: [UInt8] = []

    /// - Parameters:
    ///   - maxBodyBytes: the body size cap; a larger body fails with `tooLarge`.
    ///   - requestMethod: the request's method (a response to HEAD has no body).
    package init(maxBodyBytes: Int, requestMethod: String) {
        self.maxBodyBytes = maxBodyBytes
        bodyless = requestMethod == "HEAD"
    }

    /// True once any byte of the response arrived (a connection that fails before that may be retried).
    package var started: Bool {
        if case .statusLine = state { return !line.isEmpty }
        return true
    }

    /// Feeds the next bytes.
    package mutating func feed(_ input: UnsafeRawBufferPointer) -> Progress {
        var index = 0
        while index < input.count {
            switch state {
            case .done, .failed:
                return report(consumed: index)
            case .statusLine, .headerLine, .chunkSize, .chunkDataEnd, .trailerLine:
                // The rest of the line in one piece, not byte by byte.
                let lineEnd = ByteScan.firstIndex(
                    of: UInt8(ascii: "\n"), in: input.baseAddress!, from: index, to: input.count)
                guard line.count + (lineEnd - index) <= Self.maxLineBytes else {
                    state = .failed(.tooLarge(limit: Self.maxLineBytes))
                    continue
                }
                line.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[index..<lineEnd]))
                index = lineEnd
                if index < input.count {
                    index += 1  // the LF
                    if line.last == UInt8(ascii: "\r") { line.removeLast() }
                    endOfLine()
                    line.removeAll(keepingCapacity: true)
                }
            case .fixedBody(let remaining):
                let taken = min(remaining, input.count - index)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[index..<index + taken]))
                index += taken
                state = remaining == taken ? .done : .fixedBody(remaining: remaining - taken)
            case .chunkData(let remaining):
                let taken = min(remaining, input.count - index)
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[index..<index + taken]))
                index += taken
                state = remaining == taken ? .chunkDataEnd : .chunkData(remaining: remaining - taken)
            case .untilClose:
                let taken = input.count - index
                guard body.count + taken <= maxBodyBytes else {
                    state = .failed(.tooLarge(limit: maxBodyBytes))
                    continue
                }
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[index...]))
                index = input.count
            }
        }
        return report(consumed: index)
    }

    /// The peer closed the connection: completes a close-delimited body, fails anything else unfinished.
    package mutating func finishAtEndOfStream() -> Progress {
        switch state {
        case .untilClose:
            state = .done
            return .complete(response(keepAlive: false), consumed: 0)
        case .done, .failed:
            return report(consumed: 0)
        default:
            state = .failed(.malformed(started ? "connection closed mid-response" : "connection closed"))
            return report(consumed: 0)
        }
    }

    private mutating func report(consumed: Int) -> Progress {
        switch state {
        case .done: .complete(response(keepAlive: isKeepAlive), consumed: consumed)
        case .failed(let error): .failed(error)
        default: .needMore
        }
    }

    private var isKeepAlive: Bool {
        guard let connection = headers["connection"] else { return !http10 }
        if connection.httpListContains("close") { return false }
        return http10 ? connection.httpListContains("keep-alive") : true
    }

    private func response(keepAlive: Bool) -> HTTPClientResponse {
        HTTPClientResponse(status: status, headers: headers, body: body, keepAlive: keepAlive)
    }

    private mutating func endOfLine() {
        switch state {
        case .statusLine: parseStatusLine()
        case .headerLine: line.isEmpty ? endOfHead() : parseField(trailer: false)
        case .chunkSize: parseChunkSize()
        case .chunkDataEnd: state = line.isEmpty ? .chunkSize : .failed(.malformed("chunk not followed by CRLF"))
        case .trailerLine: if line.isEmpty { state = .done } else { parseField(trailer: true) }
        default: break
        }
    }

    /// `HTTP/1.x SP 3DIGIT [SP reason]`.
    private mutating func parseStatusLine() {
        let prefix = Array("HTTP/1.".utf8)
        guard line.count >= 12, line.starts(with: prefix), line[7] == UInt8(ascii: "0") || line[7] == UInt8(ascii: "1"),
            line[8] == UInt8(ascii: " "), line.count == 12 || line[12] == UInt8(ascii: " ")
        else {
            state = .failed(.malformed("bad status line"))
            return
        }
        var code = 0
        for byte in line[9..<12] {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                state = .failed(.malformed("bad status code"))
                return
            }
            code = code * 10 + Int(byte - UInt8(ascii: "0"))
        }
        guard code >= 100 else {
            state = .failed(.malformed("bad status code"))
            return
        }
        status = code
        http10 = line[7] == UInt8(ascii: "0")
        state = .headerLine
    }

    private mutating func parseField(trailer: Bool) {
        headerLines += 1
        guard headerLines <= Self.maxHeaderLines else {
            state = .failed(.tooLarge(limit: Self.maxHeaderLines))
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0,
            line[..<colon].allSatisfy(isHTTPTokenByte)
        else {
            state = .failed(.malformed("bad header line"))
            return
        }
        // Trailers are read and dropped: nothing the client uses may arrive after the body.
        if trailer { return }
        // Lowercased and trimmed as bytes, then made a `String` once.
        for index in 0..<colon { line[index] = asciiLowercased(line[index]) }
        let valueRange = line.withUnsafeBufferPointer { spaceTrimmed($0, (colon + 1)..<$0.count) }
        let name = String(decoding: line[..<colon], as: UTF8.self)
        let value = String(decoding: line[valueRange], as: UTF8.self)
        if let existing = headers[name] { headers[name] = existing + ", " + value } else { headers[name] = value }
    }

    private mutating func endOfHead() {
        if status < 200 {
            // An interim response (100 Continue, 103 Early Hints): the real one follows.
            guard status != 101 else {
                state = .failed(.malformed("unexpected protocol switch"))
                return
            }
            status = 0
            headers = [:]
            headerLines = 0
            state = .statusLine
            return
        }
        if bodyless || status == 204 || status == 304 {
            state = .done
            return
        }
        if let coding = headers["transfer-encoding"] {
            let last = coding.lowercased().split(separator: ",").last.map { $0.trimmingSpaces() }
            if last == "chunked" {
                // Framing by chunks; a Content-Length alongside is ignored, as RFC 9112 §6.3 requires.
                headers["content-length"] = nil
                state = .chunkSize
            } else {
                state = .untilClose
            }
            return
        }
        if let length = headers["content-length"] {
            // Repeated identical values arrive joined by ", "; differing ones are a framing error.
            let values =
                length.utf8.contains(UInt8(ascii: ","))
                ? Set(length.split(separator: ",").map { $0.trimmingSpaces() }) : [length]
            guard values.count == 1, let text = values.first, !text.isEmpty, text.utf8.count <= 18,
                text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }), let count = Int(text)
            else {
                state = .failed(.malformed("bad Content-Length"))
                return
            }
            guard count <= maxBodyBytes else {
                state = .failed(.tooLarge(limit: maxBodyBytes))
                return
            }
            body.reserveCapacity(count)
            state = count == 0 ? .done : .fixedBody(remaining: count)
            return
        }
        state = .untilClose
    }

    /// `1*HEXDIG [ ; extensions ]`; a zero size starts the trailers.
    private mutating func parseChunkSize() {
        var size = 0
        var digits = 0
        for byte in line {
            guard let value = Self.hexValue(byte) else { break }
            digits += 1
            guard digits <= 15 else {
                state = .failed(.malformed("bad chunk size"))
                return
            }
            size = size * 16 + value
        }
        let rest = line[digits...]
        guard digits > 0,
            rest.isEmpty || rest.first == UInt8(ascii: ";") || rest.first == UInt8(ascii: " ")
                || rest.first == UInt8(ascii: "\t")
        else {
            state = .failed(.malformed("bad chunk size"))
            return
        }
        guard body.count + size <= maxBodyBytes else {
            state = .failed(.tooLarge(limit: maxBodyBytes))
            return
        }
        state = size == 0 ? .trailerLine : .chunkData(remaining: size)
    }

    private static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

}

/// RFC 9110 `tchar`: the bytes of a method or a header name.
func isHTTPTokenByte(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
        UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
        UInt8(ascii: "'"),
        UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"),
        UInt8(ascii: "_"),
        UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
        true
    default: false
    }
}
