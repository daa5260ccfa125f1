/// What a session's input reader wants after a turn at its descriptor.
package enum InputDemand: Sendable {
    /// Watch on: call again when there is more.
    case more
    /// Stop watching until `SessionLoop.resumeInput` (the client is slow to read replies).
    case pause
    /// The input ended (or the session did): never call again.
    case stop
}

/// One thread that can serve a whole stdio session: the jobs of tasks that prefer it, and the session's input pipe.
/// Reading requests on the thread where upstream responses arrive means a request reaches the upstream, and its reply
/// the client, without waking another thread (a wake-up across cores costs ~20 µs on a small VM).
package protocol SessionLoop: TaskExecutor {
    /// Any thread. From the loop's next turn, `onReadable` runs on the loop's thread whenever `fd` has input or has
    /// ended, until it answers `.stop`; it reads at most once per call, so it never blocks on a pipe or socket.
    /// `onEnd` runs instead if the loop ends first. Returns false, and calls neither, if the loop has already ended.
    /// Only for pipes and sockets, which every selector can watch.
    func watchInput(
        _ fd: Int32, onReadable: @escaping @Sendable () -> InputDemand, onEnd: @escaping @Sendable () -> Void
    ) -> Bool
    /// Any thread: input paused by `.pause` is watched again.
    func resumeInput()
}
