// Fuzz target: the native client's HTTP/1.1 response parser. Beyond not crashing: the outcome does not depend on
// how the bytes are split, a response never consumes more than it was given, and a body never exceeds its limit.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzResponse(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let whole = parse([bytes])
    let cut = size == 0 ? 0 : Int(bytes[0]) % (size + 1)
    let split = parse([
        UnsafeRawBufferPointer(rebasing: bytes[..<cut]), UnsafeRawBufferPointer(rebasing: bytes[cut...]),
    ])
    switch (whole, split) {
    case (.complete(let a, _), .complete(let b, _)): precondition(a == b, "split changed the response")
    default: precondition(whole == split, "split changed the outcome")
    }
    if case .complete(let response, _) = whole { precondition(response.body.count <= 4096, "body limit not enforced") }
    return 0
}

private func parse(_ pieces: [UnsafeRawBufferPointer]) -> HTTPResponseParser.Progress {
    var parser = HTTPResponseParser(maxBodyBytes: 4096, requestMethod: "GET")
    var offset = 0
    for piece in pieces {
        let progress = parser.feed(piece)
        if case .complete(_, let consumed) = progress { precondition(consumed <= piece.count, "consumed too much") }
        if progress != .needMore {
            if case .complete(let response, let consumed) = progress {
                return .complete(response, consumed: offset + consumed)
            }
            return progress
        }
        offset += piece.count
    }
    return parser.finishAtEndOfStream()
}
