"""The chat widget in a real headless Chromium, on the demo pages, against the real Rasa server.

Every page is served by bot/demo/webserver.py with its strict Content-Security-Policy; each test ends by
checking that no CSP violation, no dialog and no uncaught error happened (except the axe scan,
which injects axe-core and so runs with CSP bypassed).
"""

from __future__ import annotations

import re
import struct

import pytest
from playwright.sync_api import expect

from tests.browser.widget_page import (
    ask,
    assert_no_axe_violation,
    bot_bubbles,
    demo_site,
    launcher,
    open_demo,
    open_widget,
    panel,
    stored_state,
    text_input,
    user_bubbles,
    wait_replies,
    widget,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]

WHO = "Qui peut candidater ?"
WHO_ANSWER = re.compile(r"conseil départemental", re.IGNORECASE)
DOWN_MESSAGE = "Le service est momentanément indisponible"


# --- helpers ----------------------------------------------------------------------------------
def inner_focus(page) -> str | None:
    """Class of the focused element inside the widget's shadow root (None if focus is elsewhere)."""
    return page.evaluate(
        """() => {
          const host = document.activeElement;
          if (!host || !host.matches('[data-spie-widget]')) return null;
          const inner = host.shadowRoot.activeElement;
          return inner ? (inner.id || inner.className || inner.tagName) : null;
        }"""
    )


def png_size(path) -> tuple[int, int]:
    with open(path, "rb") as handle:
        header = handle.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", header[16:24])


def no_horizontal_overflow(page) -> dict:
    return page.evaluate(
        """() => {
          const root = document.querySelector('[data-spie-widget]').shadowRoot;
          const p = root.querySelector('.panel'), log = root.querySelector('.log');
          const box = p.getBoundingClientRect();
          return {
            panel: p.scrollWidth <= p.clientWidth,
            log: log.scrollWidth <= log.clientWidth,
            inside: box.left >= 0 && box.right <= window.innerWidth + 0.5,
            send: root.querySelector('.send').getBoundingClientRect().right
              <= window.innerWidth + 0.5,
          };
        }"""
    )


# --- the scenarios --------------------------------------------------------------------
def test_keyboard_open_ask_and_read_answer(page_and_probe, web_url):
    page, probe = page_and_probe
    open_demo(page, web_url, "departement.html")
    for _ in range(80):  # Tab through the page until the launcher has focus
        page.keyboard.press("Tab")
        if inner_focus(page) == "launcher":
            break
    else:
        pytest.fail("the launcher is never reached with Tab")
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    expect(panel(page)).to_be_visible()
    expect(text_input(page)).to_be_focused()
    expect(bot_bubbles(page).first).to_contain_text("Bonjour")  # local greeting

    before = bot_bubbles(page).count()
    page.keyboard.type(WHO)
    page.keyboard.press("Enter")
    replies = wait_replies(page, before)
    assert any(WHO_ANSWER.search(r) for r in replies), replies
    expect(user_bubbles(page).last).to_have_text(f"Vous : {WHO}")
    # announced through the polite live region
    live = widget(page).locator(".panel > [aria-live=polite]")
    expect(live).to_contain_text(WHO_ANSWER)
    expect(text_input(page)).to_be_focused()
    expect(text_input(page)).to_have_value("")
    probe.assert_clean()


def test_escape_closes_and_returns_focus(page_and_probe, web_url):
    page, probe = page_and_probe
    open_demo(page, web_url)
    launcher(page).focus()
    page.keyboard.press("Enter")
    expect(text_input(page)).to_be_focused()
    page.keyboard.press("Tab")  # focus elsewhere inside the panel: Escape still closes
    page.keyboard.press("Escape")
    expect(panel(page)).to_be_hidden()
    expect(launcher(page)).to_be_focused()
    expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    # the close button does the same
    page.keyboard.press("Enter")
    widget(page).get_by_role("button", name="Fermer l'assistant").click()
    expect(launcher(page)).to_be_focused()
    probe.assert_clean()


