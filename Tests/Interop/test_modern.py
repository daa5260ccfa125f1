"""The stateless 2026-07-28 era with the 2.x SDK: `mode="2026-07-28"` (adopt, no handshake) and `mode="auto"`
(`server/discover` probe), over stdio and Streamable HTTP, plus handshake-era clients on the same server at the same
time (one stdio process shared through a multiplexer; one /mcp endpoint).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

import anyio
import mcp_types
import pytest
from mcp import Client
from mcp.client.stdio import stdio_client
from mcp.shared.exceptions import MCPError
from mcp.shared.message import SessionMessage

from support import (
    CALL_TIMEOUT,
    Connection,
    ServerProcess,
    assert_list_page,
    assert_tenant_forbidden,
    assert_tool_error,
    auth_headers,
    connect_stdio,
    connect_streamable_http,
    find_exception,
    org,
    stdio_params,
    structured,
)

pytestmark = pytest.mark.anyio

MODERN = "2026-07-28"
HANDSHAKE_VERSIONS = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"]


async def discover(conn: Connection, version: str = MODERN) -> mcp_types.DiscoverResult:
    """An explicit `server/discover`, parsed by the SDK's own result type."""
    return mcp_types.DiscoverResult.model_validate(await conn.client.session.send_discover(version))


async def exercise_modern(conn: Connection, organisation: str) -> None:
    """discover, list, read call, error results and protocol errors, as the 2.x client sees them at 2026-07-28."""
    assert conn.protocol_version == MODERN

    found = await discover(conn)
    assert found.supported_versions[0] == MODERN
    assert set(HANDSHAKE_VERSIONS) <= set(found.supported_versions)
    assert found.capabilities.tools is not None
    assert found.instructions and f"'{organisation}'" in found.instructions
    assert (found.meta or {})["io.modelcontextprotocol/serverInfo"]["name"] == "nudj-mcp"

    tools = {tool.name: tool for tool in (await conn.list_tools()).tools}
    assert {"list_challenges", "get_challenge", "create_challenge", "list_users"} <= set(tools)

    content = assert_list_page(await conn.call_tool("list_challenges", {"limit": 2}), limit=2, kind="challenges")
    fetched = structured(await conn.call_tool("get_challenge", {"challengeId": content["items"][0]["id"]}))
    assert fetched["id"] == content["items"][0]["id"]

    assert_tool_error(await conn.call_tool("get_challenge", {"challengeId": "nope"}), "invalid_input", organisation=organisation)

    with pytest.raises(MCPError) as unknown_tool:
        await conn.call_tool("no_such_tool", {})
    assert unknown_tool.value.error.code in (-32602, -32601), unknown_tool.value.error

    with pytest.raises(MCPError) as unsupported:
        await conn.client.session.send_discover("2030-01-01")
    assert unsupported.value.error.code == -32022
    assert MODERN in unsupported.value.error.data["supported"]


# ---------------------------------------------------------------------------------------------------------------
# stdio


async def test_stdio_modern_mode(binary: Path, errlog: IO[str]) -> None:
    async with connect_stdio(binary, ["stdio", "--sandbox"], errlog, mode=MODERN) as conn:
        await exercise_modern(conn, "acme")
        with pytest.raises(MCPError) as ping:  # ping is removed at 2026-07-28
            await conn.client.session.send_ping()
        assert ping.value.error.code == -32601


async def test_stdio_auto_mode_discovers_modern(binary: Path, errlog: IO[str]) -> None:
    async with connect_stdio(binary, ["stdio", "--sandbox", "--sandbox-org", "globex"], errlog, mode="auto") as conn:
        # auto probed server/discover and adopted it: identity and instructions come from the discover result.
        assert conn.client.session.discover_result is not None
        assert conn.client.session.initialize_result is None
        assert conn.server_name == "nudj-mcp"
        assert conn.instructions and "'globex'" in conn.instructions
        await exercise_modern(conn, "globex")


