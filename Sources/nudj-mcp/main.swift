import HTTPServer
import Platform

// nudj-mcp: an MCP server for the Nudj community-gamification platform.
// Commands: stdio (default), serve, sandbox, tools, doctor, version, help.

let usage = """
    nudj-mcp — MCP server for the Nudj platform

    Usage:
      nudj-mcp stdio [options]     MCP over stdin/stdout (what Claude Code, Cursor and Claude Desktop launch)
      nudj-mcp serve [options]     MCP over HTTP: Streamable HTTP at /mcp, legacy HTTP+SSE at /sse
      nudj-mcp sandbox [options]   run the Nudj API simulator on its own
      nudj-mcp tools [options]     list the tool catalogue (--json, --stats)
      nudj-mcp doctor [options]    check token, API domain and which tools work for your organisation (--json)
      nudj-mcp version

    Try it without a Nudj account:  nudj-mcp stdio --sandbox   (or: nudj-mcp serve --sandbox)

    Options (flag / environment variable):
    """

func help(for command: String?) -> String {
    var text = usage
    for setting in Setting.all where command == nil || setting.commands.contains(command!) {
        let names = setting.flag + (setting.kind == .flag ? "" : " <value>")
        text +=
            "\n  \(names.padded(to: 36)) \(setting.env.map { "\($0): " } ?? "")\(setting.help)"
    }
    if command == "doctor" { text += "\n\n" + DoctorCommand.exitStatusHelp }
    return text + "\n"
}

let arguments = Array(CommandLine.arguments.dropFirst())
let commands = ["stdio", "serve", "sandbox", "tools", "doctor", "version", "help"]
let command =
    arguments.first.flatMap { commands.contains($0) ? $0 : nil }
    ?? (arguments.first?.hasPrefix("-") == false ? arguments.first! : "stdio")
let rest = arguments.first == command ? Array(arguments.dropFirst()) : arguments

if rest.contains("--help") || rest.contains("-h") || command == "help" {
    print(help(for: command == "help" ? nil : command), terminator: "")
    ProcessExit.now(0)
}
if command == "version" || rest.contains("--version") {
    print("nudj-mcp \(Build.version)")
    ProcessExit.now(0)
}
guard commands.contains(command) else {
    StandardStream.error.write("nudj-mcp: unknown command '\(command)'\n\n\(help(for: nil))")
    ProcessExit.now(2)
}

// The catalogue is most of a stdio start's own work: parsed on a thread of its own, it overlaps the rest of it.
if command != "sandbox" { Composition.preloadCatalogue() }
MemoryTuning.apply()
// One descriptor per connection: start from the hard limit, not the (often 1,024) soft one.
OpenFileLimit.raiseToHard()
do {
    let options = try Options(
        command: command, arguments: rest, environment: ProcessEnvironment.variables(withPrefix: "NUDJ_"))
    let code: Int32
    switch command {
    case "serve": code = try await ServeCommand.run(options)
    case "sandbox": code = try await SandboxCommand.run(options)
    case "tools": code = try ToolsCommand.run(options)
    case "doctor": code = try await DoctorCommand.run(options)
    default: code = try await StdioCommand.run(options)
    }
    ProcessExit.now(code)
} catch let error as UsageError {
    StandardStream.error.write("nudj-mcp \(command): \(error)\nRun `nudj-mcp \(command) --help` for options.\n")
    ProcessExit.now(2)
} catch {
    StandardStream.error.write("nudj-mcp \(command): \(error)\n")
    ProcessExit.now(1)
}
