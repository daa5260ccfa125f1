import Synchronization

#if canImport(Glibc)
import CSystem
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wakes a thread blocked in a selector wait from any other thread: an eventfd on Linux, a pipe elsewhere. The
/// selector watches `fd` for reading; `drain` resets it.
package final class WakeUp: Sendable {
    /// Registered with the selector for reading.
    package let fd: Int32
    private let writeFD: Int32
    /// Other threads may still signal after the owner closed it: a closed descriptor's number is soon reused, and a
    /// late signal must not write into whatever file took it.
    private let isOpen = Mutex(true)

    package init() throws(SystemError) {
        #if os(Linux)
        fd = eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC))
        guard fd >= 0 else { throw .last("eventfd") }
        writeFD = fd
        #else
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw .last("pipe") }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        fd = ends[0]
        writeFD = ends[1]
        #endif
    }

    /// Makes `fd` readable. Never blocks: a full pipe already means "awake".
    package func signal() {
        isOpen.withLock { isOpen in
            guard isOpen else { return }
            var one: UInt64 = 1
            _ = systemWrite(writeFD, &one, Self.tokenSize)
        }
    }

    /// Consumes pending wake-ups.
    package func drain() {
        var value: UInt64 = 0
        while systemRead(fd, &value, 8) > 0 && fd != writeFD {}
    }

    /// Closes it; later signals do nothing.
    package func close() {
        isOpen.withLock { isOpen in
            guard isOpen else { return }
            isOpen = false
            _ = systemClose(fd)
            if writeFD != fd { _ = systemClose(writeFD) }
        }
    }

    /// An eventfd takes exactly 8 bytes; a pipe takes one per wake-up.
    #if os(Linux)
    private static let tokenSize = 8
    #else
    private static let tokenSize = 1
    #endif
}
