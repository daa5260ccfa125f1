/// A credential value that cannot leak through printing, string interpolation, reflection or logging.
///
/// The only way to read it is `reveal()`, called in exactly one place: building the upstream request headers.
package struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let value: String

    package init(_ value: String) { self.value = value }

    package func reveal() -> String { value }

    package var isEmpty: Bool { value.isEmpty }

    package var description: String { "<redacted>" }
    package var debugDescription: String { "<redacted>" }
    package var customMirror: Mirror { Mirror(self, children: [:]) }
}
