"""nginx in front of 3 replicas sharing a session secret: sessions survive replicas dying and rolling restarts.

Failures are counted, never tolerated: every Streamable HTTP tool call must succeed and every HTTP response the SDK
sees must be 2xx, across a replica killed with SIGKILL and across a rolling restart (SIGTERM, restart, next) of all
three under load. Legacy SSE needs its stream's replica: POSTs are routed back there by `/messages/<replica>`, and
a client whose replica is terminated sees a clean end of stream.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import anyio
import httpx2
import pytest
from prometheus_client.parser import text_string_to_metric_families

from conftest import Cluster
from support import connect_sse, connect_streamable_http, is_error, structured

pytestmark = pytest.mark.anyio


def upstream_of(response: Any) -> str:
    return response.headers.get("x-upstream", "")


def session_id(exchanges: list[Any]) -> str:
    return next(r.headers["mcp-session-id"] for r in exchanges if "mcp-session-id" in r.headers)


def failed_exchanges(exchanges: list[Any]) -> list[str]:
    return [f"{r.request.method} {r.request.url.path} -> {r.status_code}" for r in exchanges if r.status_code >= 300]


async def call_users(connection: Any) -> None:
    result = await connection.call_tool("list_users", {"limit": 1})
    assert not is_error(result), structured(result)


async def test_killing_the_replica_that_created_a_session_fails_no_call(lb: Cluster) -> None:
    exchanges: list[Any] = []
    async with connect_streamable_http(lb.url + "/mcp/acme", lb.headers("acme"), exchanges=exchanges) as connection:
        await call_users(connection)
        creator = lb.replica_at(upstream_of(next(r for r in exchanges if "mcp-session-id" in r.headers)))
        calls = 0
        for round in range(30):
            if round == 10:
                await anyio.to_thread.run_sync(creator.kill)
            await call_users(connection)
            calls += 1
        served_after = {lb.replica_at(upstream_of(r)).id for r in exchanges[-10:] if upstream_of(r)}
    assert calls == 30
    print(f"\nfailover: {calls} calls across SIGKILL of {creator.id}, 0 failed; served after by {sorted(served_after)}")
    assert creator.id not in served_after and served_after, served_after
    # The SDK's own requests (initialize, POSTs, the GET stream, the closing DELETE) all succeeded.
    assert failed_exchanges(exchanges) == []


async def test_rolling_restart_under_load_fails_no_streamable_http_request(lb: Cluster) -> None:
    clients = 4
    stop = threading.Event()
    results = {"calls": 0, "failures": []}
    all_exchanges: list[list[Any]] = []

    async def client(index: int) -> None:
        exchanges: list[Any] = []
        all_exchanges.append(exchanges)
        org = "acme" if index % 2 == 0 else "globex"
        async with connect_streamable_http(lb.url + "/mcp", lb.headers(org, org), exchanges=exchanges) as connection:
            while not stop.is_set():
                try:
                    await call_users(connection)
                    results["calls"] += 1
                except Exception as error:  # counted, then reported
                    results["failures"].append(f"client {index}: {error!r}")
                await anyio.sleep(0.02)

    def roll() -> None:
        for replica in lb.replicas:
            time.sleep(1.0)
            assert replica.terminate() == 0, replica.process.log_tail() if replica.process else ""
            replica.start()
        time.sleep(1.0)
        stop.set()

    async with anyio.create_task_group() as group:
        for index in range(clients):
            group.start_soon(client, index)
        await anyio.to_thread.run_sync(roll)
    failed_http = [failure for exchanges in all_exchanges for failure in failed_exchanges(exchanges)]
    nginx_errors = (lb.tmp / "nginx-error.log").read_text()[-3000:]
    assert results["failures"] == [], (failed_http, nginx_errors)
    assert results["calls"] > 40, results
    requests = sum(len(exchanges) for exchanges in all_exchanges)
    print(f"\nrolling restart: {results['calls']} calls, {requests} HTTP requests from {clients} clients, 0 failed")
    failures = [failure for exchanges in all_exchanges for failure in failed_exchanges(exchanges)]
    assert failures == []
    assert all(replica.starts >= 2 for replica in lb.replicas)


async def test_legacy_sse_posts_reach_the_stream_replica_and_a_terminated_replica_ends_streams_cleanly(
    lb: Cluster,
) -> None:
    # With 3 replicas, a POST sent anywhere would miss its stream two times in three: every call must succeed.
    for _ in range(6):
        async with connect_sse(lb.url + "/sse/acme", lb.headers("acme")) as connection:
            for _ in range(3):
                await call_users(connection)

    # A raw stream, to watch how it ends when its replica drains.
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(30.0)) as http:
        headers = {**lb.headers("acme", "acme"), "Accept": "text/event-stream"}
        async with http.stream("GET", lb.url + "/sse", headers=headers) as response:
            assert response.status_code == 200
            lines = response.aiter_lines()
            endpoint = ""
            async for line in lines:
                if line.startswith("data: "):
                    endpoint = line[len("data: ") :]
                    break
            replica_id = endpoint.split("/")[2].split("?")[0]
            replica = next(r for r in lb.replicas if r.id == replica_id)
            assert endpoint.startswith(f"/messages/{replica.id}?sessionId="), endpoint
            ended = anyio.Event()

            async def terminate() -> None:
                await anyio.to_thread.run_sync(replica.terminate)
                ended.set()

            async with anyio.create_task_group() as group:
                group.start_soon(terminate)
                with anyio.fail_after(30):
                    async for _ in lines:  # a clean end: the iteration finishes, no protocol error is raised
                        pass
            assert ended.is_set()


async def test_cross_tenant_checks_hold_through_the_load_balancer(lb: Cluster) -> None:
    exchanges: list[Any] = []
    async with connect_streamable_http(lb.url + "/mcp", lb.headers("acme", "acme"), exchanges=exchanges) as connection:
        await call_users(connection)
        session = session_id(exchanges)
        before = lb.sandbox_requests()
        body = json.dumps(
            {"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": "list_users", "arguments": {}}}
        )
        attempts = {
            "globex credentials": lb.headers("globex", "globex"),
            "globex token, acme domain": lb.headers("globex", "acme"),
            "acme token, globex domain": lb.headers("acme", "globex"),
        }
        async with httpx2.AsyncClient(timeout=httpx2.Timeout(20.0)) as http:
            for what, headers in attempts.items():
                seen: set[str] = set()
                for _ in range(6):  # round robin: every replica gets asked, whether it holds the session or not
                    response = await http.post(
                        lb.url + "/mcp",
                        content=body,
                        headers={
                            **headers,
                            "Content-Type": "application/json",
                            "Accept": "application/json, text/event-stream",
                            "Mcp-Session-Id": session,
                            "MCP-Protocol-Version": connection.protocol_version,
                        },
                    )
                    assert response.status_code == 403, (what, response.status_code, response.text)
                    seen.add(lb.replica_at(upstream_of(response)).id)
                assert len(seen) >= 2, (what, seen)
            # The organisation in the URL and a disagreeing header.
            refused = await http.post(
                lb.url + "/mcp/acme",
                content=body,
                headers={**lb.headers("acme", "globex"), "Content-Type": "application/json", "Mcp-Session-Id": session},
            )
            assert refused.status_code == 403
        assert lb.sandbox_requests() == before
        await call_users(connection)  # the owner is still served


async def test_metrics_parse_with_the_prometheus_parser_and_carry_no_tenant(lb: Cluster) -> None:
    async with connect_streamable_http(lb.url + "/mcp", lb.headers("acme", "acme")) as connection:
        for _ in range(3):
            await call_users(connection)
    tool_calls = 0.0
    async with httpx2.AsyncClient(timeout=httpx2.Timeout(10.0)) as http:
        assert (await http.get(lb.url + "/metrics")).status_code == 404  # not exposed through the public entry
        for replica in lb.replicas:
            response = await http.get(replica.url + "/metrics")
            assert response.status_code == 200
            families = {family.name: family for family in text_string_to_metric_families(response.text)}
            for name in [
                "nudj_mcp_http_requests",
                "nudj_mcp_tool_calls",
                "nudj_mcp_upstream_request_duration_seconds",
                "nudj_mcp_sessions",
                "nudj_mcp_open_streams",
                "nudj_mcp_ready",
            ]:
                assert name in families, (replica.id, sorted(families))
            assert families["nudj_mcp_upstream_request_duration_seconds"].type == "histogram"
            for family in families.values():
                for sample in family.samples:
                    assert not {"organisation", "org", "session", "token"} & set(sample.labels), sample
                    assert not any("acme" in value or "globex" in value for value in sample.labels.values()), sample
            tool_calls += sum(
                sample.value
                for sample in families["nudj_mcp_tool_calls"].samples
                if sample.name == "nudj_mcp_tool_calls_total" and sample.labels.get("tool") == "list_users"
            )
            assert families["nudj_mcp_ready"].samples[0].value == 1
    assert tool_calls >= 3
