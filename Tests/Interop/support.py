"""Shared helpers for the interop suite.

Everything here is SDK-generation aware: the same test module runs under the official MCP Python SDK 2.x
(.venv-interop) and 1.x (.venv-proxy, which mcp-proxy pins), whose client APIs differ:

  2.x  mcp.Client(transport, mode=...)          results use snake_case attributes (is_error, structured_content)
  1.x  mcp.ClientSession(read, write).initialize()  results use camelCase attributes (isError, structuredContent)

Tests call the adapters below and then assert on the objects the SDK returned, never on wire bytes (except the
wire-level tests that say so).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import selectors
import signal
import subprocess
import threading
import time
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

SDK_VERSION = importlib.metadata.version("mcp")
SDK_MAJOR = int(SDK_VERSION.split(".")[0])

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Upper bound for one MCP request (the SDK raises instead of waiting longer).
CALL_TIMEOUT = 20.0
#: Upper bound for a child process to print its ready line.
READY_TIMEOUT = 30.0


def nudj_bin() -> Path:
    """The nudj-mcp binary under test: $NUDJ_MCP_BIN, relative paths taken from the repository root."""
    raw = os.environ.get("NUDJ_MCP_BIN", ".build/debug/nudj-mcp")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def mcp_proxy_bin() -> Path:
    """The mcp-proxy executable: $MCP_PROXY_BIN, else the one scripts/python-env installs in .venv-proxy."""
    raw = os.environ.get("MCP_PROXY_BIN", ".venv-proxy/bin/mcp-proxy")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


# ---------------------------------------------------------------------------------------------------------------
# Result accessors (the attribute names differ between SDK generations; the values are what the SDK parsed)


def is_error(result: Any) -> bool | None:
    return result.is_error if SDK_MAJOR >= 2 else result.isError


def structured(result: Any) -> Any:
    return result.structured_content if SDK_MAJOR >= 2 else result.structuredContent


def texts(result: Any) -> list[str]:
    return [block.text for block in result.content if block.type == "text"]


def input_schema(tool: Any) -> dict[str, Any]:
    return tool.input_schema if SDK_MAJOR >= 2 else tool.inputSchema


def output_schema(tool: Any) -> dict[str, Any] | None:
    return tool.output_schema if SDK_MAJOR >= 2 else tool.outputSchema


def read_only_hint(tool: Any) -> bool | None:
    if tool.annotations is None:
        return None
    return tool.annotations.read_only_hint if SDK_MAJOR >= 2 else tool.annotations.readOnlyHint


def next_cursor(result: Any) -> str | None:
    return result.next_cursor if SDK_MAJOR >= 2 else result.nextCursor


def org(ready: dict[str, Any], subdomain: str) -> dict[str, Any]:
    """One organisation entry of a ready line (`orgs[]`)."""
    for entry in ready["orgs"]:
        if entry["subdomain"] == subdomain:
            return entry
    raise AssertionError(f"organisation {subdomain!r} missing from ready line: {[o['subdomain'] for o in ready['orgs']]}")


def auth_headers(entry: dict[str, Any], token: str = "admin", domain_of: dict[str, Any] | None = None) -> dict[str, str]:
    """The two headers every HTTP request needs: Bearer token of `entry`, x-api-domain of `domain_of` (default: same org)."""
    domain_entry = domain_of if domain_of is not None else entry
    return {
        "Authorization": f"Bearer {entry['tokens'][token]}",
        "x-api-domain": domain_entry["apiDomain"]["admin"],
    }


# ---------------------------------------------------------------------------------------------------------------
# Child processes


def _resolve_prctl() -> Any:
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _resolve_prctl()  # resolved up front: the child may only call it (no imports between fork and exec)
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: have Linux SIGTERM it if pytest dies without tearing down (no orphans)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


class ServerProcess:
    """A nudj-mcp child (sandbox / serve) that announces itself with one JSON ready line on stdout.

    stderr goes to a log file (never a pipe that could fill up); stdout is drained after the ready line. Every wait
    is bounded; `stop()` terminates, then kills.
    """

    def __init__(
        self,
        args: list[str],
        log_path: Path,
        ready_timeout: float = READY_TIMEOUT,
        env: dict[str, str] | None = None,
    ) -> None:
        self.args = args
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._log,
            preexec_fn=_die_with_parent,
            env=None if env is None else {**os.environ, **env},
        )
        try:
            self.ready = self._read_ready(ready_timeout)
        except BaseException:
            self.stop()
            raise
        threading.Thread(target=self._drain_stdout, daemon=True).start()

    def _read_ready(self, timeout: float) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no ready line within {timeout}s from {self.args}\n{self.log_tail()}")
                if not selector.select(remaining):
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise AssertionError(
                        f"{self.args} exited (status {self.proc.poll()}) before its ready line\n{self.log_tail()}"
                    )
                buffer += chunk
        line = buffer.split(b"\n", 1)[0]
        ready = json.loads(line)
        assert ready.get("event") == "ready", ready
        return ready

    def _drain_stdout(self) -> None:
        assert self.proc.stdout is not None
        with contextlib.suppress(Exception):
            while self.proc.stdout.read(65536):
                pass

    def log_tail(self, limit: int = 4000) -> str:
        with contextlib.suppress(OSError):
            self._log.flush()
            data = self.log_path.read_bytes()
            return f"--- stderr of {Path(self.args[0]).name} {' '.join(self.args[1:3])} (tail) ---\n" + data[
                -limit:
            ].decode(errors="replace")
        return ""

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            with contextlib.suppress(Exception):
                self.proc.stdout.close()
        self._log.close()


def read_json_lines(proc: subprocess.Popen[bytes], count: int, timeout: float) -> list[Any]:
    """Up to `count` JSON lines from a child's stdout, waiting at most `timeout` seconds in all."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    buffer = b""
    messages: list[Any] = []
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while len(messages) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                break
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buffer += chunk
            while b"\n" in buffer and len(messages) < count:
                line, buffer = buffer.split(b"\n", 1)
                if line.strip():
                    messages.append(json.loads(line))
    return messages


