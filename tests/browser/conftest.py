"""Browser test fixtures: headless Chromium (Debian's, never a downloaded one), the widget's web
server, and a reverse proxy in front of the real Rasa server that a test can switch off and on.

The session fixture `rasa_server` (tests/conftest.py) gives the real Rasa server with the trained
model; the demo pages are pointed at the proxy, so "server stopped" never stops the shared server.
"""

from __future__ import annotations

import http.client
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot import PROJECT_DIR
from bot.demo.webserver import make_server
from scripts.supervisor import free_port

BROWSER_DIR = Path(__file__).resolve().parent
AXE_PATH = BROWSER_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS_DIR = PROJECT_DIR / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

# Recorded in every page before any script runs: CSP violations and dialogs (alert…).
INIT_SCRIPT = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__cspViolations.push(
    e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber);
}, true);
"""

_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "server",
    "date",
}


# --------------------------------------------------------------------------------------------
# A reverse proxy to Rasa that can be stopped (connection refused) and restarted on its port.
# --------------------------------------------------------------------------------------------
class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: nothing lingers once stopped

    def _forward(self) -> None:
        proxy: RasaProxy = self.server.proxy  # type: ignore[attr-defined]
        if proxy.delay and self.command == "POST":
            # the message itself is late, not the CORS preflight: a slow turn, that the widget
            # gives up on and re-sends while its first request still reaches Rasa
            time.sleep(proxy.delay)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {
            k: v
            for k, v in self.headers.items()
            if k.lower() not in _HOP_BY_HOP and k.lower() != "host"
        }
        upstream = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=120)
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        except OSError as error:
            self.send_error(502, f"upstream: {error}")
            return
        finally:
            upstream.close()
        proxy.requests.append((self.command, self.path, body))
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_OPTIONS = do_HEAD = _forward

    def log_message(self, format: str, *args) -> None:
        pass


class RasaProxy:
    """`url` forwards to `upstream`; `stop()` closes the port, `start()` opens it again."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream_host = parts.hostname or "127.0.0.1"
        self.upstream_port = parts.port or (443 if parts.scheme == "https" else 80)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.delay = 0.0
        self.requests: list[tuple[str, str, bytes | None]] = []
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        if self._server:
            return
        deadline = time.monotonic() + 10
        while True:
            try:
                server = ThreadingHTTPServer(("127.0.0.1", self.port), _ProxyHandler)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        server.daemon_threads = True
        server.proxy = self  # type: ignore[attr-defined]
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if not self._server:
            return
        self._server.shutdown()
        self._server.server_close()
        self._server = None

    def wait_sent(self, count: int, timeout: float = 30.0) -> list[dict]:
        """The REST messages, once `count` of them have been answered (a late one too)."""
        deadline = time.monotonic() + timeout
        while len(self.sent_messages()) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        return self.sent_messages()

    def sent_messages(self) -> list[dict]:
        """Bodies of the REST messages that went through, in order."""
        return [
            json.loads(body)
            for method, path, body in self.requests
            if method == "POST" and path.startswith("/webhooks/rest/webhook") and body
        ]


# --------------------------------------------------------------------------------------------
# A stand-in for Rasa's REST channel, for what the widget sends and how it copes with answers.
# --------------------------------------------------------------------------------------------
@dataclass
class Reply:
    """One answer of `FakeRest`; `hold`: none until the test ends (slower than any timeout)."""

    status: int = 200
    payload: object = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False


_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Retry-After",  # what the widget needs to read it
}