class StdioMux:
    """One stdio server process shared by several SDK clients at once.

    Request ids are rewritten to "<tag>:<id>" on the way in and restored on the way out, so each `mcp.Client` sees
    an ordinary private transport while the server sees one connection carrying both eras.
    """

    def __init__(self, params: Any, errlog: IO[str]) -> None:
        self.params = params
        self.errlog = errlog
        self.routes: dict[str, Any] = {}
        self.ids: dict[str, Any] = {}
        self.server_messages: list[Any] = []

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[StdioMux]:
        async with stdio_client(self.params, errlog=self.errlog) as (read, write):
            self.write = write
            async with anyio.create_task_group() as group:
                group.start_soon(self._replies, read)
                try:
                    yield self
                finally:
                    group.cancel_scope.cancel()

    async def _replies(self, read: Any) -> None:
        async for item in read:
            if isinstance(item, Exception):
                raise item
            message = item.message
            if isinstance(message, (mcp_types.JSONRPCResponse, mcp_types.JSONRPCError)) and isinstance(message.id, str):
                tag = message.id.split(":", 1)[0]
                original = self.ids.pop(message.id)
                await self.routes[tag].send(SessionMessage(message.model_copy(update={"id": original})))
            else:  # notifications (and anything unexpected) are recorded and offered to every client
                self.server_messages.append(message)
                for route in list(self.routes.values()):
                    await route.send(item)

    async def _requests(self, tag: str, outgoing: Any) -> None:
        async for item in outgoing:
            message = item.message
            if isinstance(message, mcp_types.JSONRPCRequest):
                wire_id = f"{tag}:{message.id}"
                self.ids[wire_id] = message.id
                message = message.model_copy(update={"id": wire_id})
            elif isinstance(message, mcp_types.JSONRPCNotification) and message.method == "notifications/cancelled":
                params = dict(message.params or {})
                params["requestId"] = f"{tag}:{params.get('requestId')}"
                message = message.model_copy(update={"params": params})
            await self.write.send(SessionMessage(message, metadata=item.metadata))

    @contextlib.asynccontextmanager
    async def transport(self, tag: str) -> AsyncIterator[tuple[Any, Any]]:
        to_client, client_read = anyio.create_memory_object_stream[Any](64)
        client_write, outgoing = anyio.create_memory_object_stream[Any](64)
        self.routes[tag] = to_client
        async with anyio.create_task_group() as group:
            group.start_soon(self._requests, tag, outgoing)
            try:
                yield client_read, client_write
            finally:
                group.cancel_scope.cancel()
                del self.routes[tag]


async def test_stdio_one_process_serves_both_eras_at_once(binary: Path, errlog: IO[str]) -> None:
    mux = StdioMux(stdio_params(binary, ["stdio", "--sandbox"]), errlog)
    async with mux.running():
        async with (
            Client(mux.transport("legacy"), mode="legacy", read_timeout_seconds=CALL_TIMEOUT) as legacy,
            Client(mux.transport("modern"), mode=MODERN, read_timeout_seconds=CALL_TIMEOUT) as modern,
            Client(mux.transport("auto"), mode="auto", read_timeout_seconds=CALL_TIMEOUT) as auto,
        ):
            assert legacy.protocol_version in HANDSHAKE_VERSIONS
            assert modern.protocol_version == MODERN
            # The same connection already carries an initialized handshake session; auto still finds the modern era.
            assert auto.protocol_version == MODERN

            results: dict[str, Any] = {}

            async def calls(name: str, client: Client) -> None:
                for round_ in range(3):
                    page = await client.call_tool("list_challenges", {"limit": 2, "skip": 2 * round_})
                    bad = await client.call_tool("get_challenge", {"challengeId": "nope"})
                    results[f"{name}:{round_}"] = (page, bad)

            async with anyio.create_task_group() as group:
                for name, client in (("legacy", legacy), ("modern", modern), ("auto", auto)):
                    group.start_soon(calls, name, client)

            assert len(results) == 9
            for key, (page, bad) in results.items():
                round_ = int(key.split(":")[1])
                assert page.is_error is not True, key
                assert page.structured_content["page"]["skip"] == 2 * round_, key
                assert_tool_error(bad, "invalid_input")
            first_pages = {results[f"{name}:0"][0].structured_content["items"][0]["id"] for name in ("legacy", "modern", "auto")}
            assert len(first_pages) == 1, "every era reads the same organisation"
    assert not [m for m in mux.server_messages if isinstance(m, mcp_types.JSONRPCRequest)], mux.server_messages


