import Foundation
import JSONRPC
import MCP
import Testing

@testable import NudjTools

/// Drives every tool in the catalogue against the sandbox: a success path and error paths each. A tool added without
/// a fixture, without sandbox support or with a result that breaks its own output schema fails here.
@Suite("Every catalogue tool against the sandbox")
struct CatalogueCoverageTests {
    static let fixtureFile = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(
        path: "Fixtures/tool-calls.json")

    static func loadFixtures() throws -> JSONObject {
        let bytes = [UInt8](try Data(contentsOf: fixtureFile))
        return try #require(try JSONParser.parse(bytes).objectValue)
    }

    @Test("every tool has a fixture, and every fixture names a tool")
    func fixturesMatchCatalogue() throws {
        let catalogue = try Catalogue.embedded()
        let fixtures = try Self.loadFixtures()
        for tool in catalogue.tools {
            #expect(fixtures[tool.name] != nil, "no fixture for \(tool.name) in Fixtures/tool-calls.json")
        }
        for name in fixtures.keys { #expect(catalogue.tool(named: name) != nil, "fixture for unknown tool \(name)") }
    }

    @Test("every tool succeeds with its fixture arguments and its result matches its output schema")
    func successPaths() async throws {
        let fixtures = try Self.loadFixtures()
        try await SandboxHarness.with { harness in
            let ids = try await harness.fixtures()
            let provider = harness.provider()
            for tool in harness.catalogue.tools {
                guard let fixture = fixtures[tool.name]?.objectValue else { continue }
                let arguments = substitute(fixture["arguments"] ?? .object([:]), ids).objectValue ?? [:]
                let result = try #require(await provider.call(tool.name, arguments), "\(tool.name) unknown")
                #expect(!result.isError, "\(tool.name) failed: \(result.content.first?["text"]?.stringValue ?? "")")
                guard !result.isError else { continue }
                let structured = try #require(result.structuredContent, "\(tool.name) has no structured content")
                #expect(result.content.first?["text"]?.stringValue == JSONWriter.encodeString(structured))
                if case .list = tool.output {
                    #expect(structured["page"]?["returned"] != nil, "\(tool.name) has no page")
                }
                if let schema = tool.outputSchema {
                    let issues = try CompiledSchema(schema).validate(structured)
                    #expect(issues.isEmpty, "\(tool.name) result breaks its outputSchema: \(issues)")
                }
            }
        }
    }

    @Test("every tool rejects an unknown argument locally, and id tools report an unknown id as not_found")
    func errorPaths() async throws {
        let fixtures = try Self.loadFixtures()
        try await SandboxHarness.with { harness in
            let ids = try await harness.fixtures()
            let provider = harness.provider()
            for tool in harness.catalogue.tools {
                let before = harness.requestCount("acme")
                var arguments = substitute(fixtures[tool.name]?["arguments"] ?? .object([:]), ids).objectValue ?? [:]
                arguments["definitelyNotAnArgument"] = true
                let invalid = try #require(await provider.call(tool.name, arguments))
                #expect(invalid.errorCode == "invalid_input", "\(tool.name): \(invalid.errorCode ?? "no error")")
                #expect(invalid.error?["field"] == .string("definitelyNotAnArgument"))
                #expect(harness.requestCount("acme") == before, "\(tool.name) called upstream with invalid arguments")

                guard let parameter = Catalogue.pathParameters(tool.path).first else { continue }
                arguments.removeValue(forKey: "definitelyNotAnArgument")
                let schema = try tool.validator.get().get().property(parameter)
                let isObjectID = schema?.validate(.string("0123456789abcdef01234567")).isEmpty ?? false
                arguments[parameter] = .string(isObjectID ? "0123456789abcdef01234567" : "no-such-thing")
                let missing = try #require(await provider.call(tool.name, arguments))
                #expect(
                    missing.errorCode == "not_found",
                    "\(tool.name): \(missing.errorCode ?? "success") for an unknown \(parameter)")
                #expect(missing.error?["httpStatus"] == .int(404))
            }
        }
    }
}
