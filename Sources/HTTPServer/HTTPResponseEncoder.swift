/// The one place a response is turned into bytes: handler responses, streams, the server's own refusals (400,
/// 408, 413, 431…) and the accept-path 503 all go through it.
enum HTTPResponseEncoder {
    /// The interim answer to `Expect: 100-continue`.
    static let continueResponse = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)

    /// The chunk that ends a chunked stream.
    static let lastChunk = Array("0\r\n\r\n".utf8)

    /// A complete response: status line, `headers` (then those of `extra` the response did not set), the framing
    /// field, `Connection: close` when the connection will not be reused, and the body unless `includeBody` is off
    /// (HEAD).
    static func encode(
        _ response: HTTPResponse, extra: HTTPHeaders = [:], keepAlive: Bool, includeBody: Bool = true
    ) -> [UInt8] {
        let hasBody = !(100..<200).contains(response.status) && response.status != 204 && response.status != 304
        var bytes = head(
            status: response.status, headers: response.headers, extra: extra, keepAlive: keepAlive,
            reserve: includeBody ? response.body.count : 0
        ) { headers in
            if hasBody { headers.set("Content-Length", String(response.body.count)) }
        }
        if includeBody { bytes.append(contentsOf: response.body) }
        return bytes
    }

    /// The head of a streaming response; `chunked` adds `Transfer-Encoding: chunked` (HTTP/1.1 streams).
    static func streamHead(
        status: Int, headers: HTTPHeaders, extra: HTTPHeaders, chunked: Bool, keepAlive: Bool
    ) -> [UInt8] {
        head(status: status, headers: headers, extra: extra, keepAlive: keepAlive) { headers in
            if chunked { headers.set("Transfer-Encoding", "chunked") }
        }
    }

    /// One chunk of a chunked stream.
    static func chunk(_ bytes: [UInt8]) -> [UInt8] {
        var framed = Array(String(bytes.count, radix: 16).utf8)
        framed.reserveCapacity(framed.count + bytes.count + 4)
        framed.append(contentsOf: [0x0D, 0x0A])
        framed.append(contentsOf: bytes)
        framed.append(contentsOf: [0x0D, 0x0A])
        return framed
    }

    private static func head(
        status: Int,
        headers: HTTPHeaders,
        extra: HTTPHeaders,
        keepAlive: Bool,
        reserve: Int = 0,
        framing: (inout HTTPHeaders) -> Void
    ) -> [UInt8] {
        var headers = headers
        for field in extra where !headers.contains(field.name) { headers.add(field.name, field.value) }
        framing(&headers)
        headers.remove("Connection")
        if !keepAlive { headers.add("Connection", "close") }
        // Straight into bytes, with room for a body after them: no `String` built and copied per response.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64 + headers.count * 64 + reserve)
        bytes += "HTTP/1.1 ".utf8
        bytes += String(status).utf8
        bytes.append(0x20)
        bytes += HTTPResponse.reasonPhrase(status).utf8
        bytes += "\r\n".utf8
        for field in headers {
            bytes += field.name.utf8
            bytes += ": ".utf8
            bytes += field.value.utf8
            bytes += "\r\n".utf8
        }
        bytes += "\r\n".utf8
        return bytes
    }
}
