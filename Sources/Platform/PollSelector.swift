#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The portable backend (macOS, and Linux with `NUDJ_EVENT_BACKEND=poll`): poll(2) over an array of `pollfd` that
/// is kept, not rebuilt: adding appends, removing swaps the last entry into the hole, changing interest edits one
/// entry. Each wait costs O(registered) in the kernel and in the scan for ready entries.
final class PollSelector: EventSelector {
    private var descriptors: [pollfd] = []
    /// fd → index in `descriptors`, or -1.
    private var slots: [Int32] = []
    /// Where the next scan starts when the last one filled the caller's buffer, so no descriptor starves.
    private var scanStart = 0

    init() {}

    func add(_ fd: Int32, _ interest: SelectorInterest) {
        let index = Int(fd)
        if slots.count <= index { slots.append(contentsOf: repeatElement(-1, count: index + 1 - slots.count)) }
        if slots[index] >= 0 {
            modify(fd, interest)
            return
        }
        slots[index] = Int32(descriptors.count)
        descriptors.append(pollfd(fd: fd, events: Self.mask(interest), revents: 0))
    }

    func modify(_ fd: Int32, _ interest: SelectorInterest) {
        guard Int(fd) < slots.count, slots[Int(fd)] >= 0 else { return }
        descriptors[Int(slots[Int(fd)])].events = Self.mask(interest)
    }

    func remove(_ fd: Int32) {
        guard Int(fd) < slots.count, slots[Int(fd)] >= 0 else { return }
        let index = Int(slots[Int(fd)])
        slots[Int(fd)] = -1
        let last = descriptors.removeLast()
        if index < descriptors.count {
            descriptors[index] = last
            slots[Int(last.fd)] = Int32(index)
        }
    }

    func wait(timeoutMilliseconds: Int32, into events: inout [SelectorEvent]) throws(SystemError) -> Int {
        let ready = descriptors.withUnsafeMutableBufferPointer { buffer -> Int32 in
            guard let base = buffer.baseAddress else {
                // Nothing registered: poll(NULL, 0, timeout) still sleeps for the timeout.
                var none = pollfd()
                return systemPoll(&none, 0, timeoutMilliseconds)
            }
            return systemPoll(base, buffer.count, timeoutMilliseconds)
        }
        if ready < 0 {
            if errno == EINTR { return 0 }
            throw .last("poll")
        }
        guard ready > 0, !descriptors.isEmpty else { return 0 }
        var filled = 0
        var remaining = Int(ready)
        let count = descriptors.count
        let start = scanStart < count ? scanStart : 0
        var offset = 0
        while offset < count && remaining > 0 && filled < events.count {
            let index = (start + offset) % count
            offset += 1
            let entry = descriptors[index]
            guard entry.revents != 0 else { continue }
            remaining -= 1
            let flags = Int32(entry.revents)
            events[filled] = SelectorEvent(
                fd: entry.fd,
                readable: flags & Int32(POLLIN) != 0,
                writable: flags & Int32(POLLOUT) != 0,
                peerHangup: flags & Self.readHangup != 0,
                failed: flags & (Int32(POLLERR) | Int32(POLLHUP) | Int32(POLLNVAL)) != 0
            )
            filled += 1
        }
        scanStart = filled == events.count ? (start + offset) % count : 0
        return filled
    }

    func close() {
        descriptors = []
        slots = []
    }

    private static func mask(_ interest: SelectorInterest) -> Int16 {
        var mask: Int32 = 0
        if interest.contains(.read) { mask |= Int32(POLLIN) }
        if interest.contains(.write) { mask |= Int32(POLLOUT) }
        if interest.contains(.peerHangup) { mask |= readHangup }
        return Int16(truncatingIfNeeded: mask)
    }

    #if os(Linux)
    /// POLLRDHUP (Linux, `_GNU_SOURCE`, so not exported by Glibc): a half-close is seen even with reading paused.
    private static let readHangup: Int32 = 0x2000
    #else
    /// macOS has no POLLRDHUP: a half-close shows up as readable (end of stream) once reading resumes.
    private static let readHangup: Int32 = 0
    #endif
}
