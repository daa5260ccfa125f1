#if os(Linux)
import Foundation
import Glibc
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// Every TLS failure between nudj-mcp and the API, as the agent sees it: a tool result with `isError`, a stable
/// code, whether a retry can help, a hint that says what to change, and nothing of OpenSSL, file paths or the
/// token. The sandbox serves HTTPS with certificates from a CA of these tests' own (not the TLS mode's, which every
/// nudj-mcp child may be told to trust), so the suite means the same in either mode.
@Suite("TLS failures end to end")
struct TLSFailureEndToEndTests {
    static let certificates: TestCertificates = {
        do { return try TestCertificates() } catch { fatalError("cannot generate test certificates: \(error)") }
    }()

    /// One `list_users` through a fresh nudj-mcp (native client) against `domain`.
    static func call(domain: String, token: String, _ extra: [String] = []) throws -> JSONValue {
        let client = try StdioClient(
            ["--allow-insecure-localhost", "--upstream-client", "native", "--token", token, "--api-domain", domain]
                + extra)
        try client.initialize()
        let params: JSONObject = ["name": "list_users", "arguments": ["limit": 1]]
        let result = try client.request("tools/call", params, timeout: 40)["result"] ?? .null
        #expect(try client.request("ping")["result"] != nil, "the server keeps serving")
        return result
    }

    static func sandbox(certificate: String) throws -> SandboxProcess {
        try SandboxProcess(["--tls-cert", certificate, "--tls-key", certificates.serverKey])
    }

    /// The tool error's fields; and nothing of OpenSSL's own words, a path or the token anywhere in the result.
    static func expectToolError(
        _ result: JSONValue, code: String, retryable: Bool, message: String, hint: String, token: String
    ) {
        let error = result["structuredContent"]?["error"]
        #expect(result["isError"] == true)
        #expect(error?["code"]?.stringValue == code, "\(error ?? .null)")
        #expect(error?["retryable"] == .bool(retryable))
        #expect(error?["message"]?.stringValue?.contains(message) == true, "\(error ?? .null)")
        #expect(error?["hint"]?.stringValue?.contains(hint) == true, "\(error ?? .null)")
        let text = JSONWriter.encodeString(result)
        for leak in ["SSL", "X509", "x509", "error:", certificates.directory, "nudj-tls-", "errno", token] {
            #expect(!text.contains(leak), "the tool result leaks '\(leak.prefix(12))': \(text)")
        }
    }

    /// A sandbox presenting `certificate`, which the test CA (trusted with `--ca-file`) issued: the call is still
    /// refused as `upstream_certificate`, not retryable.
    static func expectRefusedWithTrustedCA(_ certificate: String, message: String, hint: String) throws {
        let sandbox = try sandbox(certificate: certificate)
        let token = sandbox.token("acme")
        let result = try call(domain: sandbox.domain("acme"), token: token, ["--ca-file", certificates.caFile])
        expectToolError(
            result, code: "upstream_certificate", retryable: false, message: message, hint: hint, token: token)
    }

    @Test(
        "an untrusted chain is upstream_certificate, not retryable, and the hint names --ca-file; with it, the call works"
    )
    func untrustedChain() async throws {
        try await offPool {
            let sandbox = try Self.sandbox(certificate: Self.certificates.server)
            let token = sandbox.token("acme")
            let refused = try Self.call(domain: sandbox.domain("acme"), token: token)
            Self.expectToolError(
                refused, code: "upstream_certificate", retryable: false, message: "untrusted certificate",
                hint: "--ca-file", token: token)
            let trusted = try Self.call(
                domain: sandbox.domain("acme"), token: token, ["--ca-file", Self.certificates.caFile])
            #expect(trusted["isError"] != true, "\(trusted)")
        }
    }

    @Test("a certificate for another host is upstream_certificate, and the hint points at the API domain")
    func wrongHost() async throws {
        try await offPool {
            try Self.expectRefusedWithTrustedCA(
                Self.certificates.otherHost, message: "does not match the host", hint: "API domain")
        }
    }

    @Test("an expired certificate from a trusted CA is upstream_certificate")
    func expired() async throws {
        try await offPool {
            Self.certificates.waitUntilExpired()
            try Self.expectRefusedWithTrustedCA(
                Self.certificates.expired, message: "certificate expired", hint: "renewed")
        }
    }

