import Foundation
import JSONRPC
import Testing

@testable import Sandbox

/// The seeded organisations tell one consistent story, spread over the 120 days before the seed's anchor.
@Suite("Seed data")
struct SeedTests {
    static let anchor: Int64 = 1_790_035_200  // a UTC midnight
    static func seeds() -> [Seed] {
        Seed.organisations.enumerated().map { Seed($0.element, index: $0.offset, anchor: anchor) }
    }

    static func date(_ value: JSONValue?) -> Date? { value?.stringValue.flatMap(Routes.parseDate) }
    static let now = Date(timeIntervalSince1970: Double(anchor))

    @Test("lifetime counts match the participations; drafts and scheduled challenges have none; live ones run now")
    func challengesAreConsistent() throws {
        for seed in Self.seeds() {
            let participations = seed.data.all(.participations)
            for challenge in seed.data.all(.challenges) {
                let id = challenge["id"]!
                let mine = participations.filter { $0["allocationId"] == id }
                let actions = Set(challenge["actionIds"]!.arrayValue!)
                var done: [JSONValue: Set<JSONValue>] = [:]
                for participation in mine {
                    done[participation["userId"]!, default: []].insert(participation["actionId"]!)
                }
                let started = Int64(done.count)
                let completed = Int64(done.values.filter { $0 == actions }.count)
                #expect(challenge["startedCount"]?.intValue == started)
                #expect(challenge["completedCount"]?.intValue == completed)
                #expect(completed <= started)
                let starts = try #require(Self.date(challenge["startsAt"]))
                let expires = try #require(Self.date(challenge["expiresAt"]))
                #expect(starts < expires)
                switch challenge["status"]?.stringValue {
                case "draft", "scheduled": #expect(mine.isEmpty && started == 0)
                case "live": #expect(starts <= Self.now && Self.now < expires)
                case "archived": #expect(expires <= Self.now)
                default: Issue.record("unexpected status \(challenge["status"] ?? .null)")
                }
                for participation in mine {
                    let at = try #require(Self.date(participation["createdAt"]))
                    #expect(at >= starts && at < expires && at < Self.now)
                }
            }
        }
    }

    @Test("participations and reward assets spread over the last 120 days, enough to need several pages")
    func timestampsSpread() throws {
        let acme = Self.seeds()[0].data
        let participations = acme.all(.participations)
        #expect(participations.count > 300)
        var buckets = [Int](repeating: 0, count: 4)
        for participation in participations {
            let age = Self.now.timeIntervalSince(try #require(Self.date(participation["createdAt"]))) / 86_400
            #expect(age > 0 && age <= 120)
            buckets[min(3, Int(age) / 30)] += 1
        }
        #expect(buckets.allSatisfy { $0 > 20 }, "\(buckets)")
        let dates = participations.compactMap { $0["createdAt"]?.stringValue }
        #expect(dates == dates.sorted(by: >), "newest first, as the API lists them")
        let assets = acme.all(.rewardAssets).compactMap { Self.date($0["claimedAt"]) }
        #expect(assets.count > 30 && assets.allSatisfy { $0 < Self.now })
        for reward in acme.all(.rewards) {
            let issued = acme.all(.rewardAssets).filter { $0["rewardId"] == reward["id"] }.count
            let allocation = try #require(reward["allocations"]?[0])
            #expect(allocation["distributed"]?.intValue == Int64(issued))
            #expect((allocation["distributed"]?.intValue ?? 0) <= (allocation["supply"]?.intValue ?? 0))
            if ["draft", "scheduled"].contains(reward["status"]?.stringValue) { #expect(issued == 0) }
        }
    }

    @Test("the seed is deterministic: same anchor, same data; another anchor shifts only the timestamps")
    func deterministic() throws {
        let first = Self.seeds()[0].data.all(.participations)
        let weekAgo = Self.now.addingTimeInterval(-7 * 86_400)
        // Exact figures: any change to the seed shows here first (and in the tests that count on it).
        #expect(first.count == 472)
        #expect(first.filter { Self.date($0["createdAt"])! >= weekAgo }.count == 34)
        #expect(Self.seeds()[0].data.all(.challenges).reduce(0) { $0 + ($1["completedCount"]?.intValue ?? 0) } == 138)
        #expect(Self.seeds()[1].data.all(.participations).count == 308)
        let second = Self.seeds()[0].data.all(.participations)
        #expect(first == second)
        let shifted = Seed(Seed.organisations[0], index: 0, anchor: Self.anchor + 86_400).data.all(.participations)
        #expect(shifted.count == first.count)
        #expect(
            zip(first, shifted).allSatisfy {
                Self.date($1["createdAt"])!.timeIntervalSince(Self.date($0["createdAt"])!) == 86_400
            })
    }

    @Test("members' completion counts agree with the participations; community 0 is the biggest")
    func membersAreConsistent() throws {
        for seed in Self.seeds() {
            let users = seed.data.all(.users)
            var members: [JSONValue: Int] = [:]
            for user in users { members[user["communityData"]![0]!["communityId"]!, default: 0] += 1 }
            let biggest = members.max { $0.value < $1.value }!.key
            #expect(members.values.filter { $0 == members[biggest] }.count == 1)
            let total = users.reduce(0) { $0 + ($1["communityData"]?[0]?["challengesCompleted"]?.intValue ?? 0) }
            let completions = seed.data.all(.challenges).reduce(0) { $0 + ($1["completedCount"]?.intValue ?? 0) }
            #expect(total == completions)
            #expect(!seed.data.all(.participations).contains { $0["userId"]?.stringValue == seed.memberId })
        }
    }
}
