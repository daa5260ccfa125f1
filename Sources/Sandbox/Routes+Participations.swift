import JSONRPC

/// Action participations: the timestamped record of every action a member took (what time-window answers are
/// computed from).
extension Routes {
    static var participationReads: [Route] {
        [
            // The reference page's parameter list is cut off after pagination; the list parameters of the
            // pagination guide (fromDate/toDate, sort, search) are assumed, as on other lists.
            Route(.integration, "GET", "/action-participations", procedure: "getActionParticipations", query: listing) {
                context throws(TRPCError) in
                let items = try context.read { $0.all(.participations) }
                return try CRUD.page(items, context: context, render: { CRUD.present($0, context: context) })
            },
            // The admin view also carries the action's correct answers in actionAttributes.
            Route(
                .admin, "GET", "/action-participations/{actionParticipationId}",
                procedure: "getActionParticipation"
            ) { context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    var participation = try CRUD.require(
                        data, .participations, context.parameter("actionParticipationId"))
                    var attributes = participation["actionAttributes"]?.objectValue ?? [:]
                    if let action = participation["actionId"]?.stringValue.flatMap({ data.find(.actions, id: $0) }) {
                        attributes["correctAnswers"] = action["attributes"]?["correctAnswers"] ?? []
                    }
                    participation["actionAttributes"] = .object(attributes)
                    return CRUD.present(participation, context: context)
                }
            },
        ]
    }
}
