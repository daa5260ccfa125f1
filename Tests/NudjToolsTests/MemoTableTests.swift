import Testing

@testable import NudjTools

@Suite("Memo tables")
struct MemoTableTests {
    @Test("an entry is made once, made again after its lifetime, and expired entries are swept when a new one is made")
    func lifetimeAndSweep() async throws {
        let table = MemoTable<String, Int>(capacity: 100, lifetime: .milliseconds(200))
        var made = 0
        #expect(
            table.value(for: "a") {
                made += 1
                return 1
            } == 1)
        #expect(
            table.value(for: "a") {
                made += 1
                return 2
            } == 1)
        #expect(
            table.value(for: "b") {
                made += 1
                return 3
            } == 3)
        #expect(made == 2 && table.count == 2)
        try await Task.sleep(for: .milliseconds(300))
        // Both expired: "a" is made again, and making it sweeps "b" (a lifetime has passed since the last sweep).
        #expect(
            table.value(for: "a") {
                made += 1
                return 4
            } == 4)
        #expect(made == 3)
        #expect(table.count == 1)
    }

    @Test("a full table is emptied before a new entry goes in, so it never holds more than its capacity")
    func bounded() {
        let table = MemoTable<Int, Int>(capacity: 3)
        for key in 0..<10 { _ = table.value(for: key) { key } }
        #expect(table.count <= 3)
        #expect(table.value(for: 9) { -1 } == 9)
    }
}
