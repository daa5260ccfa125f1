#!/usr/bin/env python3
"""Before/after in one run: several nudj-mcp binaries measured in interleaved rounds against one sandbox, so a
machine whose speed drifts (this one does) moves every binary alike. Rows: stdio per-call time added over a
direct keep-alive GET (p50, p99), and Streamable HTTP req/s at 8/64/256 clients with the sandbox's own figure.

    bench/compare.py --binary before=/tmp/old/.build/release/nudj-mcp --binary after=.build/release/nudj-mcp

Run bench/run.sh once first (it creates .venv-bench and the release build the sandbox comes from). Prints a
Markdown table; the figures are medians over the rounds.
"""
import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import run  # noqa: E402  (bench/run.py: sandbox, stdio client, wrk driver)


def stdio_added(binary, sandbox, calls):
    server = run.StdioServer([binary, "stdio", "--allow-insecure-localhost", "--log-level", "error"], sandbox.env)
    try:
        server.initialize()
        samples = run.direct_and_through(sandbox, [("via", server, 1)], calls)
    finally:
        server.stop()
    via, direct = samples["via"], samples["direct"]
    return (run.percentile(via, 50) - run.percentile(direct, 50), run.percentile(via, 99) - run.percentile(direct, 99))


def http_rps(binary, sandbox, clients, seconds, script):
    port = run.free_port()
    serve = run.spawn([binary, "serve", "--port", str(port), "--allow-insecure-localhost", "--log-level", "error"],
                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run.wait_port(port)
        auth = {"Authorization": f"Bearer {sandbox.token}", "x-api-domain": sandbox.domain}
        session = run.http_session(f"http://127.0.0.1:{port}/mcp", auth)
        headers = {**auth, "Content-Type": "application/json", "Accept": "application/json, text/event-stream",
                   "Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-06-18"}
        result = run.wrk(f"http://127.0.0.1:{port}/mcp", headers, clients, seconds, script)
        assert result["errors"] == 0, result
        return result["rps"]
    finally:
        run.stop(serve)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", action="append", required=True, help="NAME=PATH, at least one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--seconds", type=int, default=5)
    parser.add_argument("--clients", default="8,64,256")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args()
    binaries = [tuple(spec.split("=", 1)) for spec in args.binary]
    clients = [int(value) for value in args.clients.split(",")]
    script = tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False)
    script.write(run.WRK_SCRIPT)
    script.close()
    rows = {name: {"p50": [], "p99": [], **{c: [] for c in clients}} for name, _ in binaries}
    ceiling = {c: [] for c in clients}
    sandbox = run.Sandbox()
    try:
        for round_index in range(args.rounds):
            for name, path in binaries:
                p50, p99 = stdio_added(path, sandbox, args.calls)
                rows[name]["p50"].append(p50)
                rows[name]["p99"].append(p99)
                print(f"round {round_index + 1} {name}: stdio added p50 {p50:.0f} µs, p99 {p99:.0f} µs", flush=True)
            if args.skip_http:
                continue
            host = sandbox.domain.split("//")[1].split("/")[0]
            for count in clients:
                direct = run.wrk(f"http://127.0.0.1:{sandbox.port}/api/v2/admin/users?limit=1",
                                 {"Authorization": f"Bearer {sandbox.token}", "x-api-domain": sandbox.domain,
                                  "Host": host, "Accept": "application/json"}, count, args.seconds)
                ceiling[count].append(direct["rps"])
                for name, path in binaries:
                    rps = http_rps(path, sandbox, count, args.seconds, script.name)
                    rows[name][count].append(rps)
                    print(f"round {round_index + 1} {name}: HTTP c={count} {rps:.0f} req/s "
                          f"(sandbox {direct['rps']:.0f})", flush=True)
    finally:
        sandbox.stop()

    median = statistics.median
    header = "| binary | stdio added p50 | p99 |" + "".join(f" HTTP c={c} req/s |" for c in clients)
    print("\n" + header)
    print("|---|---|---|" + "---|" * len(clients))
    for name, _ in binaries:
        row = rows[name]
        cells = "".join(f" {median(row[c]):,.0f} |" if row[c] else " – |" for c in clients)
        print(f"| {name} | {median(row['p50']):.0f} µs | {median(row['p99']):.0f} µs |{cells}")
    if not args.skip_http:
        print("| sandbox direct (ceiling) | | |" + "".join(f" {median(ceiling[c]):,.0f} |" for c in clients))
    print(f"\n{args.rounds} interleaved rounds, {args.calls} sequential stdio calls each, wrk {args.seconds} s per cell.")


if __name__ == "__main__":
    main()
