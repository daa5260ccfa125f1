"""Wire-level checks that need no SDK (run once, in the 2.x venv): raw JSON-RPC on stdio and on /mcp."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from support import read_json_lines


def sandbox_stdio(binary: Path) -> subprocess.Popen[bytes]:
    """A raw `nudj-mcp stdio --sandbox` process: the test speaks JSON lines to it directly."""
    return subprocess.Popen(
        [str(binary), "stdio", "--sandbox", "--log-level", "error"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def test_pipelined_handshake_is_processed_in_order(binary: Path) -> None:
    """stdio is one ordered stream: a request written after `initialize` must see the initialized session.

    A client that writes initialize, notifications/initialized and its first request back to back (shell
    pipelines, simple scripted clients) must get answers, not "Server not initialized" depending on task scheduling.
    (The MCP lifecycle says a client SHOULD wait for the initialize response; the server still reads one ordered
    stream, and refusing or accepting the same bytes at random is the problem.)
    """
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "pipe", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list"},
    ]
    payload = "".join(json.dumps(line) + "\n" for line in lines).encode()
    # The outcome depends on task scheduling inside the server (refused in ~5-70% of fresh processes here, depending
    # on machine load), so try up to 80 fresh processes and stop at the first refusal. A fixed server passes all.
    refused: list[str] = []
    attempts = 0
    while attempts < 80 and not refused:
        attempts += 1
        process = sandbox_stdio(binary)
        try:
            assert process.stdin is not None
            process.stdin.write(payload)
            process.stdin.flush()
            replies = {message.get("id"): message for message in read_json_lines(process, 2, timeout=15)}
            assert set(replies) == {1, 2}, f"attempt {attempts}: replies {sorted(replies)}"
            assert "result" in replies[1], replies[1]
            if "error" in replies[2]:
                refused.append(replies[2]["error"]["message"])
        finally:
            process.kill()
            process.wait(timeout=10)
    assert not refused, f"fresh process #{attempts} refused the pipelined tools/list: {refused[0]}"


@pytest.mark.parametrize("requested", ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2023-01-01"])
def test_every_handshake_version_negotiates(binary: Path, requested: str) -> None:
    """The SDK clients only propose their newest handshake version; older clients propose these."""
    expected = requested if requested != "2023-01-01" else "2025-11-25"
    process = sandbox_stdio(binary)
    try:
        assert process.stdin is not None

        def send(message: dict) -> None:
            process.stdin.write((json.dumps(message) + "\n").encode())
            process.stdin.flush()

        send({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": requested, "capabilities": {}, "clientInfo": {"name": "old", "version": "1"}}})
        (init,) = read_json_lines(process, 1, timeout=15)
        assert init["result"]["protocolVersion"] == expected, init
        send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        send({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
              "params": {"name": "list_challenges", "arguments": {"limit": 1}}})
        (call,) = read_json_lines(process, 1, timeout=15)
        result = call["result"]
        assert result.get("isError") is not True, result
        assert result["content"][0]["type"] == "text"
        if expected >= "2025-06-18":
            assert result["structuredContent"]["page"]["limit"] == 1
        else:
            assert "structuredContent" not in result, "structuredContent does not exist before 2025-06-18"
    finally:
        process.kill()
        process.wait(timeout=10)


MODERN_META = {
    "io.modelcontextprotocol/protocolVersion": "2026-07-28",
    "io.modelcontextprotocol/clientInfo": {"name": "wire", "version": "1"},
    "io.modelcontextprotocol/clientCapabilities": {},
}


@pytest.mark.parametrize(
    "headers, fragment",
    [
        ({"mcp-method": "tools/list", "mcp-name": "list_users"}, "Mcp-Method"),
        ({"mcp-method": "tools/call", "mcp-name": "get_user"}, "Mcp-Name"),
        ({"mcp-method": "tools/call"}, "Mcp-Name"),
        ({}, "Mcp-Method"),
        ({"mcp-method": "tools/call", "mcp-name": "list_users", "mcp-protocol-version": "2025-11-25"}, "MCP-Protocol-Version"),
    ],
)
def test_http_modern_header_mismatch_is_rejected(serve_sandbox, headers: dict[str, str], fragment: str) -> None:
    """2026-07-28 over HTTP: routing headers must agree with the body (the SDK re-lists and retries on -32020)."""
    import urllib.error
    import urllib.request

    from support import auth_headers, org

    acme = org(serve_sandbox.ready, "acme")
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "list_users", "arguments": {"limit": 1}, "_meta": MODERN_META}}
    request = urllib.request.Request(
        serve_sandbox.ready["mcpUrl"],
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            **auth_headers(acme),
            "content-type": "application/json",
            "accept": "application/json, text/event-stream",
            "mcp-protocol-version": "2026-07-28",
            **headers,
        },
    )
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 (loopback)
    assert caught.value.code == 400
    error = json.loads(caught.value.read())["error"]
    assert error["code"] == -32020 and fragment in error["message"], error
