/// Why an API domain was refused; the message says what to change.
package struct DomainError: Error, Sendable, Equatable, CustomStringConvertible {
    package let message: String
    package init(_ message: String) { self.message = message }
    package var description: String { message }
}

/// Which API domains the server may call, and how user input becomes an `APIDomain`.
///
/// The server must never become a proxy to arbitrary hosts, so by default only `https` hosts under `nudj.cx` pass.
/// Operators add patterns (`*.example.com`, `api.example.com`); plain `http` is possible only for `localhost` and
/// `*.localhost`, and only when insecure localhost is enabled: on any port by an explicit flag, or on the in-process
/// sandbox's one port.
package struct DomainPolicy: Sendable {
    /// Which plain-http localhost domains pass.
    package enum InsecureLocalhost: Sendable, Equatable {
        case refused
        /// `--allow-insecure-localhost`: an operator pointing at a local API of their choosing.
        case anyPort
        /// The in-process sandbox: only its own port, so a token never goes to another local service.
        case onlyPort(Int)
    }

    package static let defaultPatterns = ["*.nudj.cx"]

    package let patterns: [String]
    package let insecureLocalhost: InsecureLocalhost

    package init(extraPatterns: [String] = [], insecureLocalhost: InsecureLocalhost = .refused) {
        patterns = Self.defaultPatterns + extraPatterns.map { $0.lowercased() }.filter { !$0.isEmpty }
        self.insecureLocalhost = insecureLocalhost
    }

    package init(extraPatterns: [String] = [], allowInsecureLocalhost: Bool) {
        self.init(extraPatterns: extraPatterns, insecureLocalhost: allowInsecureLocalhost ? .anyPort : .refused)
    }

    /// Accepts `https://acme.nudj.cx/api/v2/admin`, `acme.nudj.cx` or `acme` (meaning `acme.nudj.cx`).
    package func normalize(_ input: String) -> Result<APIDomain, DomainError> {
        let text = String(Substring(input).trimmingASCIIWhitespace())
        guard !text.isEmpty else { return .failure(DomainError("API domain is empty")) }
        guard text.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            return .failure(DomainError("API domain contains spaces, control or non-ASCII characters"))
        }

        var scheme: String?
        var rest = Substring(text)
        if let separator = text.firstRange(of: "://") {
            scheme = text[..<separator.lowerBound].lowercased()
            rest = text[separator.upperBound...]
            guard scheme == "https" || scheme == "http" else {
                return .failure(DomainError("API domain scheme must be https (got \(scheme!))"))
            }
        }
        if rest.contains("?") || rest.contains("#") {
            return .failure(DomainError("API domain must not contain a query or fragment"))
        }
        let authorityEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        let path = rest[authorityEnd...]
        if authority.contains("@") {
            return .failure(DomainError("API domain must not contain user information (user@host)"))
        }
        guard isAllowedPath(path) else {
            return .failure(
                DomainError(
                    "API domain path must be /api/v2/admin, /api/v2/integration or /api/v2/analytics (got \(path))")
            )
        }

        var host = String(authority).lowercased()
        var port: Int?
        if host.hasPrefix("[") { return .failure(DomainError("IP addresses are not allowed as API domains")) }
        if let colon = host.lastIndex(of: ":") {
            let portText = host[host.index(after: colon)...]
            guard let value = Int(portText), (1...65535).contains(value), portText.allSatisfy(\.isNumber) else {
                return .failure(DomainError("API domain has an invalid port"))
            }
            port = value
            host = String(host[..<colon])
        }
        if host.hasSuffix(".") { host.removeLast() }
        guard isValidHostname(host) else {
            return .failure(DomainError("API domain host '\(host)' is not a valid hostname"))
        }
        if isIPLiteral(host) { return .failure(DomainError("IP addresses are not allowed as API domains")) }

        // A bare organisation name: `acme` means acme.nudj.cx.
        if scheme == nil, port == nil, path.isEmpty, !host.contains("."), host != "localhost" {
            host += ".nudj.cx"
        }

        let loopback = LoopbackHost.isLocalhostName(host)
        let resolvedScheme = scheme ?? (loopback ? "http" : "https")
        if loopback {
            switch insecureLocalhost {
            case .anyPort:
                break
            case .onlyPort(let allowed) where port == allowed:
                break
            case .onlyPort(let allowed):
                return .failure(
                    DomainError(
                        "localhost API domains are limited to the in-process sandbox's port \(allowed)"
                            + " (--allow-insecure-localhost allows other local APIs)"))
            case .refused:
                return .failure(
                    DomainError(
                        "localhost API domains need the in-process sandbox or --allow-insecure-localhost"
                            + " (NUDJ_ALLOW_INSECURE_LOCALHOST=1)"
                    )
                )
            }
            let organisation = host == "localhost" ? "localhost" : String(host.dropLast(".localhost".count))
            return .success(
                APIDomain(
                    scheme: resolvedScheme, host: host, port: port, organisation: organisation,
                    organisationIsSubdomain: host != "localhost")
            )
        }
        guard resolvedScheme == "https" else {
            return .failure(DomainError("plain http is only allowed for localhost; use https://\(host)"))
        }
        if let port, port != 443 {
            return .failure(DomainError("port \(port) is not allowed; Nudj API domains use the default https port"))
        }
        guard let (organisation, isSubdomain) = organisation(for: host) else {
            return .failure(
                DomainError(
                    "API domain '\(host)' is not allowed; allowed: \(patterns.joined(separator: ", "))"
                        + " (add more with --allow-domain or NUDJ_ALLOWED_DOMAINS)"
                )
            )
        }
        return .success(
            APIDomain(
                scheme: "https", host: host, port: nil, organisation: organisation, organisationIsSubdomain: isSubdomain
            ))
    }

    /// The organisation a host selects under the first matching pattern (and whether it is a subdomain label), or
    /// `nil` if no pattern matches.
    private func organisation(for host: String) -> (String, Bool)? {
        for pattern in patterns {
            if pattern.hasPrefix("*.") {
                let suffix = pattern.dropFirst(1)  // ".nudj.cx"
                if host.hasSuffix(suffix), host.count > suffix.count {
                    let label = String(host.dropLast(suffix.count))
                    return (label, !label.contains("."))
                }
            } else if host == pattern {
                return (host, false)
            }
        }
        return nil
    }

    private func isAllowedPath(_ path: Substring) -> Bool {
        var trimmed = path
        while trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        return trimmed.isEmpty || NudjAPI.allCases.contains { $0.basePath == trimmed.lowercased() }
    }

    private func isValidHostname(_ host: String) -> Bool {
        guard !host.isEmpty, host.count <= 253 else { return false }
        return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
            guard (1...63).contains(label.count), label.first != "-", label.last != "-" else { return false }
            return label.utf8.allSatisfy { byte in
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x30 && byte <= 0x39) || byte == 0x2D
            }
        }
    }

    /// Dotted IPv4 in any spelling (`127.0.0.1`, `2130706433`, `0x7f.1`): DNS names never end in a numeric label.
    private func isIPLiteral(_ host: String) -> Bool {
        guard let last = host.split(separator: ".").last else { return false }
        return last.allSatisfy(\.isNumber) || (last.hasPrefix("0x") && last.count > 2)
    }
}
