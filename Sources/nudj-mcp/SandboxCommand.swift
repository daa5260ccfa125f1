import Foundation
import JSONRPC
import Sandbox
import Transports

/// `nudj-mcp sandbox`: the Nudj API simulator as its own process. Prints one JSON ready line on stdout.
enum SandboxCommand {
    static func run(_ options: Options) async throws -> Int32 {
        let logger = try Composition.logger(options, label: "nudj-sandbox")
        let port = try options.int(.port, default: 4011, range: 0...65_535)
        let sandbox = try Sandbox(configuration: Composition.sandboxConfiguration(options, port: port), logger: logger)
        let stop = ShutdownSignal()
        stop.installProcessHandlers()
        FileHandle.standardOutput.write(Data((JSONWriter.encodeString(sandbox.readyEvent) + "\n").utf8))
        var summary = "Nudj sandbox listening on \(sandbox.url)\n"
        for organisation in sandbox.organisations {
            summary += "  \(organisation.subdomain): \(sandbox.apiDomain(organisation.subdomain))\n"
            summary += "    admin token:  \(organisation.tokens["admin"]!)\n"
        }
        summary +=
            "Use with: nudj-mcp stdio --allow-insecure-localhost --api-domain \(sandbox.apiDomain(sandbox.organisations[0].subdomain)) --token <admin token>\n"
        FileHandle.standardError.write(Data(summary.utf8))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await sandbox.run() }
            await stop.wait()
            await sandbox.shutdown(grace: .seconds(2))
        }
        return 0
    }
}
