import Foundation
import JSONRPC
import MCP
import Testing

@testable import NudjTools

/// The tool surface is a product decision: its shape is snapshotted, its size bounded, its names regular.
@Suite("The tool surface")
struct CatalogueSurfaceTests {
    static let snapshot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(
        path: "Snapshots/tools-list.json")

    @Test("tools/list matches the committed snapshot (UPDATE_SNAPSHOTS=1 regenerates it)")
    func snapshotMatches() throws {
        let catalogue = try Catalogue.embedded()
        let actual = Catalogue.toolsList(catalogue.tools)
        let pretty = try JSONSerialization.data(
            withJSONObject: try JSONSerialization.jsonObject(with: Data(JSONWriter.encode(actual))),
            options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        )
        if ProcessInfo.processInfo.environment["UPDATE_SNAPSHOTS"] == "1" {
            try (pretty + Data("\n".utf8)).write(to: Self.snapshot)
        }
        let committed = try JSONParser.parse([UInt8](try Data(contentsOf: Self.snapshot)))
        #expect(
            committed == actual,
            "tools/list changed: review the change, then run `UPDATE_SNAPSHOTS=1 swift test --filter CatalogueSurfaceTests` and commit Snapshots/tools-list.json"
        )
    }

    @Test("tools/list stays within 20k tokens for the whole catalogue and 8k for the default toolsets")
    func budgets() throws {
        let catalogue = try Catalogue.embedded()
        #expect(Catalogue.toolsListTokens(catalogue.tools) <= 20_000)
        #expect(Catalogue.toolsListTokens(catalogue.defaultTools) <= 8_000)
    }

    @Test("names follow the documented rule: unique, short, prefixed for the Integration and Analytics APIs")
    func naming() throws {
        let catalogue = try Catalogue.embedded()
        let verbs = [
            "list", "get", "create", "update", "set", "distribute", "process", "anonymise", "revoke", "remove",
            "register", "log", "replace", "invite", "start",
        ]
        // Computed tools (answered inside nudj-mcp from several reads) are named for the question they answer.
        let computedVerbs = ["rank", "summarise"]
        for tool in catalogue.tools {
            var name = Substring(tool.name)
            if tool.computation != nil {
                #expect(computedVerbs.contains(String(name.prefix { $0 != "_" })), "\(tool.name)")
                #expect(tool.method == "GET" && tool.toolset == "analytics", "\(tool.name)")
                continue
            }
            switch tool.api {
            case .integration:
                #expect(name.hasPrefix("integration_"), "\(tool.name)")
                name = name.dropFirst("integration_".count)
            case .analytics:
                #expect(name.hasPrefix("analytics_"), "\(tool.name)")
                name = name.dropFirst("analytics_".count)
            case .admin:
                #expect(!name.hasPrefix("integration_") && !name.hasPrefix("analytics_"), "\(tool.name)")
            }
            let verb = String(name.prefix { $0 != "_" })
            if tool.api == .admin { #expect(verbs.contains(verb), "\(tool.name): unexpected verb '\(verb)'") }
            if verb == "list" { #expect(tool.method == "GET", "\(tool.name)") }
            #expect(("nudj_" + tool.name).count <= 60, "\(tool.name) is too long for Cursor's 60-character limit")
            for parameter in Catalogue.pathParameters(tool.path) {
                #expect(
                    parameter == "identifier" || parameter.hasSuffix("Id"), "\(tool.name): path parameter \(parameter)")
            }
        }
    }

    @Test("annotations: reads are read-only and idempotent by nature; removals and overwrites are destructive")
    func annotations() throws {
        let catalogue = try Catalogue.embedded()
        for tool in catalogue.tools {
            #expect(tool.annotations["openWorldHint"] == false)
            #expect(tool.annotations["readOnlyHint"] == .bool(!tool.isWrite), "\(tool.name)")
            if tool.method == "DELETE" || tool.name.hasPrefix("remove_") || tool.name.hasPrefix("revoke_")
                || tool.name.hasPrefix("anonymise_")
            {
                #expect(tool.isDestructive, "\(tool.name) must be marked destructive")
            }
        }
        #expect(catalogue.tools.count == 107)
        #expect(Set(catalogue.tools.map(\.api)).count == 3)
    }
}
