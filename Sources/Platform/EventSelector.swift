#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a registered descriptor should be woken for.
package struct SelectorInterest: OptionSet, Sendable {
    package let rawValue: UInt8
    package init(rawValue: UInt8) { self.rawValue = rawValue }

    package static let read = SelectorInterest(rawValue: 1)
    package static let write = SelectorInterest(rawValue: 2)
    /// The peer shut its write side, reported even while `read` is off (Linux; elsewhere seen at the next read).
    package static let peerHangup = SelectorInterest(rawValue: 4)
}

/// One readiness report.
package struct SelectorEvent: Sendable {
    package var fd: Int32
    package var readable: Bool
    package var writable: Bool
    /// The peer shut its write side (EPOLLRDHUP / POLLRDHUP).
    package var peerHangup: Bool
    /// The connection is gone (HUP) or failed (ERR).
    package var failed: Bool

    package init(
        fd: Int32 = -1, readable: Bool = false, writable: Bool = false, peerHangup: Bool = false, failed: Bool = false
    ) {
        self.fd = fd
        self.readable = readable
        self.writable = writable
        self.peerHangup = peerHangup
        self.failed = failed
    }
}

/// Level-triggered readiness for many descriptors, used by one thread. Two backends: epoll (Linux) and poll(2)
/// (everywhere); see `EventBackend`.
package protocol EventSelector: AnyObject {
    func add(_ fd: Int32, _ interest: SelectorInterest)
    func modify(_ fd: Int32, _ interest: SelectorInterest)
    func remove(_ fd: Int32)
    /// Waits up to `timeoutMilliseconds` (0: do not wait) and fills `events`; returns how many it filled.
    /// A signal interrupting the wait is not a failure: it returns 0.
    func wait(timeoutMilliseconds: Int32, into events: inout [SelectorEvent]) throws(SystemError) -> Int
    func close()
}

/// Which readiness mechanism the HTTP server's loop uses. epoll is the Linux default; poll(2) is the default
/// elsewhere (macOS) and can be chosen on Linux with `NUDJ_EVENT_BACKEND=poll`, which is how the test command runs
/// the HTTP suites against the code a Mac runs.
package enum EventBackend: String, Sendable, CaseIterable {
    case epoll
    case poll

    /// The environment variable that overrides the platform default.
    package static let environmentVariable = "NUDJ_EVENT_BACKEND"

    #if os(Linux)
    package static let platformDefault = EventBackend.epoll
    #else
    package static let platformDefault = EventBackend.poll
    #endif

    /// The backend `NUDJ_EVENT_BACKEND` asks for, or the platform default when it is unset or empty.
    package static func fromEnvironment() throws(UnknownName) -> EventBackend {
        guard let name = ProcessEnvironment.value(environmentVariable), !name.isEmpty else { return platformDefault }
        guard let backend = EventBackend(rawValue: name.lowercased()), backend.isAvailable else {
            throw UnknownName(name: name)
        }
        return backend
    }

    /// `NUDJ_EVENT_BACKEND` names no backend this platform has.
    package struct UnknownName: Error, CustomStringConvertible {
        package var name: String
        package var description: String {
            let choices = EventBackend.allCases.filter(\.isAvailable).map(\.rawValue).joined(separator: " or ")
            return "\(EventBackend.environmentVariable) must be \(choices) on this platform (got '\(name)')"
        }
    }

    package var isAvailable: Bool {
        #if os(Linux)
        true
        #else
        self == .poll
        #endif
    }

    package func makeSelector() throws(SystemError) -> any EventSelector {
        switch self {
        case .poll:
            return PollSelector()
        case .epoll:
            #if os(Linux)
            return try EpollSelector()
            #else
            throw SystemError(call: "epoll (Linux only)", code: ENOSYS)
            #endif
        }
    }
}
