"""A hosted deployment in miniature: one sandbox, 3 `nudj-mcp serve` replicas sharing a session secret, nginx in front.

The nginx configuration is examples/deploy/nginx.conf's routing rendered for local ports (plus an `X-Upstream`
response header so a test can tell which replica answered). Replicas can be killed, terminated and restarted on
their port; everything is a real child process, and every wait is bounded.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "Interop"))

from support import ServerProcess, nudj_bin  # noqa: E402

SECRET = "hosted-suite-shared-session-secret-0123456789abcdef"
REPLICAS = ["r1", "r2", "r3"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


class Replica:
    """One `serve` replica on a fixed port, restartable there with the same replica id."""

    def __init__(self, replica_id: str, port: int, template: str, logs: Path, spawner: ThreadPoolExecutor) -> None:
        self.spawner = spawner
        self.id = replica_id
        self.port = port
        self.template = template
        self.logs = logs
        self.starts = 0
        self.process: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        # Children die with the thread that started them (PR_SET_PDEATHSIG): start every replica on one long-lived
        # thread, never on a short-lived worker (a test's rolling restart runs in one).
        self.spawner.submit(self._start).result()

    def _start(self) -> None:
        self.starts += 1
        args = [
            str(nudj_bin()), "serve", "--port", str(self.port), "--allow-insecure-localhost",
            "--replica-id", self.id, "--tenant-url-template", self.template,
            "--drain-delay", "0", "--shutdown-grace", "15", "--log-level", "info",
        ]  # fmt: skip
        log = self.logs / f"{self.id}-{self.starts}.log"
        self.process = ServerProcess(args, log, env={"NUDJ_SESSION_SECRET": SECRET})
        wait_until(lambda: http_status(self.url + "/readyz") == 200, 20, f"{self.id} ready")

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM and wait: the drain path (readyz 503, in-flight calls finish, streams end cleanly)."""
        assert self.process is not None
        self.process.proc.send_signal(signal.SIGTERM)
        code = self.process.proc.wait(timeout=timeout)
        self.process.stop()
        return code

    def kill(self) -> None:
        """SIGKILL: a crash; nothing is drained."""
        assert self.process is not None
        self.process.proc.send_signal(signal.SIGKILL)
        self.process.proc.wait(timeout=10)
        self.process.stop()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


NGINX_CONF = """
worker_processes 1;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log notice;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    upstream nudj_mcp {{
{servers}
    }}
{replica_upstreams}
    server {{
        listen 127.0.0.1:{port};
        # Test only: which replica answered.
        add_header X-Upstream $upstream_addr always;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Connection "";
        proxy_buffering off;
        proxy_request_buffering on;  # a POST can go to the next replica only if nginx holds its body
        proxy_read_timeout 1h;
        # A replica that is gone (refused, reset) is skipped; see examples/deploy/nginx.conf for why POSTs are
        # retried too.
        proxy_next_upstream error timeout http_502 http_503 non_idempotent;
        proxy_next_upstream_tries 6;
        proxy_next_upstream_timeout 15s;

        location = /metrics {{ return 404; }}
{replica_locations}
        location / {{ proxy_pass http://nudj_mcp; }}
    }}
}}
"""


class Cluster:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.sandbox = ServerProcess(
            [str(nudj_bin()), "sandbox", "--port", "0", "--log-level", "warning"], tmp / "sandbox.log"
        )
        self.sandbox_url = self.sandbox.ready["url"]
        acme_domain = self.org("acme")["apiDomain"]["admin"]
        template = acme_domain.replace("acme", "{org}", 1)
        self.spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replica-spawner")
        self.replicas = [Replica(rid, free_port(), template, tmp, self.spawner) for rid in REPLICAS]
        for replica in self.replicas:
            replica.start()
        self.port = free_port()
        self.nginx = self._start_nginx()

    def org(self, subdomain: str) -> dict[str, Any]:
        return next(o for o in self.sandbox.ready["orgs"] if o["subdomain"] == subdomain)

    def headers(self, token_org: str, domain_org: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.org(token_org)['tokens']['admin']}"}
        if domain_org is not None:
            headers["x-api-domain"] = self.org(domain_org)["apiDomain"]["admin"]
        return headers

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def replica_at(self, upstream: str) -> Replica:
        """The replica behind an `X-Upstream` value (the last address nginx tried)."""
        port = int(upstream.split(",")[-1].strip().rsplit(":", 1)[1])
        return next(r for r in self.replicas if r.port == port)

    def sandbox_requests(self) -> dict[str, int]:
        import json

        with urllib.request.urlopen(self.sandbox_url + "/_sandbox/stats", timeout=5) as response:
            return json.loads(response.read())["requests"]

    def _start_nginx(self) -> subprocess.Popen[bytes]:
        servers = "\n".join(f"        server 127.0.0.1:{r.port} max_fails=0;" for r in self.replicas)
        replica_upstreams = "\n".join(
            f"    upstream replica_{r.id} {{ server 127.0.0.1:{r.port}; }}" for r in self.replicas
        )
        replica_locations = "\n".join(
            f"        location ~ ^/messages/{r.id}(/|$) {{ proxy_pass http://replica_{r.id}; }}" for r in self.replicas
        )
        conf = self.tmp / "nginx.conf"
        conf.write_text(
            NGINX_CONF.format(
                dir=self.tmp,
                servers=servers,
                replica_upstreams=replica_upstreams,
                replica_locations=replica_locations,
                port=self.port,
            )
        )
        nginx = os.environ.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(nginx).exists():
            pytest.fail("nginx not found: run the suite with scripts/hosted-test (it installs nginx)", pytrace=False)
        log = open(self.tmp / "nginx-stderr.log", "wb")
        proc = subprocess.Popen([nginx, "-c", str(conf), "-p", str(self.tmp)], stdout=log, stderr=log)
        wait_until(lambda: http_status(self.url + "/healthz") == 200 or proc.poll() is not None, 15, "nginx")
        if proc.poll() is not None:
            raise AssertionError("nginx exited:\n" + (self.tmp / "nginx-stderr.log").read_text())
        return proc

    def ensure_all_running(self) -> None:
        for replica in self.replicas:
            if replica.process is None or not replica.process.alive():
                replica.start()

    def stop(self) -> None:
        if self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait(timeout=10)
        for replica in self.replicas:
            replica.stop()
        self.spawner.shutdown()
        self.sandbox.stop()


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path_factory.mktemp("hosted"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture()
def lb(cluster: Cluster) -> Cluster:
    """The cluster with every replica running (a previous test may have killed one)."""
    cluster.ensure_all_running()
    return cluster
