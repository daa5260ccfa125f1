#if os(Linux)
import CSystem
import Glibc

/// The Linux backend: the kernel keeps the interest set, so a wait costs O(ready), not O(registered).
final class EpollSelector: EventSelector {
    private let epollFD: Int32
    private var buffer = [epoll_event](repeating: epoll_event(), count: 512)

    init() throws(SystemError) {
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { throw .last("epoll_create1") }
    }

    func add(_ fd: Int32, _ interest: SelectorInterest) { control(EPOLL_CTL_ADD, fd, interest) }

    func modify(_ fd: Int32, _ interest: SelectorInterest) { control(EPOLL_CTL_MOD, fd, interest) }

    func remove(_ fd: Int32) { epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, nil) }

    func wait(timeoutMilliseconds: Int32, into events: inout [SelectorEvent]) throws(SystemError) -> Int {
        let capacity = Int32(min(buffer.count, events.count))
        let count = epoll_wait(epollFD, &buffer, capacity, timeoutMilliseconds)
        if count < 0 {
            if errno == EINTR { return 0 }
            throw .last("epoll_wait")
        }
        for index in 0..<Int(count) {
            let event = buffer[index]
            let flags = event.events
            events[index] = SelectorEvent(
                fd: Int32(truncatingIfNeeded: event.data.u64),
                readable: flags & EPOLLIN.rawValue != 0,
                writable: flags & EPOLLOUT.rawValue != 0,
                peerHangup: flags & EPOLLRDHUP.rawValue != 0,
                failed: flags & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0
            )
        }
        return Int(count)
    }

    func close() { _ = systemClose(epollFD) }

    private func control(_ operation: Int32, _ fd: Int32, _ interest: SelectorInterest) {
        var event = epoll_event()
        if interest.contains(.read) { event.events |= EPOLLIN.rawValue }
        if interest.contains(.write) { event.events |= EPOLLOUT.rawValue }
        if interest.contains(.peerHangup) { event.events |= EPOLLRDHUP.rawValue }
        event.data.u64 = UInt64(UInt32(bitPattern: fd))
        epoll_ctl(epollFD, operation, fd, &event)
    }
}
#endif
