import Foundation
import JSONRPC

/// Deterministic, realistic seed data: two organisations with communities, challenges, actions, achievements,
/// rewards, leaderboards, users, posts, tags, campaigns and settings, all with 24-hex ObjectIds.
struct Seed {
    struct OrganisationSpec {
        var subdomain: String
        var name: String
        var communities: [String]
        var theme: String
        var scale: Int
    }

    static let organisations = [
        OrganisationSpec(
            subdomain: "acme",
            name: "Acme Outdoor",
            communities: ["Acme Runners Club", "Acme Trail Crew", "Acme Insiders"],
            theme: "running",
            scale: 3
        ),
        OrganisationSpec(
            subdomain: "globex",
            name: "Globex Games",
            communities: ["Globex Arena", "Globex Creators"],
            theme: "gaming",
            scale: 2
        ),
    ]

    private var random: SplitMix64
    private let spec: OrganisationSpec
    let organisationId: String
    private(set) var data = OrganisationData()
    /// The member the organisation's tokens act as on the Integration API.
    private(set) var memberId = ""
    private var counter: UInt64 = 0

    init(_ spec: OrganisationSpec, index: Int) {
        self.spec = spec
        random = SplitMix64(seed: 0xA11CE + UInt64(index) * 7919)
        organisationId = String(format: "%02x", 0x60 + index) + "0000000000000000000000"
        build()
    }

    private mutating func id() -> String {
        counter += 1
        return String(
            format: "%02x%06x%016llx", 0x64, Int(organisationId.prefix(2), radix: 16)!,
            counter &* 0x9E37_79B9 & 0xFFFF_FFFF_FFFF)
    }

