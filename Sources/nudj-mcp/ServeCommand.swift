/// `nudj-mcp serve`: MCP over HTTP. (Built in the HTTP transports issue.)
enum ServeCommand {
    static func run(_ options: Options) async throws -> Int32 {
        throw UsageError("serve is not available yet")
    }
}
