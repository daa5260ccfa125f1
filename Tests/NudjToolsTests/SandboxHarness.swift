import Foundation
import FoundationNetworking
import HTTPClient
import JSONRPC
import Log
import MCP
import NudjClient
import Sandbox
import Tenancy
import Testing

@testable import NudjTools

/// An in-process sandbox and a runtime pointed at it: real HTTP on loopback, no mocks.
struct SandboxHarness: Sendable {
    /// One native client (one loop thread) for every test in the process, as the server has one.
    static let transport: any UpstreamTransport = {
        do { return try NativeUpstreamTransport(configuration: HTTPClientConfiguration()) } catch {
            fatalError("the native HTTP client cannot start: \(error)")
        }
    }()

    let sandbox: Sandbox
    let catalogue: Catalogue

    /// Runs `body` with a fresh sandbox (fresh data) that is shut down afterwards.
    static func with(
        configuration: SandboxConfiguration = SandboxConfiguration(),
        _ body: @Sendable (SandboxHarness) async throws -> Void
    ) async throws {
        let sandbox = try Sandbox(configuration: configuration, logger: .disabled)
        let harness = SandboxHarness(sandbox: sandbox, catalogue: try Catalogue.embedded())
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addImmediateTask { await sandbox.run() }
            do {
                try await body(harness)
            } catch {
                await sandbox.shutdown(grace: .milliseconds(100))
                throw error
            }
            await sandbox.shutdown(grace: .milliseconds(100))
            try await group.waitForAll()
        }
    }

    func runtime(
        selection: ToolSelection = ToolSelection(toolsets: ["all"]),
        budgetTokens: Int = 20_000,
        timeout: Duration = .seconds(10),
        logger: Logger = .disabled
    ) -> NudjRuntime {
        NudjRuntime(
            catalogue: catalogue,
            client: NudjClient(transport: Self.transport, version: "test", timeout: timeout, logger: logger),
            shaper: ResultShaper(budgetTokens: budgetTokens),
            policy: DomainPolicy(allowInsecureLocalhost: true),
            selection: selection,
            logger: logger
        )
    }

    /// A provider for `organisation`'s domain using one of the sandbox's tokens (of `tokenOrganisation`).
    func provider(
        _ organisation: String = "acme",
        token: String = "admin",
        tokenOrganisation: String? = nil,
        runtime: NudjRuntime? = nil,
        request: ToolSelection? = nil
    ) -> NudjToolProvider {
        let runtime = runtime ?? self.runtime()
        let owner = sandbox.organisations.first { $0.subdomain == (tokenOrganisation ?? organisation) }!
        let value = owner.tokens[token]!
        let domain = sandbox.apiDomain(organisation)
        let tenant =
            token == "apiToken"
            ? runtime.tenant(bearer: nil, apiToken: value, domain: domain)
            : runtime.tenant(bearer: value, apiToken: nil, domain: domain)
        return runtime.provider(for: tenant, request: request)
    }

    /// Ids of seeded entities (`$challenges`, `$member`, …) from the sandbox's fixtures endpoint.
    func fixtures(_ organisation: String = "acme") async throws -> JSONObject {
        let url = URL(string: "\(sandbox.url)/_sandbox/fixtures?org=\(organisation)")!
        let (data, _) = try await URLSession.shared.data(from: url)
        return try #require(try JSONParser.parse([UInt8](data)).objectValue)
    }

    func requestCount(_ organisation: String) -> Int { sandbox.requestCounts[organisation] ?? 0 }
}

extension NudjToolProvider {
    func call(
        _ name: String, _ arguments: JSONObject = [:], progress: ProgressReporter = .disabled
    ) async -> ToolCallResult? {
        await callTool(
            named: name,
            arguments: arguments,
            context: ToolCallContext(requestID: .int(1), progress: progress, clientLog: .disabled)
        )
    }
}

extension ToolCallResult {
    /// The structured error object of a failed call.
    var error: JSONObject? { isError ? structuredContent?["error"]?.objectValue : nil }
    var errorCode: String? { error?["code"]?.stringValue }
}

/// Replaces `"$name"` strings with fixture ids, recursively.
func substitute(_ value: JSONValue, _ fixtures: JSONObject) -> JSONValue {
    switch value {
    case .string(let text) where text.hasPrefix("$"):
        return fixtures[String(text.dropFirst())] ?? value
    case .array(let elements):
        return .array(elements.map { substitute($0, fixtures) })
    case .object(let object):
        return .object(JSONObject(object.entries.map { .init(key: $0.key, value: substitute($0.value, fixtures)) }))
    default:
        return value
    }
}
