"""Session hijack over HTTP: a live session id replayed with other credentials is refused before anything reaches
the Nudj API.

The victim is a real SDK client; the attacker is plain HTTP (httpx2, the SDK's HTTP library) replaying the victim's
session id. The server under test is `nudj-mcp serve --allow-insecure-localhost` whose upstream is a separate
`nudj-mcp sandbox`, so the sandbox's request counters prove that no refused request went upstream.
"""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest

from support import (
    ServerProcess,
    assert_list_page,
    auth_headers,
    connect_sse,
    connect_streamable_http,
    org,
    sandbox_stats,
    stats_delta,
)

pytestmark = pytest.mark.anyio

CALL = {"jsonrpc": "2.0", "id": 99, "method": "tools/call", "params": {"name": "list_users", "arguments": {"limit": 1}}}


def attackers(sandbox: ServerProcess) -> dict[str, tuple[dict[str, str], int]]:
    """Credentials replayed on acme-admin's session, with the status each must get."""
    acme, globex = org(sandbox.ready, "acme"), org(sandbox.ready, "globex")
    return {
        "another org's token": (auth_headers(globex, domain_of=acme), 403),
        "another org's token and domain": (auth_headers(globex), 403),
        "another x-api-domain": (auth_headers(acme, domain_of=globex), 403),
        "another credential of the same org": (auth_headers(acme, token="viewer"), 403),
        "no credential": ({}, 401),
        "domain but no token": ({"x-api-domain": acme["apiDomain"]["admin"]}, 401),
    }


def assert_refusal(response: httpx2.Response, status: int, what: str) -> None:
    assert response.status_code == status, f"{what}: {response.status_code} {response.text}"
    body = response.json()
    assert body["error"]["code"] == (-31403 if status == 403 else -31401), f"{what}: {body}"
    assert body["error"]["data"]["httpStatus"] == status
    if status == 401:
        assert response.headers["www-authenticate"].startswith("Bearer"), what
    assert "\"items\"" not in response.text and "result" not in body, f"{what}: leaked a result: {body}"


async def test_streamable_http_session_hijack(sandbox: ServerProcess, serve_external: ServerProcess, live) -> None:
    acme = org(sandbox.ready, "acme")
    url = serve_external.ready["mcpUrl"]
    exchanges: list[Any] = []
    async with connect_streamable_http(url, auth_headers(acme), exchanges=exchanges) as victim:
        session_id = next(r.headers["mcp-session-id"] for r in exchanges if "mcp-session-id" in r.headers)
        assert_list_page(await victim.call_tool("list_users", {"limit": 1}), limit=1, kind="users")

        before = sandbox_stats(sandbox.ready)
        async with httpx2.AsyncClient(timeout=10) as http:
            for what, (headers, status) in attackers(sandbox).items():
                common = {
                    **headers,
                    "mcp-session-id": session_id,
                    "mcp-protocol-version": victim.protocol_version,
                }
                post = await http.post(
                    url,
                    content=json.dumps(CALL),
                    headers={**common, "content-type": "application/json", "accept": "application/json, text/event-stream"},
                )
                assert_refusal(post, status, f"POST with {what}")
                get = await http.get(url, headers={**common, "accept": "text/event-stream"})
                assert_refusal(get, status, f"GET stream with {what}")
                delete = await http.delete(url, headers=common)
                assert_refusal(delete, status, f"DELETE with {what}")
        delta = stats_delta(before, sandbox_stats(sandbox.ready))
        assert delta["total"] == 0, f"refused requests reached the Nudj API: {delta}"

        # The victim's session survived every attempt (including the DELETEs) and still works.
        assert_list_page(await victim.call_tool("list_users", {"limit": 1}), limit=1, kind="users")
        delta = stats_delta(before, sandbox_stats(sandbox.ready))
        assert delta == {"acme": 1, "globex": 0, "total": 1}, delta


async def test_legacy_sse_session_hijack(sandbox: ServerProcess, serve_external: ServerProcess, live) -> None:
    acme = org(sandbox.ready, "acme")
    session_ids: list[str] = []
    async with connect_sse(serve_external.ready["sseUrl"], auth_headers(acme), on_session_created=session_ids.append) as victim:
        assert len(session_ids) == 1, session_ids
        messages_url = serve_external.ready["sseUrl"].rsplit("/", 1)[0] + "/messages"
        assert_list_page(await victim.call_tool("list_users", {"limit": 1}), limit=1, kind="users")

        before = sandbox_stats(sandbox.ready)
        async with httpx2.AsyncClient(timeout=10) as http:
            for what, (headers, status) in attackers(sandbox).items():
                post = await http.post(
                    messages_url,
                    params={"sessionId": session_ids[0]},
                    content=json.dumps(CALL),
                    headers={**headers, "content-type": "application/json"},
                )
                assert_refusal(post, status, f"POST /messages with {what}")
        delta = stats_delta(before, sandbox_stats(sandbox.ready))
        assert delta["total"] == 0, f"refused requests reached the Nudj API: {delta}"

        assert_list_page(await victim.call_tool("list_users", {"limit": 1}), limit=1, kind="users")
        assert stats_delta(before, sandbox_stats(sandbox.ready)) == {"acme": 1, "globex": 0, "total": 1}
