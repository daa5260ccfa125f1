import JSONRPC

/// Who this server is, as `serverInfo` reports it.
package struct ServerIdentity: Sendable {
    package var name: String
    package var version: String
    package var title: String
    package var description: String

    package init(name: String, version: String, title: String, description: String) {
        self.name = name
        self.version = version
        self.title = title
        self.description = description
    }

    /// The `Implementation` object, with the fields the version knows about.
    package func json(for version: ProtocolVersion) -> JSONValue {
        var object: JSONObject = ["name": .string(name), "version": .string(self.version)]
        if version.hasStructuredOutput { object.appendUnchecked("title", .string(title)) }
        if version.hasImplementationDescription { object.appendUnchecked("description", .string(description)) }
        return .object(object)
    }
}
