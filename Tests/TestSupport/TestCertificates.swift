import Foundation
import Synchronization
import TLS

/// A private CA and certificates it signed, generated with the `openssl` command into a temporary directory: what
/// the TLS tests and the sandbox's TLS mode serve and trust.
///
/// - `server`: valid for `localhost`, every seeded organisation's `<org>.localhost` and `127.0.0.1`.
/// - `otherHost`: valid, but only for `api.nudj.example` (a certificate for another host).
/// - `expired`: like `server`, but its validity ended the second it was issued.
package struct TestCertificates: Sendable {
    package let directory: String
    package var caFile: String { directory + "/ca.pem" }
    package var server: String { directory + "/server.pem" }
    package var otherHost: String { directory + "/other-host.pem" }
    package var expired: String { directory + "/expired.pem" }
    /// The private key of every certificate above.
    package var serverKey: String { directory + "/server.key" }
    private let issued: Date

    /// One set per test process, for the sandbox's TLS mode (`NUDJ_TEST_SANDBOX_TLS=1`).
    package static let shared: TestCertificates = {
        do { return try TestCertificates() } catch { fatalError("cannot generate test certificates: \(error)") }
    }()

    /// The names the sandbox serves: `localhost` and each seeded organisation under it.
    package static let sandboxNames = ["localhost", "acme.localhost", "globex.localhost"]

    package init() throws {
        directory = NSTemporaryDirectory() + "nudj-tls-\(UUID().uuidString)"
        issued = Date()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        TemporaryDirectories.removeAtExit(directory)
        let names = Self.sandboxNames.map { "DNS:\($0)" }.joined(separator: ",")
        try "subjectAltName=\(names),IP:127.0.0.1\n".write(
            toFile: directory + "/ext", atomically: true, encoding: .utf8)
        try "subjectAltName=DNS:api.nudj.example\n".write(
            toFile: directory + "/other-ext", atomically: true, encoding: .utf8)
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        try openssl(
            ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Nudj test CA"])
        try openssl(["req"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"])
        let sign = ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key"]
        try openssl(sign + ["-extfile", "ext", "-set_serial", "1", "-days", "2", "-out", "server.pem"])
        try openssl(sign + ["-extfile", "other-ext", "-set_serial", "2", "-days", "2", "-out", "other-host.pem"])
        try openssl(sign + ["-extfile", "ext", "-set_serial", "3", "-days", "0", "-out", "expired.pem"])
    }

    /// A directory of OpenSSL hashed links (`<subject hash>.0`, as `/etc/ssl/certs`) holding the CA, or nothing.
    package func hashedDirectory(holdingCA: Bool) throws -> String {
        let path = directory + (holdingCA ? "/hashed-ca" : "/hashed-empty")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        if holdingCA {
            try FileManager.default.copyItem(atPath: caFile, toPath: path + "/ca.pem")
            try Self.openssl(["rehash", path], in: path)
        }
        return path
    }

    /// Waits until `expired` is past its end (issued with 0 days: it expires one second after issue).
    package func waitUntilExpired() {
        let remaining = 2.5 - Date().timeIntervalSince(issued)
        if remaining > 0 { Thread.sleep(forTimeInterval: remaining) }
    }

    private func openssl(_ arguments: [String]) throws {
        try Self.openssl(arguments, in: directory)
    }

    private static func openssl(_ arguments: [String], in directory: String) throws {
        let process = try SpawnedProcess("/usr/bin/openssl", arguments: arguments, directory: directory)
        guard process.wait(timeout: 60) == 0 else {
            throw ChildProcess.Timeout(description: "openssl \(arguments.prefix(2).joined(separator: " ")) failed")
        }
    }
}

/// The sandbox's TLS mode for a whole test run (`NUDJ_TEST_SANDBOX_TLS=1`): the sandbox serves HTTPS with
/// `TestCertificates.shared`, and every nudj-mcp the tests start uses the native client trusting its CA.
package enum SandboxTLSMode {
    package static let isOn = ProcessInfo.processInfo.environment["NUDJ_TEST_SANDBOX_TLS"] == "1"

    /// Arguments that make `nudj-mcp sandbox` serve HTTPS in this mode; none otherwise.
    package static var sandboxArguments: [String] {
        guard isOn else { return [] }
        let certificates = TestCertificates.shared
        return ["--tls-cert", certificates.server, "--tls-key", certificates.serverKey]
    }

    /// A client context trusting the mode's CA, for tests that read the sandbox directly; `nil` when off.
    package static let clientContext: TLSContext? = {
        guard isOn else { return nil }
        do { return try TLSContext(caFile: TestCertificates.shared.caFile) } catch {
            fatalError("cannot trust the test CA: \(error)")
        }
    }()

    /// Environment for every nudj-mcp child in this mode (a test's own environment still wins).
    static var childEnvironment: [String: String] {
        guard isOn else { return [:] }
        return ["NUDJ_CA_FILE": TestCertificates.shared.caFile, "NUDJ_UPSTREAM_CLIENT": "native"]
    }
}

/// Directories the test process made and removes when it exits (the certificates are used by child processes the
/// whole run long, so not earlier); a run used to leave a dozen behind, private keys included.
private enum TemporaryDirectories {
    private static let paths = Mutex<[String]>([])
    private static let registerExitHandler: Void = {
        atexit {
            for path in TemporaryDirectories.paths.withLock({ $0 }) {
                try? FileManager.default.removeItem(atPath: path)
            }
        }
    }()

    static func removeAtExit(_ path: String) {
        _ = registerExitHandler
        paths.withLock { $0.append(path) }
    }
}
