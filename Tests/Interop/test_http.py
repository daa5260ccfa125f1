"""HTTP: the official Python SDK's Streamable HTTP client and legacy HTTP+SSE client (2.x and 1.x) against
`nudj-mcp serve --sandbox`, with the credentials every request carries (Authorization + x-api-domain).
"""

from __future__ import annotations

import json

from contextlib import AbstractAsyncContextManager

import pytest

from support import (
    SDK_MAJOR,
    Connection,
    ServerProcess,
    assert_list_page,
    assert_tenant_forbidden,
    assert_tool_error,
    auth_headers,
    connect_sse,
    connect_streamable_http,
    find_exception,
    input_schema,
    is_error,
    org,
    read_only_hint,
    sandbox_stats,
    stats_delta,
    structured,
    texts,
)

pytestmark = [pytest.mark.anyio, pytest.mark.sdk1]

TRANSPORTS = ["streamable-http", "sse"]


def session(server: ServerProcess, transport: str, headers: dict[str, str]) -> AbstractAsyncContextManager[Connection]:
    """An initialized SDK client session over `transport` ("streamable-http": /mcp, "sse": GET /sse + POST /messages)."""
    if transport == "sse":
        return connect_sse(server.ready["sseUrl"], headers)
    return connect_streamable_http(server.ready["mcpUrl"], headers)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_initialize_list_read(serve_sandbox: ServerProcess, transport: str, live) -> None:
    acme = org(serve_sandbox.ready, "acme")
    async with session(serve_sandbox, transport, auth_headers(acme)) as conn:
        assert conn.server_name == "nudj-mcp"
        assert conn.protocol_version in {"2025-03-26", "2025-06-18", "2025-11-25"}
        assert conn.instructions and "'acme'" in conn.instructions
        assert acme["apiDomain"]["admin"] in conn.instructions

        tools = {tool.name: tool for tool in (await conn.list_tools()).tools}
        assert {"list_communities", "list_challenges", "get_challenge", "create_challenge", "list_users"} <= set(tools)
        assert input_schema(tools["create_challenge"])["required"] == ["communityId", "details"]

        assert_list_page(await conn.call_tool("list_challenges", {"limit": 2}), limit=2, kind="challenges")


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_write_call_then_read_back(serve_sandbox: ServerProcess, transport: str, live) -> None:
    acme = org(serve_sandbox.ready, "acme")
    async with session(serve_sandbox, transport, auth_headers(acme)) as conn:
        communities = assert_list_page(await conn.call_tool("list_communities", {"limit": 1}), limit=1, kind="communities")
        community_id = communities["items"][0]["id"]
        title = f"Interop {transport} (SDK {SDK_MAJOR}.x)"

        created = await conn.call_tool("create_challenge", {"communityId": community_id, "details": {"title": title}})
        challenge = structured(created)
        assert is_error(created) is not True, challenge
        assert json.loads(texts(created)[0]) == challenge
        assert challenge["communityId"] == community_id
        assert challenge["details"]["title"] == title
        assert challenge["organisationId"] == acme["id"]

        fetched = structured(await conn.call_tool("get_challenge", {"challengeId": challenge["id"]}))
        assert fetched["id"] == challenge["id"] and fetched["details"]["title"] == title


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_bad_arguments(serve_sandbox: ServerProcess, transport: str, live) -> None:
    acme = org(serve_sandbox.ready, "acme")
    async with session(serve_sandbox, transport, auth_headers(acme)) as conn:
        result = await conn.call_tool("get_challenge", {"challengeId": "nope"})
        assert_tool_error(result, "invalid_input", httpStatus=None, organisation="acme", field="challengeId")
        result = await conn.call_tool("create_challenge", {"communityId": "0" * 24, "details": {}})
        error = assert_tool_error(result, "invalid_input")
        assert any(field["field"] == "details.title" for field in error["fields"]), error


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_session_with_another_orgs_token_gets_tenant_forbidden(
    sandbox: ServerProcess, serve_external: ServerProcess, transport: str, live
) -> None:
    """A session opened with globex's token but acme's API domain is accepted (the credentials are well-formed), and
    every call is a complete, non-retryable tenant_forbidden naming acme, without a request reaching either org.

    Runs against `serve` pointed at the separate sandbox, whose counters show what reached the Nudj API.
    """
    acme, globex = org(sandbox.ready, "acme"), org(sandbox.ready, "globex")
    async with session(serve_external, transport, auth_headers(globex, domain_of=acme)) as conn:
        assert conn.instructions and "'acme'" in conn.instructions and "'globex'" in conn.instructions
        assert "Connected to" not in conn.instructions, conn.instructions
        before = sandbox_stats(sandbox.ready)
        result = await conn.call_tool("list_challenges", {"limit": 1})
        delta = stats_delta(before, sandbox_stats(sandbox.ready))
    error = assert_tenant_forbidden(result, acme)
    assert "acme" in error["hint"] and "globex" in error["message"], error
    assert delta["total"] == 0, delta


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_each_session_sees_only_its_own_org(serve_sandbox: ServerProcess, transport: str, live) -> None:
    acme, globex = org(serve_sandbox.ready, "acme"), org(serve_sandbox.ready, "globex")
    async with (
        session(serve_sandbox, transport, auth_headers(acme)) as acme_conn,
        session(serve_sandbox, transport, auth_headers(globex)) as globex_conn,
    ):
        assert "'globex'" in (globex_conn.instructions or "")
        for conn, entry in ((acme_conn, acme), (globex_conn, globex)):
            users = assert_list_page(await conn.call_tool("list_users", {"limit": 5}), limit=5, kind="users")
            assert users["items"], entry["subdomain"]
            communities = structured(await conn.call_tool("list_communities", {"limit": 100}))["items"]
            assert {c["organisationId"] for c in communities} == {entry["id"]}, entry["subdomain"]


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_read_only_header_narrows_the_session(serve_sandbox: ServerProcess, transport: str, live) -> None:
    """`X-MCP-Readonly: true` on the client's requests: only read-only tools are listed, and a write call is refused
    locally with a tool_not_enabled tool error."""
    acme = org(serve_sandbox.ready, "acme")
    async with session(serve_sandbox, transport, {**auth_headers(acme), "X-MCP-Readonly": "true"}) as conn:
        assert conn.instructions and "This session is read-only (X-MCP-Readonly: true)" in conn.instructions
        tools = (await conn.list_tools()).tools
        assert tools and all(read_only_hint(tool) is True for tool in tools), [t.name for t in tools]
        assert "list_challenges" in {tool.name for tool in tools}
        result = await conn.call_tool("create_challenge", {"communityId": "0" * 24, "details": {"title": "no"}})
        error = assert_tool_error(result, "tool_not_enabled", httpStatus=None, retryable=False, organisation="acme")
        assert "read-only" in error["message"]


async def test_missing_credentials_refused_at_connect(serve_sandbox: ServerProcess, live) -> None:
    """What the SDK's Streamable HTTP client sees without a token: initialize fails with the server's 401 error."""
    acme = org(serve_sandbox.ready, "acme")
    only_domain = {"x-api-domain": acme["apiDomain"]["admin"]}
    with pytest.raises(BaseException) as caught:
        async with connect_streamable_http(serve_sandbox.ready["mcpUrl"], only_domain):
            pass
    if SDK_MAJOR >= 2:
        from mcp.shared.exceptions import MCPError

        error = find_exception(caught.value, MCPError).error
        assert error.code == -31401, error
        assert "Authorization: Bearer" in error.message
        assert error.data["httpStatus"] == 401
    else:
        # SDK 1.x raises the HTTP status itself rather than reading the JSON-RPC error body.
        import httpx

        response = find_exception(caught.value, httpx.HTTPStatusError).response
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
