import Dispatch
import Platform
import Synchronization

/// A one-shot event that can be awaited: "stop now" (SIGTERM/SIGINT, end of input, a test), observed by transports.
package final class ShutdownSignal: Sendable {
    private struct State {
        var fired = false
        var handlers: [@Sendable () -> Void] = []
    }

    private let state = Mutex(State())
    private let sources = Mutex<SignalSources?>(nil)

    package init() {}

    package var hasFired: Bool { state.withLock { $0.fired } }

    /// Runs `handler` once when the signal fires (at once if it already has).
    package func onSignal(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.fired { return true }
            state.handlers.append(handler)
            return false
        }
        if runNow { handler() }
    }

    package func fire() {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.fired else { return [] }
            state.fired = true
            defer { state.handlers.removeAll() }
            return state.handlers
        }
        for handler in handlers { handler() }
    }

    /// Suspends until the signal fires.
    package func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            onSignal { continuation.resume() }
        }
    }

    /// Routes SIGTERM and SIGINT to this signal and ignores SIGPIPE (a closed peer is handled where it is written).
    package func installProcessHandlers() {
        ProcessSignals.ignoreBrokenPipe()
        var installed: [any DispatchSourceSignal] = []
        for number in ProcessSignals.termination {
            ProcessSignals.ignore(number)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { [weak self] in self?.fire() }
            source.resume()
            installed.append(source)
        }
        let box = SignalSources(installed)
        sources.withLock { $0 = box }
    }
}

/// Keeps the dispatch signal sources alive; immutable once built, so sharing it across threads is safe.
private final class SignalSources: @unchecked Sendable {
    let sources: [any DispatchSourceSignal]
    init(_ sources: [any DispatchSourceSignal]) { self.sources = sources }
}
