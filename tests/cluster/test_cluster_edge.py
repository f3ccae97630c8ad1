"""The cluster's edge without Rasa: the nginx configuration of `make cluster` in front of a stand-in
back end (records what reaches it). Rate limit with a French 429, only the channels public, the
HTTP API on its own loopback port, no query string in the access log, CORS from ALLOWED_ORIGINS
compared exactly. The same checks against real Rasa servers are in tests/cluster/test_cluster.py."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
import pytest
from sanic_cors.core import try_match

from scripts.cluster.topology import (
    HANDSHAKE_BURST,
    NOT_FOUND,
    RATE_LIMITED,
    RETRY_AFTER_SECONDS,
    WEBHOOK_BURST,
    WEBHOOK_RATE,
    Cluster,
    ClusterError,
    parse_origins,
    rasa_cors_pattern,
)
from scripts.supervisor import free_port

ORIGIN = "http://127.0.0.1:8080"
TOKEN = "edge-test-token-6f1d2c"


class StandIn(BaseHTTPRequestHandler):
    """Answers 200 to anything and remembers (method, path, Authorization) of each request."""

    seen: list[tuple[str, str, str]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        StandIn.seen.append((self.command, self.path, self.headers.get("Authorization") or ""))
        body = json.dumps([{"recipient_id": "x", "text": "réponse"}]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *_: object) -> None:
        pass


class StandInServer(ThreadingHTTPServer):
    request_queue_size = 1024  # a burst of connections at once, as Sanic takes them
    daemon_threads = True


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    cluster = Cluster(
        tmp_path_factory.mktemp("edge"),
        port=free_port(),
        rasa_count=1,
        actions_count=1,
        env_overrides={"RASA_API_TOKEN": TOKEN},
    )
    backend = StandInServer(("127.0.0.1", cluster.rasa_ports[0]), StandIn)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    cluster.write_nginx_conf()
    cluster.nginx.start()
    try:
        yield cluster
    finally:
        cluster.nginx.stop()
        backend.shutdown()


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


async def burst(url: str, count: int, method: str = "POST") -> list[tuple[int, dict, str]]:
    """`count` requests at once from this address (one connection each)."""
    connector = aiohttp.TCPConnector(limit=0, force_close=True)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one() -> tuple[int, dict, str]:
            async with session.request(
                method, url, json={"sender": "s", "message": "bonjour"}, headers={"Origin": ORIGIN}
            ) as response:
                return response.status, dict(response.headers), await response.text()

        return await asyncio.gather(*(one() for _ in range(count)))


def wait_for_refill() -> None:
    time.sleep(WEBHOOK_BURST / WEBHOOK_RATE + 1)


def test_a_burst_gets_a_french_429_the_widget_can_read(edge: Cluster):
    answers = asyncio.run(burst(edge.webhook, 3 * WEBHOOK_BURST))
    limited = [answer for answer in answers if answer[0] == 429]
    passed = [answer for answer in answers if answer[0] == 200]
    assert len(passed) + len(limited) == len(answers), [answer[0] for answer in answers]
    assert WEBHOOK_BURST <= len(passed) < 2 * WEBHOOK_BURST and limited
    status, headers, body = limited[0]
    assert json.loads(body) == {"error": RATE_LIMITED}
    assert RATE_LIMITED.startswith("Trop de messages en peu de temps.")
    assert headers["Content-Type"] == "application/json"
    assert headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert headers["Access-Control-Allow-Origin"] == ORIGIN  # readable by the widget's page
    assert "Retry-After" in headers["Access-Control-Expose-Headers"]
    wait_for_refill()


def test_a_conversation_is_never_limited(edge: Cluster):
    """Even a fast typist with several tabs: 60 messages at 10 a second, all through."""
    statuses = []
    for _ in range(60):
        statuses.append(asyncio.run(burst(edge.webhook, 1))[0][0])
        time.sleep(0.1)
    assert statuses == [200] * 60


def test_socketio_handshakes_are_limited_not_the_open_sessions(edge: Cluster):
    handshake = f"{edge.url}/socket.io/?EIO=4&transport=polling"
    answers = asyncio.run(burst(handshake, 3 * HANDSHAKE_BURST, "GET"))
    assert any(status == 429 for status, _, _ in answers)
    assert json.loads(next(b for s, _, b in answers if s == 429)) == {"error": RATE_LIMITED}
    polling = f"{edge.url}/socket.io/?EIO=4&transport=polling&sid=abc"
    assert {status for status, _, _ in asyncio.run(burst(polling, 3 * HANDSHAKE_BURST, "GET"))} == {
        200
    }


@pytest.mark.parametrize(
    "path", ["/conversations/moi/tracker", "/model", "/status", "/version", "/", "/webhook"]
)
def test_only_the_channels_are_public(edge: Cluster, path: str):
    before = len(StandIn.seen)
    status, headers, body = get(edge.url + path, {"Authorization": f"Bearer {TOKEN}"})
    assert (status, json.loads(body)) == (404, {"error": NOT_FOUND})
    assert "/webhooks/rest/webhook" in NOT_FOUND
    assert len(StandIn.seen) == before  # never reached Rasa


def test_the_api_has_its_own_loopback_port_and_the_log_no_token(edge: Cluster):
    status, _, _ = get(f"{edge.api_url}/status", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and StandIn.seen[-1] == ("GET", "/status", f"Bearer {TOKEN}")
    get(f"{edge.url}/webhooks/rest/?token={TOKEN}")  # a client that puts it in the URL anyway
    conf = edge.nginx_conf.read_text()
    assert f"listen 127.0.0.1:{edge.api_port};" in conf and "listen 0.0.0.0" not in conf
    time.sleep(0.5)
    log = edge.access_log.read_text()
    assert "GET /status" in log and "GET /webhooks/rest/ HTTP" in log
    assert TOKEN not in log


def test_no_api_server_block_without_a_token(tmp_path: Path):
    cluster = Cluster(tmp_path, port=free_port(), rasa_count=1, actions_count=1)
    cluster.env.pop("RASA_API_TOKEN", None)
    cluster.write_nginx_conf()
    conf = cluster.nginx_conf.read_text()
    assert "only when RASA_API_TOKEN is set: loopback" not in conf
    assert f":{cluster.api_port};" not in conf
    assert "--enable-api" not in " ".join(cluster.rasa_servers[0].args)


def test_cluster_cors_comes_from_allowed_origins_compared_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv("ALLOWED_ORIGINS", raising=False)
    monkeypatch.delenv("WEB_PORT", raising=False)
    cluster = Cluster(tmp_path, port=free_port(), rasa_count=1, actions_count=1)
    assert cluster.cors == ["http://127.0.0.1:8080", "http://localhost:8080"]  # the demo pages
    args = cluster.rasa_servers[0].args
    patterns = args[args.index("--cors") + 1 :]
    assert patterns == [rasa_cors_pattern(origin) for origin in cluster.cors]
    # Sanic-CORS (what Rasa uses) with these patterns: the origin itself, nothing longer or similar
    allowed = rasa_cors_pattern(ORIGIN)
    assert try_match(ORIGIN, allowed)
    for other in (
        "http://127.0.0.1:8080.evil.example",
        "http://127.0.0.1:80800",
        "http://127a0a0a1:8080",
    ):
        assert not try_match(other, allowed), other
    ipv6 = rasa_cors_pattern("http://[::1]:8080")
    assert try_match("http://[::1]:8080", ipv6) and not try_match("http://:8080", ipv6)


@pytest.mark.parametrize(
    "wrong", ["https://site.fr/chemin", "https://*.site.fr", "site.fr", "https://site.fr?x"]
)
def test_invalid_origins_are_refused_in_french(wrong: str):
    with pytest.raises(ClusterError, match="ALLOWED_ORIGINS : origine"):
        parse_origins(f"https://ok.fr {wrong}")
