import Platform
import TLS

/// The TLS handshake of an accepted connection (HTTPS only): driven by readiness like every other byte, with its
/// own deadline, before the connection's HTTP state machine sees anything.
extension EventLoop {
    func continueHandshake(_ connection: Connection) {
        guard let session = connection.tls else { return }
        switch session.handshake() {
        case .done:
            connection.handshakeDeadline = 0
            connection.tlsWants = []
            updateInterest(connection)
            // The request may have arrived with the client's last handshake flight.
            readAvailable(connection)
        case .wantRead:
            connection.tlsWants = .read
            updateInterest(connection)
        case .wantWrite:
            connection.tlsWants = .write
            updateInterest(connection)
        case .closed:
            close(connection, clientGone: false)
        case .failed(let failure):
            logger.info(
                "TLS handshake failed", [("reason", failure.description), ("remote", connection.remote)])
            close(connection, clientGone: false)
        }
    }

    func handshakeTimedOut(_ connection: Connection) {
        logger.info("TLS handshake timed out", [("remote", connection.remote)])
        close(connection, clientGone: false)
    }
}
