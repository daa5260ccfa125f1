/// A credential value that cannot leak through printing, string interpolation, reflection or logging.
///
/// The only way to read it is `reveal()`, called only where the raw value is the point: the upstream request headers,
/// the credential's fingerprint and claims, and scrubbing it out of upstream error text.
package struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    package init(_ value: String) { self.value = value }

    package func reveal() -> String { value }

    package var isEmpty: Bool { value.isEmpty }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
    package var customMirror: Mirror { Mirror(self, children: [:]) }
}
