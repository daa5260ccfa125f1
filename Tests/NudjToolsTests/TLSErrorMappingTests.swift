import TLS
import Testing

@testable import NudjTools

@Suite("TLS failures as tool errors")
struct TLSErrorMappingTests {
    static let certificateProblems: [TLSFailure] = [
        .untrustedCertificate, .hostMismatch, .certificateExpired, .certificateNotYetValid, .certificateRevoked,
        .certificateRejected,
    ]

    @Test(
        "a refused certificate is upstream_certificate and not retryable; a handshake or session that broke is upstream_unavailable and retryable",
        arguments: TLSFailure.allCases)
    func mapping(failure: TLSFailure) {
        let error = UpstreamErrors.classify(failure, host: "acme.nudj.cx")
        let refused = Self.certificateProblems.contains(failure)
        #expect(error.code == (refused ? .upstreamCertificate : .upstreamUnavailable))
        #expect(error.retryable == !refused)
        #expect(error.message.contains("acme.nudj.cx") && error.message.contains(failure.description))
        #expect(error.hint?.isEmpty == false)
    }

    @Test("an untrusted chain's hint names --ca-file; a wrong host's names the API domain settings")
    func hints() {
        #expect(UpstreamErrors.classify(.untrustedCertificate, host: "h").hint?.contains("--ca-file") == true)
        #expect(UpstreamErrors.classify(.hostMismatch, host: "h").hint?.contains("--api-domain") == true)
        #expect(UpstreamErrors.classify(.handshakeTimedOut, host: "h").hint?.contains("--ca-file") == false)
    }
}
