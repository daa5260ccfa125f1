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
        #expect((1...ProcessEnvironment.onlineProcessorCount).contains(ProcessEnvironment.usableProcessorCount))
    }

    @Test("a container's CPU limit from cgroup v2 and v1 files: fractions round up at use; no limit is nil")
    func cpuQuota() {
        #expect(ProcessEnvironment.cpuQuota(cpuMax: "200000 100000\n") == 2)
        #expect(ProcessEnvironment.cpuQuota(cpuMax: "150000 100000") == 1.5)
        #expect(ProcessEnvironment.cpuQuota(cpuMax: "max 100000\n") == nil)
        #expect(ProcessEnvironment.cpuQuota(cpuMax: "") == nil)
        #expect(ProcessEnvironment.cpuQuota(quota: "400000\n", period: "100000\n") == 4)
        #expect(ProcessEnvironment.cpuQuota(quota: "-1\n", period: "100000\n") == nil)
        #expect(ProcessEnvironment.cpuQuota(quota: nil, period: "100000") == nil)
    }
}
