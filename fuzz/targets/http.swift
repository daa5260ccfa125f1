// Fuzz target: the HTTP/1.1 request-head parser and the chunked body decoder. Beyond not crashing: a parsed head
// never consumes more than it was given, and a decoded body never exceeds its limit.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTP(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var limits = HTTPParserLimits()
    limits.maxHeadBytes = 4096
    limits.maxRequestLineBytes = 1024
    limits.maxHeaderCount = 32
    limits.maxBodyBytes = 4096
    let buffer = UnsafeBufferPointer(start: data, count: size)
    if case .head(let head, let consumed)? = try? HTTPHeadParser.parse(buffer, limits: limits) {
        precondition(consumed <= size, "consumed more than available")
        precondition(head.headers.count <= 32, "header limit not enforced")
        if head.framing == .chunked {
            var decoder = ChunkedDecoder(maxBodyBytes: limits.maxBodyBytes)
            let rest = UnsafeBufferPointer(rebasing: buffer[consumed...])
            if let used = try? decoder.feed(rest) {
                precondition(used <= rest.count, "decoder consumed more than available")
                precondition(decoder.body.count <= limits.maxBodyBytes, "body limit not enforced")
            }
        }
    }
    return 0
}