def test_quick_reply_button(page_and_probe, web_url, rasa_proxy):
    page, probe = page_and_probe
    open_demo(page, web_url)
    open_widget(page)
    replies = ask(page, "Que savez-vous faire ?")
    assert replies
    quick = widget(page).get_by_role("group", name="Réponses suggérées")
    expect(quick.get_by_role("button").first).to_be_visible()
    titles = quick.get_by_role("button").all_inner_texts()
    assert WHO in titles, f"the help answer has no {WHO!r} button: {replies} {titles}"
    button = quick.get_by_role("button", name=WHO)
    rasa_proxy.requests.clear()
    before = bot_bubbles(page).count()
    button.click()
    replies = wait_replies(page, before)
    assert any(WHO_ANSWER.search(r) for r in replies), replies
    # the user's bubble shows the button's title, whatever the payload sent
    expect(user_bubbles(page).last).to_have_text(f"Vous : {WHO}")
    assert len(rasa_proxy.sent_messages()) == 1
    expect(text_input(page)).to_be_focused()  # focus is not lost with the removed buttons
    probe.assert_clean()


def test_reload_keeps_conversation_and_goes_on(page_and_probe, web_url, rasa_proxy):
    page, probe = page_and_probe
    open_demo(page, web_url)
    open_widget(page)
    assert any(WHO_ANSWER.search(r) for r in ask(page, WHO))
    sender = stored_state(page)["id"]
    assert re.fullmatch(r"[0-9a-f]{32}", sender)
    count = bot_bubbles(page).count()

    page.reload()
    expect(panel(page)).to_be_visible()  # it was open: it opens again, with its history
    expect(bot_bubbles(page)).to_have_count(count)
    expect(user_bubbles(page).filter(has_text=WHO)).to_have_count(1)
    expect(bot_bubbles(page).filter(has_text=WHO_ANSWER)).not_to_have_count(0)
    assert stored_state(page)["id"] == sender

    replies = ask(page, "Quelle est la date limite ?")
    assert any(re.search(r"octobre", r, re.IGNORECASE) for r in replies), replies
    senders = {m["sender"] for m in rasa_proxy.sent_messages()}
    assert senders == {sender}, "the conversation id changed across the reload"
    probe.assert_clean()


def test_user_markup_is_shown_as_text(page_and_probe, web_url):
    page, probe = page_and_probe
    payload = "<img src=x onerror=alert(1)>"
    open_demo(page, web_url)
    open_widget(page)
    ask(page, payload)
    expect(user_bubbles(page).last).to_have_text(f"Vous : {payload}")
    counts = page.evaluate(
        """() => {
          const root = document.querySelector('[data-spie-widget]').shadowRoot;
          return {shadow: root.querySelectorAll('img, script, iframe').length,
                  page: document.querySelectorAll('img').length};
        }"""
    )
    assert counts == {"shadow": 0, "page": 0}, counts
    page.wait_for_timeout(300)
    probe.assert_clean()  # no dialog, no error, no CSP report


def test_server_markup_is_shown_as_text(page_and_probe, web_url, rasa_proxy):
    """Whatever the server answers, it is text; only http(s) links become links."""
    page, probe = page_and_probe
    answer = [
        {
            "recipient_id": "x",
            "text": "<img src=x onerror=alert(2)><script>alert(3)</script> [clic](javascript:alert(4)) "
            "voir https://exemple.fr/spie. et [la page](http://exemple.fr/a)",
            "buttons": [{"title": "<b>gras</b>", "payload": "/affirm"}],
        }
    ]

    def fulfil(route):
        if route.request.method == "OPTIONS":
            route.fulfill(
                status=204,
                headers={
                    "Access-Control-Allow-Origin": "*",
                    "Access-Control-Allow-Methods": "POST, OPTIONS",
                    "Access-Control-Allow-Headers": "Content-Type",
                },
            )
            return
        route.fulfill(status=200, json=answer, headers={"Access-Control-Allow-Origin": "*"})

    page.route(f"{rasa_proxy.url}/webhooks/rest/webhook", fulfil)
    open_demo(page, web_url)
    open_widget(page)
    ask(page, "bonjour")
    bubble = bot_bubbles(page).last
    expect(bubble).to_contain_text("<img src=x onerror=alert(2)><script>alert(3)</script>")
    links = bubble.locator("a")
    expect(links).to_have_count(2)
    assert links.nth(0).get_attribute("href") == "https://exemple.fr/spie"
    assert links.nth(1).get_attribute("href") == "http://exemple.fr/a"
    for i in range(2):
        assert links.nth(i).get_attribute("target") == "_blank"
        assert links.nth(i).get_attribute("rel") == "noopener noreferrer"
        expect(links.nth(i)).to_contain_text("(nouvelle fenêtre)")
    expect(bubble).to_contain_text("[clic](javascript:alert(4))")
    expect(widget(page).get_by_role("button", name="<b>gras</b>")).to_be_visible()
    assert (
        page.evaluate(
            "document.querySelector('[data-spie-widget]').shadowRoot"
            ".querySelectorAll('img, script:not([src]), b, [onerror]').length"
        )
        == 0
    )
    page.wait_for_timeout(300)
    probe.assert_clean()


