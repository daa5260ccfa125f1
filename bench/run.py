"""Benchmark harness: starts and stops everything itself and writes BENCHMARKS.md.

Measured side by side in one run on one machine:
  1. stdio cold start: process start → initialize response (nudj-mcp vs the Python SDK peer)
  2. per-call overhead: tools/call through nudj-mcp (and the peer) over stdio vs the same GET made directly
  3. HTTP throughput: concurrent clients calling a tool over Streamable HTTP (nudj-mcp, peer, sandbox ceiling)
  4. idle streams: 10,000 open SSE streams → server RSS
  5. memory: RSS idle on stdio, peak under the load of 3
"""

import argparse
import asyncio
import atexit
import http.client
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".build/release/nudj-mcp"
STATIC_BIN = ROOT / ".build-static/release/nudj-mcp"
PEER = [sys.executable, str(ROOT / "bench/peers/python_peer.py")]
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}}


def line(message):
    return (json.dumps(message, separators=(",", ":")) + "\n").encode()


def percentile(values, p):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def rss_kb(pid, field="VmRSS"):
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith(field + ":"):
            return int(row.split()[1])
    return 0


SPAWNED = []


def spawn(command, **options):
    """Popen, remembered so that every child is stopped at exit even when a step fails."""
    process = subprocess.Popen(command, **options)
    SPAWNED.append(process)
    return process


@atexit.register
def stop_all():
    for process in SPAWNED:
        if process.poll() is None:
            stop(process, 5)


