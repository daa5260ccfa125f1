import Platform
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A pipe whose read end a selector watches; writing a byte makes it readable.
private struct Pipe {
    let read: Int32
    let write: Int32

    init() {
        var ends: [Int32] = [-1, -1]
        precondition(pipe(&ends) == 0)
        (read, write) = (ends[0], ends[1])
    }

    func signal() { _ = [UInt8(1)].withUnsafeBytes { FileDescriptor.writeAll(write, $0) } }

    func close() {
        FileDescriptor.close(read)
        FileDescriptor.close(write)
    }
}

private func readyDescriptors(_ selector: any EventSelector, capacity: Int = 512) throws -> Set<Int32> {
    var events = [SelectorEvent](repeating: SelectorEvent(), count: capacity)
    let count = try selector.wait(timeoutMilliseconds: 0, into: &events)
    return Set(events[0..<count].filter(\.readable).map(\.fd))
}

@Suite("Event selectors (epoll and poll)")
struct SelectorTests {
    static let backends = EventBackend.allCases.filter(\.isAvailable)

    @Test(
        "with hundreds of descriptors added and half removed, exactly the readable ones are reported",
        arguments: backends)
    func manyDescriptors(backend: EventBackend) throws {
        let selector = try backend.makeSelector()
        defer { selector.close() }
        let pipes = (0..<300).map { _ in Pipe() }
        defer { pipes.forEach { $0.close() } }
        for pipe in pipes { selector.add(pipe.read, .read) }
        #expect(try readyDescriptors(selector).isEmpty)
        // Remove every other one: the poll backend fills each hole with its last entry.
        for (index, pipe) in pipes.enumerated() where index % 2 == 1 { selector.remove(pipe.read) }
        for (index, pipe) in pipes.enumerated() where index % 3 == 0 { pipe.signal() }
        let expected = Set(pipes.enumerated().filter { $0.offset % 2 == 0 && $0.offset % 3 == 0 }.map(\.element.read))
        #expect(try readyDescriptors(selector) == expected)
        // Interest off: no longer reported; back on: reported again.
        let quiet = pipes[0].read
        selector.modify(quiet, [])
        #expect(try !readyDescriptors(selector).contains(quiet))
        selector.modify(quiet, .read)
        #expect(try readyDescriptors(selector).contains(quiet))
    }

    @Test(
        "more ready descriptors than the event buffer holds: every one is reported within a few waits",
        arguments: backends)
    func fairness(backend: EventBackend) throws {
        let selector = try backend.makeSelector()
        defer { selector.close() }
        let pipes = (0..<40).map { _ in Pipe() }
        defer { pipes.forEach { $0.close() } }
        for pipe in pipes {
            selector.add(pipe.read, .read)
            pipe.signal()
        }
        var seen = Set<Int32>()
        for _ in 0..<8 { seen.formUnion(try readyDescriptors(selector, capacity: 8)) }
        #expect(seen == Set(pipes.map(\.read)))
    }

    @Test("a wake-up makes a waiting selector return, and draining it makes it quiet again", arguments: backends)
    func wakeUp(backend: EventBackend) throws {
        let selector = try backend.makeSelector()
        defer { selector.close() }
        let wakeUp = try WakeUp()
        defer { wakeUp.close() }
        selector.add(wakeUp.fd, .read)
        #expect(try readyDescriptors(selector).isEmpty)
        wakeUp.signal()
        wakeUp.signal()
        #expect(try readyDescriptors(selector) == [wakeUp.fd])
        wakeUp.drain()
        #expect(try readyDescriptors(selector).isEmpty)
    }
}