def test_server_down_then_back(page_and_probe, web_url, rasa_proxy):
    page, probe = page_and_probe
    open_demo(page, web_url)
    open_widget(page)
    rasa_proxy.stop()
    before = bot_bubbles(page).count()
    text_input(page).fill(WHO)
    text_input(page).press("Enter")
    alert = widget(page).locator(".alert")
    expect(alert).to_have_attribute("role", "alert")
    expect(alert).to_contain_text(DOWN_MESSAGE)
    # what the user typed is kept, waiting to be sent
    expect(user_bubbles(page).last).to_have_text(f"Vous : {WHO}")
    expect(widget(page).locator(".msg.user .status")).to_have_text("En attente d'envoi")
    expect(alert.get_by_role("button", name="Réessayer maintenant")).to_be_visible()
    assert bot_bubbles(page).count() == before

    rasa_proxy.start()  # automatic retry (2 s, 4 s, 8 s… backoff)
    replies = wait_replies(page, before, timeout=45_000)
    assert any(WHO_ANSWER.search(r) for r in replies), replies
    expect(alert).to_be_empty()
    assert [m["message"] for m in rasa_proxy.sent_messages()] == [WHO]

    # down again: the "Réessayer maintenant" button sends at once when the server is back
    rasa_proxy.stop()
    before = bot_bubbles(page).count()
    text_input(page).fill("Quelle est la date limite ?")
    text_input(page).press("Enter")
    expect(alert).to_contain_text(DOWN_MESSAGE)
    rasa_proxy.start()
    alert.get_by_role("button", name="Réessayer maintenant").click()
    wait_replies(page, before, timeout=10_000)
    expect(alert).to_be_empty()
    probe.assert_clean()


def test_slow_server_says_so_and_retries(page_and_probe, rasa_proxy, tmp_path):
    page, probe = page_and_probe
    # the DREETS page's snippet with a short timeout, so that the test stays short
    with demo_site(tmp_path, rasa_proxy.url, data_timeout="2") as site:
        open_demo(page, site)
        open_widget(page)
        rasa_proxy.delay = 4.0
        before = bot_bubbles(page).count()
        text_input(page).fill(WHO)
        text_input(page).press("Enter")
        expect(widget(page).locator(".typing")).to_contain_text("La réponse tarde")
        expect(widget(page).locator(".alert")).to_contain_text(DOWN_MESSAGE, timeout=10_000)
        rasa_proxy.delay = 0.0
        replies = wait_replies(page, before, timeout=45_000)
        assert any(WHO_ANSWER.search(r) for r in replies), replies
        # the late first request reached Rasa too: both carry the same message_id, for the
        # channel to answer the repeat from its record instead of playing the turn twice
        sent = rasa_proxy.wait_sent(2)
        assert [m["message"] for m in sent] == [WHO, WHO]
        assert len({m["message_id"] for m in sent}) == 1, sent
        probe.assert_clean()


