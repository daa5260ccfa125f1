import Platform
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The environment read straight from libc must agree with `getenv` (the test reads variables the process already
/// has: changing the environment while other tests spawn processes is not thread-safe).
@Suite("Process environment")
struct ProcessEnvironmentTests {
    @Test("variables with a prefix: exactly the matching names, with their whole values")
    func prefix() throws {
        let path = try #require(getenv("PATH").map { String(cString: $0) })
        let found = ProcessEnvironment.variables(withPrefix: "PAT")
        #expect(found["PATH"] == path)
        #expect(found.keys.allSatisfy { $0.hasPrefix("PAT") })
        #expect(ProcessEnvironment.variables(withPrefix: "NUDJ_NO_SUCH_VARIABLE_").isEmpty)
        #expect(ProcessEnvironment.value("PATH") == path)
        #expect(ProcessEnvironment.value("NUDJ_NO_SUCH_VARIABLE_X") == nil)
        #expect(ProcessEnvironment.onlineProcessorCount >= 1)
    }
}
