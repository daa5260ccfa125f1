import Dispatch
import Platform
import Synchronization
import TLS

/// The client's TLS context: built before the client starts, or still loading in the background.
enum TrustStore {
    /// Built (nil if OpenSSL could not set up).
    case ready(TLSContext?)
    case loading(BackgroundTrustStore)
}

/// The system trust store, loaded on a thread of its own once the start is over.
///
/// Setting up OpenSSL costs ~11 M instructions, and decoding a whole CA bundle (where the system has no hashed
/// certificate directory, see `TLSContext`) ~230 M more, several times a stdio start's own work; on a 2-core machine
/// it competed with the start itself (the catalogue, the reply to `initialize`). Waiting `delay` first keeps it off the
/// start; the first call normally comes long after. (Running it at idle priority instead was a priority inversion: the
/// starved thread could hold a malloc arena's lock that every other thread then waited on.)
final class BackgroundTrustStore: Sendable {
    private enum State {
        case waiting
        case loading
        case loaded(TLSContext?)
        /// The loop needed it before the load began and built its own.
        case taken
    }

    private let state = Mutex(State.waiting)
    private let loaded = DispatchSemaphore(value: 0)

    /// - Parameter delay: when the load begins on its own thread; nil: never, the first TLS connection builds it.
    init(after delay: Duration?) {
        guard let delay else { return }
        OSThread.start { [self] in
            OSThread.sleep(for: delay)
            let starts = state.withLock { state -> Bool in
                guard case .waiting = state else { return false }
                state = .loading
                return true
            }
            guard starts else { return }
            let context = try? TLSContext(caFile: nil)
            state.withLock { $0 = .loaded(context) }
            loaded.signal()
        }
    }

    /// The context: the background one (waiting for it if it is being built), or, if its load has not begun, one
    /// built now on the caller's thread. Called once.
    func take() -> TLSContext? {
        enum Next {
            case build, wait
            case have(TLSContext?)
        }
        let next = state.withLock { state -> Next in
            switch state {
            case .waiting, .taken:
                state = .taken
                return .build
            case .loading: return .wait
            case .loaded(let context): return .have(context)
            }
        }
        switch next {
        case .build: return try? TLSContext(caFile: nil)
        case .have(let context): return context
        case .wait:
            loaded.wait()
            loaded.signal()  // for any other taker waiting too
            return state.withLock { state in
                if case .loaded(let context) = state { return context }
                return nil
            }
        }
    }
}