# ---------------------------------------------------------------------------------------------------------------
# Streamable HTTP


def modern_exchanges(exchanges: list[Any]) -> list[Any]:
    return [response for response in exchanges if response.request.method == "POST"]


async def test_http_modern_mode(serve_sandbox: ServerProcess, live) -> None:
    acme = org(serve_sandbox.ready, "acme")
    exchanges: list[Any] = []
    async with connect_streamable_http(serve_sandbox.ready["mcpUrl"], auth_headers(acme), mode=MODERN, exchanges=exchanges) as conn:
        await exercise_modern(conn, "acme")

    posts = modern_exchanges(exchanges)
    assert posts, "the SDK made HTTP requests"
    for response in posts:
        request = response.request
        # The SDK stamps the 2026 routing headers; the server must not turn the stateless era into a session.
        assert request.headers["mcp-protocol-version"] in (MODERN, "2030-01-01"), dict(request.headers)
        assert request.headers["mcp-method"], dict(request.headers)
        assert "mcp-session-id" not in response.headers, f"stateless request got a session: {dict(response.headers)}"
        assert "mcp-session-id" not in request.headers
    calls = [r for r in posts if r.request.headers["mcp-method"] == "tools/call"]
    assert calls and all(r.request.headers.get("mcp-name") for r in calls)


async def test_http_auto_mode_discovers_modern(serve_sandbox: ServerProcess, live) -> None:
    globex = org(serve_sandbox.ready, "globex")
    exchanges: list[Any] = []
    async with connect_streamable_http(serve_sandbox.ready["mcpUrl"], auth_headers(globex), mode="auto", exchanges=exchanges) as conn:
        assert conn.client.session.discover_result is not None
        assert conn.server_name == "nudj-mcp"
        await exercise_modern(conn, "globex")
    assert modern_exchanges(exchanges)[0].request.headers["mcp-method"] == "server/discover"
    assert not any("mcp-session-id" in r.headers for r in exchanges)


async def test_http_modern_credentials_are_per_request(serve_sandbox: ServerProcess, live) -> None:
    """No session binds credentials at 2026-07-28: each request's own headers decide the tenant."""
    acme, globex = org(serve_sandbox.ready, "acme"), org(serve_sandbox.ready, "globex")
    url = serve_sandbox.ready["mcpUrl"]

    async with connect_streamable_http(url, auth_headers(globex, domain_of=acme), mode=MODERN) as conn:
        result = await conn.call_tool("list_users", {"limit": 1})
    assert_tenant_forbidden(result, acme)

    with pytest.raises(BaseException) as caught:
        async with connect_streamable_http(url, {"x-api-domain": acme["apiDomain"]["admin"]}, mode=MODERN) as conn:
            await conn.call_tool("list_users", {"limit": 1})
    error = find_exception(caught.value, MCPError).error
    assert error.code == -31401 and error.data["httpStatus"] == 401, error


async def test_http_modern_selection_headers_apply_per_request(serve_sandbox: ServerProcess, live) -> None:
    acme = org(serve_sandbox.ready, "acme")
    url = serve_sandbox.ready["mcpUrl"]
    async with (
        connect_streamable_http(url, auth_headers(acme), mode=MODERN) as full,
        connect_streamable_http(url, {**auth_headers(acme), "X-MCP-Readonly": "true"}, mode=MODERN) as read_only,
    ):
        everything = {tool.name for tool in (await full.list_tools()).tools}
        reads = (await read_only.list_tools()).tools
        assert reads and all(tool.annotations and tool.annotations.read_only_hint for tool in reads)
        assert {tool.name for tool in reads} < everything and "create_challenge" in everything
        refused = await read_only.call_tool("create_challenge", {"communityId": "0" * 24, "details": {"title": "no"}})
        assert_tool_error(refused, "tool_not_enabled", retryable=False)
        communities = structured(await full.call_tool("list_communities", {"limit": 1}))["items"]
        created = await full.call_tool("create_challenge", {"communityId": communities[0]["id"], "details": {"title": "modern"}})
        assert created.is_error is not True and structured(created)["details"]["title"] == "modern"


