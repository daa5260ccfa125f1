/// The one answer to "is this name this machine?" for every Host, Origin, bind-address and allowlist decision.
///
/// DNS-rebinding protection depends on it, so it is strict: a loopback name is exactly a dotted-quad IPv4 address
/// `127.a.b.c` (four decimal parts, 0–255, no leading zeros), the IPv6 address `::1` (bracketed in an authority),
/// `localhost`, or a name under `.localhost` (RFC 6761: always resolves to loopback). One trailing dot and letter
/// case are ignored. Everything else is not loopback, including spellings a resolver might still map to 127.0.0.1
/// (`127.1`, `0x7f.0.0.1`, `2130706433`, `[::ffff:127.0.0.1]`, `[0:0:0:0:0:0:0:1]`): browsers send the canonical
/// form, so only non-browser clients use those, and refusing them costs nothing.
package enum LoopbackHost {
    /// A `host[:port]` authority (a `Host` header, or the part of an origin after `scheme://`); IPv6 must be
    /// bracketed. Userinfo (`user@host`) is never loopback.
    package static func isLoopback(authority: String) -> Bool {
        if isPlainLoopbackAuthority(authority.utf8) { return true }
        guard let (host, _) = split(authority: authority) else { return false }
        return isLoopback(host: host)
    }

    /// A bare host as configured (`--host`): `127.0.0.1`, `::1`, `[::1]`, `localhost`, `acme.localhost`.
    package static func isLoopback(host: String) -> Bool {
        var name = host.lowercased()
        if name.hasPrefix("[") && name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        if name == "::1" { return true }
        if name.hasSuffix(".") { name.removeLast() }
        return isLoopbackIPv4(name) || isLocalhostName(name)
    }

    /// `localhost` or `<labels>.localhost`, each label letters, digits and inner hyphens (lowercase, no trailing dot).
    package static func isLocalhostName(_ name: String) -> Bool {
        if name == "localhost" { return true }
        guard name.hasSuffix(".localhost") else { return false }
        let labels = name.dropLast(".localhost".count).split(separator: ".", omittingEmptySubsequences: false)
        return labels.allSatisfy(isDNSLabel)
    }

    /// A browser `Origin` (`scheme://host[:port]`) whose host is loopback; `http` and `https` only. An origin with
    /// userinfo, a path, a query or a fragment is malformed and never loopback.
    package static func isLoopback(origin: String) -> Bool {
        let lowered = origin.lowercased()
        guard let separator = lowered.firstRange(of: "://") else { return false }
        let scheme = lowered[..<separator.lowerBound]
        guard scheme == "http" || scheme == "https" else { return false }
        return isLoopback(authority: String(lowered[separator.upperBound...]))
    }

    /// Splits `host[:port]` / `[v6][:port]` into a lowercased host (without brackets) and its port; `nil` when the
    /// authority is malformed (userinfo, empty host, a port that is not 1–5 digits up to 65535, an unbracketed
    /// IPv6 address, path or query characters).
    package static func split(authority: String) -> (host: String, port: Int?)? {
        let text = authority.lowercased()
        guard !text.isEmpty, !text.contains(where: { "@/?#\\ \t".contains($0) }) else { return nil }
        var host: Substring
        var rest: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            rest = text[text.index(after: close)...]
            guard !host.isEmpty, rest.isEmpty || rest.hasPrefix(":") else { return nil }
        } else if let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            rest = text[colon...]
        } else {
            host = Substring(text)
            rest = ""
        }
        guard !host.isEmpty else { return nil }
        guard !rest.isEmpty else { return (String(host), nil) }
        guard let port = port(rest.dropFirst().utf8) else { return nil }
        return (String(host), port)
    }

    /// What nearly every local client sends, `127.0.0.1:<port>` or `localhost:<port>` (port optional), recognised
    /// without allocating; anything else goes through `split`. Accepts only what the full rules accept too.
    private static func isPlainLoopbackAuthority(_ bytes: String.UTF8View) -> Bool {
        // Both names are 9 bytes long.
        guard bytes.starts(with: "127.0.0.1".utf8) || bytes.starts(with: "localhost".utf8) else { return false }
        let rest = Substring(bytes.dropFirst(9)).utf8
        if rest.isEmpty { return true }
        guard rest.first == UInt8(ascii: ":") else { return false }
        return port(rest.dropFirst()) != nil
    }

    /// A port as an authority carries it: 1–5 ASCII digits, at most 65535.
    private static func port(_ digits: Substring.UTF8View) -> Int? {
        guard (1...5).contains(digits.count), digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var port = 0
        for digit in digits { port = port * 10 + Int(digit - 0x30) }
        return port <= 65_535 ? port : nil
    }

    private static func isLoopbackIPv4(_ name: String) -> Bool {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts.first == "127" else { return false }
        return parts.allSatisfy { part in
            guard (1...3).contains(part.count), part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part.count == 1 || part.first != "0", let value = Int(part)
            else { return false }
            return value <= 255
        }
    }

    private static func isDNSLabel(_ label: Substring) -> Bool {
        guard (1...63).contains(label.utf8.count), label.first != "-", label.last != "-" else { return false }
        return label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
    }
}
