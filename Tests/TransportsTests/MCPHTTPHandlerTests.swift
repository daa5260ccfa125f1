import HTTPServer
import JSONRPC
import MCP
import Tenancy
import TestSupport
import Testing
import Transports

/// One tool, `echo`, that returns its arguments.
private struct EchoProvider: ToolProvider {
    var instructions: String { "echo only" }

    func listTools() -> [ToolDescriptor] {
        [
            ToolDescriptor(
                name: "echo", title: "Echo", description: "Returns its arguments.", inputSchema: ["type": "object"],
                outputSchema: ["type": "object"], annotations: ["readOnlyHint": true])
        ]
    }

    func callTool(named name: String, arguments: JSONObject, context: ToolCallContext) async -> ToolCallResult? {
        name == "echo"
            ? ToolCallResult(content: [["type": "text", "text": "ok"]], structuredContent: .object(arguments)) : nil
    }
}

/// Grants `Bearer good.token.value` on acme.nudj.cx; refuses anything else with 401.
private struct FixedGateway: HTTPGateway {
    func authorize(_ headers: HTTPHeaders, pathDomain: String?) -> Result<GatewayGrant, AccessRefusal> {
        guard headers["Authorization"] == "Bearer good.token.value" else {
            return .failure(AccessRefusal(kind: .unauthenticated, message: "missing credentials"))
        }
        let domain = try! DomainPolicy().normalize("acme.nudj.cx").get()
        let credential = Credential(kind: .bearer, secret: Secret("good.token.value"))
        let tenant = TenantContext(domain: domain, credential: credential)
        return .success(
            GatewayGrant(
                binding: tenant.binding, organisation: "acme", provider: EchoProvider(), credential: credential))
    }
}

private func makeClient() -> InProcessHTTP {
    let server = MCPServer(
        identity: ServerIdentity(name: "nudj-mcp", version: "test", title: "Nudj", description: "test server"))
    return InProcessHTTP(
        MCPHTTPHandler(
            server: server, gateway: FixedGateway(), configuration: MCPHTTPConfiguration(), logger: .disabled))
}

private let credentials = [("Authorization", "Bearer good.token.value")]
private let jsonPost = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]

@Suite("MCP HTTP handler, in process")
struct MCPHTTPHandlerTests {
    @Test("Streamable HTTP: initialize opens a session, tools/list on it lists the provider's tools")
    func initializeAndList() async throws {
        let client = makeClient()
        let initialize = await client.send(
            "POST", "/mcp", headers: jsonPost + credentials,
            body:
                #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}"#
        )
        #expect(initialize.status == 200)
        let session = try #require(initialize.header("Mcp-Session-Id"))
        let initialized = try JSONParser.parse(initialize.body)
        #expect(initialized["result"]?["protocolVersion"] == "2025-06-18")

        let list = await client.send(
            "POST", "/mcp", headers: jsonPost + credentials + [("Mcp-Session-Id", session)],
            body: #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
        #expect(list.status == 200)
        let listed = try JSONParser.parse(list.body)
        #expect(listed["result"]?["tools"]?[0]?["name"] == "echo")
        #expect(listed["result"]?["tools"]?.arrayValue?.count == 1)
    }

    @Test("a Host that is not loopback is refused with 403 before anything else")
    func badHost() async throws {
        let client = makeClient()
        let response = await client.send(
            "POST", "/mcp", headers: jsonPost + credentials + [("Host", "evil.example")],
            body: #"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        #expect(response.status == 403)
        let error = try JSONParser.parse(response.body)
        #expect(error["error"]?["message"]?.stringValue?.contains("evil.example") == true)
    }

    @Test("GET /sse opens an event stream whose first event names the message endpoint")
    func sseEndpoint() async throws {
        let client = makeClient()
        let stream = await client.send("GET", "/sse", headers: credentials + [("Accept", "text/event-stream")])
        #expect(stream.status == 200)
        #expect(stream.isStream)
        #expect(stream.header("Content-Type")?.hasPrefix("text/event-stream") == true)
        #expect(stream.header("Transfer-Encoding") == "chunked")
        let first = String(decoding: try #require(await stream.nextChunk()), as: UTF8.self)
        // The replica that holds the stream is in the path, so a load balancer can route the POSTs back to it.
        #expect(first.hasPrefix("event: endpoint\ndata: /messages/local?sessionId="), "\(first)")
        stream.disconnect()
    }

    @Test("healthz answers without credentials")
    func health() async throws {
        let response = await makeClient().send("GET", "/healthz")
        #expect(response.status == 200)
        #expect(try JSONParser.parse(response.body)["status"] == "ok")
    }
}
