// Fuzz target: argument validation against the real tool schemas. The first byte picks a tool; the rest, if it
// parses as JSON, is validated. Beyond not crashing: validation is deterministic and bounded.

import Foundation

let schemas: [CompiledSchema] = {
    let directory = ProcessInfo.processInfo.environment["NUDJ_SCHEMAS"] ?? "schemas"
    var compiled: [CompiledSchema] = []
    for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasSuffix(".json") {
        guard let data = FileManager.default.contents(atPath: "\(directory)/\(name)"),
            let document = try? JSONParser.parse([UInt8](data)), let tools = document["tools"]?.arrayValue
        else { continue }
        for tool in tools {
            // Shared $refs are not resolved here; compile what stands alone and inline the common ones crudely.
            guard var schema = tool["inputSchema"]?.objectValue else { continue }
            if var properties = schema["properties"]?.objectValue {
                for entry in properties where entry.value["$ref"] != nil {
                    properties[entry.key] = ["type": "string", "pattern": "^[0-9a-fA-F]{24}$"]
                }
                schema["properties"] = .object(properties)
            }
            if let compiledSchema = try? CompiledSchema(schema) { compiled.append(compiledSchema) }
        }
    }
    precondition(!compiled.isEmpty, "no schemas found; set NUDJ_SCHEMAS")
    return compiled
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSchema(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let schema = schemas[Int(data[0]) % schemas.count]
    let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
    guard let value = try? JSONParser.parse(bytes) else { return 0 }
    let first = schema.validate(value)
    let second = schema.validate(value)
    precondition(first == second, "validation is not deterministic")
    precondition(first.count <= 10, "issue limit not enforced")
    return 0
}
