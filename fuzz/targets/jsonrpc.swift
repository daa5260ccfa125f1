// Fuzz target: JSON-RPC framing and decoding. Beyond not crashing: whatever parses must serialise to one line that
// parses back to an equal value, classification must not crash, and framing must not depend on how bytes arrive.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONRPC(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let value = try? JSONParser.parse(bytes) {
        let written = JSONWriter.encode(value)
        precondition(!written.contains(0x0A), "writer emitted a raw newline")
        guard let reparsed = try? JSONParser.parse(written) else { fatalError("writer output does not parse") }
        precondition(reparsed == value, "round trip changed the value")
        switch value {
        case .array(let elements): for element in elements { _ = JSONRPC.classify(element) }
        default: _ = JSONRPC.classify(value)
        }
    }
    var whole = LineFramer(maxLineBytes: 256)
    var expected = whole.append(bytes)
    if let last = whole.finish() { expected.append(last) }
    let split = size == 0 ? 0 : Int(bytes[0]) % (size + 1)
    var parts = LineFramer(maxLineBytes: 256)
    var frames = parts.append(Array(bytes[..<split]))
    frames += parts.append(Array(bytes[split...]))
    if let last = parts.finish() { frames.append(last) }
    precondition(frames == expected, "framing depends on how the bytes were split")
    return 0
}
