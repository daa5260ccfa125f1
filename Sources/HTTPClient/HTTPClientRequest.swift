import Codecs
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
    /// host. Userinfo is refused: credentials never travel in URLs. Works on UTF-8 bytes: every upstream call parses
    /// its URL, and `Character` indexing (grapheme breaking) cost more than the rest of building the request.
    static func parse(_ url: String) -> (origin: Origin, target: String, authority: String)? {
        let bytes = Array(url.utf8)
        let secure: Bool
        var index: Int
        if bytes.starts(with: "https://".utf8) {
            secure = true
            index = 8
        } else if bytes.starts(with: "http://".utf8) {
            secure = false
            index = 7
        } else {
            return nil
        }
        let authorityStart = index
        while index < bytes.count, bytes[index] != UInt8(ascii: "/"), bytes[index] != UInt8(ascii: "?"),
            bytes[index] != UInt8(ascii: "#")
        {
            index += 1
        }
        let authority = bytes[authorityStart..<index]
        let fragment = bytes[index...].firstIndex(of: UInt8(ascii: "#")) ?? bytes.endIndex
        let path = bytes[index..<fragment]
        guard !authority.isEmpty, !authority.contains(UInt8(ascii: "@")),
            !path.contains(where: { $0 <= 0x20 || $0 == 0x7F })
        else { return nil }
        let target =
            path.first == UInt8(ascii: "/")
            ? String(decoding: path, as: UTF8.self) : "/" + String(decoding: path, as: UTF8.self)
        var host: ArraySlice<UInt8>
        var portText: ArraySlice<UInt8>?
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { return nil }
            host = authority[(authority.startIndex + 1)..<close]
            let after = authority[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { return nil }
                portText = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: UInt8(ascii: ":")) {
            host = authority[..<colon]
            portText = authority[(colon + 1)...]
        } else {
            host = authority
        }
        var port = secure ? 443 : 80
        if let portText {
            // At most five digits and no sign: `Int(_:)` would accept "+80".
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
                return nil
            }
            let value = portText.reduce(0) { $0 * 10 + Int($1 - 0x30) }
            guard (1...65535).contains(value) else { return nil }
            port = value
        }
        guard !host.isEmpty else { return nil }
        let lowered = host.map(asciiLowercased)
        return (
            Origin(secure: secure, host: String(decoding: lowered, as: UTF8.self), port: port), target,
            String(decoding: authority, as: UTF8.self)
        )
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
            guard Self.isValidField(name, value) else { return nil }
            // The client owns framing and the connection.
            if Self.clientOwnedNames.contains(where: name.equalsIgnoringASCIICase) { continue }
            bytes += name.utf8
            bytes += ": ".utf8
            bytes += value.utf8
            bytes += "\r\n".utf8
        }
        if let body {
            bytes += "Content-Length: ".utf8
            bytes += String(body.count).utf8
            bytes += "\r\n\r\n".utf8
            bytes += body
        } else if method == "POST" || method == "PUT" || method == "PATCH" {
            bytes += "Content-Length: 0\r\n\r\n".utf8
        } else {
            bytes += "\r\n".utf8
        }
        return bytes
    }

    /// A token for a name, and a value that cannot end the line or the head. Over contiguous bytes: every upstream
    /// call checks every header.
    private static func isValidField(_ name: String, _ value: String) -> Bool {
        var name = name
        var value = value
        return name.withUTF8 { name in
            value.withUTF8 { value in
                !name.isEmpty && name.allSatisfy(isHTTPTokenByte)
                    && !value.contains(where: { $0 == 0x0D || $0 == 0x0A || $0 == 0 })
            }
        }
    }

    /// Header names the client writes itself.
    private static let clientOwnedNames = ["host", "content-length", "transfer-encoding", "connection"]
}