class _FakeRestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def do_OPTIONS(self) -> None:  # the CORS preflight (http.server names handlers do_<METHOD>)
        self.send_response(204)
        for name, value in {
            **_CORS,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
        }.items():
            self.send_header(name, value)
        self.end_headers()

    def do_POST(self) -> None:
        fake: FakeRest = self.server.fake  # type: ignore[attr-defined]
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
        with fake.lock:
            fake.bodies.append(body)
            reply = fake.script(len(fake.bodies), body)
        if reply.hold:
            fake.released.wait(120)
        data = (
            reply.payload
            if isinstance(reply.payload, bytes)
            else json.dumps(reply.payload).encode()
        )
        try:
            self.send_response(reply.status)
            headers = {**_CORS, "Content-Type": "application/json", **reply.headers}
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass  # the widget gave up waiting: that is what a held reply tests

    def log_message(self, format: str, *args) -> None:
        pass


class FakeRest:
    """Records the body of every message POSTed to `url` (`bodies`) and answers each with
    `script(n, body)`, n counting from 1; by default an empty list of bot messages."""

    def __init__(self) -> None:
        self.bodies: list[dict] = []
        self.script: Callable[[int, dict], Reply] = lambda n, body: Reply()
        self.lock = threading.Lock()
        self.released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeRestHandler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def count(self) -> int:
        with self.lock:
            return len(self.bodies)

    def close(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def fake_rest() -> Iterator[FakeRest]:
    fake = FakeRest()
    yield fake
    fake.close()


@pytest.fixture(scope="session")
def _proxy(rasa_server) -> Iterator[RasaProxy]:
    proxy = RasaProxy(rasa_server.url)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def rasa_proxy(_proxy: RasaProxy) -> Iterator[RasaProxy]:
    """The session's proxy, running and without delay at the start and the end of each test."""
    _proxy.start()
    _proxy.delay = 0.0
    _proxy.requests.clear()
    yield _proxy
    _proxy.delay = 0.0
    _proxy.start()


@pytest.fixture(scope="session")
def web_url(_proxy: RasaProxy) -> Iterator[str]:
    """The project's web server (bot/demo/webserver.py), its demo pages pointed at the proxy."""
    server = make_server("127.0.0.1", 0, _proxy.url)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


# --------------------------------------------------------------------------------------------
# Browser
# --------------------------------------------------------------------------------------------
# Package scope: Playwright's sync API keeps an event loop running in the main thread while it
# lives, which breaks `asyncio.run` in the tests collected after this package.
@pytest.fixture(scope="package")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} manquant : apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("paquet Python playwright manquant (requirements-dev)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProbe:
    """What a page did that it must not: CSP violations, dialogs, uncaught errors."""

    def __init__(self, page) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console_csp: list[str] = []
        page.on("dialog", self._dialog)
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("console", self._console)

    def _dialog(self, dialog) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def _console(self, message) -> None:
        if "Content Security Policy" in message.text:
            self.console_csp.append(message.text)

    def csp_violations(self) -> list[str]:
        return list(self.page.evaluate("window.__cspViolations || []")) + self.console_csp

    def assert_clean(self) -> None:
        assert self.dialogs == [], f"dialog(s) opened: {self.dialogs}"
        assert self.errors == [], f"uncaught error(s): {self.errors}"
        assert self.csp_violations() == [], f"CSP violation(s): {self.csp_violations()}"


@pytest.fixture
def new_page(browser):
    """`new_page(**context_options)` → (page, probe); a fresh context (empty storage) each time."""
    contexts = []

    def make(**options):
        options.setdefault("viewport", {"width": 1280, "height": 800})
        options.setdefault("locale", "fr-FR")
        context = browser.new_context(**options)
        context.set_default_timeout(30_000)
        context.add_init_script(INIT_SCRIPT)
        contexts.append(context)
        page = context.new_page()
        return page, PageProbe(page)

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page_and_probe(new_page):
    return new_page()


@pytest.fixture(scope="session")
def axe_source() -> str:
    """axe-core, from tests/browser/node_modules (installed from package-lock.json if missing)."""
    if not AXE_PATH.exists():
        npm = shutil.which("npm")
        if not npm:
            pytest.fail("axe-core manquant et npm introuvable : cd tests/browser && npm ci")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=BROWSER_DIR, check=True)
    return AXE_PATH.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS_DIR
