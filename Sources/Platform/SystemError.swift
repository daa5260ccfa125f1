#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed system call: which call, and the errno it left.
package struct SystemError: Error, Sendable, CustomStringConvertible {
    package var call: String
    package var code: Int32

    package init(call: String, code: Int32) {
        self.call = call
        self.code = code
    }

    /// The failure of `call`, with the errno the last system call left on this thread.
    package static func last(_ call: String) -> SystemError { SystemError(call: call, code: errno) }

    package var description: String { "\(call) failed: \(describeErrno(code))" }
}

/// The errno the last system call left on this thread.
package var lastErrno: Int32 { errno }

/// `strerror` as a Swift string.
package func describeErrno(_ code: Int32) -> String {
    guard let message = strerror(code) else { return "errno \(code)" }
    return String(cString: message)
}
