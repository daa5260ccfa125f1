"""Load and soak: many concurrent Streamable HTTP sessions across both sandbox organisations, many calls, every
answer checked to come from its own session's organisation, server RSS sampled as the calls accumulate.

    .venv-bench/bin/python bench/soak.py [--sessions 1000] [--calls 100000]

Exits non-zero on any error, any cross-organisation answer, or steady RSS growth above --max-bytes-per-call (10)
after the first 10k calls (the median slope over 5k-call intervals, so that a one-off step such as a new worker
thread does not count as a leak). Linux builds use the native upstream client; URLSession (FoundationNetworking)
leaked ~190 bytes per request, which is why this bound used to be 300. bench/leakcheck.py proves, with
LeakSanitizer, that nothing leaks.
"""

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".build/release/nudj-mcp"


def rss_mb(pid):
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("VmRSS:"):
            return int(row.split()[1]) / 1024
    return 0.0


def threads(pid):
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith("Threads:"):
            return int(row.split()[1])
    return 0


class Client:
    """A minimal keep-alive HTTP/1.1 client over asyncio streams (one per session)."""

    def __init__(self, port, headers):
        self.port = port
        self.headers = headers
        self.reader = self.writer = None

    async def post(self, body, extra=None):
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        headers = {**self.headers, **(extra or {}), "Content-Type": "application/json",
                   "Accept": "application/json, text/event-stream", "Content-Length": str(len(body))}
        head = "POST /mcp HTTP/1.1\r\nHost: localhost\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        response_headers = {}
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode().partition(":")
            response_headers[name.strip().lower()] = value.strip()
        length = int(response_headers.get("content-length", "0"))
        payload = await self.reader.readexactly(length) if length else b""
        return status, response_headers, payload


async def session_worker(index, port, org, calls, counters, progress):
    client = Client(port, {"Authorization": f"Bearer {org['tokens']['admin']}", "x-api-domain": org["apiDomain"]["admin"]})
    init = json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                       "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "soak", "version": "1"}}}).encode()
    status, headers, _ = await client.post(init)
    if status != 200:
        counters["errors"] += 1
        return
    session = headers["mcp-session-id"]
    for call in range(calls):
        body = json.dumps({"jsonrpc": "2.0", "id": call + 1, "method": "tools/call",
                           "params": {"name": "list_users", "arguments": {"limit": 1, "skip": call % 40}}}).encode()
        status, _, payload = await client.post(body, {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"})
        try:
            result = json.loads(payload)["result"]
            owner = result["structuredContent"]["items"][0]["organisationId"]
            if status != 200 or result.get("isError"):
                counters["errors"] += 1
            elif owner != org["id"]:
                counters["wrong"] += 1
            else:
                counters["ok"] += 1
        except (KeyError, IndexError, ValueError):
            counters["errors"] += 1
        progress()
    client.writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--max-bytes-per-call", type=float, default=10)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    sandbox = subprocess.Popen([str(BIN), "sandbox", "--port", "0", "--log-level", "error", "--rate-limit-admin", "1000000"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ready = json.loads(sandbox.stdout.readline())
    serve = subprocess.Popen([str(BIN), "serve", "--port", "0", "--allow-insecure-localhost", "--log-level", "error",
                              "--max-sessions", str(args.sessions + 100)],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    port = int(json.loads(serve.stdout.readline())["mcpUrl"].split(":")[2].split("/")[0])
    counters = {"ok": 0, "wrong": 0, "errors": 0}
    samples = []
    thread_counts = []
    done = 0
    started = time.perf_counter()

    def progress():
        nonlocal done
        done += 1
        if done == args.calls or (done >= 10_000 and done % 5_000 == 0):
            samples.append((done, rss_mb(serve.pid)))
            thread_counts.append(threads(serve.pid))

    per_session = max(1, args.calls // args.sessions)
    try:
        await asyncio.gather(*(session_worker(i, port, ready["orgs"][i % 2], per_session, counters, progress)
                               for i in range(args.sessions)))
    finally:
        elapsed = time.perf_counter() - started
        peak = 0
        for row in Path(f"/proc/{serve.pid}/status").read_text().splitlines():
            if row.startswith("VmHWM:"):
                peak = int(row.split()[1]) / 1024
        serve.terminate()
        sandbox.terminate()
    total = counters["ok"] + counters["wrong"] + counters["errors"]
    print(f"{args.sessions} sessions, {total} calls in {elapsed:.1f} s ({total / elapsed:.0f} calls/s): "
          f"{counters['ok']} correct, {counters['wrong']} from the wrong organisation, {counters['errors']} errors")
    print("RSS by calls completed: " + ", ".join(f"{n // 1000}k: {mb:.1f}" for n, mb in samples) + f" MB; peak {peak:.1f} MB")
    print("server threads at those points: " + ", ".join(str(count) for count in thread_counts))
    first = next(((n, mb) for n, mb in samples if n >= 10_000), None)
    growth = per_call = 0.0
    if first and samples[-1][0] > first[0]:
        growth = (samples[-1][1] - first[1]) / first[1]
        # The median of the per-interval slopes: a steady leak shows in every interval, while the step when the
        # runtime adds a worker thread (its stack and arena) shows in one and is bounded.
        slopes = sorted((b_mb - a_mb) * 1024 * 1024 / (b_n - a_n)
                        for (a_n, a_mb), (b_n, b_mb) in zip(samples, samples[1:]) if a_n >= 10_000 and b_n > a_n)
        per_call = slopes[len(slopes) // 2]
    overall = 0.0
    if first and samples[-1][0] > first[0]:
        overall = (samples[-1][1] - first[1]) * 1024 * 1024 / (samples[-1][0] - first[0])
    print(f"RSS growth from 10k calls to the end: {growth * 100:+.1f}%; steady growth {per_call:.1f} bytes per call "
          f"(median over 5k-call intervals), {overall:.1f} bytes per call from 10k calls to the end")
    if counters["wrong"] or counters["errors"] or per_call > args.max_bytes_per_call:
        sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
