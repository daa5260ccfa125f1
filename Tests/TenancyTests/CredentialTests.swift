import Codecs
import JSONRPC
import Testing

@testable import Tenancy

@Suite("Credentials, claims and fingerprints")
struct CredentialTests {
    @Test(
        "pasted tokens are trimmed and lose one Bearer prefix in any case",
        arguments: [
            "abc.def.ghi", "  abc.def.ghi\n", "Bearer abc.def.ghi", "bearer   abc.def.ghi", "BEARER abc.def.ghi",
        ]
    )
    func parse(raw: String) throws {
        let credential = try #require(Credential.parse(raw, kind: .bearer))
        #expect(credential.secret.reveal() == "abc.def.ghi")
    }

    @Test("empty or mangled tokens are rejected", arguments: ["", "   ", "Bearer", "Bearer ", "abc def", "a\u{7F}b"])
    func reject(raw: String) {
        #expect(Credential.parse(raw, kind: .bearer) == nil)
    }

    @Test("the byte-wise parse agrees with the reading by characters it replaced, on 20,000 generated values")
    func byteWiseParse() {
        // The earlier implementation, by Characters, as the reference (it did not know a CRLF pair as whitespace, so
        // the alphabet has no carriage return).
        func reference(_ raw: String) -> String? {
            func trim(_ text: Substring) -> Substring {
                let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" }
                guard let start = text.firstIndex(where: { !isSpace($0) }),
                    let end = text.lastIndex(where: { !isSpace($0) })
                else { return "" }
                return text[start...end]
            }
            var value = trim(Substring(raw))
            if value.count > 7, value.prefix(7).lowercased() == "bearer " {
                value = trim(value.dropFirst(7))
            } else if value.lowercased() == "bearer" {
                return nil
            }
            guard !value.isEmpty, value.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return nil }
            return String(value)
        }
        let alphabet = [
            "b", "B", "e", "E", "a", "r", "R", " ", "\t", "\n", "x", ".", "é", "\u{7F}", "bearer", "Bearer ",
        ]
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((state >> 33) % UInt64(bound))
        }
        for _ in 0..<20_000 {
            let value = (0..<next(12)).map { _ in alphabet[next(alphabet.count)] }.joined()
            #expect(
                Credential.parse(value, kind: .bearer)?.secret.reveal() == reference(value), "\(value.debugDescription)"
            )
        }
    }

    @Test("a secret never prints its value")
    func redaction() throws {
        let credential = try #require(Credential.parse("supersecret-token", kind: .apiToken))
        let rendered = [
            "\(credential)", "\(credential.secret)", String(describing: credential), String(reflecting: credential),
            String(reflecting: credential.secret), "\(Mirror(reflecting: credential.secret).children.count)",
        ]
        for text in rendered { #expect(!text.contains("supersecret")) }
    }

    @Test("SHA-256 and HMAC-SHA256 match the standard vectors")
    func sha256Vectors() {
        func hex(_ bytes: [UInt8]) -> String { bytes.map { String($0, radix: 16).leftPad(2) }.joined() }
        #expect(hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(hex(SHA256.hash(long)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        // RFC 4231 test case 2.
        #expect(
            hex(SHA256.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
    }

    @Test("fingerprints are equal for the same credential and differ otherwise")
    func fingerprints() throws {
        let a = try #require(Credential.parse("token-a", kind: .bearer))
        let a2 = try #require(Credential.parse("Bearer token-a", kind: .bearer))
        let b = try #require(Credential.parse("token-b", kind: .bearer))
        let aAsAPIToken = try #require(Credential.parse("token-a", kind: .apiToken))
        #expect(CredentialFingerprint(a) == CredentialFingerprint(a2))
        #expect(CredentialFingerprint(a) != CredentialFingerprint(b))
        #expect(CredentialFingerprint(a) != CredentialFingerprint(aAsAPIToken))
        #expect(!"\(CredentialFingerprint(a))".contains("token"))
    }

    private func jwt(_ payload: JSONValue) -> String {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        return "\(header).\(Base64URL.encode(JSONWriter.encode(payload))).c2lnbmF0dXJl"
    }

    @Test("JWT claims are read without verifying the signature")
    func claims() throws {
        let token = jwt([
            "organisationId": "65f1c0a1b2c3d4e5f6a7b8c9", "subdomain": "Acme", "role": "Viewer", "type": "rbac",
            "exp": 2_000_000_000,
        ])
        let claims = try #require(TokenClaims.decode(token))
        #expect(claims.organisationId == "65f1c0a1b2c3d4e5f6a7b8c9")
        #expect(claims.subdomain == "acme")
        #expect(claims.role == .viewer)
        #expect(claims.type == "rbac")
        #expect(!claims.isExpired(now: 1_999_999_999))
        #expect(claims.isExpired(now: 2_000_000_000))
    }

    @Test("Nudj role strings resolve to the highest role named")
    func roleStrings() throws {
        let token = jwt(["roles": ["orgId-1:comId-2:role-viewer", "orgId-1:role-manager"]])
        #expect(TokenClaims.decode(token)?.role == .manager)
    }

    @Test("opaque tokens have no claims", arguments: ["opaque-token", "a.b", "a.!!!.c", "a..c", "x.bm90anNvbg.y"])
    func opaque(token: String) {
        #expect(TokenClaims.decode(token) == nil)
    }
}
