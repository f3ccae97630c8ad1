"""How the browser tests see the widget: its parts by role and name, a question asked and its
answers read, what it keeps in localStorage, and a demo site whose snippet carries extra options."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import expect

from bot.demo.webserver import PLACEHOLDER, WEB_DIR, make_server

LAUNCHER = "Une question ?"
STORAGE_PREFIX = "spie-widget:"


def widget(page):
    return page.locator("[data-spie-widget]")


def launcher(page):
    return page.get_by_role("button", name=LAUNCHER)


def panel(page):
    return widget(page).locator(".panel")


def text_input(page):
    return widget(page).get_by_role("textbox", name="Votre question")


def bot_bubbles(page):
    return widget(page).locator(".msg.bot .bubble")


def user_bubbles(page):
    return widget(page).locator(".msg.user .bubble")


def alert(page):
    return widget(page).locator(".alert")


def open_demo(page, web_url: str, name: str = "dreets.html") -> None:
    page.goto(f"{web_url}/{name}")
    # the widget shows once its stylesheet has loaded: launcher, or the panel if it was left open
    expect(launcher(page).or_(panel(page)).filter(visible=True)).to_have_count(1)


def open_widget(page) -> None:
    if not panel(page).is_visible():
        launcher(page).click()
    expect(panel(page)).to_be_visible()
    expect(text_input(page)).to_be_focused()


def send(page, text: str) -> None:
    text_input(page).fill(text)
    text_input(page).press("Enter")


def ask(page, text: str) -> list[str]:
    """Type a question, send it with Enter and return the texts of the bot's new bubbles."""
    before = bot_bubbles(page).count()
    send(page, text)
    return wait_replies(page, before)


def wait_replies(page, before: int, timeout: float = 30_000) -> list[str]:
    expect(bot_bubbles(page)).not_to_have_count(before, timeout=timeout)
    expect(widget(page).locator(".log")).to_have_attribute("aria-busy", "false", timeout=timeout)
    expect(widget(page).locator(".msg .status")).to_have_count(0, timeout=timeout)
    return bot_bubbles(page).all_inner_texts()[before:]


def stored_raw(page) -> str | None:
    return page.evaluate(
        f"() => {{ const k = Object.keys(localStorage).find(k => k.startsWith('{STORAGE_PREFIX}'));"
        " return k ? localStorage.getItem(k) : null; }"
    )


def stored_state(page) -> dict:
    raw = stored_raw(page)
    assert raw, "nothing kept in localStorage"
    return json.loads(raw)


def write_state(page, state: dict) -> None:
    """Replace what the widget keeps (its key is `spie-widget:` + the server's address)."""
    page.evaluate(
        f"s => {{ const k = Object.keys(localStorage).find(k => k.startsWith('{STORAGE_PREFIX}'));"
        " localStorage.setItem(k, JSON.stringify(s)); }",
        state,
    )


def assert_no_axe_violation(page, where: str) -> None:
    """axe-core, already injected into the page (a context with bypass_csp), finds nothing."""
    # Colours are read as rendered: let the opening fade-in (0.18 s) end first, which can take
    # longer than the answer on a loaded machine. The typing dots loop forever.
    page.evaluate(
        "() => Promise.all([document, ...[...document.querySelectorAll('*')]"
        ".map(e => e.shadowRoot).filter(Boolean)]"
        ".flatMap(root => root.getAnimations())"
        ".filter(a => a.effect.getComputedTiming().iterations !== Infinity)"
        ".map(a => a.finished))"
    )
    result = page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)})); }"
    )
    if result:
        print(f"axe violations ({where}):")
        print(json.dumps(result, indent=2, ensure_ascii=False))
    assert result == [], f"axe: {len(result)} violation(s) ({where})"


@contextmanager
def demo_site(web_dir: Path, rasa_url: str, **options: str) -> Iterator[str]:
    """The DREETS demo page, its snippet given extra `data-` options (data_timeout="2" →
    data-timeout="2"), served with its CSP by bot/demo/webserver.py from a copy of web/ in `web_dir`
    (a routed page would not be a local origin); yields the site's address, for `open_demo`."""
    (web_dir / "demo").mkdir(parents=True, exist_ok=True)
    for name in ("widget.js", "widget.css"):
        shutil.copy(WEB_DIR / name, web_dir / name)
    snippet = f'data-server="{PLACEHOLDER}"'
    extra = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in options.items())
    html = (WEB_DIR / "demo" / "dreets.html").read_text(encoding="utf-8")
    assert snippet in html
    (web_dir / "demo" / "dreets.html").write_text(html.replace(snippet, snippet + extra), "utf-8")
    (web_dir / "demo" / "demo.css").write_text("", encoding="utf-8")
    server = make_server("127.0.0.1", 0, rasa_url, web_dir=web_dir)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