async def test_http_both_eras_on_one_endpoint_at_once(serve_sandbox: ServerProcess, live) -> None:
    acme, globex = org(serve_sandbox.ready, "acme"), org(serve_sandbox.ready, "globex")
    url = serve_sandbox.ready["mcpUrl"]
    legacy_exchanges: list[Any] = []
    async with (
        connect_streamable_http(url, auth_headers(acme), mode="legacy", exchanges=legacy_exchanges) as legacy,
        connect_streamable_http(url, auth_headers(acme), mode=MODERN) as modern,
        connect_streamable_http(url, auth_headers(globex), mode="auto") as auto,
    ):
        assert legacy.protocol_version in HANDSHAKE_VERSIONS
        assert modern.protocol_version == MODERN and auto.protocol_version == MODERN
        results: dict[str, Any] = {}

        async def calls(name: str, conn: Connection) -> None:
            for round_ in range(3):
                page = await conn.call_tool("list_challenges", {"limit": 1, "skip": round_})
                bad = await conn.call_tool("get_challenge", {"challengeId": "nope"})
                results[f"{name}:{round_}"] = (page, bad)

        async with anyio.create_task_group() as group:
            for name, conn in (("legacy", legacy), ("modern", modern), ("auto", auto)):
                group.start_soon(calls, name, conn)

    for key, (page, bad) in results.items():
        name, round_ = key.split(":")
        expected_org = globex["id"] if name == "auto" else acme["id"]
        assert page.structured_content["page"]["skip"] == int(round_)
        assert page.structured_content["items"][0]["organisationId"] == expected_org, key
        assert_tool_error(bad, "invalid_input", organisation="globex" if name == "auto" else "acme")
    # The handshake-era client kept one session throughout.
    session_ids = {r.request.headers.get("mcp-session-id") for r in legacy_exchanges[1:] if r.request.method == "POST"}
    assert len(session_ids) == 1 and None not in session_ids, session_ids


# ---------------------------------------------------------------------------------------------------------------
# Logging (handshake era: logging/setLevel; 2026-07-28: per-request opt-in in _meta)


@pytest.mark.parametrize("mode", ["legacy", MODERN])
@pytest.mark.filterwarnings("ignore:The logging capability is deprecated")
async def test_log_notifications_reach_the_sdk_only_when_asked_for(binary: Path, errlog: IO[str], mode: str) -> None:
    received: dict[str, list[Any]] = {"opted-in": [], "silent": []}

    async def run(label: str, opt_in: bool) -> None:
        async def on_log(params: Any) -> None:
            received[label].append(params)

        log_level = "debug" if opt_in and mode == MODERN else None
        async with Client(
            stdio_client(stdio_params(binary, ["stdio", "--sandbox"]), errlog=errlog),
            mode=mode,
            logging_callback=on_log,
            log_level=log_level,
            read_timeout_seconds=CALL_TIMEOUT,
        ) as client:
            if opt_in and mode == "legacy":
                await client.set_logging_level("debug")
            await client.call_tool("list_users", {"limit": 1})
            await client.call_tool("get_challenge", {"challengeId": "0" * 24})
            await anyio.sleep(0.2)  # notifications precede the response on stdio; this only absorbs stragglers

    await run("opted-in", True)
    await run("silent", False)
    assert received["silent"] == [], received["silent"]
    messages = [str(params.data) for params in received["opted-in"]]
    assert any("/users" in m and "200" in m for m in messages), messages
    assert any("404" in m for m in messages), messages
    assert all(params.level == "debug" for params in received["opted-in"])