def stop(process, timeout=10):
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` (the SDK peer drains its backlog first)."""
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Sandbox:
    def __init__(self):
        self.process = spawn(
            [str(BIN), "sandbox", "--port", "0", "--log-level", "error", "--rate-limit-admin", "1000000"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.ready = json.loads(self.process.stdout.readline())
        org = self.ready["orgs"][0]
        self.token = org["tokens"]["admin"]
        self.domain = org["apiDomain"]["admin"]
        self.port = int(self.ready["url"].rsplit(":", 1)[1])
        self.env = {**os.environ, "NUDJ_MCP_TOKEN": self.token, "NUDJ_API_DOMAIN": self.domain}

    def stop(self):
        stop(self.process)


class StdioServer:
    def __init__(self, command, env):
        self.process = spawn(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env)
        self.next_id = 10

    def request(self, message):
        self.process.stdin.write(line(message))
        self.process.stdin.flush()
        while True:
            response = json.loads(self.process.stdout.readline())
            if response.get("id") == message["id"]:
                return response

    def call(self, name, arguments):
        self.next_id += 1
        return self.request({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
                             "params": {"name": name, "arguments": arguments}})

    def initialize(self):
        response = self.request(INIT)
        self.process.stdin.write(line({"jsonrpc": "2.0", "method": "notifications/initialized"}))
        self.process.stdin.flush()
        return response

    def stop(self):
        self.process.stdin.close()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


# 1. Cold start ------------------------------------------------------------------------------------------------

def cold_start(command, env, runs):
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        process = spawn(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, env=env)
        process.stdin.write(line(INIT))
        process.stdin.flush()
        response = json.loads(process.stdout.readline())
        samples.append((time.perf_counter() - started) * 1000)
        assert "result" in response, response
        process.stdin.close()
        process.wait(10)
    return samples


# 2. Per-call overhead -----------------------------------------------------------------------------------------

PROBE = ROOT / ".build-bench/urlsession-probe"


def urlsession_alone(sandbox, requests, in_flight):
    """The same GET through URLSession with nudj-mcp's settings and nothing else (bench/probes/urlsession.swift)."""
    url = sandbox.domain + "/users?limit=1&skip=0"
    output = subprocess.run([str(PROBE), url, sandbox.token, sandbox.domain, str(requests), str(in_flight)],
                            capture_output=True, text=True, check=True).stdout
    result = json.loads(output)
    assert result["errors"] == 0, result
    return result


def direct_and_through(sandbox, servers, calls):
    """The direct GET and the same call through each stdio server, taken in turn (a server in `servers` as
    (name, server, every): one call every `every` turns). This machine's speed drifts by up to 2x within minutes; in
    turns, drift moves every path alike, so the difference between them is the servers' own cost."""
    host = sandbox.domain.split("//")[1].split("/")[0]
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port)
    headers = {"Host": host, "Authorization": f"Bearer {sandbox.token}", "x-api-domain": sandbox.domain,
               "Accept": "application/json", "User-Agent": "bench"}
    samples = {"direct": []} | {name: [] for name, _, _ in servers}
    for index in range(calls + 100):
        started = time.perf_counter()
        connection.request("GET", "/api/v2/admin/users?limit=1&skip=0", headers=headers)
        body = connection.getresponse().read()
        elapsed = (time.perf_counter() - started) * 1_000_000
        assert b"edges" in body
        if index >= 100:
            samples["direct"].append(elapsed)
        for name, server, every in servers:
            if index % every:
                continue
            started = time.perf_counter()
            response = server.call("list_users", {"limit": 1, "skip": 0})
            elapsed = (time.perf_counter() - started) * 1_000_000
            assert "result" in response and not response["result"].get("isError"), response
            if index >= 100:
                samples[name].append(elapsed)
    return samples


def wrk_in_turns(cells, seconds, rounds):
    """Each wrk cell in `cells` ((name, url, headers, connections, script)) run `rounds` times, in turns, for
    `seconds` in all: requests/s is the mean of the rounds, p99 their median, errors their sum. Like
    `direct_and_through`, turns keep a drifting machine from favouring whichever cell ran at a fast moment."""
    each = max(1, seconds // rounds)
    runs = {name: [] for name, *_ in cells}
    for _ in range(rounds):
        for name, url, headers, connections, script in cells:
            runs[name].append(wrk(url, headers, connections, each, script))
    def p99(results):
        values = [run["p99_ms"] for run in results if run["p99_ms"] is not None]
        return statistics.median(values) if values else None

    return {name: {"rps": statistics.mean(run["rps"] for run in results), "p99_ms": p99(results),
                   "errors": sum(run["errors"] for run in results)}
            for name, results in runs.items()}


# 3. HTTP throughput -------------------------------------------------------------------------------------------

WRK_SCRIPT = """
local counter = 0
local prefix = ""
function setup(thread) thread:set("prefix", tostring(math.random(1, 1000000000))) end
function init(args) prefix = prefix .. tostring(math.random(1, 1000000000)) end
request = function()
  counter = counter + 1
  local body = '{"jsonrpc":"2.0","id":"' .. prefix .. '-' .. counter .. '","method":"tools/call","params":{"name":"list_users","arguments":{"limit":1}}}'
  return wrk.format("POST", wrk.path, nil, body)
end
"""


def wrk_milliseconds(value):
    """wrk prints latencies as e.g. 843.00us, 1.20ms or 2.01s."""
    for suffix, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
        if value.endswith(suffix):
            return float(value[: -len(suffix)]) * scale
    return float(value)


def wrk(url, headers, connections, seconds, script=None):
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", script]
    output = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    result = {"rps": 0.0, "p99_ms": None, "errors": 0}
    for row in output.splitlines():
        row = row.strip()
        if row.startswith("Requests/sec:"):
            result["rps"] = float(row.split()[1])
        if row.startswith("99%"):
            value = row.split()[1]
            result["p99_ms"] = wrk_milliseconds(value)
        if row.startswith("Non-2xx") or row.startswith("Socket errors"):
            result["errors"] += sum(int(part.rstrip(",")) for part in row.replace(":", " ").split() if part.rstrip(",").isdigit())
    return result


def http_session(url, headers):
    host, port = url.split("//")[1].split("/")[0].split(":")
    connection = http.client.HTTPConnection(host, int(port))
    connection.request("POST", "/mcp", body=line(INIT), headers={**headers, "Content-Type": "application/json",
                                                                  "Accept": "application/json, text/event-stream"})
    response = connection.getresponse()
    response.read()
    session = response.getheader("Mcp-Session-Id")
    connection.request("POST", "/mcp", body=line({"jsonrpc": "2.0", "method": "notifications/initialized"}),
                       headers={**headers, "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                                "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"})
    connection.getresponse().read()
    return session


def wait_port(port, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} never opened")


def free_port():
    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# 4. Idle streams ----------------------------------------------------------------------------------------------

async def open_streams(port, count, headers):
    request = ("GET /sse HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n"
               + "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n").encode()
    writers = []
    semaphore = asyncio.Semaphore(200)

    async def one():
        async with semaphore:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"endpoint")
            assert b"200 OK" in head
            writers.append(writer)

    await asyncio.gather(*(one() for _ in range(count)))
    return writers


# Report -------------------------------------------------------------------------------------------------------

def machine():
    cpu = next((row.split(":", 1)[1].strip() for row in Path("/proc/cpuinfo").read_text().splitlines()
                if row.startswith("model name")), platform.processor())
    memory = int(next(row.split()[1] for row in Path("/proc/meminfo").read_text().splitlines() if row.startswith("MemTotal")))
    swift = subprocess.run(["swift", "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    import mcp
    return (f"{os.cpu_count()} × {cpu}, {memory // 1024 // 1024} GiB RAM, Linux {platform.release()}; {swift}; "
            f"Python {platform.python_version()}, mcp {getattr(mcp, '__version__', None) or subprocess.run([sys.executable, '-m', 'pip', 'show', 'mcp'], capture_output=True, text=True).stdout.split('Version: ')[1].split()[0]}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args()
    quick = args.quick
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    runs = 10 if quick else 40
    calls = 300 if quick else 2000
    seconds = 3 if quick else 10
    streams = 1000 if quick else min(10000, resource.getrlimit(resource.RLIMIT_NOFILE)[1] - 1000)
    results = {}

    sandbox = Sandbox()
    try:
        stdio_cmd = [str(BIN), "stdio", "--allow-insecure-localhost", "--log-level", "error"]
        print("cold start…", flush=True)
        results["cold_nudj"] = cold_start(stdio_cmd, sandbox.env, runs)
        if STATIC_BIN.exists():
            results["cold_static"] = cold_start([str(STATIC_BIN)] + stdio_cmd[1:], sandbox.env, runs)
        results["cold_peer"] = cold_start(PEER + ["stdio"], sandbox.env, max(5, runs // 4))

        print("per-call overhead…", flush=True)
        results["urlsession_seq"] = urlsession_alone(sandbox, calls, 1)
        server = StdioServer(stdio_cmd, sandbox.env)
        server.initialize()
        peer = StdioServer(PEER + ["stdio"], sandbox.env)
        peer.initialize()
        samples = direct_and_through(sandbox, [("nudj", server, 1), ("peer", peer, 4)], calls)
        results["direct"], results["via_nudj"], results["via_peer"] = samples["direct"], samples["nudj"], samples["peer"]
        results["rss_idle_stdio_kb"] = rss_kb(server.process.pid)
        results["rss_idle_peer_kb"] = rss_kb(peer.process.pid)
        server.stop()
        peer.stop()

        print("HTTP throughput…", flush=True)
        script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
        script.write(WRK_SCRIPT)
        script.close()
        auth = {"Authorization": f"Bearer {sandbox.token}", "x-api-domain": sandbox.domain}
        port = free_port()
        serve = spawn([str(BIN), "serve", "--port", str(port), "--allow-insecure-localhost", "--log-level", "error"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        peer_port = free_port()
        peer_http = spawn(PEER + ["http", "--port", str(peer_port)], env=sandbox.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(peer_port)
        host = sandbox.domain.split("//")[1].split("/")[0]
        results["http"] = {}
        counts = [8, 64, 256]
        # nudj-mcp and the sandbox at every concurrency, in the same rounds: both the share of the ceiling and the
        # 256-against-64 comparison are then taken from the same minutes.
        cells = []
        for connections in counts:
            session = http_session(f"http://127.0.0.1:{port}/mcp", auth)
            mcp_headers = {**auth, "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                           "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"}
            cells += [(("nudj", connections), f"http://127.0.0.1:{port}/mcp", mcp_headers, connections, script.name),
                      (("sandbox", connections), f"http://127.0.0.1:{sandbox.port}/api/v2/admin/users?limit=1",
                       {**auth, "Host": host, "Accept": "application/json"}, connections, None)]
        turns = wrk_in_turns(cells, seconds, 1 if quick else 3)
        for connections in counts:
            nudj, ceiling = turns[("nudj", connections)], turns[("sandbox", connections)]
            peer_session = http_session(f"http://127.0.0.1:{peer_port}/mcp", {})
            peer_headers = {"Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                            "Mcp-Session-Id": peer_session, "MCP-Protocol-Version": "2025-06-18"}
            python = wrk(f"http://127.0.0.1:{peer_port}/mcp", peer_headers, connections, seconds, script.name)
            alone = urlsession_alone(sandbox, 2000 if quick else 10000, connections)
            results["http"][connections] = {"nudj": nudj, "peer": python, "sandbox": ceiling, "urlsession": alone}
            print(f"  c={connections}: nudj {nudj['rps']:.0f}/s, peer {python['rps']:.0f}/s, sandbox {ceiling['rps']:.0f}/s, "
                  f"URLSession alone {alone['rps']:.0f}/s", flush=True)
        results["rss_peak_serve_kb"] = rss_kb(serve.pid, "VmHWM")
        results["rss_peak_peer_http_kb"] = rss_kb(peer_http.pid, "VmHWM")
        stop(peer_http, 5)
        stop(serve)

        print(f"idle streams ({streams})…", flush=True)
        port = free_port()
        serve = spawn([str(BIN), "serve", "--port", str(port), "--allow-insecure-localhost", "--log-level", "error",
                                  "--max-sessions", str(streams + 100), "--max-connections", str(streams + 100)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(port)
        before = rss_kb(serve.pid)
        started = time.perf_counter()
        writers = asyncio.run(open_streams(port, streams, auth))
        opened = time.perf_counter() - started
        time.sleep(2)
        results["streams"] = {"count": len(writers), "rss_before_kb": before, "rss_kb": rss_kb(serve.pid), "seconds": opened}
        stop(serve, 20)
    finally:
        sandbox.stop()

    write_report(results, args, machine())


# Everything from this line on in BENCHMARKS.md (goals, profiles, fuzzing, soak) is written by hand and kept across runs.
HAND_WRITTEN = "<!-- hand-written from here on; bench/run.py keeps it -->"


def write_report(r, args, machine_line):
    def ms(values, p):
        return percentile(values, p) / 1000

    cold_n, cold_p = statistics.median(r["cold_nudj"]), statistics.median(r["cold_peer"])
    d50, d99 = percentile(r["direct"], 50), percentile(r["direct"], 99)
    n50, n99 = percentile(r["via_nudj"], 50), percentile(r["via_nudj"], 99)
    p50, p99 = percentile(r["via_peer"], 50), percentile(r["via_peer"], 99)
    u50, u99 = r["urlsession_seq"]["p50_us"], r["urlsession_seq"]["p99_us"]
    lines = [
        "# Benchmarks",
        "",
        f"Machine: {machine_line}.",
        "",
        f"Command: `bench/run.sh{' --quick' if args.quick else ''}` (release build of nudj-mcp, `swift build -c release`; peer: "
        "`bench/peers/python_peer.py` on the official MCP Python SDK with the same tool shape; all bridging to the same "
        "sandbox process on loopback). Medians unless stated; this machine is noisy, so read the ratios.",
        "",
        "## 1. stdio cold start (process start → initialize response)",
        "",
        "| server | median | min | ratio |",
        "|---|---|---|---|",
        f"| nudj-mcp (`swift build -c release`) | {cold_n:.1f} ms | {min(r['cold_nudj']):.1f} ms | 1× |",
    ]
    if "cold_static" in r:
        cold_s = statistics.median(r["cold_static"])
        lines.append(f"| nudj-mcp (`scripts/build-release`, static Swift runtime) | {cold_s:.1f} ms | {min(r['cold_static']):.1f} ms | {cold_s / cold_n:.2f}× |")
    lines += [
        f"| Python SDK peer | {cold_p:.1f} ms | {min(r['cold_peer']):.1f} ms | {cold_p / cold_n:.0f}× slower |",
        "",
        "## 2. Per-call overhead (`tools/call list_users` over stdio vs the same GET made directly)",
        "",
        "| path | p50 | p99 | added at p50 | added at p99 |",
        "|---|---|---|---|---|",
        f"| direct GET to the sandbox (keep-alive) | {d50:.0f} µs | {d99:.0f} µs | — | — |",
        f"| URLSession alone, the Linux client before the native one (no MCP) | {u50:.0f} µs | {u99:.0f} µs | {u50 - d50:.0f} µs | {u99 - d99:.0f} µs |",
        f"| through nudj-mcp | {n50:.0f} µs | {n99:.0f} µs | {n50 - d50:.0f} µs | {n99 - d99:.0f} µs |",
        f"| through the Python peer | {p50:.0f} µs | {p99:.0f} µs | {p50 - d50:.0f} µs | {p99 - d99:.0f} µs |",
        "",
        f"{len(r['via_nudj'])} calls after 100 warm-up calls, taken in turns with the direct GET (and the peer's "
        f"{len(r['via_peer'])}, one every fourth turn), so the machine's drift moves every row alike; the client is the "
        "Python harness for every row but the URLSession one, which is `bench/probes/urlsession.swift` timing its own "
        "requests before the others.",
        "",
        "## 3. HTTP throughput (Streamable HTTP, `tools/call list_users`, wrk -t2)",
        "",
        ("nudj-mcp and the sandbox's own figure, at all three concurrencies, in turns: " +
         ("one round of 3 s each" if args.quick else
          "three rounds of 3 s each (req/s: the mean of the rounds; p99: their median)") +
         ", so each share of the ceiling and the 256-against-64 comparison come from the same minutes; the Python "
         "peer and URLSession alone " + ("3" if args.quick else "10") + " s each, after them."),
        "",
        "| clients | nudj-mcp req/s | p99 | Python peer req/s | p99 | sandbox direct (ceiling) req/s | p99 | URLSession alone req/s | nudj ÷ peer |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for connections, cell in r["http"].items():
        n, p, s, u = cell["nudj"], cell["peer"], cell["sandbox"], cell["urlsession"]
        ratio = n["rps"] / p["rps"] if p["rps"] else float("inf")
        def p99(cell):
            return "–" if cell["p99_ms"] is None else f"{cell['p99_ms']:.2f} ms"

        lines.append(f"| {connections} | {n['rps']:.0f} | {p99(n)} | {p['rps']:.0f} | {p99(p)} | "
                     f"{s['rps']:.0f} | {p99(s)} | {u['rps']:.0f} | {ratio:.1f}× |")
        if n["errors"] or s["errors"]:
            lines.append(f"|  | errors: {n['errors']} |  | errors: {p['errors']} |  | errors: {s['errors']} |  |  |  |")
    st = r["streams"]
    lines += [
        "",
        f"## 4. Idle streams: {st['count']} open `GET /sse` streams (each its own session)",
        "",
        f"Server RSS {st['rss_before_kb'] / 1024:.1f} MB before, {st['rss_kb'] / 1024:.1f} MB with all streams open "
        f"({(st['rss_kb'] - st['rss_before_kb']) / max(1, st['count']):.1f} KB per stream); opened in {st['seconds']:.1f} s.",
        "",
        "## 5. Memory",
        "",
        "| | nudj-mcp | Python peer |",
        "|---|---|---|",
        f"| RSS idle on stdio after initialize and {len(r['via_nudj'])} calls | {r['rss_idle_stdio_kb'] / 1024:.1f} MB | {r['rss_idle_peer_kb'] / 1024:.1f} MB |",
        f"| peak RSS (VmHWM) of the HTTP server through the load of 3 | {r['rss_peak_serve_kb'] / 1024:.1f} MB | {r['rss_peak_peer_http_kb'] / 1024:.1f} MB |",
        "",
    ]
    output = Path(args.output)
    previous = output.read_text() if output.exists() else ""
    kept = previous[previous.index(HAND_WRITTEN):] if HAND_WRITTEN in previous else ""
    output.write_text("\n".join(lines) + "\n" + kept)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