def http_get_json(url: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback only)
        return json.loads(response.read())


def sandbox_stats(sandbox_ready: dict[str, Any]) -> dict[str, Any]:
    """`GET <sandbox>/_sandbox/stats`: {"requests": {"acme": n, "globex": m}, "total": N}."""
    return http_get_json(sandbox_ready["url"].rstrip("/") + "/_sandbox/stats")


def stats_delta(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    orgs = set(before["requests"]) | set(after["requests"])
    delta = {name: after["requests"].get(name, 0) - before["requests"].get(name, 0) for name in orgs}
    delta["total"] = after["total"] - before["total"]
    return delta


# ---------------------------------------------------------------------------------------------------------------
# SDK connections


@dataclass
class Connection:
    """A connected, initialized SDK client, whichever generation and transport."""

    client: Any  # 2.x: mcp.Client; 1.x: mcp.ClientSession
    protocol_version: str
    server_name: str | None
    server_title: str | None
    instructions: str | None

    async def list_tools(self) -> Any:
        return await self.client.list_tools()

    async def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        return await self.client.call_tool(name, arguments)


def _connection_v2(client: Any) -> Connection:
    info = client.server_info
    return Connection(
        client=client,
        protocol_version=client.protocol_version,
        server_name=info.name if info else None,
        server_title=info.title if info else None,
        instructions=client.instructions,
    )


def _connection_v1(session: Any, init: Any) -> Connection:
    return Connection(
        client=session,
        protocol_version=init.protocolVersion,
        server_name=init.serverInfo.name,
        server_title=init.serverInfo.title,
        instructions=init.instructions,
    )


def stdio_params(command: Path | str, args: list[str], env: dict[str, str] | None = None) -> Any:
    from mcp.client.stdio import StdioServerParameters

    return StdioServerParameters(command=str(command), args=args, env=env)


@contextlib.asynccontextmanager
async def connect_stdio(
    command: Path | str, args: list[str], errlog: IO[str], mode: str = "legacy", env: dict[str, str] | None = None
) -> AsyncIterator[Connection]:
    """Launch `command args` and talk MCP to it over stdio with the SDK's stdio client.

    `mode` only matters for SDK 2.x ("legacy", "auto" or a modern version); SDK 1.x always does the handshake.
    """
    params = stdio_params(command, args, env)
    if SDK_MAJOR >= 2:
        from mcp import Client
        from mcp.client.stdio import stdio_client

        async with Client(stdio_client(params, errlog=errlog), mode=mode, read_timeout_seconds=CALL_TIMEOUT) as client:
            yield _connection_v2(client)
    else:
        assert mode == "legacy", "SDK 1.x only speaks the initialize handshake"
        from mcp import ClientSession
        from mcp.client.stdio import stdio_client

        async with stdio_client(params, errlog=errlog) as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=timedelta(seconds=CALL_TIMEOUT)) as session:
                init = await session.initialize()
                yield _connection_v1(session, init)


@contextlib.asynccontextmanager
async def connect_streamable_http(
    url: str, headers: dict[str, str], mode: str = "legacy", exchanges: list[Any] | None = None
) -> AsyncIterator[Connection]:
    """The SDK's Streamable HTTP client, with `headers` on every request (through the SDK's own HTTP client type).

    With `exchanges` (SDK 2.x), every HTTP response the SDK receives is appended to it (its request is
    `response.request`), so a test can check the HTTP-level conversation the SDK had.
    """
    if SDK_MAJOR >= 2:
        import httpx2
        from mcp import Client
        from mcp.client.streamable_http import streamable_http_client

        timeout = httpx2.Timeout(CALL_TIMEOUT, read=CALL_TIMEOUT)
        hooks: dict[str, list[Any]] = {}
        if exchanges is not None:

            async def record(response: Any) -> None:
                exchanges.append(response)

            hooks["response"] = [record]
        async with httpx2.AsyncClient(headers=headers, timeout=timeout, event_hooks=hooks) as http:
            transport = streamable_http_client(url, http_client=http)
            async with Client(transport, mode=mode, read_timeout_seconds=CALL_TIMEOUT) as client:
                yield _connection_v2(client)
    else:
        assert mode == "legacy" and exchanges is None, "SDK 1.x only speaks the initialize handshake"
        import httpx
        from mcp import ClientSession
        from mcp.client.streamable_http import streamable_http_client

        timeout = httpx.Timeout(CALL_TIMEOUT, read=CALL_TIMEOUT)
        async with httpx.AsyncClient(headers=headers, timeout=timeout) as http:
            async with streamable_http_client(url, http_client=http) as (read, write, _get_session_id):
                async with ClientSession(read, write, read_timeout_seconds=timedelta(seconds=CALL_TIMEOUT)) as session:
                    init = await session.initialize()
                    yield _connection_v1(session, init)


