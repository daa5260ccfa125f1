"""stdio: the official Python SDK's stdio client (2.x and 1.x) launching `nudj-mcp stdio`.

Every assertion is on what the SDK returned: its initialize result, its parsed tools, its CallToolResult.
"""

from __future__ import annotations

import json
import subprocess
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
    is_error,
    next_cursor,
    org,
    output_schema,
    sandbox_stats,
    stats_delta,
    structured,
)

pytestmark = [pytest.mark.anyio, pytest.mark.sdk1]

DEFAULT_TOOLS = {
    "list_communities",
    "get_community",
    "list_challenges",
    "get_challenge",
    "create_challenge",
    "update_challenge",
    "list_rewards",
    "list_users",
    "get_user",
    "create_user",
}
HANDSHAKE_VERSIONS = {"2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"}


def catalogue(binary: Path, *args: str) -> list[dict]:
    """`nudj-mcp tools --json`: the tools the server should expose with the same options."""
    output = subprocess.run(
        [str(binary), "tools", "--json", *args], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    return json.loads(output)


def external_args(sandbox: ServerProcess, token_org: str, domain_org: str, token: str = "admin") -> list[str]:
    """`stdio` pointed at the separate sandbox with one org's token and (possibly another) org's API domain."""
    return [
        "stdio",
        "--allow-insecure-localhost",
        "--api-domain",
        org(sandbox.ready, domain_org)["apiDomain"]["admin"],
        "--token",
        org(sandbox.ready, token_org)["tokens"][token],
    ]


async def test_initialize_and_list_tools(binary: Path, errlog: IO[str]) -> None:
    async with connect_stdio(binary, ["stdio", "--sandbox"], errlog) as conn:
        assert conn.protocol_version in HANDSHAKE_VERSIONS
        assert conn.server_name == "nudj-mcp"
        assert conn.instructions and "'acme'" in conn.instructions, conn.instructions
        assert "tenant_forbidden" in conn.instructions

        listed = await conn.list_tools()
        assert next_cursor(listed) is None, "the default page size serves every tool in one page"
        tools = {tool.name: tool for tool in listed.tools}
        assert DEFAULT_TOOLS <= set(tools), sorted(tools)

        expected = {entry["name"]: entry for entry in catalogue(binary)}
        assert set(tools) == set(expected), "tools/list must be exactly the enabled catalogue"
        for name, tool in tools.items():
            schema = input_schema(tool)
            assert schema["type"] == "object", name
            assert schema == expected[name]["inputSchema"], f"{name}: inputSchema differs from the catalogue"
            assert output_schema(tool) == expected[name].get("outputSchema"), name

        paging = input_schema(tools["list_challenges"])["properties"]
        assert paging["limit"]["minimum"] == 1 and paging["limit"]["maximum"] == 100
        assert "challengeId" in input_schema(tools["get_challenge"])["required"]


async def test_read_call_returns_structured_page(binary: Path, errlog: IO[str]) -> None:
    async with connect_stdio(binary, ["stdio", "--sandbox"], errlog) as conn:
        result = await conn.call_tool("list_challenges", {"limit": 3})
        content = assert_list_page(result, limit=3, kind="challenges")
        assert content["page"]["returned"] == 3
        assert all(edge["organisationId"] == content["items"][0]["organisationId"] for edge in content["items"])

        # The next page, called exactly as the server told the agent to.
        follow = await conn.call_tool("list_challenges", content["page"]["nextArguments"])
        next_content = structured(follow)
        assert next_content["page"]["skip"] == 3
        assert {e["id"] for e in next_content["items"]}.isdisjoint({e["id"] for e in content["items"]})


async def test_bad_arguments_are_invalid_input(binary: Path, errlog: IO[str]) -> None:
    async with connect_stdio(binary, ["stdio", "--sandbox"], errlog) as conn:
        result = await conn.call_tool("get_challenge", {"challengeId": "nope"})
        error = assert_tool_error(
            result, "invalid_input", httpStatus=None, retryable=False, organisation="acme", field="challengeId"
        )
        assert "nope" in error["message"]
        assert error["fields"] == [{"field": "challengeId", "message": error["fields"][0]["message"]}]
        assert "list_challenges" in error["hint"]


async def test_unknown_id_is_not_found(binary: Path, errlog: IO[str]) -> None:
    async with connect_stdio(binary, ["stdio", "--sandbox"], errlog) as conn:
        result = await conn.call_tool("get_challenge", {"challengeId": "0" * 24})
        error = assert_tool_error(result, "not_found", httpStatus=404, retryable=False, organisation="acme")
        assert "0" * 24 in error["message"]


async def test_every_argument_free_tool_passes_the_sdks_output_schema_validation(binary: Path, errlog: IO[str]) -> None:
    """Both SDK generations validate structuredContent against the tool's outputSchema inside call_tool (and raise
    on a mismatch), so calling every tool that needs no argument, across all toolsets, checks any declared schema
    against real results (output schemas that say nothing beyond "an object" are not declared)."""
    async with connect_stdio(binary, ["stdio", "--sandbox", "--toolsets", "all"], errlog) as conn:
        tools = (await conn.list_tools()).tools
        assert len(tools) == len(catalogue(binary, "--toolsets", "all"))
        free = [t for t in tools if not input_schema(t).get("required") and not input_schema(t).get("minProperties")]
        assert len(free) >= 20, [tool.name for tool in free]
        for tool in free:
            result = await conn.call_tool(tool.name, {})
            assert is_error(result) is not True, (tool.name, structured(result))
            assert isinstance(structured(result), dict), tool.name
            limit = input_schema(tool).get("properties", {}).get("limit")
            if limit is not None and (tool.name.startswith("list_") or "_list_" in tool.name):
                page = structured(result)["page"]
                assert page["limit"] == limit.get("default", 10), (tool.name, page)
                assert page["returned"] <= page["limit"] and page["returned"] == len(structured(result)["items"])


async def test_bad_arguments_make_no_upstream_call(binary: Path, sandbox: ServerProcess, errlog: IO[str], live) -> None:
    async with connect_stdio(binary, external_args(sandbox, "acme", "acme"), errlog) as conn:
        before = sandbox_stats(sandbox.ready)
        for arguments in ({"challengeId": "nope"}, {}, {"challengeId": "0" * 24, "extra": 1}):
            assert_tool_error(await conn.call_tool("get_challenge", arguments), "invalid_input")
        assert_tool_error(await conn.call_tool("list_challenges", {"limit": 0}), "invalid_input")
        assert stats_delta(before, sandbox_stats(sandbox.ready))["total"] == 0, "invalid_input must be decided locally"

        # The counter does move for a valid call, so the zero above means something.
        assert_list_page(await conn.call_tool("list_challenges", {"limit": 1}), limit=1, kind="challenges")
        delta = stats_delta(before, sandbox_stats(sandbox.ready))
        assert delta["acme"] == 1 and delta["total"] == 1, delta


async def test_cross_tenant_token_is_tenant_forbidden(
    binary: Path, sandbox: ServerProcess, errlog: IO[str], live
) -> None:
    """globex's admin token with acme's API domain: the token's own claims name globex, so the server refuses
    before sending anything, with a complete, non-retryable error that names both organisations."""
    acme = org(sandbox.ready, "acme")
    async with connect_stdio(binary, external_args(sandbox, "globex", "acme"), errlog) as conn:
        assert conn.instructions and "'acme'" in conn.instructions and "'globex'" in conn.instructions
        assert "Connected to" not in conn.instructions, conn.instructions
        before = sandbox_stats(sandbox.ready)
        result = await conn.call_tool("list_challenges", {"limit": 2})
        delta = stats_delta(before, sandbox_stats(sandbox.ready))

    error = assert_tenant_forbidden(result, acme)
    assert "globex" in error["message"], error["message"]
    assert "acme" in error["hint"] and "globex" in error["hint"], error["hint"]
    assert "retry" in error["hint"].lower(), error["hint"]
    assert "retryAfterSeconds" not in error
    assert delta["total"] == 0, f"a cross-tenant call must not reach any organisation: {delta}"


async def test_expired_token_is_reported_without_upstream_call(
    binary: Path, sandbox: ServerProcess, errlog: IO[str], live
) -> None:
    async with connect_stdio(binary, external_args(sandbox, "acme", "acme", token="expired"), errlog) as conn:
        before = sandbox_stats(sandbox.ready)
        result = await conn.call_tool("list_challenges", {"limit": 1})
        delta = stats_delta(before, sandbox_stats(sandbox.ready))
    assert_tool_error(result, "token_expired", retryable=False, organisation="acme")
    assert delta["total"] == 0, delta


async def test_unknown_token_is_unauthorized_by_the_api(
    binary: Path, sandbox: ServerProcess, errlog: IO[str], live
) -> None:
    """An opaque token the server cannot judge is sent; the API's 401 comes back as a complete tool error."""
    acme = org(sandbox.ready, "acme")
    args = ["stdio", "--allow-insecure-localhost", "--api-domain", acme["apiDomain"]["admin"], "--token", "not-a-nudj-token"]
    async with connect_stdio(binary, args, errlog) as conn:
        before = sandbox_stats(sandbox.ready)
        result = await conn.call_tool("list_challenges", {"limit": 1})
        delta = stats_delta(before, sandbox_stats(sandbox.ready))
    assert_tool_error(result, "unauthorized", httpStatus=401, retryable=False, organisation="acme", upstreamCode="UNAUTHORIZED")
    assert delta == {"acme": 1, "globex": 0, "total": 1}, delta


async def test_viewer_token_hides_write_tools_and_reads(binary: Path, errlog: IO[str]) -> None:
    async with connect_stdio(binary, ["stdio", "--sandbox", "--sandbox-token", "viewer"], errlog) as conn:
        assert conn.instructions and "Viewer" in conn.instructions
        names = {tool.name for tool in (await conn.list_tools()).tools}
        assert {"list_challenges", "get_challenge", "list_users"} <= names
        assert not {"create_challenge", "update_challenge", "create_user"} & names, sorted(names)
        assert_list_page(await conn.call_tool("list_users", {"limit": 2}), limit=2, kind="users")


async def test_globex_sandbox_org(binary: Path, errlog: IO[str]) -> None:
    async with connect_stdio(binary, ["stdio", "--sandbox", "--sandbox-org", "globex"], errlog) as conn:
        assert conn.instructions and "'globex'" in conn.instructions
        content = assert_list_page(await conn.call_tool("list_communities", {"limit": 5}), limit=5, kind="communities")
        assert content["items"], "globex has communities"
