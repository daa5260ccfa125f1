"""A peer MCP server on the official MCP Python SDK, with the same tool shape as nudj-mcp's list/get tools,
bridging to the same Nudj sandbox. Used only as a benchmark baseline.

    python python_peer.py stdio
    python python_peer.py http --port 8765

Credentials come from NUDJ_MCP_TOKEN and NUDJ_API_DOMAIN, as for nudj-mcp stdio.
"""

import os
import sys
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
from mcp.server.mcpserver import MCPServer

API = os.environ.get("NUDJ_API_DOMAIN", "").rstrip("/")
TOKEN = os.environ.get("NUDJ_MCP_TOKEN", "")
HEADERS = {"Authorization": f"Bearer {TOKEN}", "x-api-domain": API, "Accept": "application/json"}

# Python's resolver does not map *.localhost to loopback (curl, which nudj-mcp uses, does): connect to 127.0.0.1
# and name the organisation's host in the Host header, which is all the sandbox looks at.
_url = urlsplit(API)
if _url.hostname and _url.hostname.endswith(".localhost"):
    HEADERS["Host"] = _url.netloc
    API = urlunsplit((_url.scheme, f"127.0.0.1:{_url.port}", _url.path, "", ""))

server = MCPServer(name="python-peer", instructions="Benchmark peer bridging to the Nudj sandbox.", log_level="ERROR")
_client: httpx.AsyncClient | None = None


def client() -> httpx.AsyncClient:
    global _client
    if _client is None:
        _client = httpx.AsyncClient(headers=HEADERS, timeout=30)
    return _client


@server.tool(description="List the organisation's users, 10 per page by default.")
async def list_users(limit: int = 10, skip: int = 0) -> dict[str, Any]:
    response = await client().get(f"{API}/users", params={"limit": limit, "skip": skip})
    response.raise_for_status()
    return response.json()


@server.tool(description="Fetch one user by id.")
async def get_user(userId: str) -> dict[str, Any]:
    response = await client().get(f"{API}/users/{userId}")
    response.raise_for_status()
    return response.json()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "http":
        port = int(sys.argv[sys.argv.index("--port") + 1]) if "--port" in sys.argv else 8765
        server.run("streamable-http", host="127.0.0.1", port=port, json_response=True)
    else:
        server.run("stdio")
