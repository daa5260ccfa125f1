// swift-tools-version:6.2
import PackageDescription

// nudj-mcp has no package dependencies by design: a small, auditable binary that handles people's tokens.
// Targets follow the dependency direction: transport → engine → tool → upstream.

let strict: [SwiftSetting] = [.enableUpcomingFeature("ExistentialAny")]

let package = Package(
    name: "nudj-mcp",
    platforms: [.macOS(.v26)],
    products: [
        .executable(name: "nudj-mcp", targets: ["nudj-mcp"])
    ],
    targets: [
        // Linux system headers Glibc does not expose (epoll, eventfd, mallopt). Header-only, no code.
        .systemLibrary(name: "CSystem", path: "Sources/CSystem"),
        // Every OS call the project makes (sockets, selectors, wake-ups, limits, signals, fd I/O, malloc tuning).
        .target(name: "Platform", dependencies: ["CSystem"], swiftSettings: strict),
        // The system's OpenSSL (libssl-dev on Debian/Ubuntu). Linux only.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL"),
        // Non-blocking TLS sessions over OpenSSL, for the native upstream client and the HTTP server.
        .target(
            name: "TLS",
            dependencies: ["Platform", .target(name: "COpenSSL", condition: .when(platforms: [.linux]))],
            swiftSettings: strict
        ),
        // The native HTTP/1.1 client: one loop thread, a pool per origin, TLS through OpenSSL.
        .target(name: "HTTPClient", dependencies: ["Codecs", "Platform", "TLS"], swiftSettings: strict),
        .target(name: "Log", dependencies: ["Codecs", "Platform"], swiftSettings: strict),
        .target(name: "Codecs", swiftSettings: strict),
        .target(name: "JSONRPC", dependencies: ["Codecs"], swiftSettings: strict),
        .target(name: "MCP", dependencies: ["Codecs", "JSONRPC", "Log"], swiftSettings: strict),
        .target(name: "HTTPServer", dependencies: ["Platform", "TLS", "Codecs", "Log"], swiftSettings: strict),
        .target(name: "Tenancy", dependencies: ["Codecs", "JSONRPC"], swiftSettings: strict),
        .target(
            name: "NudjClient", dependencies: ["Codecs", "JSONRPC", "Tenancy", "Log", "HTTPClient", "TLS", "Platform"],
            swiftSettings: strict),
        .target(
            name: "NudjTools",
            dependencies: ["Codecs", "JSONRPC", "MCP", "Tenancy", "NudjClient", "TLS", "Log"],
            swiftSettings: strict,
            plugins: ["EmbedSchemas"]
        ),
        .target(
            name: "Sandbox", dependencies: ["HTTPServer", "TLS", "Codecs", "JSONRPC", "Tenancy", "Log"],
            swiftSettings: strict),
        .target(
            name: "Transports",
            dependencies: ["HTTPServer", "JSONRPC", "MCP", "Tenancy", "Log", "Platform"],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "nudj-mcp",
            dependencies: [
                "Platform", "Codecs", "JSONRPC", "MCP", "HTTPServer", "HTTPClient", "TLS", "Tenancy", "NudjClient",
                "NudjTools", "Sandbox",
                "Transports",
                "Log",
            ],
            swiftSettings: strict
        ),

        // Build-time: schemas/ is the single source of truth for tools; this plugin embeds it in the binary.
        .executableTarget(name: "SchemaEmbedder", path: "Plugins/SchemaEmbedder"),
        .plugin(name: "EmbedSchemas", capability: .buildTool(), dependencies: ["SchemaEmbedder"]),

        .target(
            name: "TestSupport",
            dependencies: ["Codecs", "JSONRPC", "HTTPServer", "TLS", "Log"],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "JSONRPCTests", dependencies: ["JSONRPC", "Codecs", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "MCPTests", dependencies: ["MCP", "JSONRPC", "TestSupport"], swiftSettings: strict),
        .testTarget(name: "PlatformTests", dependencies: ["Platform"], swiftSettings: strict),
        .testTarget(name: "LogTests", dependencies: ["Log", "Platform", "JSONRPC"], swiftSettings: strict),
        .testTarget(
            name: "HTTPClientTests",
            dependencies: ["HTTPClient", "HTTPServer", "Log", "TLS", "Platform", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "HTTPServerTests", dependencies: ["Codecs", "HTTPServer", "Platform", "TLS", "TestSupport"],
            swiftSettings: strict),
        .testTarget(
            name: "TransportsTests",
            dependencies: ["Transports", "HTTPServer", "MCP", "JSONRPC", "Tenancy", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(name: "TenancyTests", dependencies: ["Tenancy", "JSONRPC", "Codecs"], swiftSettings: strict),
        .testTarget(
            name: "NudjToolsTests",
            dependencies: [
                "NudjTools", "NudjClient", "HTTPClient", "TLS", "Tenancy", "MCP", "JSONRPC", "Sandbox", "TestSupport",
            ],
            exclude: ["Fixtures", "Snapshots"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "SandboxTests",
            dependencies: ["Sandbox", "HTTPServer", "JSONRPC", "Tenancy", "TestSupport"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["JSONRPC", "TestSupport"],
            swiftSettings: strict
        ),
    ]
)
