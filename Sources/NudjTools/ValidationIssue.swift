/// One way an argument failed its schema: where (`details.title`, `tags[2]`) and why.
package struct ValidationIssue: Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var message: String
    /// The tool that lists the ids this field takes (the schema's `x-idSource`), when it is an id field.
    package var idSource: String? = nil

    /// The argument's name without array indices (`tags[0]` → `tags`).
    package var fieldName: String {
        var field = ""
        var depth = 0
        for character in path {
            if character == "[" {
                depth += 1
            } else if character == "]" {
                depth -= 1
            } else if depth == 0 {
                field.append(character)
            }
        }
        return field
    }

    package var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
