#if os(Linux)
import Foundation
import Platform
import TLS
import TestSupport
import Testing

@testable import HTTPClient

/// The native client's TLS against `openssl s_server` on loopback, with a CA and certificates generated per run by
/// the `openssl` command: verification, private CAs, host names, expiry and a silent server.
@Suite("TLS client", .serialized)
struct TLSClientTests {
    @Test("an untrusted certificate fails, the same server is trusted with --ca-file, and a wrong host fails")
    func trustAndHost() async throws {
        let certificates = try await offPool { try TestCertificates() }
        let server = try TLSServer(certificate: certificates.server, key: certificates.serverKey)
        defer { server.stop() }

        let untrusted = try HTTPClient()
        defer { untrusted.shutdown() }
        #expect(
            await untrusted.execute(server.request(host: "localhost"))
                == .failure(.tls(.untrustedCertificate)))

        var configuration = HTTPClientConfiguration()
        configuration.caFile = certificates.caFile
        let trusting = try HTTPClient(configuration: configuration)
        defer { trusting.shutdown() }
        let response = try await trusting.execute(server.request(host: "localhost")).get()
        #expect(response.status == 200)
        #expect(String(decoding: response.body, as: UTF8.self).contains("s_server"), "the close-delimited page")

        // An address literal is matched against the certificate's IP addresses.
        #expect(try await trusting.execute(server.request(host: "127.0.0.1")).get().status == 200)

        // A certificate from the same CA that names another host only.
        let elsewhere = try TLSServer(certificate: certificates.otherHost, key: certificates.serverKey)
        defer { elsewhere.stop() }
        #expect(await trusting.execute(elsewhere.request(host: "localhost")) == .failure(.tls(.hostMismatch)))
    }

    @Test(
        "a trust store loaded in the background, or only at the first TLS connection, verifies whenever the first call comes"
    )
    func backgroundTrustStore() async throws {
        let certificates = try await offPool { try TestCertificates() }
        let server = try TLSServer(certificate: certificates.server, key: certificates.serverKey)
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.trustStoreLoading = .inBackground
        // At once: the loop builds its own context if the background one is not there yet.
        let early = try HTTPClient(configuration: configuration)
        defer { early.shutdown() }
        #expect(await early.execute(server.request(host: "localhost")) == .failure(.tls(.untrustedCertificate)))
        // Later: the background one.
        let late = try HTTPClient(configuration: configuration)
        defer { late.shutdown() }
        configuration.trustStoreLoading = .onFirstUse
        let onFirstUse = try HTTPClient(configuration: configuration)
        defer { onFirstUse.shutdown() }
        try await Task.sleep(for: .seconds(2))
        #expect(await late.execute(server.request(host: "localhost")) == .failure(.tls(.untrustedCertificate)))
        // Never loaded in the background: built by the loop for this first TLS connection.
        #expect(await onFirstUse.execute(server.request(host: "localhost")) == .failure(.tls(.untrustedCertificate)))
        var trusting = configuration
        trusting.caFile = certificates.caFile
        let withCA = try HTTPClient(configuration: trusting)
        defer { withCA.shutdown() }
        #expect(try await withCA.execute(server.request(host: "localhost")).get().status == 200)
    }

    @Test("an expired certificate fails even from a trusted CA")
    func expired() async throws {
        let certificates = try await offPool { try TestCertificates() }
        let server = try TLSServer(certificate: certificates.expired, key: certificates.serverKey)
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.caFile = certificates.caFile
        let client = try HTTPClient(configuration: configuration)
        defer { client.shutdown() }
        try await offPool { certificates.waitUntilExpired() }
        #expect(
            await client.execute(server.request(host: "localhost"))
                == .failure(.tls(.certificateExpired)))
    }

    @Test("a server that accepts but never answers the handshake fails within the connect timeout")
    func handshakeTimeout() async throws {
        let (listener, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        defer { Socket.close(listener) }
        var configuration = HTTPClientConfiguration()
        configuration.connectTimeout = .milliseconds(300)
        let client = try HTTPClient(configuration: configuration)
        defer { client.shutdown() }
        let request = HTTPClientRequest(
            method: "GET", url: "https://127.0.0.1:\(port)/", headers: [], body: nil, timeout: .seconds(20))
        let started = ContinuousClock.now
        #expect(await client.execute(request) == .failure(.tls(.handshakeTimedOut)))
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("an unreadable CA file is refused at start")
    func badCAFile() {
        var configuration = HTTPClientConfiguration()
        configuration.caFile = "/nonexistent/ca.pem"
        #expect(throws: HTTPClientSetupError.self) { try HTTPClient(configuration: configuration) }
    }
}

/// `openssl s_server -www` on a free loopback port: answers each connection with a status page, then closes.
private final class TLSServer: Sendable {
    let port: Int
    private let process: SpawnedProcess

    init(certificate: String, key: String) throws {
        let (probe, free) = try Socket.listen(host: "127.0.0.1", port: 0)
        Socket.close(probe)
        port = free
        // stdin a pipe left open: s_server reads commands from it, and would stop at end of file.
        process = try SpawnedProcess(
            "/usr/bin/openssl",
            arguments: ["s_server", "-accept", "127.0.0.1:\(free)", "-cert", certificate, "-key", key, "-www"],
            stdin: .pipe)
        try waitUntilListening()
    }

    func request(host: String) -> HTTPClientRequest {
        HTTPClientRequest(method: "GET", url: "https://\(host):\(port)/", headers: [], body: nil, timeout: .seconds(20))
    }

    /// SIGKILL: s_server may sit in a blocking read that SIGTERM (as Foundation sends it) does not end promptly.
    func stop() {
        process.signal(SIGKILL)
        _ = process.wait(timeout: 10)
    }

    private func waitUntilListening() throws {
        let address = Socket.resolve(host: "127.0.0.1", port: port)[0]
        for _ in 0..<200 {
            switch Socket.connect(to: address) {
            case .connected(let fd):
                Socket.close(fd)
                return
            case .inProgress(let fd):
                var poll = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                _ = Glibc.poll(&poll, 1, 1000)
                let failure = Socket.pendingError(fd)
                Socket.close(fd)
                if failure == 0 { return }
            case .failed: break
            }
            usleep(20_000)
        }
        throw TLSTestError("openssl s_server did not start")
    }
}

private struct TLSTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

#endif
