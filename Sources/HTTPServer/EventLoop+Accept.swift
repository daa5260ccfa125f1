import Platform
import TLS

/// Accepting connections, within the connection cap and the process's descriptors.
extension EventLoop {
    func acceptConnections() {
        for _ in 0..<256 {
            guard listenFD >= 0, !listenerPaused else { return }
            switch Socket.accept(listenFD) {
            case .accepted(let fd, let remote):
                if connectionCount >= configuration.maxConnections {
                    refuseConnection(fd, reason: "server is at its connection limit; retry shortly")
                    logger.warning(
                        "connection refused: limit reached", [("limit", String(configuration.maxConnections))])
                    continue
                }
                group.openConnections.add(1, ordering: .relaxed)
                if let target = group.nextLoop(), target !== self {
                    if !target.adoptFromGroup(fd, remote: remote) { dropAdopted(fd) }
                } else {
                    adopt(fd, remote: remote)
                }
            case .nonePending:
                return
            case .outOfDescriptors:
                // The level-triggered listener stays readable while a connection waits, so the waiting client must
                // be taken off the queue: the reserve descriptor lets the loop accept it, answer 503 and close.
                // Without a reserve the listener leaves the selector until a descriptor is freed. Either way, no
                // spin.
                guard reserveFD >= 0 else {
                    pauseListening()
                    return
                }
                Socket.close(reserveFD)
                let result = Socket.accept(listenFD)
                if case .accepted(let fd, _) = result {
                    refuseConnection(fd, reason: "server is out of file descriptors; retry shortly")
                }
                reserveFD = Socket.openReserve()
                warnOutOfDescriptors()
                guard reserveFD >= 0, case .accepted = result else {
                    if case .nonePending = result { return }
                    pauseListening()
                    return
                }
            case .transientFailure:
                continue
            case .failed:
                return
            }
        }
    }

    /// Serves an accepted connection (counted in the group's total when it was accepted).
    func adopt(_ fd: Int32, remote: String) {
        generation &+= 1
        let connection = Connection(
            fd: fd, generation: generation, remote: remote, rules: rules, now: monotonicNanoseconds())
        while connections.count <= Int(fd) { connections.append(nil) }
        connections[Int(fd)] = connection
        if let context = configuration.tls {
            guard let session = TLSSession(accepting: fd, context: context) else {
                close(connection, clientGone: false)
                return
            }
            connection.tls = session
            connection.handshakeDeadline = monotonicNanoseconds() &+ configuration.tlsHandshakeTimeout.nanoseconds
            connection.tlsWants = .read
        }
        connection.interest = connection.wantedInterest
        selector.add(fd, connection.interest)
    }

    /// Answers a connection the server will not serve with 503 and closes it. Whatever the client already sent is
    /// read first, so the close does not turn into a reset that destroys the answer in flight.
    private func refuseConnection(_ fd: Int32, reason: String) {
        // A TLS client would read plain bytes as a broken handshake: it just sees the connection close.
        guard configuration.tls == nil else {
            Socket.close(fd)
            return
        }
        var response = configuration.errorBody(503, reason)
        response.headers.set("Retry-After", "1")
        let bytes = HTTPResponseEncoder.encode(response, keepAlive: false)
        _ = bytes.withUnsafeBytes { Socket.send(fd, $0) }
        _ = Socket.shutdownWrite(fd)
        _ = readBuffer.withUnsafeMutableBytes { Socket.receive(fd, into: $0) }
        Socket.close(fd)
    }

    /// A connection handed to this loop that it will not serve (it stopped): closed, and no longer counted.
    func dropAdopted(_ fd: Int32) {
        Socket.close(fd)
        group.openConnections.subtract(1, ordering: .relaxed)
    }

    func stopListening() {
        guard listenFD >= 0 else { return }
        if !listenerPaused { selector.remove(listenFD) }
        Socket.close(listenFD)
        listenFD = -1
    }

    /// Out of descriptors and no reserve to shed with: a level-triggered listener with a pending connection would
    /// wake the selector forever, so it leaves the selector until a descriptor may be free again (a connection
    /// closed, or the next sweep).
    private func pauseListening() {
        guard listenFD >= 0, !listenerPaused else { return }
        selector.remove(listenFD)
        listenerPaused = true
        warnOutOfDescriptors()
    }

    /// At most one warning per 10 s: exhaustion comes in floods.
    private func warnOutOfDescriptors() {
        let now = monotonicNanoseconds()
        guard lastExhaustionWarning == 0 || now &- lastExhaustionWarning > 10_000_000_000 else { return }
        lastExhaustionWarning = now
        logger.warning(
            "out of file descriptors: new connections get 503 until connections close",
            [("connections", String(connectionCount)), ("paused", String(listenerPaused))])
    }

    func resumeListening() {
        guard listenFD >= 0 else { return }
        if reserveFD < 0 { reserveFD = Socket.openReserve() }
        guard listenerPaused else { return }
        listenerPaused = false
        selector.add(listenFD, .read)
    }
}
