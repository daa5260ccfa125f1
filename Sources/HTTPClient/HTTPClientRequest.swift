import TLS

/// One request for the native client: an absolute `http`/`https` URL, headers, an optional body and a hard deadline.
package struct HTTPClientRequest: Sendable {
    package var method: String
    package var url: String
    package var headers: [(name: String, value: String)]
    package var body: [UInt8]?
    /// The whole exchange — DNS, connect, TLS, request, response — must finish within it.
    package var timeout: Duration

    package init(
        method: String, url: String, headers: [(name: String, value: String)], body: [UInt8]?, timeout: Duration
    ) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
    }
}

/// Why the native client has no response.
package enum HTTPClientFailure: Error, Sendable, Equatable {
    /// The deadline passed.
    case timeout
    case cancelled
    /// DNS or connect failed, or the connection broke; the reason is short and has no internals.
    case unreachable(String)
    /// TLS failed: the handshake (certificate, timeout) or the session after it (an alert, a cut).
    case tls(TLSFailure)
    /// The peer answered with something that is not an acceptable HTTP/1.1 response (malformed, too large).
    case invalidResponse(String)
}

/// Where connections go: scheme, host and port. Connections are pooled per origin.
struct Origin: Hashable, Sendable {
    var secure: Bool
    var host: String
    var port: Int

    /// Splits an absolute URL into its origin and request target; nil for anything but `http`/`https` URLs with a
    /// host. Userinfo is refused: credentials never travel in URLs.
    static func parse(_ url: String) -> (origin: Origin, target: String, authority: String)? {
        let secure: Bool
        let rest: Substring
        if url.hasPrefix("https://") {
            secure = true
            rest = url.dropFirst(8)
        } else if url.hasPrefix("http://") {
            secure = false
            rest = url.dropFirst(7)
        } else {
            return nil
        }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        var target = String(rest[authorityEnd...])
        if let fragment = target.firstIndex(of: "#") { target = String(target[..<fragment]) }
        if target.isEmpty || target.first == "?" { target = "/" + target }
        guard !authority.isEmpty, !authority.contains("@"),
            !target.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F })
        else { return nil }
        var host: Substring
        var portText: Substring?
        if authority.first == "[" {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.first == ":" else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        } else {
            host = authority
        }
        var port = secure ? 443 : 80
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { return nil }
            port = value
        }
        guard !host.isEmpty else { return nil }
        return (Origin(secure: secure, host: host.lowercased(), port: port), target, String(authority))
    }
}

extension HTTPClientRequest {
    /// The request as bytes on the wire: request line, Host, the caller's headers, Content-Length, body.
    ///
    /// - Returns: nil when a method, header name or value could split the message (CR, LF, or not a token).
    func encoded(target: String, authority: String) -> [UInt8]? {
        guard !method.isEmpty, method.utf8.allSatisfy(isHTTPTokenByte) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + (body?.count ?? 0))
        bytes += method.utf8
        bytes.append(0x20)
        bytes += target.utf8
        bytes += " HTTP/1.1\r\nHost: ".utf8
        bytes += authority.utf8
        bytes += "\r\n".utf8
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(isHTTPTokenByte),
                !value.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 })
            else { return nil }
            // The client owns framing and the connection.
            switch name.lowercased() {
            case "host", "content-length", "transfer-encoding", "connection": continue
            default: break
            }
            bytes += name.utf8
            bytes += ": ".utf8
            bytes += value.utf8
            bytes += "\r\n".utf8
        }
        if let body {
            bytes += "Content-Length: \(body.count)\r\n\r\n".utf8
            bytes += body
        } else if ["POST", "PUT", "PATCH"].contains(method) {
            bytes += "Content-Length: 0\r\n\r\n".utf8
        } else {
            bytes += "\r\n".utf8
        }
        return bytes
    }
}
