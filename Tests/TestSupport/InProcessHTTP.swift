import Codecs
import HTTPServer
import Synchronization

/// Drives an `HTTPHandler` in process, through the same seam the event loop uses (responder → loop commands →
/// encoded bytes), without sockets or a spawned binary.
package struct InProcessHTTP: Sendable {
    package let handler: any HTTPHandler

    package init(_ handler: any HTTPHandler) { self.handler = handler }

    /// Sends one request and waits for the response head (a complete response, or the start of a stream).
    package func send(
        _ method: String, _ target: String, headers: [(String, String)] = [], body: String = ""
    ) async -> InProcessResponse {
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.add(name, value) }
        if fields["Host"] == nil { fields.add("Host", "localhost") }
        let request = HTTPRequest(method: method, target: target, headers: fields, body: Array(body.utf8))
        let (commands, continuation) = AsyncStream.makeStream(of: LoopCommand.self)
        let responder = HTTPResponder(for: request, sink: CommandRecorder(continuation))
        let handler = handler
        Task {
            await handler.handle(request, responder: responder)
            responder.respond(.text(500, "handler produced no response"))  // as the server does
        }
        var iterator = commands.makeAsyncIterator()
        let first = await iterator.next()
        return InProcessResponse(first: first, rest: iterator, responder: responder)
    }
}

/// A response as the client would read it: status, headers and body (for a stream, the head; read the events with
/// `nextChunk`).
package final class InProcessResponse: @unchecked Sendable {
    package let status: Int
    package let headers: HTTPHeaders
    package let body: [UInt8]
    package let isStream: Bool
    // Read by one test task at a time.
    private var rest: AsyncStream<LoopCommand>.Iterator
    private let responder: HTTPResponder

    init(first: LoopCommand?, rest: AsyncStream<LoopCommand>.Iterator, responder: HTTPResponder) {
        self.rest = rest
        self.responder = responder
        var bytes: [UInt8] = []
        switch first {
        case .respond(_, let encoded, _): (bytes, isStream) = (encoded, false)
        case .beginStream(_, let head, _, _): (bytes, isStream) = (head, true)
        default: (bytes, isStream) = ([], false)
        }
        let (status, headers, headLength) = Self.parseHead(bytes)
        self.status = status
        self.headers = headers
        body = Array(bytes[headLength...])
    }

    package var text: String { String(decoding: body, as: UTF8.self) }

    package func header(_ name: String) -> String? { headers[name] }

    /// The next piece of a stream, unframed; `nil` once the stream ends.
    package func nextChunk() async -> [UInt8]? {
        guard isStream else { return nil }
        while let command = await rest.next() {
            switch command {
            case .streamData(_, let framed): return Self.unchunk(framed)
            case .endStream, .abort: return nil
            default: continue
            }
        }
        return nil
    }

    /// The client goes away (ends a stream; handlers' client-gone callbacks run).
    package func disconnect() { responder.clientDisconnected() }

    private static func parseHead(_ bytes: [UInt8]) -> (Int, HTTPHeaders, Int) {
        let text = String(decoding: bytes, as: UTF8.self)
        guard let end = text.utf8.firstRange(of: Array("\r\n\r\n".utf8)) else { return (0, [:], bytes.count) }
        let lines = text[..<end.lowerBound].split(separator: "\r\n", omittingEmptySubsequences: false)
        let status = lines.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        var headers = HTTPHeaders()
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers.add(String(line[..<colon]), line[line.index(after: colon)...].trimmingSpaces())
        }
        return (status, headers, text.utf8.distance(from: text.utf8.startIndex, to: end.upperBound))
    }

    /// Strips `size CRLF … CRLF` chunk framing (one command carries one chunk); HTTP/1.0 streams are unframed.
    private static func unchunk(_ framed: [UInt8]) -> [UInt8] {
        guard let lineEnd = framed.firstIndex(of: 0x0D), framed.count >= lineEnd + 4,
            let size = Int(String(decoding: framed[..<lineEnd], as: UTF8.self), radix: 16),
            framed.count == lineEnd + 2 + size + 2
        else { return framed }
        return Array(framed[(lineEnd + 2)..<(lineEnd + 2 + size)])
    }
}

private struct CommandRecorder: LoopCommandSink {
    let continuation: AsyncStream<LoopCommand>.Continuation
    init(_ continuation: AsyncStream<LoopCommand>.Continuation) { self.continuation = continuation }
    func enqueue(_ command: LoopCommand) { continuation.yield(command) }
}
