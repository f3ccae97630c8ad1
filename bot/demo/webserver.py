"""Serves the chat widget and its two demo pages (`bot web serve`).

Only the files of `web/` (the widget) and `web/demo/` (the demo pages and their stylesheet) are
served, looked up by name in a table built from those two folders: no directory listing, and no
path can reach anything else. The placeholder `__RASA_SERVER__` in the HTML pages becomes the
public address of the Rasa server, and every answer carries a strict Content-Security-Policy
(no inline script or style, no eval, connections only to this server and to Rasa).
"""

from __future__ import annotations

import argparse
import html
import logging
import sys
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from bot import PROJECT_DIR
from bot.config import rasa_public_url, settings

logger = logging.getLogger(__name__)

WEB_DIR = PROJECT_DIR / "web"
DEMO_DIR = WEB_DIR / "demo"
PLACEHOLDER = "__RASA_SERVER__"
DEMO_PAGES = ("departement.html", "dreets.html")

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".txt": "text/plain; charset=utf-8",
}


def default_rasa_url() -> str:
    """Public address of the Rasa server, as the browser sees it."""
    return rasa_public_url()


def origin_of(url: str) -> str:
    """`scheme://host[:port]` of an http(s) URL; ValueError for anything else.

    The value goes into a CSP header and into HTML attributes, so it is checked strictly.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"adresse http(s) attendue, reçu {url!r}")
    if any(c in parts.netloc for c in " ;,'\"<>\\@") or parts.query or parts.fragment:
        raise ValueError(f"adresse invalide : {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(rasa_url: str) -> str:
    return (
        "default-src 'none'; script-src 'self'; style-src 'self'; "
        f"connect-src 'self' {origin_of(rasa_url)}; img-src 'self' data:; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )


def public_files(web_dir: Path = WEB_DIR) -> dict[str, Path]:
    """URL path → file: the widget files and the demo folder's files, served at the root."""
    files: dict[str, Path] = {}
    for folder in (web_dir, web_dir / "demo"):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and path.suffix in CONTENT_TYPES and not path.name.startswith("."):
                files.setdefault("/" + path.name, path)
    if "/index.html" in files:
        files["/"] = files["/index.html"]
    return files


class WidgetHandler(BaseHTTPRequestHandler):
    server_version = "spie-web"
    protocol_version = "HTTP/1.1"

    def __init__(self, *args: Any, rasa_url: str, web_dir: Path, **kwargs: Any) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.web_dir = web_dir
        super().__init__(*args, **kwargs)

    def version_string(self) -> str:
        return self.server_version

    # --- responses -------------------------------------------------------------------------
    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        head_only: bool = False,
        extra: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", content_security_policy(self.rasa_url))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "strict-origin-when-cross-origin")
        self.send_header("Cache-Control", "no-cache")
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if not head_only:
            self.wfile.write(body)

    def _error(
        self, status: HTTPStatus, head_only: bool = False, extra: dict[str, str] | None = None
    ) -> None:
        messages = {
            HTTPStatus.NOT_FOUND: "Page introuvable.",
            HTTPStatus.METHOD_NOT_ALLOWED: "Méthode non autorisée.",
            HTTPStatus.BAD_REQUEST: "Requête invalide.",
        }
        body = (messages.get(status, status.phrase) + "\n").encode("utf-8")
        self._send(status, body, "text/plain; charset=utf-8", head_only, extra)

    def _serve(self, head_only: bool) -> None:
        # Only the names listed by public_files() are served: no "..", no sub-folder, no listing.
        path = unquote(urlsplit(self.path).path)
        target = public_files(self.web_dir).get(path)
        if target is None:
            self._error(HTTPStatus.NOT_FOUND, head_only)
            return
        body = target.read_bytes()
        if target.suffix == ".html":
            address = html.escape(self.rasa_url, quote=True)
            body = body.replace(PLACEHOLDER.encode(), address.encode())
        self._send(HTTPStatus.OK, body, CONTENT_TYPES[target.suffix], head_only)

    def do_GET(self) -> None:  # http.server names its handlers do_<METHOD>
        self._serve(head_only=False)

    def do_HEAD(self) -> None:
        self._serve(head_only=True)

    def _not_allowed(self) -> None:
        self._error(HTTPStatus.METHOD_NOT_ALLOWED, extra={"Allow": "GET, HEAD"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def log_message(self, format: str, *args: Any) -> None:  # the base class names it format
        logger.debug("%s - %s", self.address_string(), format % args)


def make_server(
    host: str, port: int, rasa_url: str | None = None, web_dir: Path = WEB_DIR
) -> ThreadingHTTPServer:
    """A ready (not yet serving) server; `port=0` picks a free port (see `server_address`)."""
    rasa_url = rasa_url or default_rasa_url()
    origin_of(rasa_url)  # fail early on a bad address
    handler = partial(WidgetHandler, rasa_url=rasa_url, web_dir=web_dir)
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def page_urls(host: str, port: int) -> list[str]:
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return [f"http://{shown}:{port}/{name}" for name in DEMO_PAGES]


def serve(host: str | None = None, port: int | None = None, rasa_url: str | None = None) -> None:
    """Serve until interrupted, after printing the demo pages' addresses."""
    host = settings().web_host if host is None else host
    port = settings().web_port if port is None else port
    rasa_url = rasa_url or default_rasa_url()
    server = make_server(host, port, rasa_url)
    real_port = server.server_address[1]
    print(f"Widget et pages de démonstration (serveur Rasa : {rasa_url}) :", flush=True)
    for url in page_urls(host, real_port):
        print(f"  {url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _cmd_serve(args: argparse.Namespace) -> int:
    try:
        serve(args.host, args.port, args.rasa_url)
    except (OSError, ValueError) as error:
        print(f"bot web serve : {error}", file=sys.stderr)
        return 1
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    web = subparsers.add_parser("web", help="Widget de discussion et pages de démonstration.")
    commands = web.add_subparsers(dest="web_command", required=True)
    cmd = commands.add_parser(
        "serve",
        help="Sert widget.js, widget.css et les pages de démonstration (CSP stricte).",
    )
    cmd.add_argument(
        "--host",
        default=settings().web_host,
        help="adresse d'écoute (défaut : WEB_HOST ou 127.0.0.1)",
    )
    cmd.add_argument(
        "--port", type=int, default=settings().web_port, help="port (défaut : WEB_PORT ou 8080)"
    )
    cmd.add_argument(
        "--rasa-url",
        default=None,
        help="adresse publique du serveur Rasa (défaut : RASA_PUBLIC_URL ou "
        "http://127.0.0.1:${RASA_PORT:-5005})",
    )
    cmd.set_defaults(func=_cmd_serve)
