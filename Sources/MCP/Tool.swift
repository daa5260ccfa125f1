import JSONRPC
import Synchronization

/// A tool as `tools/list` advertises it.
///
/// A reference type so that its per-version JSON is computed once and shared by every session that lists it.
package final class ToolDescriptor: Sendable {
    package let name: String
    package let title: String
    package let description: String
    package let inputSchema: JSONObject
    package let outputSchema: JSONObject?
    package let annotations: JSONObject?
    private let encoded = Mutex<[ProtocolVersion: JSONValue]>([:])

    package init(
        name: String,
        title: String,
        description: String,
        inputSchema: JSONObject,
        outputSchema: JSONObject?,
        annotations: JSONObject?
    ) {
        self.name = name
        self.title = title
        self.description = description
        self.inputSchema = inputSchema
        self.outputSchema = outputSchema
        self.annotations = annotations
    }

    /// The `Tool` object for a protocol version: no `annotations` before 2025-03-26, no `title` or
    /// `outputSchema` before 2025-06-18.
    package func json(for version: ProtocolVersion) -> JSONValue {
        if let cached = encoded.withLock({ $0[version] }) { return cached }
        var object: JSONObject = ["name": .string(name)]
        if version.hasStructuredOutput { object.appendUnchecked("title", .string(title)) }
        object.appendUnchecked("description", .string(description))
        object.appendUnchecked("inputSchema", .object(inputSchema))
        if version.hasStructuredOutput, let outputSchema {
            object.appendUnchecked("outputSchema", .object(outputSchema))
        }
        if version.hasToolAnnotations, var annotations {
            // Before 2025-06-18 there is no Tool.title; annotations.title is where those clients find a display name.
            if !version.hasStructuredOutput && annotations["title"] == nil { annotations["title"] = .string(title) }
            object.appendUnchecked("annotations", .object(annotations))
        }
        let value = JSONValue.object(object)
        encoded.withLock { $0[version] = value }
        return value
    }
}

/// What a tool call produced: content blocks, optional structured content, and whether it is an error.
package struct ToolCallResult: Sendable, Equatable {
    package var content: [JSONValue]
    package var structuredContent: JSONValue?
    package var isError: Bool

    package init(content: [JSONValue], structuredContent: JSONValue? = nil, isError: Bool = false) {
        self.content = content
        self.structuredContent = structuredContent
        self.isError = isError
    }

    /// A single text block.
    package static func text(_ text: String, isError: Bool = false) -> ToolCallResult {
        ToolCallResult(content: [.object(["type": "text", "text": .string(text)])], isError: isError)
    }

    /// The `CallToolResult` object for a protocol version (`structuredContent` only from 2025-06-18).
    package func json(for version: ProtocolVersion) -> JSONObject {
        var object: JSONObject = ["content": .array(content)]
        if version.hasStructuredOutput, let structuredContent {
            object.appendUnchecked("structuredContent", structuredContent)
        }
        if isError { object.appendUnchecked("isError", true) }
        return object
    }
}

/// What the engine needs from the tool layer: a tenant-bound set of tools it can list and call.
///
/// The engine never sees credentials or organisations; a provider is created for one tenant and can reach no other.
package protocol ToolProvider: Sendable {
    /// Guidance for the agent: which organisation, which tools, how errors read.
    var instructions: String { get }
    /// Visible tools, in a stable order.
    func listTools() -> [ToolDescriptor]
    /// Runs a tool; `nil` when no tool of that name exists at all.
    func callTool(named name: String, arguments: JSONObject, context: ToolCallContext) async -> ToolCallResult?
}

/// Per-call facilities a tool may use while it runs.
package struct ToolCallContext: Sendable {
    package var requestID: RequestID
    package var progress: ProgressReporter
    package var clientLog: ClientLogger

    package init(requestID: RequestID, progress: ProgressReporter, clientLog: ClientLogger) {
        self.requestID = requestID
        self.progress = progress
        self.clientLog = clientLog
    }
}
