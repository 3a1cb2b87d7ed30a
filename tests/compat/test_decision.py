"""The decision endpoint behind a real reverse proxy (spec 6.3): nginx's ``auth_request`` asks
ztrisk about the user its identity header names, and lets the request through to a small
upstream or answers 403. The configuration is the README's snippet.

nginx comes from Debian (``scripts/test`` installs it when missing).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from conftest import Env
from test_risk import ALL_PERMISSIONS, post_events

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Upstream(BaseHTTPRequestHandler):
    """The protected application: says hello to whoever reaches it."""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        body = f"hello {self.headers.get('X-Auth-Request-Email')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def upstream() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def nginx_conf(port: int, ztrisk: str, account: str, token: str, upstream: str, workdir: Path) -> str:
    """The README's snippet, in a minimal nginx.conf of the test's own."""
    return f"""
daemon off;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {workdir}/body;
    proxy_temp_path {workdir}/proxy;
    fastcgi_temp_path {workdir}/fastcgi;
    uwsgi_temp_path {workdir}/uwsgi;
    scgi_temp_path {workdir}/scgi;
    server {{
        listen 127.0.0.1:{port};

        location / {{
            auth_request /ztrisk-decision;
            auth_request_set $risk_level $upstream_http_x_ztrisk_risk_level;
            proxy_set_header X-Risk-Level $risk_level;
            proxy_set_header X-Auth-Request-Email $http_x_auth_request_email;
            proxy_pass http://{upstream};
        }}

        location = /ztrisk-decision {{
            internal;
            proxy_pass {ztrisk}/client/v4/accounts/{account}/zt_risk_scoring/decision;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Authorization "Bearer {token}";
            proxy_set_header X-Auth-Request-Email $http_x_auth_request_email;
        }}
    }}
}}
"""


@pytest.fixture
def nginx(env: Env, upstream: str, tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """nginx on a free loopback port in front of ``upstream``; yields (url, account, token)."""
    assert Path(NGINX).exists(), "nginx is missing: scripts/test installs it (apt-get install nginx)"
    account = env.create_account("compat decision")
    token = env.create_token([account], ALL_PERMISSIONS, "--name", "compat decision").token
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(nginx_conf(port, env.server.url, account, token, upstream, tmp_path))
    process = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path)], stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
            time.sleep(0.05)
    yield url, account, token
    process.terminate()
    process.wait(timeout=10)


def visit(url: str, email: str) -> httpx.Response:
    return httpx.get(f"{url}/app", headers={"X-Auth-Request-Email": email}, timeout=10.0)


def test_nginx_blocks_high_risk_users_and_lets_them_in_after_a_reset(env: Env, nginx: tuple[str, str, str]) -> None:
    url, account, token = nginx
    v4 = env.server.v4
    behaviors = {"behaviors": {"bad_badge": {"enabled": True, "risk_level": "high"},
                               "odd_hours": {"enabled": True, "risk_level": "low"}}}
    resp = httpx.put(f"{v4}/accounts/{account}/zt_risk_scoring/behaviors", json=behaviors,
                     headers={"Authorization": f"Bearer {token}"}, timeout=10.0)
    assert resp.status_code == 200, resp.text
    events = [
        {"id": "n1", "type": "behavior", "behavior": "bad_badge", "timestamp": "2026-11-20T10:00:00Z",
         "user": {"email": "mallory@example.com"}},
        {"id": "n2", "type": "behavior", "behavior": "odd_hours", "timestamp": "2026-11-20T10:00:00Z",
         "user": {"email": "alice@example.com"}},
    ]
    assert post_events(v4, account, token, events)["risk_events"] == 2

    # The high-risk user is stopped at the proxy; the low one and a stranger reach the app.
    assert visit(url, "mallory@example.com").status_code == 403
    low = visit(url, "alice@example.com")
    assert (low.status_code, low.text) == (200, "hello alice@example.com")
    assert visit(url, "bob@example.com").status_code == 200

    # After a reset, the same user gets through at once.
    summary = httpx.get(f"{v4}/accounts/{account}/zt_risk_scoring/summary",
                        headers={"Authorization": f"Bearer {token}"}, timeout=10.0).json()
    mallory = next(u for u in summary["result"]["users"] if u["email"] == "mallory@example.com")
    reset = httpx.post(f"{v4}/accounts/{account}/zt_risk_scoring/{mallory['user_id']}/reset",
                       headers={"Authorization": f"Bearer {token}"}, timeout=10.0)
    assert reset.status_code == 200, reset.text
    after = visit(url, "mallory@example.com")
    assert (after.status_code, after.text) == (200, "hello mallory@example.com")
