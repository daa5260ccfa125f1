import JSONRPC

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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

    /// The seed's "now" (epoch seconds): every seeded timestamp is an offset from it, so counts per window are the
    /// same whatever day the sandbox starts, and every seeded event lies before it.
    let anchor: Int64

    init(_ spec: OrganisationSpec, index: Int, anchor: Int64) {
        self.spec = spec
        self.anchor = anchor
        random = SplitMix64(seed: 0xA11CE + UInt64(index) * 7919)
        organisationId = hex(0x60 + index, width: 2) + "0000000000000000000000"
        build()
    }

    private mutating func id() -> String {
        counter += 1
        return hex(0x64, width: 2) + hex(Int(organisationId.prefix(2), radix: 16)!, width: 6)
            + hex(counter &* 0x9E37_79B9 & 0xFFFF_FFFF_FFFF, width: 16)
    }

    private mutating func pick<T>(_ values: [T]) -> T { values[Int(random.next() % UInt64(values.count))] }

    private mutating func number(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(random.next() % UInt64(range.count))
    }

    /// The default anchor: the start of the current UTC day, so seeded days are whole days before it.
    static func defaultAnchor(now: Date = Date()) -> Int64 {
        Int64(now.timeIntervalSince1970) / 86_400 * 86_400
    }

    private func date(daysFromNow days: Int, seconds: Int = 0) -> String {
        Date(timeIntervalSince1970: Double(anchor + Int64(days) * 86_400 + Int64(seconds))).ISO8601Format()
    }

    /// Statuses cycle deterministically: most content is live, some draft, scheduled or archived.
    private static let statuses = ["live", "live", "draft", "live", "scheduled", "live", "archived", "live"]

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
        entity["createdAt"] = .string(date(daysFromNow: created))
        entity["updatedAt"] = .string(date(daysFromNow: created + number(0...29)))
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
        for (name, status) in [
            ("Spring Launch", "live"), ("Summer Series", "scheduled"), ("Holiday Drive", "draft"),
            ("Loyalty Month", "live"),
        ] {
            let starts = status == "live" ? -number(10...60) : number(5...30)
            let campaign = entity([
                "name": .string(name), "startDate": .string(date(daysFromNow: starts)),
                "endDate": .string(date(daysFromNow: starts + number(60...120))), "status": .string(status),
            ])
            data.insert(.campaigns, campaign)
            campaignIds.append(campaign["id"]!.stringValue!)
        }

        // Members: community 0 is the biggest (two thirds of the members), the others share the rest.
        var userIds: [String] = []
        var userCommunity: [String: String] = [:]
        var membersByCommunity: [String: [String]] = [:]
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
            let communityId =
                index % 3 != 2 ? communityIds[0] : communityIds[1 + (index / 3) % (communityIds.count - 1)]
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
                        "communityId": .string(communityId),
                        "streak": [
                            "currentStreak": .int(Int64(number(0...20))), "longestStreak": .int(Int64(number(20...60))),
                        ], "challengesCompleted": 0, "achievementsCompleted": .int(Int64(number(0...10))),
                        "points": .int(Int64(points)), "hasAcceptedRules": true,
                    ]
                ],
                "roles": index == 0 ? [.string("orgId-\(organisationId):role-admin")] : [],
                "externalUserId": .string("ext-\(spec.subdomain)-\(index)"), "isAnonymous": false,
            ])
            data.insert(.users, user)
            let userId = user["id"]!.stringValue!
            userIds.append(userId)
            userCommunity[userId] = communityId
            membersByCommunity[communityId, default: []].append(userId)
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
        var rewardAssets: [JSONObject] = []
        for index in 0..<(3 * spec.scale + 9) {
            let name = rewardNames[index % rewardNames.count] + (index >= rewardNames.count ? " II" : "")
            let allocationId = id()
            let status = index < 3 ? "live" : Self.statuses[index % Self.statuses.count]
            let communityId = communityIds[index % communityIds.count]
            let rewardId = id()
            // Assets issued to members over the last 120 days (none for drafts and scheduled rewards); the first
            // three rewards also carry the calling member's own assets, added below.
            let issued = status == "live" || status == "archived" ? number(2...14) : 0
            let members = membersByCommunity[communityId] ?? userIds
            for _ in 0..<issued {
                let userId = members[Int(random.next() % UInt64(members.count))]
                guard userId != memberId else { continue }
                let claimed = date(daysFromNow: -number(1...120), seconds: number(8 * 3600...21 * 3600))
                var asset = entity([
                    "userId": .string(userId), "rewardId": .string(rewardId), "allocationId": .string(allocationId),
                    "communityId": .string(communityId), "details": details(name, "Yours to redeem."),
                    "redeemable": ["type": "rich-text"], "claimedAt": .string(claimed), "redeemedAt": .null,
                ])
                asset["createdAt"] = .string(claimed)
                asset["updatedAt"] = .string(claimed)
                rewardAssets.append(asset)
            }
            let distributed =
                rewardAssets.filter { $0["rewardId"]?.stringValue == rewardId }.count + (index < 3 ? 1 : 0)
            var reward = entity([
                "communityId": .string(communityId),
                "details": details(name, "Redeem for a \(name.lowercased())."),
                "_translations": ["fr": ["title": .string("Récompense : \(name)")]],
                "assetPointsPrice": .int(Int64(number(1...50) * 100)),
                "entryPointsPrice": .int(Int64(number(1...10) * 10)),
                "assetsSupply": .int(Int64(number(200...500))), "entriesSupply": .int(Int64(number(0...1000))),
                "maxAssetsPerUser": 1, "maxEntriesPerUser": 10,
                "allocationsType": "assets-only", "isSharedAssetsSupply": false, "isSharedEntriesSupply": false,
                "allocations": [
                    [
                        "id": .string(allocationId), "allocationType": "assets",
                        "supply": .int(Int64(distributed + number(10...150))), "amountToDistribute": 1,
                        "distributed": .int(Int64(distributed)), "isShop": true, "isLive": .bool(status == "live"),
                    ]
                ],
                "redemptionConfig": [
                    "type": "rich-text", "content": "Show this code at the counter.", "autoRedeem": false,
                ],
                "featured": .bool(index % 4 == 0), "tags": .array([.string(pick(tagIds))]), "campaigns": [],
                "status": .string(status),
                "isManualGiveaway": .bool(index % 5 == 0), "metadata": [:],
            ])
            reward["id"] = .string(rewardId)
            reward["createdAt"] = .string(date(daysFromNow: -number(121...300)))
            data.insert(.rewards, reward)
            rewardIds.append(rewardId)
        }

        // Challenges, each with its own two or three actions (allocated to it), an action distribution (points
        // per action) and a challenge distribution. Live challenges started in the past and expire in the future;
        // archived ones ran and ended in the past; drafts and scheduled ones have no participants at all.
        var actionIds: [String] = []
        var challengeIds: [String] = []
        let keys = [
            "question-multiple-choice", "interaction-external-link", "question-open-ended", "engage-with-content",
            "image-upload", "question-vote",
        ]
        var participations: [JSONObject] = []
        var completionsByUser: [String: Int] = [:]
        for index in 0..<(12 * spec.scale) {
            let topic = topics[index % topics.count]
            let title = index < topics.count ? topic : "\(topic) #\(index / topics.count + 1)"
            let status = Self.statuses[index % Self.statuses.count]
            let communityId = index % 3 == 0 ? communityIds[0] : communityIds[index % communityIds.count]
            let challengeId = id()
            let (startDay, endDay): (Int, Int) =
                switch status {
                case "live": (-number(30...110), number(5...90))
                case "archived": (-number(100...119), -number(5...40))
                case "scheduled": (number(3...30), number(40...90))
                default: (number(1...20), number(30...90))
                }
            var ownActions: [JSONValue] = []
            for step in 0..<(2 + index % 2) {
                let key = keys[(index + step) % keys.count]
                var action = entity([
                    "communityId": .string(communityId), "category": "nudj", "key": .string(key),
                    "position": .int(Int64(step)), "allocationId": .string(challengeId), "allocatedTo": "challenge",
                    "details": details(
                        "\(title) step \(step + 1): \(key.replacing("-", with: " "))",
                        "Complete this step."),
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
                action["createdAt"] = .string(date(daysFromNow: min(startDay, 0) - 2))
                action["updatedAt"] = action["createdAt"]
                data.insert(.actions, action)
                let actionId = action["id"]!.stringValue!
                actionIds.append(actionId)
                ownActions.append(.string(actionId))
                data.singletons["distribution:\(actionId)"] = [
                    "actionId": .string(actionId), "pointsToDistribute": .int(Int64(10 * number(1...5))),
                    "bonusXpToDistribute": 0,
                    "rewardsConfig": ["mechanism": "all", "amountToDistribute": 0, "allocations": []],
                ]
            }
            data.singletons["distribution:\(challengeId)"] = [
                "challengeId": .string(challengeId), "pointsToDistribute": .int(Int64(50 * number(1...4))),
                "bonusXpToDistribute": 0,
                "rewardsConfig": ["mechanism": "all", "amountToDistribute": 0, "allocations": []],
            ]

            // Participants: members of the challenge's community, never the calling member (whose progress the
            // Integration API tests build from a clean slate). Completing means doing every action.
            var started = 0
            var completed = 0
            if status == "live" || status == "archived" {
                let pool = (membersByCommunity[communityId] ?? []).filter { $0 != memberId }
                let firstDay = max(startDay, -120)
                let lastDay = min(endDay, 0) - 1
                var chosen = Set<String>()
                for _ in 0..<number(3...min(24, pool.count)) {
                    let userId = pool[Int(random.next() % UInt64(pool.count))]
                    guard chosen.insert(userId).inserted else { continue }
                    // A spike: two live challenges drew a crowd on two days of the last month.
                    let day =
                        status == "live" && index % 4 == 1 && random.next() % 2 == 0
                        ? (index % 8 == 1 ? -9 : -23) : number(firstDay...max(firstDay, lastDay))
                    let steps = random.next() % 10 < 6 ? ownActions.count : 1 + number(0...(ownActions.count - 2))
                    var second = number(7 * 3600...20 * 3600)
                    for step in 0..<steps {
                        let actionId = ownActions[step].stringValue!
                        second += number(60...1800)
                        let at = date(daysFromNow: day, seconds: second)
                        let action = data.find(.actions, id: actionId)!
                        participations.append([
                            "id": .string(id()), "organisationId": .string(organisationId),
                            "communityId": .string(communityId), "actionId": .string(actionId),
                            "userId": .string(userId), "actionCategory": "nudj", "actionKey": action["key"]!,
                            "actionAttributes": [:], "allocationId": .string(challengeId),
                            "allocatedTo": "challenge",
                            "participationStatuses": [
                                [
                                    "id": .string(id()), "criteriaMet": true,
                                    "output": ["key": "completed", "eventId": .string(id())], "status": "completed",
                                    "participatedAt": .string(at), "processingStartedAt": .string(at),
                                    "processedAt": .string(at),
                                ]
                            ],
                            "createdAt": .string(at), "updatedAt": .string(at),
                        ])
                    }
                    started += 1
                    if steps == ownActions.count {
                        completed += 1
                        completionsByUser[userId, default: 0] += 1
                    }
                }
            }
            var challenge = entity([
                "communityId": .string(communityId), "additionalCommunityIds": [],
                "details": details(title, "Complete every step of \(title) to earn points and XP."),
                "_translations": ["fr": ["title": .string("Défi : \(title)")]],
                "challengeType": "survey", "status": .string(status),
                "progressPeriod": .string(pick(["open", "weekly", "daily"])),
                "maxCompletionsPerPeriod": 1, "numberOfActions": .int(Int64(ownActions.count)),
                "actionIds": .array(ownActions),
                "startsAt": .string(date(daysFromNow: startDay)), "expiresAt": .string(date(daysFromNow: endDay)),
                "featured": .bool(index % 5 == 0), "isSkippable": false, "isLinear": .bool(index % 2 == 0),
                "unlockPrice": .int(Int64(index % 6 == 0 ? 2 : 0)),
                "tags": .array([.string(tagIds[index % tagIds.count])]),
                "campaigns": .array([.string(pick(campaignIds))]),
                "enabledForSingleView": true,
                // Lifetime totals, consistent with the seeded participations (one attempt per member).
                "startedCount": .int(Int64(started)), "completedCount": .int(Int64(completed)),
                "uniqueUsersStartedCount": .int(Int64(started)), "uniqueUsersCompletedCount": .int(Int64(completed)),
                "videoConfig": ["videoUrl": "", "isVideoEnabled": false], "isGlobalTemplate": false,
            ])
            challenge["id"] = .string(challengeId)
            challenge["createdAt"] = .string(date(daysFromNow: min(startDay, 0) - 3))
            challenge["updatedAt"] = challenge["createdAt"]
            data.insert(.challenges, challenge)
            challengeIds.append(challengeId)
        }
        // Oldest first into a newest-first collection, as the API lists them.
        for participation in participations.sorted(by: {
            ($0["createdAt"]?.stringValue ?? "") < ($1["createdAt"]?.stringValue ?? "")
        }) {
            data.insert(.participations, participation)
        }
        for asset in rewardAssets.sorted(by: {
            ($0["claimedAt"]?.stringValue ?? "") < ($1["claimedAt"]?.stringValue ?? "")
        }) {
            data.insert(.rewardAssets, asset)
        }
        // Each member's lifetime completions, as counted above.
        for userId in userIds {
            guard var user = data.find(.users, id: userId), var community = user["communityData"]?[0]?.objectValue
            else { continue }
            community["challengesCompleted"] = .int(Int64(completionsByUser[userId] ?? 0))
            user["communityData"] = [.object(community)]
            _ = data.replace(.users, user)
        }
        for index in 0..<4 {
            let group = entity([
                "communityId": .string(pick(communityIds)),
                "details": details("Rotation \(index + 1)", "A rotating set of challenges."),
                "type": .string(index % 2 == 0 ? "random" : "sequential"), "period": "weekly",
                "challengeIds": .array(
                    (0..<3).map { step in .string(challengeIds[(index * 3 + step) % challengeIds.count]) }),
                "activeAmount": 1, "status": "live",
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
                "startsAt": .string(date(daysFromNow: -30)), "expiresAt": .string(date(daysFromNow: 60)),
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
            entity(["name": "CI integration", "role": "Admin", "lastUsedAt": .string(date(daysFromNow: -2))]))

        // The member's own reward assets and giveaway entries (Integration API /me).
        for index in 0..<3 {
            data.insert(
                .rewardAssets,
                entity([
                    "userId": .string(memberId), "rewardId": .string(rewardIds[index]),
                    "communityId": .string(communityIds[0]),
                    "details": details("Owned reward \(index + 1)", "Yours to redeem."),
                    "redeemable": ["type": "rich-text"], "claimedAt": .string(date(daysFromNow: -index - 1)),
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
        // Organisation settings: the organisation, sign-in configuration (with a secret the tools must withhold)
        // and profile variables with the member's values.
        data.singletons["organisation"] = [
            "id": .string(organisationId), "name": .string(spec.name), "language": "en",
            "timezone": "Europe/London", "location": "DE", "createdBy": .string(memberId),
            "updatedBy": .string(memberId),
        ]
        data.singletons["authConfig"] = [
            "enabledProviders": ["email", "google", "organisation-oidc"],
            "oidcProviders": [
                [
                    "id": "corporate-sso", "name": .string("\(spec.name) SSO"),
                    "clientId": .string("\(spec.subdomain)-nudj"),
                    "clientSecret": .string("sandbox-oidc-secret-\(spec.subdomain)"),
                    "issuer": .string("https://sso.\(spec.subdomain).example.com"),
                    "userinfo_endpoint": .string("https://sso.\(spec.subdomain).example.com/userinfo"),
                    "customUserInfoEndpoint": .null, "scopes": ["openid", "email", "profile"],
                ]
            ],
            "email": [
                "host": .string("smtp.\(spec.subdomain).example.com"), "port": 587, "username": "nudj",
                "fromAddress": .string("community@\(spec.subdomain).example.com"),
            ],
        ]
        for (index, (name, type)) in [
            ("fullName", "form-name"), ("birthday", "form-date"), ("favouriteDistance", "form-select"),
        ]
        .enumerated() {
            let variable = entity([
                "type": .string(type), "name": .string(name), "label": .string(name.capitalized),
                "placeholder": "", "useDefaultProfileValue": .bool(index == 0), "availableInQuestionBank": true,
                "maxValueOccurrences": 1, "isSingleOutputPerUser": true, "isImmutable": false,
                "prerequisiteVariableConfigIds": [],
                "options": type == "form-select"
                    ? [["key": "5k", "value": "5K"], ["key": "10k", "value": "10K"]] : [],
                "_memberValue": index == 0 ? "Ada Stone" : index == 2 ? "10k" : .null,
            ])
            data.insert(.variables, variable)
        }
        data.singletons["achievementIds"] = .array(achievementIds.map { .string($0) })
    }
}
