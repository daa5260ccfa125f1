import Testing

@testable import HTTPClient

@Suite("HTTP response parser")
struct HTTPResponseParserTests {
    /// Feeds `text` in the given pieces and returns the outcome (ending the stream when `closeAfter`).
    private func parse(
        _ pieces: [[UInt8]], method: String = "GET", maxBody: Int = 1 << 20, closeAfter: Bool = false
    ) -> HTTPResponseParser.Progress {
        var parser = HTTPResponseParser(maxBodyBytes: maxBody, requestMethod: method)
        var progress = HTTPResponseParser.Progress.needMore
        for piece in pieces {
            progress = piece.withUnsafeBytes { parser.feed($0) }
            if progress != .needMore { return progress }
        }
        return closeAfter ? parser.finishAtEndOfStream() : progress
    }

    /// Every split of `text` in two, and byte by byte, gives the same result as all at once.
    private func everySplit(
        _ text: String, method: String = "GET", maxBody: Int = 1 << 20, closeAfter: Bool = false
    ) -> HTTPResponseParser.Progress {
        let bytes = Array(text.utf8)
        let whole = parse([bytes], method: method, maxBody: maxBody, closeAfter: closeAfter)
        for cut in 0...bytes.count {
            let split = parse(
                [Array(bytes[..<cut]), Array(bytes[cut...])], method: method, maxBody: maxBody, closeAfter: closeAfter)
            #expect(Self.sameOutcome(split, whole), "split at \(cut)")
        }
        let drip = parse(bytes.map { [$0] }, method: method, maxBody: maxBody, closeAfter: closeAfter)
        #expect(Self.sameOutcome(drip, whole), "byte by byte")
        return whole
    }

    /// Same response or failure; `consumed` counts differ by split, so it is compared separately.
    private static func sameOutcome(_ left: HTTPResponseParser.Progress, _ right: HTTPResponseParser.Progress) -> Bool {
        switch (left, right) {
        case (.complete(let a, _), .complete(let b, _)): a == b
        default: left == right
        }
    }

    private func completed(_ progress: HTTPResponseParser.Progress) -> HTTPClientResponse? {
        if case .complete(let response, _) = progress { return response }
        return nil
    }

    @Test("a Content-Length body is read at every split")
    func contentLength() throws {
        let progress = everySplit(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}")
        let response = try #require(completed(progress))
        #expect(response.status == 200)
        #expect(response.headers["content-type"] == "application/json")
        #expect(response.body == Array("{\"a\":1}".utf8))
        #expect(response.keepAlive)
    }

    @Test("a chunked body with extensions and trailers is decoded at every split")
    func chunked() throws {
        let text =
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4;name=value\r\nWiki\r\n5 ; x\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: never\r\nX-Trailer: 1\r\n\r\n"
        let response = try #require(completed(everySplit(text)))
        #expect(String(decoding: response.body, as: UTF8.self) == "Wikipedia in\r\n\r\nchunks.")
        #expect(response.headers["expires"] == nil, "trailers are not headers")
        #expect(response.keepAlive)
    }

    @Test("the response ends where its framing says, leaving later bytes unconsumed")
    func consumedCount() {
        let bytes = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1".utf8)
        guard case .complete(_, let consumed) = parse([bytes]) else {
            Issue.record("not complete")
            return
        }
        #expect(consumed == bytes.count - "HTTP/1.1".utf8.count)
    }

    @Test("a close-delimited body completes at end of stream and is not kept alive")
    func closeDelimited() throws {
        let response = try #require(completed(everySplit("HTTP/1.1 200 OK\r\n\r\nuntil the end", closeAfter: true)))
        #expect(response.body == Array("until the end".utf8))
        #expect(!response.keepAlive)
    }

    @Test("bad chunk sizes fail", arguments: ["zz\r\n", "\r\n", "-1\r\n", "1000000000000000\r\n", "4x\r\n"])
    func badChunkSize(line: String) {
        let progress = everySplit("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + line + "abcd\r\n0\r\n\r\n")
        #expect(progress == .failed(.malformed("bad chunk size")))
    }

    @Test("chunk data not followed by CRLF fails")
    func chunkWithoutCRLF() {
        let progress = everySplit("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n")
        #expect(progress == .failed(.malformed("chunk not followed by CRLF")))
    }

    @Test("a body over the cap fails, whatever its framing")
    func oversized() {
        #expect(
            everySplit("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\nhello world", maxBody: 10)
                == .failed(.tooLarge(limit: 10)))
        #expect(
            everySplit(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\n\r\n",
                maxBody: 10)
                == .failed(.tooLarge(limit: 10)))
        #expect(
            everySplit("HTTP/1.1 200 OK\r\n\r\nhello world", maxBody: 10, closeAfter: true)
                == .failed(.tooLarge(limit: 10)))
        let longLine =
            "HTTP/1.1 200 OK\r\nX: " + String(repeating: "a", count: HTTPResponseParser.maxLineBytes) + "\r\n\r\n"
        #expect(parse([Array(longLine.utf8)]) == .failed(.tooLarge(limit: HTTPResponseParser.maxLineBytes)))
    }

    @Test(
        "malformed heads fail",
        arguments: [
            ("HTTP/2 200 OK\r\n\r\n", "bad status line"), ("HTTP/1.1 2x0 OK\r\n\r\n", "bad status code"),
            ("HTTP/1.1 200 OK\r\nno colon\r\n\r\n", "bad header line"),
            ("HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\nab", "bad Content-Length"),
            ("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"),
            ("HTTP/1.1 101 Switching Protocols\r\n\r\n", "unexpected protocol switch"),
        ])
    func malformed(text: String, reason: String) {
        #expect(everySplit(text) == .failed(.malformed(reason)))
    }

    @Test("a stream that ends mid-body fails")
    func truncated() {
        #expect(
            everySplit("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", closeAfter: true)
                == .failed(.malformed("connection closed mid-response")))
    }

    @Test("interim 1xx responses are skipped; 204, 304 and HEAD answers have no body")
    func bodylessAndInterim() throws {
        let interim = try #require(
            completed(everySplit("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")))
        #expect(interim.status == 201)
        let noContent = try #require(completed(everySplit("HTTP/1.1 204 No Content\r\n\r\n")))
        #expect(noContent.body.isEmpty)
        let head = try #require(completed(everySplit("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", method: "HEAD")))
        #expect(head.body.isEmpty && head.keepAlive)
    }

    @Test("Connection: close and HTTP/1.0 end keep-alive; repeated headers are joined")
    func keepAliveAndRepeats() throws {
        let closing = try #require(
            completed(everySplit("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")))
        #expect(!closing.keepAlive)
        let old = try #require(completed(everySplit("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")))
        #expect(!old.keepAlive)
        let repeated = try #require(
            completed(
                everySplit("HTTP/1.1 302 Found\r\nLocation: /x\r\nVary: a\r\nvary: b\r\nContent-Length: 0\r\n\r\n")))
        #expect(repeated.headers["vary"] == "a, b")
        #expect(repeated.status == 302, "a redirect is returned as is")
    }
}