@pytest.mark.parametrize("name", ["departement.html", "dreets.html"])
def test_axe_no_violation_closed_and_open(new_page, web_url, axe_source, rasa_proxy, name):
    # axe-core is injected into the page: only this test bypasses the CSP to do so
    page, probe = new_page(bypass_csp=True)
    open_demo(page, web_url, name)
    page.add_script_tag(content=axe_source)

    def scan(state: str) -> None:
        assert_no_axe_violation(page, f"{name}, widget {state}")

    scan("closed")
    open_widget(page)
    ask(page, "Que savez-vous faire ?")  # bot bubbles, user bubble, quick-reply buttons
    expect(widget(page).locator(".quick button").first).to_be_visible()
    scan("open")
    # and with the "server unavailable" alert and a message waiting to be sent
    rasa_proxy.stop()
    text_input(page).fill("Qui peut candidater ?")
    text_input(page).press("Enter")
    expect(widget(page).locator(".alert")).to_contain_text(DOWN_MESSAGE)
    scan("open, server unreachable")
    rasa_proxy.start()
    probe.assert_clean()


def test_screenshot_360x740(new_page, web_url, artifacts_dir):
    page, probe = new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    open_demo(page, web_url, "departement.html")
    open_widget(page)
    ask(page, WHO)
    assert all(no_horizontal_overflow(page).values()), no_horizontal_overflow(page)
    path = artifacts_dir / "widget-360x740.png"
    page.screenshot(path=str(path))
    assert png_size(path) == (360, 740)
    probe.assert_clean()


@pytest.mark.parametrize(
    "viewport,scale",
    [({"width": 320, "height": 640}, 1), ({"width": 640, "height": 400}, 2)],
    ids=["320px", "zoom-200%"],
)
def test_narrow_and_zoomed(new_page, web_url, viewport, scale):
    """320 px wide, and a 1280×800 window at 200 % zoom (640×400 CSS pixels)."""
    page, probe = new_page(viewport=viewport, device_scale_factor=scale)
    open_demo(page, web_url)
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    open_widget(page)
    ask(page, "Quelle est l'adresse https://exemple.fr/" + "a" * 150 + " ?")
    assert all(no_horizontal_overflow(page).values()), no_horizontal_overflow(page)
    for name in ("Recommencer", "Fermer l'assistant", "Envoyer"):
        expect(widget(page).get_by_role("button", name=name)).to_be_in_viewport()
    expect(text_input(page)).to_be_in_viewport()
    probe.assert_clean()


def test_reduced_motion_is_honoured(new_page, web_url):
    page, probe = new_page(reduced_motion="reduce")
    open_demo(page, web_url)
    open_widget(page)
    assert panel(page).evaluate("e => getComputedStyle(e).animationName") == "none"
    page.emulate_media(reduced_motion="no-preference")
    assert panel(page).evaluate("e => getComputedStyle(e).animationName") != "none"
    probe.assert_clean()


def test_restart_starts_a_new_conversation(page_and_probe, web_url):
    page, probe = page_and_probe
    open_demo(page, web_url)
    open_widget(page)
    ask(page, WHO)
    old = stored_state(page)["id"]
    widget(page).get_by_role("button", name="Recommencer").click()
    expect(user_bubbles(page)).to_have_count(0)
    expect(bot_bubbles(page)).to_have_count(1)  # the greeting again
    expect(text_input(page)).to_be_focused()
    state = stored_state(page)
    assert state["id"] != old and len(state["msgs"]) == 1
    probe.assert_clean()


def test_options_colour_and_labels_under_csp(page_and_probe, web_url):
    """data-color is applied through CSSOM custom properties, which a strict CSP allows."""
    page, probe = page_and_probe
    open_demo(page, web_url, "departement.html")
    open_widget(page)
    title = "Assistant SPIE du Département"
    expect(widget(page).get_by_role("heading", name=title)).to_be_visible()
    expect(widget(page).get_by_role("dialog")).to_have_accessible_name(title)
    accent = widget(page).locator(".head").evaluate("e => getComputedStyle(e).backgroundColor")
    assert accent == "rgb(106, 27, 77)"  # #6a1b4d
    privacy = widget(page).locator(".privacy")
    expect(privacy).to_contain_text("Ne saisissez pas de données personnelles")
    expect(text_input(page)).to_have_attribute("maxlength", "1000")
    probe.assert_clean()
