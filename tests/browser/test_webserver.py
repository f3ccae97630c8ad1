"""bot/demo/webserver.py without a browser: routes, headers, placeholder, 404, traversal attempts."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator

import pytest

from bot import cli
from bot.demo.webserver import (
    PLACEHOLDER,
    WEB_DIR,
    content_security_policy,
    default_rasa_url,
    make_server,
    origin_of,
    page_urls,
    public_files,
)

RASA = "https://rasa.example.fr:5005"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self' https://rasa.example.fr:5005; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    server = make_server("127.0.0.1", 0, RASA)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def request(port: int, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """A raw request: the path is sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        conn.putheader("Content-Length", "0")
        conn.endheaders()
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


@pytest.mark.parametrize("path", ["/", "/index.html", "/departement.html", "/dreets.html"])
def test_pages_headers_and_placeholder(port, path):
    status, headers, body = request(port, path)
    assert status == 200
    assert headers["content-type"] == "text/html; charset=utf-8"
    assert headers["content-security-policy"] == CSP
    assert headers["x-content-type-options"] == "nosniff"
    assert int(headers["content-length"]) == len(body)
    assert PLACEHOLDER.encode() not in body
    text = body.decode("utf-8")
    assert '<html lang="fr">' in text
    if path.endswith(("departement.html", "dreets.html")):
        # the one-line snippet, pointed at the configured Rasa server
        assert f'<script src="/widget.js" data-server="{RASA}"' in text
        assert "<style" not in text and " style=" not in text  # nothing inline (CSP)
        assert "<script>" not in text


def test_index_links_both_demo_pages(port):
    _, _, body = request(port, "/")
    assert b'href="/departement.html"' in body and b'href="/dreets.html"' in body


@pytest.mark.parametrize(
    "path,content_type",
    [
        ("/widget.js", "text/javascript; charset=utf-8"),
        ("/widget.css", "text/css; charset=utf-8"),
        ("/demo.css", "text/css; charset=utf-8"),
    ],
)
def test_static_files(port, path, content_type):
    status, headers, body = request(port, path)
    assert status == 200
    assert headers["content-type"] == content_type
    assert headers["x-content-type-options"] == "nosniff"
    source = WEB_DIR / path.lstrip("/")
    if not source.exists():
        source = WEB_DIR / "demo" / path.lstrip("/")
    assert body == source.read_bytes()  # served untouched (no placeholder replacement)


def test_head_has_headers_and_no_body(port):
    status, headers, body = request(port, "/widget.js", "HEAD")
    assert status == 200 and body == b""
    assert int(headers["content-length"]) == (WEB_DIR / "widget.js").stat().st_size


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "OPTIONS"])
def test_other_methods_refused(port, method):
    status, headers, _ = request(port, "/widget.js", method)
    assert status == 405
    assert headers["allow"] == "GET, HEAD"


@pytest.mark.parametrize(
    "path",
    [
        "/nope.html",
        "/demo/",  # no directory listing
        "/demo/dreets.html",
        "/demo",
        "/web/widget.js",
        "/../bot/config.py",
        "/../../etc/passwd",
        "/%2e%2e/bot/config.py",
        "/..%2fbot%2fconfig.py",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/demo/../widget.js",
        "/..\\bot\\config.py",
        "/widget.js%00.html",
        "//etc/passwd",
        "/.gitignore",
        "/widget.js/",
    ],
)
def test_not_found_and_traversal(port, path):
    status, headers, body = request(port, path)
    assert status == 404
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["content-security-policy"] == CSP
    assert b"import" not in body and b"root:" not in body


def test_query_string_ignored(port):
    status, _, _ = request(port, "/widget.js?v=3")
    assert status == 200


def test_public_files_only_lists_web_files():
    files = public_files()
    assert set(files) >= {
        "/",
        "/index.html",
        "/departement.html",
        "/dreets.html",
        "/widget.js",
        "/widget.css",
    }
    for path in files.values():
        assert path.resolve().is_relative_to(WEB_DIR.resolve())


def test_origin_and_csp():
    assert origin_of("http://127.0.0.1:5005/") == "http://127.0.0.1:5005"
    assert origin_of("https://chat.example.fr/rasa/") == "https://chat.example.fr"
    assert "connect-src 'self' https://chat.example.fr;" in content_security_policy(
        "https://chat.example.fr/rasa"
    )
    for bad in [
        "javascript:alert(1)",
        "ftp://x",
        "rasa:5005",
        "http://x; script-src *",
        'http://a"b',
        "",
        "http://x/?q=1",
    ]:
        with pytest.raises(ValueError):
            origin_of(bad)
    with pytest.raises(ValueError):
        make_server("127.0.0.1", 0, "http://evil; script-src *")


def test_default_rasa_url(monkeypatch):
    monkeypatch.delenv("RASA_PUBLIC_URL", raising=False)
    monkeypatch.delenv("RASA_PORT", raising=False)
    assert default_rasa_url() == "http://127.0.0.1:5005"
    monkeypatch.setenv("RASA_PORT", "5010")
    assert default_rasa_url() == "http://127.0.0.1:5010"
    monkeypatch.setenv("RASA_PUBLIC_URL", "https://rasa.example.fr")
    assert default_rasa_url() == "https://rasa.example.fr"


def test_cli_registration(monkeypatch):
    monkeypatch.setenv("WEB_PORT", "8123")
    args = cli.build_parser().parse_args(["web", "serve", "--rasa-url", "http://127.0.0.1:5999"])
    assert (args.host, args.port, args.rasa_url) == ("127.0.0.1", 8123, "http://127.0.0.1:5999")
    assert callable(args.func)
    monkeypatch.delenv("WEB_PORT")
    assert cli.build_parser().parse_args(["web", "serve"]).port == 8080


def test_page_urls():
    assert page_urls("0.0.0.0", 8080) == [
        "http://127.0.0.1:8080/departement.html",
        "http://127.0.0.1:8080/dreets.html",
    ]
