import JSONRPC
import Synchronization

/// The resources the sandbox stores, one collection each per organisation.
enum Resource: String, Sendable, CaseIterable {
    case communities, challenges, challengeGroups, actions, achievements, rewards, leaderboards, users, posts
    case tags, campaigns, webhookConfigs, webhookLogs, domains, apiTokens, rewardAssets, rewardEntries
    case participations, customEvents, pointsTransactions, variables
    case challengeTemplates, actionTemplates, achievementTemplates, rewardTemplates, postTemplates

    /// The singular noun for messages ("No challenge with id …").
    var noun: String {
        switch self {
        case .communities: "community"
        case .challenges: "challenge"
        case .challengeGroups: "challenge group"
        case .actions: "action"
        case .achievements: "achievement"
        case .rewards: "reward"
        case .leaderboards: "leaderboard config"
        case .users: "user"
        case .posts: "post"
        case .tags: "tag"
        case .campaigns: "campaign"
        case .webhookConfigs: "webhook config"
        case .webhookLogs: "webhook log"
        case .domains: "domain"
        case .apiTokens: "API token"
        case .rewardAssets: "reward asset"
        case .rewardEntries: "reward entry"
        case .participations: "action participation"
        case .customEvents: "custom event"
        case .pointsTransactions: "points transaction"
        case .variables: "variable config"
        case .challengeTemplates: "challenge template"
        case .actionTemplates: "action template"
        case .achievementTemplates: "achievement template"
        case .rewardTemplates: "reward template"
        case .postTemplates: "post template"
        }
    }
}

/// One organisation's data: ordered collections of entities plus singletons (theme, distributions).
struct OrganisationData: Sendable {
    var collections: [Resource: [JSONObject]] = [:]
    /// Settings that exist once per organisation or per entity: theme, distributions keyed by owner id.
    var singletons: [String: JSONValue] = [:]

    func all(_ resource: Resource) -> [JSONObject] { collections[resource] ?? [] }

    func find(_ resource: Resource, id: String) -> JSONObject? {
        collections[resource]?.first { $0["id"]?.stringValue == id }
    }

    mutating func insert(_ resource: Resource, _ entity: JSONObject) {
        collections[resource, default: []].insert(entity, at: 0)  // newest first, as the admin lists show
    }

    /// Replaces an entity; returns `false` if the id does not exist.
    mutating func replace(_ resource: Resource, _ entity: JSONObject) -> Bool {
        guard let id = entity["id"]?.stringValue,
            let index = collections[resource]?.firstIndex(where: { $0["id"]?.stringValue == id })
        else { return false }
        collections[resource]![index] = entity
        return true
    }
}

/// Every organisation's data behind one lock per organisation, so tenants never contend with each other.
final class SandboxStore: Sendable {
    private final class Box: Sendable {
        let data: Mutex<OrganisationData>
        init(_ data: OrganisationData) { self.data = Mutex(data) }
    }

    private let organisations: [String: Box]
    private let idCounter = Mutex<UInt64>(0)
    private let idPrefix: String

    init(seed: [String: OrganisationData]) {
        organisations = seed.mapValues { Box($0) }
        var generator = SystemRandomNumberGenerator()
        idPrefix = hex(UInt32.random(in: .min ... .max, using: &generator), width: 8)
    }

    var organisationNames: [String] { organisations.keys.sorted() }

    func read<T: Sendable>(
        _ organisation: String, _ body: (OrganisationData) throws(TRPCError) -> T
    ) throws(TRPCError) -> T {
        guard let box = organisations[organisation] else { throw .notFound("Organisation not found") }
        return try box.data.withLock { data throws(TRPCError) -> T in try body(data) }
    }

    func write<T: Sendable>(
        _ organisation: String, _ body: (inout OrganisationData) throws(TRPCError) -> T
    ) throws(TRPCError) -> T {
        guard let box = organisations[organisation] else { throw .notFound("Organisation not found") }
        return try box.data.withLock { data throws(TRPCError) -> T in try body(&data) }
    }

    /// A fresh 24-hex ObjectId, unique within this process.
    func newID() -> String {
        let counter = idCounter.withLock { value -> UInt64 in
            value += 1
            return value
        }
        return idPrefix + hex(counter, width: 16)
    }
}

/// Lower-case hexadecimal, zero-padded to `width` digits (ids in the shape Nudj's 24-digit object ids have).
func hex(_ value: some BinaryInteger, width: Int) -> String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: max(0, width - digits.count)) + digits
}
