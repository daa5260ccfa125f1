import Platform
import Synchronization
import TLS

/// The client's TLS context: built before the client starts, or still loading in the background.
enum TrustStore {
    /// Built (nil if OpenSSL could not set up).
    case ready(TLSContext?)
    case loading(BackgroundTrustStore)
}

/// The system trust store, loaded on a thread of its own that runs only when a CPU is idle.
///
/// Decoding the system's CA bundle is most of a stdio start's CPU (~80% of its instructions). On a 2-core machine it
/// competed with the start itself (the catalogue, the reply to `initialize`); in the idle class it uses only spare
/// CPU, and is normally done long before the first call needs it.
final class BackgroundTrustStore: Sendable {
    private let loaded = Mutex<TLSContext?>(nil)

    init() {
        OSThread.start { [self] in
            OSThread.runOnlyWhenIdle()
            let context = try? TLSContext(caFile: nil)
            loaded.withLock { $0 = context }
        }
    }

    /// The loaded context; if it is not there yet, one built now on the caller's thread (a starved low-priority
    /// thread must not hold up a call).
    func take() -> TLSContext? {
        loaded.withLock { $0 } ?? (try? TLSContext(caFile: nil))
    }
}
