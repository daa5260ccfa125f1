"""Process management and fixtures for the interop suite.

Every server the tests talk to is a real nudj-mcp child process (the binary from $NUDJ_MCP_BIN, default
.build/debug/nudj-mcp). Long-lived HTTP servers are session-scoped; stdio servers are launched by the SDK's own
stdio client inside each test. Every wait is bounded: ready lines (READY_TIMEOUT), MCP requests (CALL_TIMEOUT, the
SDK raises), whole tests (pytest-timeout, see pytest.ini).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from support import SDK_MAJOR, SDK_VERSION, ServerProcess, mcp_proxy_bin, nudj_bin


# Modules that import SDK 2.x-only APIs (mcp_types, httpx2, mcp.Client): not even collected under SDK 1.x.
SDK2_ONLY_MODULES = ["test_modern.py", "test_hijack.py", "test_wire.py"]
collect_ignore = SDK2_ONLY_MODULES if SDK_MAJOR < 2 else []


def pytest_report_header(config: pytest.Config) -> list[str]:
    return [f"nudj-mcp binary: {nudj_bin()}", f"MCP Python SDK: mcp {SDK_VERSION}"]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Under SDK 1.x only tests marked `sdk1` can run; skip any other that slipped in (scripts/interop-test selects
    # with -m sdk1 there, so nothing is skipped in practice).
    if SDK_MAJOR < 2:
        skip = pytest.mark.skip(reason=f"needs MCP SDK 2.x (this venv has mcp {SDK_VERSION})")
        for item in items:
            if item.get_closest_marker("sdk1") is None:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def binary() -> Path:
    path = nudj_bin()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.fail(
            f"nudj-mcp binary not found at {path}: build it (swift build) or set NUDJ_MCP_BIN", pytrace=False
        )
    return path


@pytest.fixture(scope="session")
def proxy_binary() -> Path:
    path = mcp_proxy_bin()
    if not path.is_file() or not path.stat().st_mode & stat.S_IXUSR:
        pytest.fail(f"mcp-proxy not found at {path}: run scripts/python-env or set MCP_PROXY_BIN", pytrace=False)
    return path


@pytest.fixture(scope="session")
def logs_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


def _start(binary: Path, logs_dir: Path, name: str, args: list[str]) -> ServerProcess:
    return ServerProcess([str(binary), *args], logs_dir / f"{name}.stderr")


@pytest.fixture(scope="session")
def sandbox(binary: Path, logs_dir: Path) -> Iterator[ServerProcess]:
    """`nudj-mcp sandbox --port 0`: the Nudj API simulator alone (ready line: url, orgs[])."""
    process = _start(binary, logs_dir, "sandbox", ["sandbox", "--port", "0", "--log-level", "warning"])
    yield process
    process.stop()


@pytest.fixture(scope="session")
def serve_sandbox(binary: Path, logs_dir: Path) -> Iterator[ServerProcess]:
    """`nudj-mcp serve --sandbox --port 0`: HTTP transports with the simulator in-process (ready: mcpUrl, sseUrl, orgs[])."""
    process = _start(binary, logs_dir, "serve-sandbox", ["serve", "--sandbox", "--port", "0", "--log-level", "warning"])
    yield process
    process.stop()


@pytest.fixture(scope="session")
def serve_external(binary: Path, logs_dir: Path, sandbox: ServerProcess) -> Iterator[ServerProcess]:
    """`nudj-mcp serve --allow-insecure-localhost --port 0`: HTTP transports whose upstream is the separate `sandbox`.

    Credentials (and so the upstream) come from each request's headers, so this server needs no --api-domain; the
    sandbox's request counters then show exactly which requests went upstream.
    """
    process = _start(
        binary,
        logs_dir,
        "serve-external",
        ["serve", "--allow-insecure-localhost", "--port", "0", "--log-level", "warning"],
    )
    yield process
    process.stop()


@pytest.fixture
def errlog(tmp_path: Path) -> Iterator[IO[str]]:
    """Where stdio children (launched by the SDK) write stderr; printed on teardown so a failure shows it."""
    path = tmp_path / "stdio.stderr"
    with open(path, "w+") as handle:
        yield handle
        handle.flush()
        handle.seek(0)
        tail = handle.read()[-4000:]
        if tail:
            print(f"--- stderr of the stdio child (tail) ---\n{tail}")


@pytest.fixture
def live(request: pytest.FixtureRequest) -> Iterator[None]:
    """Checks after a test that the session-scoped servers it used are still running (no crash hidden by a pass)."""
    yield
    for name in ("sandbox", "serve_sandbox", "serve_external"):
        if name in request.fixturenames:
            process: Any = request.getfixturevalue(name)
            assert process.alive(), f"{name} died during the test\n{process.log_tail()}"
