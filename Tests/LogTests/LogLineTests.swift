import JSONRPC
import Log
import Platform
import Testing

@Suite("stderr log lines")
struct LogLineTests {
    private let time = UTCTime(year: 2026, month: 3, day: 7, hour: 4, minute: 5, second: 9, millisecond: 42)

    private func parsed(_ record: LogRecord, at time: UTCTime? = nil) throws -> JSONValue {
        let line = StderrJSONLogSink.line(for: record, at: time ?? self.time)
        #expect(line.last == 0x0A)
        #expect(line.dropLast().firstIndex(of: 0x0A) == nil, "one line per record")
        return try JSONParser.parse(Array(line.dropLast()))
    }

    @Test("a record is one JSON object: time, level, logger, message, then metadata in order")
    func shape() throws {
        let record = LogRecord(
            level: .notice, label: "nudj-mcp", message: "tool call", metadata: [("tool", "list_users"), ("ms", "0.25")])
        let line = StderrJSONLogSink.line(for: record, at: time)
        #expect(
            String(decoding: line, as: UTF8.self)
                == #"{"ts":"2026-03-07T04:05:09.042Z","level":"notice","logger":"nudj-mcp","msg":"tool call","tool":"list_users","ms":"0.25"}"#
                + "\n")
    }

    @Test("every control character, quote and backslash is escaped; other text, any script, passes through")
    func escaping() throws {
        var text = ""
        for value in 0..<0x80 { text.unicodeScalars.append(Unicode.Scalar(UInt8(value))) }
        text += "é 日本 🙂 \u{7F}"
        let record = LogRecord(level: .info, label: "a\"b\\c", message: text, metadata: [("k\ne\ty", text)])
        let value = try parsed(record)
        #expect(value["msg"]?.stringValue == text)
        #expect(value["logger"]?.stringValue == "a\"b\\c")
        #expect(value["k\ne\ty"]?.stringValue == text)
    }

    @Test("time fields are zero-padded, and a year past four digits is written whole")
    func timestamps() throws {
        let record = LogRecord(level: .error, label: "x", message: "m", metadata: [])
        let early = UTCTime(year: 999, month: 1, day: 2, hour: 0, minute: 0, second: 0, millisecond: 7)
        #expect(try parsed(record, at: early)["ts"]?.stringValue == "0999-01-02T00:00:00.007Z")
        let late = UTCTime(year: 12026, month: 12, day: 31, hour: 23, minute: 59, second: 59, millisecond: 999)
        #expect(try parsed(record, at: late)["ts"]?.stringValue == "12026-12-31T23:59:59.999Z")
    }
}
