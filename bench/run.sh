#!/usr/bin/env bash
# Benchmarks nudj-mcp against a peer server on the official MCP Python SDK and the sandbox itself, and writes
# BENCHMARKS.md. Not part of the test command. Needs wrk (apt-get install wrk) and PyPI on first run.
#   bench/run.sh            full run (about 5 minutes)
#   bench/run.sh --quick    fewer iterations, for a smoke test
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv-bench/bin/python ] || ! cmp -s bench/requirements.txt .venv-bench/requirements.txt; then
  python3 -m venv .venv-bench
  .venv-bench/bin/pip install -q --upgrade pip
  .venv-bench/bin/pip install -q -r bench/requirements.txt
  cp bench/requirements.txt .venv-bench/requirements.txt
fi
command -v wrk >/dev/null || { echo "bench/run.sh needs wrk (apt-get install wrk)" >&2; exit 1; }
swift build -c release --product nudj-mcp
scripts/build-release >/dev/null
mkdir -p .build-bench
if [ ! -x .build-bench/urlsession-probe ] || [ bench/probes/urlsession.swift -nt .build-bench/urlsession-probe ]; then
  swiftc -O bench/probes/urlsession.swift -o .build-bench/urlsession-probe
fi
exec .venv-bench/bin/python bench/run.py "$@"
