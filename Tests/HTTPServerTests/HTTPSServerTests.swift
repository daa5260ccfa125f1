#if os(Linux)
import Foundation
import Log
import TLS
import TestSupport
import Testing

@testable import HTTPServer

/// Answers with the request's method, body size and body.
private struct Echo: HTTPHandler {
    func handle(_ request: HTTPRequest, responder: HTTPResponder) async {
        let text = "\(request.method) \(request.body.count) \(String(decoding: request.body, as: UTF8.self))"
        responder.respond(.text(200, text))
    }
}

/// The same server over TLS: the handshake on the loop, records both ways, its own deadline, and clients that do
/// not speak TLS.
@Suite("HTTP/1.1 server over TLS")
struct HTTPSServerTests {
    static let certificates: TestCertificates = {
        do { return try TestCertificates() } catch { fatalError("cannot generate test certificates: \(error)") }
    }()

    static func client(_ port: Int, timeout: Double = 30) throws -> RawHTTPClient {
        try RawHTTPClient(port: port, timeout: timeout, tls: TLSContext(caFile: certificates.caFile))
    }

    private func withTLSServer(
        handshakeTimeout: Duration = .seconds(10), _ body: @escaping @Sendable (Int) throws -> Void
    ) async throws {
        // Generating them runs the openssl command: off the concurrency pool, which other tests need.
        let certificates = try await offPool { Self.certificates }
        var configuration = HTTPServerConfiguration()
        configuration.tls = try TLSContext(certificateFile: certificates.server, keyFile: certificates.serverKey)
        configuration.tlsHandshakeTimeout = handshakeTimeout
        let server = try HTTPServer(configuration: configuration, handler: Echo(), logger: .disabled)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addImmediateTask { await server.run() }
            do {
                try await offPool { try body(server.port) }
            } catch {
                await server.shutdown(grace: .seconds(1))
                throw error
            }
            await server.shutdown(grace: .seconds(1))
            try await group.waitForAll()
        }
    }

    @Test("a client finds its root in a hashed certificate directory when the handshake needs it, and only there")
    func hashedRoots() async throws {
        try await withTLSServer { port in
            let trusted = try TLSContext(
                caFile: nil, systemTrust: .hashedDirectory(Self.certificates.hashedDirectory(holdingCA: true)))
            let client = try RawHTTPClient(port: port, tls: trusted)
            try client.send(RawHTTPClient.request("POST", "/hashed", body: "root"))
            #expect(try client.readResponse().text == "POST 4 root")
            let empty = try TLSContext(
                caFile: nil, systemTrust: .hashedDirectory(Self.certificates.hashedDirectory(holdingCA: false)))
            #expect(throws: (any Error).self) { try RawHTTPClient(port: port, tls: empty) }
        }
    }

    @Test("keep-alive, pipelined requests and bodies of many TLS records each way, with ALPN http/1.1")
    func requests() async throws {
        try await withTLSServer { port in
            let client = try Self.client(port)
            #expect(client.negotiatedProtocol == "http/1.1")
            // 60 KB: four TLS records each way, and still handled on the loop thread (a body over 64 KB waits for
            // the concurrency pool, which the whole test run can starve for seconds).
            let large = String(repeating: "0123456789abcdef", count: 3_750)
            for body in ["one", large, "three"] {
                try client.send(RawHTTPClient.request("POST", "/echo", body: body))
                let response = try client.readResponse()
                #expect(response.status == 200)
                #expect(response.text == "POST \(body.utf8.count) \(body)")
            }
            try client.send(RawHTTPClient.request("GET", "/a") + RawHTTPClient.request("GET", "/b"))
            #expect(try client.readResponse().text == "GET 0 ")
            #expect(try client.readResponse().text == "GET 0 ")
        }
    }

    @Test("a client that never starts its handshake is dropped at the handshake deadline")
    func handshakeDeadline() async throws {
        try await withTLSServer(handshakeTimeout: .milliseconds(300)) { port in
            let silent = try RawHTTPClient(port: port, timeout: 20)
            let started = Date()
            #expect(throws: RawHTTPClient.Failure.self) { try silent.readResponse() }
            // Closed by the server (the sweep runs once a second), long before the client's 20 s read timeout.
            #expect(Date().timeIntervalSince(started) < 10)
            // Still serving.
            #expect(try Self.client(port).readAfter(RawHTTPClient.request("GET", "/")).status == 200)
        }
    }

    @Test("a plain-HTTP request is never answered in cleartext, and TLS clients are still served")
    func plainClient() async throws {
        try await withTLSServer { port in
            let plain = try RawHTTPClient(port: port, timeout: 10)
            try plain.send(RawHTTPClient.request("GET", "/"))
            #expect(throws: RawHTTPClient.Failure.self) { try plain.readResponse() }
            #expect(try Self.client(port).readAfter(RawHTTPClient.request("GET", "/")).status == 200)
        }
    }

    @Test("an unreadable certificate, an unreadable key and a key of another certificate are refused, by file")
    func badFiles() async throws {
        let (certificates, other) = try await offPool { (Self.certificates, try TestCertificates()) }
        #expect(throws: TLSSetupError.self) {
            try TLSContext(certificateFile: certificates.directory + "/none.pem", keyFile: certificates.serverKey)
        }
        #expect(throws: TLSSetupError.self) {
            try TLSContext(certificateFile: certificates.server, keyFile: certificates.directory + "/none.key")
        }
        do {
            _ = try TLSContext(certificateFile: certificates.server, keyFile: other.serverKey)
            Issue.record("a key of another certificate was accepted")
        } catch {
            #expect(error.description.contains("does not match"))
        }
    }
}

extension RawHTTPClient {
    fileprivate func readAfter(_ request: String) throws -> Response {
        try send(request)
        return try readResponse()
    }
}
#endif
