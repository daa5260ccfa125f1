import Testing

@testable import JSONRPC

@Suite("JSON-RPC classification")
struct MessageTests {
    private func classify(_ text: String) throws -> Result<Message, InvalidMessage> {
        JSONRPC.classify(try JSONParser.parse(text))
    }

    @Test("ids keep their JSON type")
    func idTypes() throws {
        let stringID = try classify(#"{"jsonrpc":"2.0","id":"7","method":"ping"}"#)
        #expect(stringID == .success(.request(Request(id: .string("7"), method: "ping"))))
        let intID = try classify(#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#)
        #expect(intID == .success(.request(Request(id: .int(7), method: "ping"))))
        #expect(JSONRPC.response(id: .string("7"), result: [:])["id"] == .string("7"))
        #expect(JSONRPC.response(id: .int(7), result: [:])["id"] == .int(7))
    }

    @Test(
        "invalid envelopes are -32600",
        arguments: [
            #"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            #"{"jsonrpc":"2.0","id":1}"#,
            #"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            #"{"id":1,"method":"ping"}"#,
            #"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            #"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
            #"{"jsonrpc":"2.0","id":1,"method":3}"#,
            #"{"jsonrpc":"2.0","id":1,"method":"x","params":"s"}"#,
            #"[1]"#, #""text""#, "3",
        ]
    )
    func invalid(text: String) throws {
        guard case .failure(let failure) = try classify(text) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.error.code == .invalidRequest)
    }

    @Test("the id is kept for errors after it was read")
    func idKeptOnError() throws {
        guard case .failure(let failure) = try classify(#"{"jsonrpc":"1.0","id":"abc","method":"ping"}"#) else {
            Issue.record("expected a failure")
            return
        }
        #expect(failure.id == .string("abc"))
        #expect(JSONRPC.errorResponse(id: nil, error: failure.error)["id"] == .null)
    }

    @Test("a message without id is a notification, one with result is a response")
    func kinds() throws {
        #expect(
            try classify(#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
                == .success(.notification(Notification(method: "notifications/initialized")))
        )
        #expect(try classify(#"{"jsonrpc":"2.0","id":3,"result":{}}"#) == .success(.response(id: .int(3))))
    }
}

@Suite("Line framing")
struct LineFramerTests {
    @Test("newlines are found at every position within and across 8-byte words, in chunks of every size")
    func newlineAtEveryOffset() {
        // Lines of 0…19 bytes ('a'…), so newlines fall at every offset of the word-at-a-time search.
        var text: [UInt8] = []
        var expected: [LineFramer.Frame] = []
        for length in 0..<20 {
            let line = [UInt8](repeating: UInt8(ascii: "a") + UInt8(length), count: length)
            text += line + [0x0A]
            expected.append(.line(line))
        }
        for chunkSize in 1...24 {
            var framer = LineFramer(maxLineBytes: 64)
            var frames: [LineFramer.Frame] = []
            var start = 0
            while start < text.count {
                let end = min(text.count, start + chunkSize)
                frames += framer.append(Array(text[start..<end]))
                start = end
            }
            #expect(frames == expected, "chunks of \(chunkSize)")
        }
    }

    @Test("the same bytes framed at once, one by one, or split anywhere give the same frames")
    func dripFeed() {
        let input = Array("{\"a\":1}\n\r\n{\"b\":2}\r\nlast".utf8)
        var whole = LineFramer(maxLineBytes: 64)
        var expected = whole.append(input)
        expected.append(whole.finish()!)
        #expect(
            expected == [
                .line(Array("{\"a\":1}".utf8)), .line([]), .line(Array("{\"b\":2}".utf8)), .line(Array("last".utf8)),
            ])
        for split in 0...input.count {
            var framer = LineFramer(maxLineBytes: 64)
            var frames = framer.append(Array(input[..<split]))
            frames += framer.append(Array(input[split...]))
            if let last = framer.finish() { frames.append(last) }
            #expect(frames == expected)
        }
        var single = LineFramer(maxLineBytes: 64)
        var frames: [LineFramer.Frame] = []
        for byte in input { frames += single.append([byte]) }
        if let last = single.finish() { frames.append(last) }
        #expect(frames == expected)
    }

    @Test("an oversized line is reported once and the next line still frames")
    func oversized() {
        var framer = LineFramer(maxLineBytes: 8)
        var frames = framer.append(Array("0123456789".utf8))
        #expect(frames.isEmpty)
        #expect(framer.pendingByteCount == 10)
        frames = framer.append(Array("abc\nok\n".utf8))
        #expect(frames == [.oversized(byteCount: 13), .line(Array("ok".utf8))])
    }
}