    private mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }

    private mutating func number(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(random.next() % UInt64(range.count))
    }

    private static func date(daysFromNow days: Int) -> String {
        Date(timeIntervalSince1970: 1_790_000_000 + Double(days) * 86_400).ISO8601Format()
    }

    private static let statuses = ["live", "live", "live", "draft", "scheduled", "archived"]

    private func details(_ title: String, _ description: String) -> JSONValue {
        [
            "title": .string(title), "description": .string(description),
            "light": [
                "primaryImageUrl": .string(
                    "https://cdn.nudj.cx/\(spec.subdomain)/\(title.lowercased().filter(\.isLetter)).png")
            ],
            "dark": [:],
        ]
    }

    private mutating func entity(_ fields: JSONObject) -> JSONObject {
        var entity: JSONObject = ["id": .string(id()), "organisationId": .string(organisationId)]
        for field in fields { entity[field.key] = field.value }
        let created = -number(30...400)
        entity["createdAt"] = .string(Self.date(daysFromNow: created))
        entity["updatedAt"] = .string(Self.date(daysFromNow: created + number(0...29)))
        return entity
    }

    private mutating func build() {
        let topics =
            spec.theme == "running"
            ? [
                "5K Sprint", "Hill Repeats", "Sunrise Run", "Trail Explorer", "Marathon Prep", "Recovery Week",
                "Track Night", "Parkrun Hero", "Stretch Streak", "Hydration Habit", "Gear Review", "Photo Finish",
            ]
            : [
                "Speedrun", "Boss Rush", "Daily Quest", "Clan Wars", "Creator Spotlight", "Patch Notes Quiz",
                "Retro Night", "Co-op Raid", "Skin Design", "Stream Watch", "Bug Hunt", "Tournament",
            ]

        let communityIds = spec.communities.map { name -> String in
            let slug = name.lowercased().split(separator: " ").joined(separator: "-")
            let community = entity([
                "name": .string(name), "slug": .string(slug), "description": .string("The \(name) community."),
                "communityType": .string(pick(["Brand", "Community", "Entertainment"])),
                "access": .string(pick(["open", "request"])),
                "status": "live", "verified": true, "featured": .bool(number(0...1) == 1),
                "usersWaiting": .int(Int64(number(0...12))),
                "links": ["website": .string("https://\(spec.subdomain).example.com")], "tags": [], "campaigns": [],
                "rules": ["text": "Be kind.", "agreements": []], "customTabs": [],
            ])
            data.insert(.communities, community)
            return community["id"]!.stringValue!
        }

        var tagIds: [String] = []
        for value in ["Beginner", "Weekly", "Science Fans", "VIP", "Summer", "Team"] {
            let tag = entity([
                "value": .string(value),
                "config": ["filtering": ["challenge", "reward"], "display": ["challenge"], "iconifyIcon": "mdi:tag"],
            ])
            data.insert(.tags, tag)
            tagIds.append(tag["id"]!.stringValue!)
        }
        var campaignIds: [String] = []
        for name in ["Spring Launch", "Summer Series", "Holiday Drive", "Loyalty Month"] {
            let campaign = entity([
                "name": .string(name), "startDate": .string(Self.date(daysFromNow: -number(10...60))),
                "endDate": .string(Self.date(daysFromNow: number(10...90))),
                "status": .string(pick(["live", "draft", "scheduled"])),
            ])
            data.insert(.campaigns, campaign)
            campaignIds.append(campaign["id"]!.stringValue!)
        }

        var userIds: [String] = []
        let firstNames = [
            "Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Luis", "Maya",
            "Noor", "Omar", "Priya",
        ]
        let lastNames = ["Stone", "Okafor", "Berg", "Ivanova", "Mendes", "Park", "Quinn", "Rossi"]
        for index in 0..<(16 * spec.scale + 12) {
            let first = firstNames[index % firstNames.count]
            let last = lastNames[(index / firstNames.count + index) % lastNames.count]
            let username = "\(first.lowercased())\(last.lowercased())\(index)"
            let points = number(0...5000)
            let user = entity([
                "username": .string(username), "displayName": .string("\(first) \(last)"),
                "email": .string("\(username)@\(spec.subdomain).example.com"),
                "emailVerified": true, "locale": .string(pick(["en", "en", "fr", "de"])), "points": .int(Int64(points)),
                "keys": .int(Int64(number(0...5))),
                "xp": [
                    "total": .int(Int64(points * 2)), "knowledge": .int(Int64(number(0...500))),
                    "creativity": .int(Int64(number(0...500))), "loyalty": .int(Int64(number(0...500))),
                    "influence": .int(Int64(number(0...500))), "participation": .int(Int64(number(0...500))),
                    "contribution": .int(Int64(number(0...500))),
                ],
                "communityData": [
                    [
                        "communityId": .string(pick(communityIds)),
                        "streak": [
                            "currentStreak": .int(Int64(number(0...20))), "longestStreak": .int(Int64(number(20...60))),
                        ], "challengesCompleted": .int(Int64(number(0...30))),
                        "achievementsCompleted": .int(Int64(number(0...10))), "points": .int(Int64(points)),
                        "hasAcceptedRules": true,
                    ]
                ],
                "roles": index == 0 ? [.string("orgId-\(organisationId):role-admin")] : [],
                "externalUserId": .string("ext-\(spec.subdomain)-\(index)"), "isAnonymous": false,
            ])
            data.insert(.users, user)
            userIds.append(user["id"]!.stringValue!)
        }
        memberId = userIds.first!  // the first created user (the oldest, last in the newest-first collection)

        var rewardIds: [String] = []
        let rewardNames =
            spec.theme == "running"
            ? [
                "Trail Socks", "Water Bottle", "Race Entry", "Running Cap", "Coach Session", "Gift Card £10",
                "Headlamp", "Finisher Medal", "Foam Roller",
            ]
            : [
                "Rare Skin", "XP Boost", "Beta Key", "Gift Card $10", "Emote Pack", "Tournament Pass", "Hoodie",
                "Mousepad", "Early Access",
            ]
        for index in 0..<(3 * spec.scale + 9) {
            let name = rewardNames[index % rewardNames.count] + (index >= rewardNames.count ? " II" : "")
            let allocationId = id()
            let reward = entity([
                "communityId": .string(pick(communityIds)),
                "details": details(name, "Redeem for a \(name.lowercased())."),
                "_translations": ["fr": ["title": .string("Récompense : \(name)")]],
                "assetPointsPrice": .int(Int64(number(1...50) * 100)),
                "entryPointsPrice": .int(Int64(number(1...10) * 10)),
                "assetsSupply": .int(Int64(number(10...500))), "entriesSupply": .int(Int64(number(0...1000))),
                "maxAssetsPerUser": 1, "maxEntriesPerUser": 10,
                "allocationsType": "assets-only", "isSharedAssetsSupply": false, "isSharedEntriesSupply": false,
                "allocations": [
                    [
                        "id": .string(allocationId), "allocationType": "assets",
                        "supply": .int(Int64(number(10...200))), "amountToDistribute": 1,
                        "distributed": .int(Int64(number(0...50))), "isShop": true, "isLive": true,
                    ]
                ],
                "redemptionConfig": [
                    "type": "rich-text", "content": "Show this code at the counter.", "autoRedeem": false,
                ],
                "featured": .bool(index % 4 == 0), "tags": .array([.string(pick(tagIds))]), "campaigns": [],
                "status": .string(pick(Self.statuses)),
                "isManualGiveaway": .bool(index % 5 == 0), "metadata": [:],
            ])
            data.insert(.rewards, reward)
            rewardIds.append(reward["id"]!.stringValue!)
        }

        var actionIds: [String] = []
        let keys = [
            "question-multiple-choice", "question-open-ended", "interaction-external-link", "engage-with-content",
            "image-upload", "question-vote",
        ]
        for index in 0..<(12 * spec.scale) {
            let key = keys[index % keys.count]
            let action = entity([
                "communityId": .string(pick(communityIds)), "category": "nudj", "key": .string(key),
                "position": .int(Int64(index % 4)),
                "details": details(
                    "Step \(index + 1): \(key.replacingOccurrences(of: "-", with: " "))", "Complete this step."),
                "progressPeriod": "open", "maxCompletionsPerPeriod": 1,
                "attributes": key == "question-multiple-choice"
                    ? [
                        "question": "Which distance is a half marathon?",
                        "options": [["id": "a", "label": "21.1 km"], ["id": "b", "label": "10 km"]],
                        "correctAnswers": ["a"],
                    ] : [:],
                "config": [
                    "isOptional": false, "socialValidation": "validation-on",
                    "requiresCorrectAnswer": .bool(key == "question-multiple-choice"),
                ],
                "xpConfig": ["participation": 10], "isGlobalTemplate": false,
            ])
            data.insert(.actions, action)
            actionIds.append(action["id"]!.stringValue!)
        }

        var challengeIds: [String] = []
        for index in 0..<(12 * spec.scale) {
            let topic = topics[index % topics.count]
            let title = index < topics.count ? topic : "\(topic) #\(index / topics.count + 1)"
            let challenge = entity([
                "communityId": .string(pick(communityIds)), "additionalCommunityIds": [],
                "details": details(title, "Complete every step of \(title) to earn points and XP."),
                "_translations": ["fr": ["title": .string("Défi : \(title)")]],
                "challengeType": "survey", "status": .string(pick(Self.statuses)),
                "progressPeriod": .string(pick(["open", "weekly", "daily"])),
                "maxCompletionsPerPeriod": 1, "numberOfActions": 2,
                "actionIds": [.string(pick(actionIds)), .string(pick(actionIds))],
                "startsAt": .string(Self.date(daysFromNow: -number(1...60))),
                "expiresAt": .string(Self.date(daysFromNow: number(1...90))),
                "featured": .bool(index % 5 == 0), "isSkippable": false, "isLinear": .bool(index % 2 == 0),
                "unlockPrice": .int(Int64(index % 6 == 0 ? 2 : 0)),
                "tags": .array([.string(pick(tagIds))]), "campaigns": .array([.string(pick(campaignIds))]),
                "enabledForSingleView": true,
                "startedCount": .int(Int64(number(10...900))), "completedCount": .int(Int64(number(0...400))),
                "videoConfig": ["videoUrl": "", "isVideoEnabled": false], "isGlobalTemplate": false,
            ])
            data.insert(.challenges, challenge)
            challengeIds.append(challenge["id"]!.stringValue!)
        }
        for index in 0..<4 {
            let group = entity([
                "communityId": .string(pick(communityIds)),
                "details": details("Rotation \(index + 1)", "A rotating set of challenges."),
                "type": .string(index % 2 == 0 ? "random" : "sequential"), "period": "weekly",
                "challengeIds": .array((0..<3).map { _ in .string(pick(challengeIds)) }), "activeAmount": 1,
                "status": "live",
            ])
            data.insert(.challengeGroups, group)
        }

        var achievementIds: [String] = []
        for index in 0..<(4 * spec.scale) {
            let achievement = entity([
                "communityId": .string(pick(communityIds)),
                "details": details("Milestone \(index + 1)", "Reach milestone \(index + 1)."),
                "progressPeriod": "open", "displayMode": "default", "tags": [], "campaigns": [],
                "criteria": [
                    "type": "sum",
                    "parameters": [
                        "query": "completions", "operator": ">=", "attribute": "count",
                        "value": .int(Int64((index + 1) * 5)),
                    ],
                ],
                "queries": [
                    [
                        "type": "event", "alias": "completions",
                        "parameters": [
                            "eventName": "challenge-completion", "eventCategory": "achievement",
                            "eventSubCategory": "achievement-completion",
                        ], "isCommunityScoped": true,
                    ]
                ],
                "status": .string(pick(Self.statuses)), "featured": false, "isGlobalTemplate": false,
            ])
            data.insert(.achievements, achievement)
            achievementIds.append(achievement["id"]!.stringValue!)
        }

        let metrics = ["total-xp", "total-challenges-completed", "total-challenges-started", "total-actions-completed"]
        for index in 0..<(spec.scale + 2) {
            let leaderboard = entity([
                "name": .string("\(["Weekly", "Monthly", "All-time", "Season", "Sprint"][index % 5]) leaderboard"),
                "description": "Top members by activity.",
                "metricType": .string(metrics[index % metrics.count]),
                "period": .string(pick(["weekly", "monthly", "open"])),
                "startsAt": .string(Self.date(daysFromNow: -30)), "expiresAt": .string(Self.date(daysFromNow: 60)),
                "status": .string(pick(["live", "live", "draft"])),
                "conditions": [["type": "community", "communityId": .string(pick(communityIds))]], "rewardsConfig": [],
            ])
            data.insert(.leaderboards, leaderboard)
        }

        for index in 0..<(4 * spec.scale) {
            let post = entity([
                "communityId": .string(pick(communityIds)),
                "details": details("Update \(index + 1)", "News for members."),
                "content": .string("<p>Week \(index + 1): thanks for taking part!</p>"),
                "likes": .array((0..<number(0...4)).map { _ in .string(pick(userIds)) }),
                "disableComments": false, "disableLikes": false, "displayBannerOnPost": false,
                "status": .string(pick(Self.statuses)),
                "featured": false, "tags": [], "campaigns": [], "isGlobalTemplate": false, "isEditing": false,
            ])
            data.insert(.posts, post)
        }

        // Templates shared by the platform (global templates the organisation may copy).
        for (resource, title) in [
            (Resource.challengeTemplates, "Template: 30-day streak"), (.challengeTemplates, "Template: Photo contest"),
            (.actionTemplates, "Template: Quiz question"), (.achievementTemplates, "Template: First steps"),
            (.rewardTemplates, "Template: Discount code"), (.postTemplates, "Template: Welcome post"),
        ] {
            data.insert(
                resource,
                entity([
                    "details": details(title, "A ready-made starting point."), "status": "live",
                    "isGlobalTemplate": true,
                ]))
        }

        data.insert(
            .webhookConfigs,
            entity([
                "url": .string("https://hooks.\(spec.subdomain).example.com/nudj"), "httpMethod": "POST",
                "isEnabled": true, "maxRetries": 5, "events": ["challenge-completion", "reward-claim"],
            ]))
        for index in 0..<6 {
            data.insert(
                .webhookLogs,
                entity([
                    "event": .string(pick(["challenge-completion", "reward-claim"])),
                    "attempt": .int(Int64(index % 3 + 1)), "statusCode": .int(Int64(pick([200, 200, 500]))),
                    "responseBody": "ok",
                ]))
        }
        data.insert(
            .domains,
            entity([
                "domain": .string("community.\(spec.subdomain).example.com"), "status": "active", "type": "subdomain",
            ]))
        data.insert(
            .apiTokens,
            entity(["name": "CI integration", "role": "Admin", "lastUsedAt": .string(Self.date(daysFromNow: -2))]))

        // The member's own reward assets and giveaway entries (Integration API /me).
        for index in 0..<3 {
            data.insert(
                .rewardAssets,
                entity([
                    "userId": .string(memberId), "rewardId": .string(rewardIds[index]),
                    "communityId": .string(communityIds[0]),
                    "details": details("Owned reward \(index + 1)", "Yours to redeem."),
                    "redeemable": ["type": "rich-text"], "claimedAt": .string(Self.date(daysFromNow: -index)),
                    "redeemedAt": .null,
                ]))
        }
        data.insert(
            .rewardEntries,
            entity([
                "userId": .string(memberId), "rewardId": .string(rewardIds[0]), "totalEntries": 3, "entries": [],
                "status": "pending", "checkedAt": .null, "drawnAt": .null,
            ]))

        data.singletons["theme"] = [
            "themeAssets": ["light": ["logo": .string("https://cdn.nudj.cx/\(spec.subdomain)/logo.png")], "dark": [:]],
            "theme": [
                "font": ["family": "Inter"], "borderRadius": "0.5rem",
                "colors": [
                    "light": ["primary": "#ff5a1f", "background": "#ffffff"],
                    "dark": ["primary": "#ff7a45", "background": "#111111"],
                ], "forcedTheme": "light", "disableCardGradients": false,
            ],
        ]
        data.singletons["achievementIds"] = .array(achievementIds.map { .string($0) })
    }
}