    @Test("a server that accepts and never answers the handshake is upstream_unavailable within the connect timeout")
    func handshakeTimeout() async throws {
        try await offPool {
            let silent = try SilentListener()
            let token = "a.b.c"
            let started = Date()
            let result = try Self.call(
                domain: "https://acme.localhost:\(silent.port)/api/v2/admin", token: token,
                ["--ca-file", Self.certificates.caFile])
            Self.expectToolError(
                result, code: "upstream_unavailable", retryable: true, message: "TLS handshake timed out",
                hint: "serves HTTPS", token: token)
            // The 10 s connect timeout, well before the 30 s call timeout (the margin is for a loaded machine).
            #expect(Date().timeIntervalSince(started) < 28)
        }
    }

    @Test("a response cut mid-body without a TLS close is upstream_unavailable, retryable, never a partial result")
    func cutMidBody() async throws {
        try await offPool {
            let sandbox = try SandboxProcess([
                "--tls-cert", Self.certificates.server, "--tls-key", Self.certificates.serverKey, "--fault", "cut-body",
            ])
            let token = sandbox.token("acme")
            let result = try Self.call(
                domain: sandbox.domain("acme"), token: token, ["--ca-file", Self.certificates.caFile])
            Self.expectToolError(
                result, code: "upstream_unavailable", retryable: true,
                message: "TLS connection to acme.localhost broke: connection cut without a TLS close",
                hint: "retry", token: token)
        }
    }

    @Test("a record corrupted mid-body is upstream_unavailable, retryable, never a partial result")
    func corruptedMidBody() async throws {
        try await offPool {
            let sandbox = try Self.sandbox(certificate: Self.certificates.server)
            let proxy = try TamperingProxy(upstreamPort: sandbox.port)
            let token = sandbox.token("acme")
            let client = try StdioClient([
                "--allow-insecure-localhost", "--upstream-client", "native", "--ca-file", Self.certificates.caFile,
                "--token", token, "--api-domain", "https://acme.localhost:\(proxy.port)/api/v2/admin",
            ])
            try client.initialize()
            // 100 users: about 40 KB, three TLS records; the second is damaged.
            let params: JSONObject = ["name": "list_users", "arguments": ["limit": 100]]
            let result = try client.request("tools/call", params, timeout: 40)["result"] ?? .null
            Self.expectToolError(
                result, code: "upstream_unavailable", retryable: true,
                message: "TLS connection to acme.localhost broke: connection failed", hint: "retry", token: token)
            #expect(try client.request("ping")["result"] != nil, "the server keeps serving")
        }
    }

    @Test(
        "the sandbox refuses TLS files it cannot use with exit 1 and the file named; one without the other is a usage error",
        arguments: [
            ("none.pem", "server.key", 1, "cannot read a PEM certificate chain from"),
            ("server.pem", "none.key", 1, "cannot read a PEM private key from"),
            ("server.pem", "other.key", 1, "does not match the certificate"),
            ("server.pem", nil, 2, "--tls-cert and --tls-key go together"),
        ] as [(String, String?, Int32, String)])
    func badFiles(certificate: String, key: String?, status: Int32, message: String) async throws {
        try await offPool {
            let directory = Self.certificates.directory
            let other = try TestCertificates()
            let keyPath = key.map { $0 == "other.key" ? other.serverKey : "\(directory)/\($0)" }
            let sandbox = try ChildProcess(
                ["sandbox", "--port", "0", "--tls-cert", "\(directory)/\(certificate)"]
                    + (keyPath.map { ["--tls-key", $0] } ?? []))
            #expect(try sandbox.waitForExit(timeout: 20) == status)
            #expect(sandbox.stderrText.contains(message), "\(sandbox.stderrText)")
        }
    }
}

/// A loopback listener that accepts connections and never says a word: a TLS client waits for a ServerHello that
/// does not come.
private final class SilentListener: Sendable {
    private final class Accepted: Sendable {
        let fds = Mutex<[Int32]>([])
    }

    private let accepted = Accepted()
    private let listener: LoopbackListener
    var port: Int { listener.port }

    init() throws {
        let accepted = accepted
        listener = try LoopbackListener { connection in accepted.fds.withLock { $0.append(connection) } }
    }

    deinit {
        for connection in accepted.fds.withLock({ $0 }) { close(connection) }
    }
}
#endif
