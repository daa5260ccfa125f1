import Platform

/// Moving bytes between sockets and connection state machines.
extension EventLoop {
    func handle(_ event: SelectorEvent, on connection: Connection) {
        if event.failed {
            close(connection, clientGone: true)
            return
        }
        if connection.handshakeDeadline != 0 {
            continueHandshake(connection)
            return
        }
        // A TLS call that waited for the other direction is retried on any readiness (never set on plain HTTP).
        let retryTLS = !connection.tlsWants.isEmpty
        if event.writable || (retryTLS && connection.outputPending) {
            guard flush(connection) else { return }
        }
        if event.readable || event.peerHangup || retryTLS {
            readAvailable(connection)
        }
    }

    func readAvailable(_ connection: Connection) {
        if connection.machine.isLingering {
            discardInput(connection)
            return
        }
        reading: while true {
            switch readBuffer.withUnsafeMutableBytes({ connection.receive(into: $0) }) {
            case .done(let count):
                let keepReading = readBuffer.withUnsafeBytes {
                    connection.machine.receive(
                        UnsafeRawBufferPointer(rebasing: $0[0..<count]), now: monotonicNanoseconds())
                }
                // Past the read-ahead limit, reading waits until the current request has consumed the buffer. A
                // TLS read returns one record at a time: a short one does not mean the socket is drained.
                if !keepReading || (count < readBuffer.count && connection.tls == nil) { break reading }
            case .wouldBlock:
                break reading
            case .closed:
                // Peer closed (or the socket failed). A client that disconnects mid-request or mid-stream has gone.
                close(connection, clientGone: true)
                return
            }
        }
        processInput(connection)
        if connection.isOpen { updateInterest(connection) }
    }

    /// Acts on everything the buffered bytes complete: pipelined requests are dispatched one at a time (each waits
    /// for the previous response, as HTTP/1.1 requires).
    func processInput(_ connection: Connection) {
        while connection.isOpen {
            switch connection.machine.nextAction(now: monotonicNanoseconds(), draining: isDraining) {
            case .none:
                return
            case .send(let bytes):
                write(bytes, to: connection)
            case .dispatch(let head, let body):
                dispatch(head, body: body, on: connection)
            case .reject(let error, let response):
                refuseRequest(on: connection, error, response: response)
                return
            }
        }
    }

    private func dispatch(_ head: HTTPRequestHead, body: [UInt8], on connection: Connection) {
        var request = HTTPRequest(
            method: head.method,
            target: head.target,
            headers: head.headers,
            body: body,
            version: head.version,
            remoteAddress: connection.remote
        )
        request.executor = self
        let started = monotonicNanoseconds()
        let method = head.method
        let path = request.path
        let accessLog = accessLog
        let responder = HTTPResponder(
            ref: ConnectionRef(fd: connection.fd, generation: connection.generation),
            sink: self,
            request: head
        ) { status, fields in
            accessLog(method, path, status, monotonicNanoseconds() &- started, fields)
        }
        connection.responder = responder
        updateInterest(connection)
        if !startHandler(request, responder) {
            responder.respond(configuration.errorBody(503, "server is shutting down"))
        }
    }

    /// Sends the server's own refusal of a request (already encoded by the state machine), then closes.
    func refuseRequest(on connection: Connection, _ error: HTTPParseError, response: [UInt8]) {
        logger.info(
            "request refused",
            [("status", String(error.status)), ("reason", error.message), ("remote", connection.remote)])
        write(response, to: connection)
        accessLog("-", "-", error.status, 0, [("reason", error.message)])
    }

    // MARK: - Writing

    func write(_ bytes: [UInt8], to connection: Connection) {
        guard connection.isOpen else { return }
        connection.output.append(contentsOf: bytes)
        if flush(connection) { updateInterest(connection) }
    }

    /// Writes pending output, then does what the state machine wants once it is out; returns `false` if the
    /// connection was closed in the process.
    @discardableResult
    func flush(_ connection: Connection) -> Bool {
        while connection.outputPending {
            let result = connection.output.withUnsafeBytes {
                connection.send(UnsafeRawBufferPointer(rebasing: $0[connection.outputOffset...]))
            }
            switch result {
            case .done(let written):
                connection.outputOffset += written
                connection.lastWriteProgress = monotonicNanoseconds()
            case .wouldBlock:
                updateInterest(connection)
                return true
            case .closed:
                close(connection, clientGone: true)
                return false
            }
        }
        connection.output.removeAll(keepingCapacity: connection.output.capacity <= 64 * 1024)
        connection.outputOffset = 0
        switch connection.machine.outputDrained(now: monotonicNanoseconds()) {
        case .nothing:
            return true
        case .reused:
            connection.responder = nil
            processInput(connection)
            if connection.isOpen { updateInterest(connection) }
            return connection.isOpen
        case .linger:
            linger(connection)
            return false
        }
    }

    func updateInterest(_ connection: Connection) {
        let interest = connection.wantedInterest
        guard interest != connection.interest else { return }
        connection.interest = interest
        selector.modify(connection.fd, interest)
    }

    // MARK: - Closing

    func close(_ connection: Connection, clientGone: Bool) {
        guard connection.isOpen else { return }
        connection.isOpen = false
        selector.remove(connection.fd)
        if let tls = connection.tls {
            // close_notify tells the client nothing was cut off; an aborted response or a vanished client gets
            // none, so a cut stays detectable as one.
            if !clientGone { tls.close() }
            tls.free()
            connection.tls = nil
        }
        Socket.close(connection.fd)
        if connections.indices.contains(Int(connection.fd)), connections[Int(connection.fd)] === connection {
            connections[Int(connection.fd)] = nil
        }
        group.openConnections.subtract(1, ordering: .relaxed)
        if listenerPaused { resumeListening() }
        if clientGone, connection.machine.hasHandler { connection.responder?.clientDisconnected() }
        connection.responder = nil
        connection.machine.closed()
    }

    /// Closes after a response without destroying it: closing a socket with unread input (a body the server
    /// refused, pipelined requests) sends a reset that can overtake the response in flight. So the write side is
    /// shut (the client sees the end of the response), what the client still sends is read and dropped, and the
    /// socket closes at the client's EOF — or after the linger timeout / byte budget, whichever comes first.
    private func linger(_ connection: Connection) {
        // TLS: the close_notify first, so the client knows the response is complete; what follows is read raw.
        connection.tls?.close()
        guard Socket.shutdownWrite(connection.fd) else {
            close(connection, clientGone: false)
            return
        }
        connection.machine.startLingering(now: monotonicNanoseconds())
        updateInterest(connection)
        discardInput(connection)
    }

    private func discardInput(_ connection: Connection) {
        while true {
            switch readBuffer.withUnsafeMutableBytes({ Socket.receive(connection.fd, into: $0) }) {
            case .done(let count):
                if connection.machine.discarded(count) { continue }
            case .wouldBlock:
                return
            case .closed:
                break  // EOF or error: the client has what it will read
            }
            close(connection, clientGone: false)
            return
        }
    }
}
