import Codecs
import Testing

@testable import Tenancy

@Suite("Sealed session ids")
struct SessionSealerTests {
    static let secretA = try! SessionSecret.parse("a-very-long-shared-secret-for-replicas-0001")
    static let secretB = try! SessionSecret.parse("another-long-shared-secret-for-replicas-02")
    static let acme = Credential(kind: .bearer, secret: Secret("acme-token"))
    static let globex = Credential(kind: .bearer, secret: Secret("globex-token"))
    static let acmeOrigin = "https://acme.nudj.cx"

    static func claims(
        _ sealer: SessionSealer, credential: Credential = acme, expiresAt: Int64 = 2_000
    ) -> SessionClaims {
        SessionClaims(
            kind: "streamable", origin: acmeOrigin, fingerprint: sealer.fingerprint(credential), version: "2025-06-18",
            issuedAt: 1_000, expiresAt: expiresAt, nonce: Array(repeating: 7, count: 16))
    }

    @Test("a sealed id opens on any sealer sharing the secret, with every claim intact")
    func roundTrip() throws {
        let issuer = SessionSealer(secrets: [Self.secretA])
        let id = issuer.seal(Self.claims(issuer))
        let replica = SessionSealer(secrets: [try SessionSecret.parse("a-very-long-shared-secret-for-replicas-0001")])
        let opened = try #require(replica.open(id, now: 1_500))
        #expect(opened.claims == Self.claims(issuer))
        #expect(replica.matches(opened, origin: Self.acmeOrigin, credential: Self.acme))
        #expect(id.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F } && id.count < 300)
    }

    @Test("changing any character of an id makes it unknown, even in a base64 character's spare bits")
    func tamper() {
        let sealer = SessionSealer(secrets: [Self.secretA])
        let id = Array(sealer.seal(Self.claims(sealer)))
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for index in id.indices where id[index] != "." {
            for replacement in alphabet where replacement != id[index] {
                var altered = id
                altered[index] = replacement
                #expect(sealer.open(String(altered), now: 1_500) == nil, "altered at \(index) to \(replacement)")
            }
        }
        #expect(sealer.open("", now: 1_500) == nil)
        #expect(sealer.open("a.b.c", now: 1_500) == nil)
        #expect(sealer.open(String(repeating: "A", count: 5_000), now: 1_500) == nil)
    }

    @Test("a payload re-sealed with another secret, or claims swapped between ids, do not open")
    func wrongKey() throws {
        let issuer = SessionSealer(secrets: [Self.secretB])
        let sealer = SessionSealer(secrets: [Self.secretA])
        #expect(sealer.open(issuer.seal(Self.claims(issuer)), now: 1_500) == nil)
        // An attacker rewriting the origin inside a genuine id: the MAC no longer matches.
        let genuine = sealer.seal(Self.claims(sealer)).split(separator: ".").map(String.init)
        var forged = Self.claims(sealer)
        forged.origin = "https://globex.nudj.cx"
        let other = sealer.seal(forged).split(separator: ".").map(String.init)
        #expect(sealer.open([genuine[0], other[1], genuine[2]].joined(separator: "."), now: 1_500) == nil)
    }

    @Test("rotation: ids issued under the previous secret still open and bind; new ids use the first")
    func rotation() throws {
        let old = SessionSealer(secrets: [Self.secretA])
        let oldID = old.seal(Self.claims(old))
        let rotated = SessionSealer(secrets: [Self.secretB, Self.secretA])
        let opened = try #require(rotated.open(oldID, now: 1_500))
        #expect(rotated.matches(opened, origin: Self.acmeOrigin, credential: Self.acme))
        #expect(!rotated.matches(opened, origin: Self.acmeOrigin, credential: Self.globex))
        let newID = rotated.seal(Self.claims(rotated))
        #expect(SessionSealer(secrets: [Self.secretB]).open(newID, now: 1_500) != nil)
        #expect(old.open(newID, now: 1_500) == nil)
        // Retiring the old secret retires its ids.
        #expect(SessionSealer(secrets: [Self.secretB]).open(oldID, now: 1_500) == nil)
    }

    @Test("an id is refused from its expiry on")
    func expiry() {
        let sealer = SessionSealer(secrets: [Self.secretA])
        let id = sealer.seal(Self.claims(sealer, expiresAt: 2_000))
        #expect(sealer.open(id, now: 1_999) != nil)
        #expect(sealer.open(id, now: 2_000) == nil)
        #expect(sealer.open(id, now: 9_999) == nil)
    }

    @Test("another organisation's credential, or the right credential for another origin, does not match")
    func binding() throws {
        let sealer = SessionSealer(secrets: [Self.secretA])
        let opened = try #require(sealer.open(sealer.seal(Self.claims(sealer)), now: 1_500))
        #expect(!sealer.matches(opened, origin: Self.acmeOrigin, credential: Self.globex))
        #expect(!sealer.matches(opened, origin: "https://globex.nudj.cx", credential: Self.acme))
        let apiToken = Credential(kind: .apiToken, secret: Secret("acme-token"))
        #expect(!sealer.matches(opened, origin: Self.acmeOrigin, credential: apiToken))
        // The fingerprint is keyed: another deployment's secret gives another fingerprint for the same token.
        #expect(SessionSealer(secrets: [Self.secretB]).fingerprint(Self.acme) != sealer.fingerprint(Self.acme))
    }

    @Test("the id carries no token: neither the credential nor an unkeyed hash of it appears")
    func noToken() throws {
        let sealer = SessionSealer(secrets: [Self.secretA])
        let id = sealer.seal(Self.claims(sealer))
        let payload = try #require(Base64URL.decode(String(id.split(separator: ".")[1])))
        let text = String(decoding: payload, as: UTF8.self)
        #expect(!text.contains("acme-token"))
        #expect(!text.contains(Base64URL.encode(SHA256.hash(Array("acme-token".utf8)))))
    }

    @Test("short operator secrets are refused with the reason")
    func shortSecret() {
        #expect(throws: SessionSecretError.self) { try SessionSecret.parse("  too-short  ") }
    }
}
