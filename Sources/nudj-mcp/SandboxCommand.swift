import JSONRPC
import Log
import NudjTools
import Platform
import Sandbox
import TLS
import Tenancy
import Transports

/// `nudj-mcp sandbox`: the Nudj API simulator as its own process. Prints one JSON ready line on stdout.
enum SandboxCommand {
    static func run(_ options: Options) async throws -> Int32 {
        let logger = try Composition.logger(options, label: "nudj-sandbox")
        let port = try options.int(.port, default: 4011, range: 0...65_535)
        var configuration = try Composition.sandboxConfiguration(options, port: port)
        configuration.tls = try tlsContext(options)
        let sandbox = try Sandbox(configuration: configuration, logger: logger)
        let stop = ShutdownSignal()
        stop.installProcessHandlers()
        StandardStream.output.write(JSONWriter.encodeString(sandbox.readyEvent) + "\n")
        var summary = "Nudj sandbox listening on \(sandbox.url)\n"
        for organisation in sandbox.organisations {
            summary += "  \(organisation.subdomain): \(sandbox.apiDomain(organisation.subdomain))\n"
            summary += "    admin token:  \(organisation.tokens["admin"]!)\n"
        }
        // Every *.localhost domain needs --allow-insecure-localhost, https too; a private CA needs the native client.
        let trust =
            "--allow-insecure-localhost"
            + (configuration.tls == nil ? "" : " --upstream-client native --ca-file <CA PEM>")
        summary +=
            "Use with: nudj-mcp stdio \(trust) --api-domain \(sandbox.apiDomain(sandbox.organisations[0].subdomain)) --token <admin token>\n"
        StandardStream.error.write(summary)
        await withTaskGroup(of: Void.self) { group in
            group.addImmediateTask { await sandbox.run() }
            await stop.wait()
            await sandbox.shutdown(grace: .seconds(2))
        }
        return 0
    }

    /// `--tls-cert` and `--tls-key` together: the server context for HTTPS; neither: plain HTTP.
    ///
    /// - Throws: `UsageError` when only one is given, `TLSSetupError` naming the file that cannot be read, or the
    ///   key that does not match the certificate.
    private static func tlsContext(_ options: Options) throws -> TLSContext? {
        switch (options.string(.tlsCertificate), options.string(.tlsKey)) {
        case (nil, nil): return nil
        case (let certificate?, let key?): return try TLSContext(certificateFile: certificate, keyFile: key)
        default: throw UsageError("--tls-cert and --tls-key go together")
        }
    }

    /// The in-process sandbox (`--sandbox`), not yet running, and the credentials `--sandbox-org` and `--sandbox-token`
    /// choose in it: how `stdio` and `doctor` try nudj-mcp without a Nudj account.
    static func inProcess(_ options: Options, logger: Logger) throws -> InProcessSandbox {
        let sandbox = try Sandbox(
            configuration: Composition.sandboxConfiguration(options, port: 0),
            logger: logger.with("component", "sandbox"))
        let organisationName = options.string(.sandboxOrganisation) ?? sandbox.organisations[0].subdomain
        guard let organisation = sandbox.organisations.first(where: { $0.subdomain == organisationName }) else {
            throw UsageError(
                "--sandbox-org must be one of \(sandbox.organisations.map(\.subdomain).joined(separator: ", "))")
        }
        let tokenName = options.string(.sandboxToken) ?? "admin"
        guard let token = organisation.tokens[tokenName] else {
            throw UsageError("--sandbox-token must be one of admin, viewer, expired, apiToken")
        }
        return InProcessSandbox(
            sandbox: sandbox, organisation: organisation.subdomain, tokenName: tokenName,
            bearer: tokenName == "apiToken" ? nil : token, apiToken: tokenName == "apiToken" ? token : nil,
            domain: sandbox.apiDomain(organisation.subdomain))
    }
}

/// The in-process sandbox and the credentials `--sandbox-org` / `--sandbox-token` chose in it. It starts before the
/// runtime: its port is the only plain-http destination `--sandbox` allows.
struct InProcessSandbox {
    let sandbox: Sandbox
    let organisation: String
    let tokenName: String
    let bearer: String?
    let apiToken: String?
    let domain: String

    func tenant(_ runtime: NudjRuntime) -> Result<TenantContext, TenantProblem> {
        runtime.tenant(bearer: bearer, apiToken: apiToken, domain: domain)
    }
}
