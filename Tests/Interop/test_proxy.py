"""mcp-proxy: a stdio<->HTTP bridge many desktop clients use to reach remote MCP servers.

`mcp-proxy [--transport streamablehttp] -H Authorization "Bearer …" -H x-api-domain … <url>` is launched as a stdio
server by the SDK's stdio client (2.x and 1.x); it talks to `nudj-mcp serve --sandbox` over Streamable HTTP or the
legacy SSE transport (mcp-proxy's default). mcp-proxy itself always runs the 1.x SDK (from .venv-proxy).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO

import pytest

from support import (
    ServerProcess,
    assert_list_page,
    assert_tenant_forbidden,
    assert_tool_error,
    connect_stdio,
    input_schema,
    org,
    structured,
)

pytestmark = [pytest.mark.anyio, pytest.mark.sdk1]


def proxy_args(server: ServerProcess, transport: str, token_org: str = "acme", domain_org: str = "acme") -> list[str]:
    token = org(server.ready, token_org)["tokens"]["admin"]
    domain = org(server.ready, domain_org)["apiDomain"]["admin"]
    args = ["--log-level", "WARNING", "-H", "Authorization", f"Bearer {token}", "-H", "x-api-domain", domain]
    if transport == "streamablehttp":
        return ["--transport", "streamablehttp", *args, server.ready["mcpUrl"]]
    return [*args, server.ready["sseUrl"]]  # SSE is mcp-proxy's default transport


@pytest.mark.parametrize("transport", ["streamablehttp", "sse"])
async def test_proxy_initialize_list_call(
    proxy_binary: Path, serve_sandbox: ServerProcess, transport: str, errlog: IO[str], live
) -> None:
    async with connect_stdio(proxy_binary, proxy_args(serve_sandbox, transport), errlog) as conn:
        # mcp-proxy re-serves the remote server's identity and instructions.
        assert conn.server_name == "nudj-mcp"
        assert conn.instructions and "'acme'" in conn.instructions

        tools = {tool.name: tool for tool in (await conn.list_tools()).tools}
        assert {"list_challenges", "get_challenge", "create_challenge", "list_communities", "list_users"} <= set(tools)
        assert input_schema(tools["get_challenge"])["required"] == ["challengeId"]

        assert_list_page(await conn.call_tool("list_challenges", {"limit": 2}), limit=2, kind="challenges")

        communities = structured(await conn.call_tool("list_communities", {"limit": 1}))["items"]
        created = structured(
            await conn.call_tool(
                "create_challenge", {"communityId": communities[0]["id"], "details": {"title": f"via mcp-proxy {transport}"}}
            )
        )
        assert created["details"]["title"] == f"via mcp-proxy {transport}"

        assert_tool_error(
            await conn.call_tool("get_challenge", {"challengeId": "nope"}), "invalid_input", field="challengeId"
        )


@pytest.mark.parametrize("transport", ["streamablehttp", "sse"])
async def test_proxy_passes_tenant_forbidden_through(
    proxy_binary: Path, serve_sandbox: ServerProcess, transport: str, errlog: IO[str], live
) -> None:
    acme = org(serve_sandbox.ready, "acme")
    args = proxy_args(serve_sandbox, transport, token_org="globex", domain_org="acme")
    async with connect_stdio(proxy_binary, args, errlog) as conn:
        result = await conn.call_tool("list_users", {"limit": 1})
    assert_tenant_forbidden(result, acme)
