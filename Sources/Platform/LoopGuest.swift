/// Work that runs on another loop's thread and shares its selector: the HTTP client inside the HTTP server's loop, so
/// a request, its upstream call and its response are handled on one thread, with no wake-up of another.
///
/// The host owns the thread and the selector; the guest registers its own descriptors there. Every method but
/// `attach`'s caller contract is for the host's thread only.
package protocol LoopGuest: AnyObject, Sendable {
    /// Once, on the host's thread, before the host's first wait: the guest registers its descriptors with `selector`
    /// from now on and treats the calling thread as its own.
    func attach(to selector: any EventSelector)
    /// An event for a descriptor the host does not own.
    func handle(_ event: SelectorEvent)
    /// After each batch of events: the guest's queued work and due timers. Returns how long the host may wait
    /// before the next turn, in milliseconds (-1: until an event).
    func turn() -> Int32
    /// Work queued from the host's own thread, which wakes nobody: the host turns before it next waits.
    var hasQueuedWork: Bool { get }
    /// The host loop is ending: the guest's work ends (calls in flight fail as cancelled) and its descriptors leave the
    /// selector. Later work is refused at once.
    func detach()
}
