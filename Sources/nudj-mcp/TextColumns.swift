extension String {
    /// Left-aligned in a column `width` characters wide: spaces are added, nothing is cut (a long tool name stays
    /// whole and pushes its row out instead).
    func padded(to width: Int) -> String {
        let missing = width - count
        return missing > 0 ? self + String(repeating: " ", count: missing) : self
    }
}
