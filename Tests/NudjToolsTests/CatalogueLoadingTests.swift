import JSONRPC
import NudjClient
import Synchronization
import Tenancy
import Testing

@testable import NudjTools

/// How `schemas/` becomes the self-contained schemas a client sees (`$ref`s), and how a broken definition is reported.
@Suite("Catalogue loading: $ref resolution and paths")
struct CatalogueLoadingTests {
    /// One toolset with one tool whose `apiTokenId` is `property`, next to a library of `definitions`.
    private static func catalogue(
        property: String, definitions: String, path: String = "/auth-config/tokens/{apiTokenId}/revoke"
    ) throws(CatalogueError) -> Catalogue {
        let toolset = """
            {"toolset": "tokens", "title": "API tokens", "description": "Revoking the organisation's API tokens.",
             "default": false, "tools": [{
               "name": "revoke_api_token", "title": "Revoke an API token",
               "description": "Revoke an API token by id; every client using it is refused from then on.",
               "api": "admin", "method": "POST", "path": "\(path)",
               "evidence": "overview-only", "source": "https://docs.nudj.cx/developer/bearer-token-auth",
               "in": {"apiTokenId": "path"},
               "inputSchema": {"type": "object", "properties": {"apiTokenId": \(property)},
                               "required": ["apiTokenId"], "additionalProperties": false},
               "annotations": {"readOnlyHint": false, "destructiveHint": true, "idempotentHint": true,
                               "openWorldHint": false}}]}
            """
        return try Catalogue(files: [("tokens.json", toolset), ("shared.json", #"{"definitions": \#(definitions)}"#)])
    }

    /// Why the catalogue is refused at load, or by `compileSchemas` (deep references resolve at first use).
    private static func loadFailure(
        property: String = #"{"type": "string"}"#, definitions: String = "{}", path: String? = nil
    ) -> String? {
        do {
            if let path {
                try catalogue(property: property, definitions: definitions, path: path).compileSchemas()
            } else {
                try catalogue(property: property, definitions: definitions).compileSchemas()
            }
            return nil
        } catch {
            return error.description
        }
    }

    @Test("a chain of references resolves in each target's own file, and members next to a $ref override it")
    func chains() throws {
        let catalogue = try Self.catalogue(
            property: #"{"$ref": "shared.json#/definitions/id", "description": "The token's id."}"#,
            definitions: ##"""
                {"id": {"$ref": "#/definitions/hex", "description": "An id."},
                 "hex": {"type": "string", "pattern": "^[0-9a-f]{24}$"}}
                """##)
        let tool = try #require(catalogue.tool(named: "revoke_api_token"))
        let expected: JSONValue = [
            "type": "string", "pattern": "^[0-9a-f]{24}$", "description": "The token's id.",
        ]
        #expect(tool.inputSchema["properties"]?["apiTokenId"] == expected)
        let validator = try tool.validator.get().get()
        #expect(validator.validate(.object(["apiTokenId": "0123456789abcdef01234567"])).isEmpty)
        #expect(!validator.validate(.object(["apiTokenId": "nope"])).isEmpty)
    }

    @Test("a cycle, a missing target, a missing file and a target that is not a schema are named at load")
    func failures() {
        #expect(
            Self.loadFailure(
                property: #"{"$ref": "shared.json#/definitions/a"}"#,
                definitions: ##"{"a": {"$ref": "#/definitions/b"}, "b": {"$ref": "#/definitions/a"}}"##)?
                .contains("revoke_api_token: $ref nesting too deep (a cycle?)") == true)
        #expect(
            Self.loadFailure(property: #"{"$ref": "shared.json#/definitions/missing"}"#, definitions: "{}")?
                .contains("$ref 'shared.json#/definitions/missing' does not resolve") == true)
        #expect(
            Self.loadFailure(property: #"{"$ref": "other.json#/definitions/id"}"#, definitions: "{}")?
                .contains("no file other.json") == true)
        #expect(
            Self.loadFailure(property: #"{"$ref": "shared.json#/definitions/list"}"#, definitions: #"{"list": [1]}"#)?
                .contains("is not a schema object") == true)
    }

    @Test(
        "a path that is relative, carries a query or climbs with .. is refused at load",
        arguments: [
            "auth-config/tokens/{apiTokenId}", "/auth-config/tokens/{apiTokenId}?force=1",
            "/auth-config/../{apiTokenId}",
        ])
    func badPaths(path: String) {
        #expect(Self.loadFailure(path: path)?.contains("path must start with / and hold no query") == true)
    }

    @Test("every embedded tool's inputSchema compiles (serving compiles each at its first call)")
    func embeddedSchemasCompile() throws {
        let catalogue = try Catalogue.embedded()
        try catalogue.compileSchemas()
        #expect(catalogue.tools.allSatisfy { (try? $0.validator.get().get()) != nil })
    }

    @Test("a schema the validator cannot implement is named by compileSchemas, and its calls fail without a request")
    func brokenSchema() async throws {
        let catalogue = try Self.catalogue(property: #"{"type": "string", "oneOf": []}"#, definitions: "{}")
        #expect(throws: CatalogueError.self) { try catalogue.compileSchemas() }
        do { try catalogue.compileSchemas() } catch {
            #expect(
                error.description.contains(
                    "revoke_api_token: inputSchema: apiTokenId: unsupported schema keyword 'oneOf'"))
        }
        let transport = CountingTransport()
        let runtime = NudjRuntime(
            catalogue: catalogue,
            client: NudjClient(
                transport: transport, version: "t", timeout: .seconds(5), logger: .disabled),
            shaper: ResultShaper(budgetTokens: 20_000), policy: DomainPolicy(),
            selection: ToolSelection(toolsets: ["all"]), logger: .disabled)
        let provider = runtime.provider(for: runtime.tenant(bearer: "opaque-token", apiToken: nil, domain: "acme"))
        let result = try #require(await provider.call("revoke_api_token", ["apiTokenId": "0123456789abcdef01234567"]))
        #expect(result.errorCode == "internal_error")
        #expect(transport.sent.withLock { $0 } == 0)
    }

    @Test("a path with single dots in a segment loads")
    func dottedPath() throws {
        _ = try Self.catalogue(property: #"{"type": "string"}"#, definitions: "{}", path: "/v1.2/tokens/{apiTokenId}")
    }
}

/// An upstream that answers every request with `{}` and counts them.
private final class CountingTransport: UpstreamTransport {
    let sent = Mutex(0)

    func send(_ request: UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure> {
        sent.withLock { $0 += 1 }
        return .success(UpstreamResponse(status: 200, headers: [:], body: Array("{}".utf8)))
    }
}
