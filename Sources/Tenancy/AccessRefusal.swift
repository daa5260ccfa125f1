/// Why a request's credentials, organisation or selection headers were refused, before anything reaches upstream.
///
/// The one authorization result every layer passes on unchanged: the tool runtime produces it, the HTTP transports
/// render it (`kind` decides the status there, once).
package struct AccessRefusal: Error, Sendable, Equatable {
    package enum Kind: Sendable, Equatable {
        /// No usable credential, or no API domain (HTTP 401).
        case unauthenticated
        /// The API domain is not allowed, or contradicts the one the URL names (HTTP 403).
        case domainRefused
        /// A selection header has a bad value (HTTP 400).
        case badHeader
    }

    package var kind: Kind
    package var message: String

    package init(kind: Kind, message: String) {
        self.kind = kind
        self.message = message
    }
}