@contextlib.asynccontextmanager
async def connect_sse(
    url: str, headers: dict[str, str], on_session_created: Any = None
) -> AsyncIterator[Connection]:
    """The SDK's legacy HTTP+SSE client (GET /sse, POST /messages), with `headers` on every request.

    `on_session_created(session_id)` is the SDK's hook for the sessionId the server announced in its endpoint event.
    """
    from mcp.client.sse import sse_client

    transport = sse_client(
        url,
        headers=headers,
        timeout=CALL_TIMEOUT,
        sse_read_timeout=CALL_TIMEOUT * 3,
        on_session_created=on_session_created,
    )
    if SDK_MAJOR >= 2:
        from mcp import Client

        async with Client(transport, mode="legacy", read_timeout_seconds=CALL_TIMEOUT) as client:
            yield _connection_v2(client)
    else:
        from mcp import ClientSession

        async with transport as (read, write):
            async with ClientSession(read, write, read_timeout_seconds=timedelta(seconds=CALL_TIMEOUT)) as session:
                init = await session.initialize()
                yield _connection_v1(session, init)


def find_exception(error: BaseException, kind: type[BaseException] | tuple[type[BaseException], ...]) -> BaseException:
    """The first exception of `kind` in `error`, looking through anyio's exception groups and causes."""
    stack = [error]
    seen: list[BaseException] = []
    while stack:
        current = stack.pop(0)
        if isinstance(current, kind):
            return current
        seen.append(current)
        if isinstance(current, BaseExceptionGroup):
            stack.extend(current.exceptions)
        for linked in (current.__cause__, current.__context__):
            if linked is not None and linked not in seen:
                stack.append(linked)
    raise AssertionError(f"no {kind} inside {error!r}")


# ---------------------------------------------------------------------------------------------------------------
# Assertions shared by several modules


def assert_list_page(result: Any, *, limit: int, kind: str) -> dict[str, Any]:
    """A successful list result: structured page object, and the text block is exactly the structured JSON."""
    assert is_error(result) is not True, texts(result)
    content = structured(result)
    assert isinstance(content, dict), f"no structuredContent: {result!r}"
    page = content["page"]
    assert set(page) >= {"returned", "totalCount", "skip", "limit", "hasMore", "nextArguments", "summary"}, page
    assert page["limit"] == limit and page["skip"] == 0
    assert page["returned"] == len(content["items"]) <= limit
    assert page["totalCount"] >= page["returned"]
    assert page["hasMore"] == (page["totalCount"] > page["returned"])
    if page["hasMore"]:
        assert page["nextArguments"] == {"limit": limit, "skip": page["returned"]}
    assert kind in page["summary"]
    blocks = texts(result)
    assert len(blocks) == 1, blocks
    assert json.loads(blocks[0]) == content, "text block must carry the same JSON as structuredContent"
    return content


def assert_tool_error(result: Any, code: str, **expected: Any) -> dict[str, Any]:
    """A tool failure: isError, structuredContent.error with `code` and the documented fields, mirrored in text."""
    assert is_error(result) is True, f"expected isError, got {result!r}"
    content = structured(result)
    assert isinstance(content, dict) and "error" in content, f"no structured error: {result!r}"
    error = content["error"]
    assert error["code"] == code, error
    for key in ("code", "message", "hint", "retryable"):
        assert key in error, f"error lacks {key}: {error}"
    assert None not in error.values(), f"unknown fields are omitted, never null: {error}"
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["hint"], str) and error["hint"]
    assert isinstance(error["retryable"], bool)
    for key, value in expected.items():
        assert error.get(key) == value, f"error[{key!r}] = {error.get(key)!r}, expected {value!r}: {error}"
    blocks = texts(result)
    assert len(blocks) == 1, "an error result needs one text block for clients that ignore structuredContent"
    summary, _, payload = blocks[0].rpartition("\n")
    assert code in summary and error["message"] in summary, blocks[0]
    assert json.loads(payload) == content, "the text block's last line must be the structured error as JSON"
    return error


def assert_tenant_forbidden(result: Any, domain_org: dict[str, Any]) -> dict[str, Any]:
    """Another organisation's token on `domain_org`'s API domain: a complete, non-retryable refusal naming it."""
    return assert_tool_error(
        result,
        "tenant_forbidden",
        httpStatus=403,
        retryable=False,
        apiDomain=domain_org["apiDomain"]["admin"],
        organisation=domain_org["subdomain"],
    )
