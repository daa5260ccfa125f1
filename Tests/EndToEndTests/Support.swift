import Foundation
import JSONRPC
import TestSupport
import Testing

/// A `nudj-mcp sandbox` process, with its ready line parsed. Over HTTPS when the run asks for the sandbox's TLS mode
/// (`NUDJ_TEST_SANDBOX_TLS=1`, see `SandboxTLSMode`).
final class SandboxProcess: @unchecked Sendable {
    let process: ChildProcess
    let ready: JSONValue

    init(_ arguments: [String] = []) throws {
        process = try ChildProcess(
            ["sandbox", "--port", "0", "--log-level", "warning"] + SandboxTLSMode.sandboxArguments + arguments)
        ready = try process.readJSON(timeout: 20)
        if SandboxTLSMode.isOn && !url.hasPrefix("https://") {
            throw ChildProcess.Timeout(description: "the TLS mode's sandbox does not serve HTTPS: \(url)")
        }
    }

    deinit { process.terminate() }

    var url: String { ready["url"]!.stringValue! }

    var port: Int { Int(url.split(separator: ":").last!)! }

    /// A connection straight to the sandbox (no nudj-mcp), over TLS in the TLS mode.
    func client(timeout: Double = 10) throws -> RawHTTPClient {
        try RawHTTPClient(port: port, timeout: timeout, tls: SandboxTLSMode.clientContext)
    }

    /// The sandbox's counters (`/_sandbox/stats`).
    func stats() throws -> JSONValue {
        let client = try client()
        try client.send(RawHTTPClient.request("GET", "/_sandbox/stats"))
        return try client.readResponse().json
    }

    func organisation(_ name: String) -> JSONValue {
        ready["orgs"]!.arrayValue!.first { $0["subdomain"] == .string(name) }!
    }

    func domain(_ name: String, api: String = "admin") -> String { organisation(name)["apiDomain"]![api]!.stringValue! }

    func token(_ name: String, _ kind: String = "admin") -> String { organisation(name)["tokens"]![kind]!.stringValue! }

    /// Requests that reached `organisation` so far.
    func requests(_ organisation: String) throws -> Int64 {
        try stats()["requests"]?[organisation]?.intValue ?? -1
    }
}

/// A stdio MCP client over a child process, with small helpers for common messages.
final class StdioClient: @unchecked Sendable {
    let process: ChildProcess
    private var nextID: Int64 = 100

    init(
        _ arguments: [String], environment: [String: String] = [:], drainStderr: Bool = true,
        streams: (stdin: SpawnedProcess.Stream, stdout: SpawnedProcess.Stream) = (.pipe, .pipe)
    ) throws {
        process = try ChildProcess(
            ["stdio"] + arguments, environment: environment, drainStderr: drainStderr, streams: streams)
    }

    deinit { process.terminate() }

    /// Sends a request and returns its response, skipping (and returning) notifications before it.
    @discardableResult
    func request(
        _ method: String, _ params: JSONObject? = nil, id: JSONValue? = nil, timeout: Double = 15
    ) throws -> JSONValue {
        nextID += 1
        let requestID = id ?? .int(nextID)
        var message: JSONObject = ["jsonrpc": "2.0", "id": requestID, "method": .string(method)]
        if let params { message["params"] = .object(params) }
        try process.send(json: .object(message))
        return try process.readJSON(until: { $0["id"] == requestID }, timeout: timeout).match
    }

    func notify(_ method: String, _ params: JSONObject? = nil) throws {
        var message: JSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { message["params"] = .object(params) }
        try process.send(json: .object(message))
    }

    @discardableResult
    func initialize(version: String = "2025-06-18") throws -> JSONValue {
        let response = try request(
            "initialize",
            ["protocolVersion": .string(version), "capabilities": [:], "clientInfo": ["name": "e2e", "version": "1"]])
        try notify("notifications/initialized")
        return response
    }

    func call(_ tool: String, _ arguments: JSONObject = [:], meta: JSONObject? = nil) throws -> JSONValue {
        var params: JSONObject = ["name": .string(tool), "arguments": .object(arguments)]
        if let meta { params["_meta"] = .object(meta) }
        return try request("tools/call", params)["result"] ?? .null
    }
}

extension ChildProcess {
    /// Sends `initialize` without waiting for its reply: for a client that reads stdout later, or never.
    func sendInitialize(version: String = "2025-06-18") throws {
        try send(
            json: [
                "jsonrpc": "2.0", "id": 0, "method": "initialize",
                "params": [
                    "protocolVersion": .string(version), "capabilities": [:],
                    "clientInfo": ["name": "e2e", "version": "1"],
                ],
            ])
    }
}

extension JSONValue {
    var errorCode: Int64? { self["error"]?["code"]?.intValue }
    var toolErrorCode: String? { self["structuredContent"]?["error"]?["code"]?.stringValue }
}

/// A `nudj-mcp serve` process pointed at a separate sandbox (credentials come from each request's headers).
final class ServeProcess: @unchecked Sendable {
    let process: ChildProcess
    let ready: JSONValue
    let port: Int

    init(_ arguments: [String] = [], environment: [String: String] = [:]) throws {
        process = try ChildProcess(
            ["serve", "--port", "0", "--allow-insecure-localhost", "--log-level", "warning"] + arguments,
            environment: environment)
        ready = try process.readJSON(timeout: 20)
        let url = ready["mcpUrl"]!.stringValue!
        port = Int(url.split(separator: ":")[2].split(separator: "/")[0])!
    }

    deinit { process.terminate() }

    /// One request on a fresh connection.
    func send(
        _ method: String,
        _ path: String,
        headers: [(String, String)] = [],
        body: String? = nil
    ) throws -> RawHTTPClient.Response {
        let client = try RawHTTPClient(port: port)
        try client.send(RawHTTPClient.request(method, path, headers: headers, body: body))
        return try client.readResponse()
    }

    static func credentials(_ sandbox: SandboxProcess, token: String, domain: String) -> [(String, String)] {
        [("Authorization", "Bearer \(sandbox.token(token))"), ("x-api-domain", sandbox.domain(domain))]
    }

    static let jsonHeaders = [("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")]

    /// Initializes a Streamable HTTP session; returns its id.
    func initialize(
        _ credentials: [(String, String)], version: String = "2025-06-18", path: String = "/mcp"
    ) throws -> String {
        let body =
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"\#(version)","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#
        let response = try send("POST", path, headers: Self.jsonHeaders + credentials, body: body)
        guard response.status == 200, let id = response.header("Mcp-Session-Id") else {
            throw ChildProcess.Timeout(description: "initialize failed: \(response.status) \(response.text)")
        }
        return id
    }

    func rpc(
        _ session: String, _ credentials: [(String, String)], _ body: String, path: String = "/mcp"
    ) throws -> RawHTTPClient.Response {
        try send("POST", path, headers: Self.jsonHeaders + credentials + [("Mcp-Session-Id", session)], body: body)
    }
}

extension RawHTTPClient.Response {
    var json: JSONValue { (try? JSONParser.parse(body)) ?? .null }
}
