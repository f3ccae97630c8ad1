"""How the widget delivers a message, against a scripted stand-in for the REST channel
(conftest.FakeRest), so that the tests see every request the widget sends: one message_id per
message, kept on every re-send (also after a reload), bounded re-sends, HTTP 429 with its French
text and Retry-After, and the stored transcript dropped after data-retention-days.

Waits are run on Playwright's fake clock (page.clock): the widget's own 25 s timeout and its
back-off are exercised as they are, in a few seconds of real time.
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import FakeRest, Reply
from tests.browser.widget_page import (
    alert,
    ask,
    assert_no_axe_violation,
    bot_bubbles,
    demo_site,
    launcher,
    open_demo,
    open_widget,
    panel,
    send,
    stored_raw,
    stored_state,
    user_bubbles,
    wait_replies,
    widget,
    write_state,
)

pytestmark = pytest.mark.browser

MESSAGE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # the channels' contract
QUESTION = "Qui peut candidater ?"
TIMEOUT_MS = 25_000  # the widget's default data-timeout: more than the server's 20 s turn
BACKOFF_MS = [2_000, 4_000, 8_000]  # its automatic re-sends, then « Non envoyé »
DOWN_MESSAGE = "Le service est momentanément indisponible"
GAVE_UP = "Votre message n'a pas pu être envoyé"
DAY_MS = 24 * 3600 * 1000


def answer(text: str) -> Reply:
    return Reply(payload=[{"recipient_id": "visiteur", "text": text}])


def bot_said(page, before: int) -> list[str]:
    """The bot's new bubbles once they are all there, each as read aloud (« L'assistant : … »)."""
    return [" ".join(text.split()) for text in wait_replies(page, before)]


def wait_for_requests(fake: FakeRest, count: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while fake.count() < count:
        assert time.monotonic() < deadline, f"{fake.count()} request(s), expected {count}"
        time.sleep(0.05)


def assert_no_new_request(fake: FakeRest, count: int) -> None:
    time.sleep(0.5)  # what a fired timer would have sent has had time to arrive
    assert fake.count() == count, f"{fake.count()} request(s), expected {count}"


def open_with_paused_clock(page, site: str) -> None:
    page.clock.install()
    open_demo(page, site)
    page.clock.pause_at(time.time() + 1)
    open_widget(page)


def busy(page):
    return widget(page).locator(".log")


def status(page):
    return widget(page).locator(".msg.user .status")


def test_slow_server_gets_one_message_id_a_bounded_number_of_times(new_page, fake_rest, tmp_path):
    fake_rest.script = lambda n, body: Reply(hold=True)  # never answers in time
    page, probe = new_page()
    with demo_site(tmp_path, fake_rest.url) as site:
        open_with_paused_clock(page, site)
        send(page, QUESTION)
        wait_for_requests(fake_rest, 1)
        page.clock.run_for(TIMEOUT_MS - 1_000)  # no re-send before the default 25 s
        expect(widget(page).locator(".typing")).to_contain_text("La réponse tarde")
        assert_no_new_request(fake_rest, 1)
        for sent, delay in enumerate(BACKOFF_MS, start=1):
            page.clock.run_for(1_000 if sent == 1 else TIMEOUT_MS)  # the attempt times out
            expect(busy(page)).to_have_attribute("aria-busy", "false")
            expect(alert(page)).to_contain_text(DOWN_MESSAGE)
            expect(status(page)).to_have_text("En attente d'envoi")
            page.clock.run_for(delay)
            wait_for_requests(fake_rest, sent + 1)
            expect(busy(page)).to_have_attribute("aria-busy", "true")
        page.clock.run_for(TIMEOUT_MS)  # the last automatic attempt times out too
        expect(alert(page)).to_contain_text(GAVE_UP)
        expect(status(page)).to_have_text("Non envoyé")
        retry = alert(page).get_by_role("button", name="Réessayer", exact=True)
        expect(retry).to_be_visible()
        page.clock.run_for(600_000)  # ten minutes later, nothing more was sent
        assert_no_new_request(fake_rest, 4)

        ids = {body["message_id"] for body in fake_rest.bodies}
        assert len(ids) == 1, ids
        (message_id,) = ids
        assert MESSAGE_ID.fullmatch(message_id)
        assert {body["message"] for body in fake_rest.bodies} == {QUESTION}
        assert len({body["sender"] for body in fake_rest.bodies}) == 1
        pending = stored_state(page)["msgs"][-1]
        assert (pending["id"], pending["p"]) == (message_id, 1)  # kept to survive a reload

        retry.click()  # the user's retry: the same message, the same id
        wait_for_requests(fake_rest, 5)
        expect(status(page)).to_have_text("En attente d'envoi")

        # reloaded while still pending, the server now answering: sent again, still the same id
        fake_rest.script = lambda n, body: answer(
            "Les conseils départementaux pouvaient candidater."
        )
        before = bot_bubbles(page).count()
        page.reload()
        replies = bot_said(page, before)
        assert replies == ["L'assistant : Les conseils départementaux pouvaient candidater."]
        assert [body["message_id"] for body in fake_rest.bodies] == [message_id] * 6
        expect(alert(page)).to_be_empty()
        assert "id" not in stored_state(page)["msgs"][-2]  # delivered: nothing left to re-send
        probe.assert_clean()


def test_rate_limited_shows_the_servers_text_then_answers(new_page, fake_rest, tmp_path):
    limited = "Trop de demandes en ce moment. Votre message sera renvoyé dans quelques secondes."
    script = {
        1: Reply(429, {"error": limited}, {"Retry-After": "7"}),
        2: answer("Première réponse."),
        3: Reply(429, b"<html>429 Too Many Requests</html>", {"Content-Type": "text/html"}),
        4: answer("Deuxième réponse."),
        5: Reply(400, {"error": "Le champ « message » est obligatoire."}),
    }
    fake_rest.script = lambda n, body: script[n]
    page, probe = new_page()
    with demo_site(tmp_path, fake_rest.url) as site:
        open_with_paused_clock(page, site)
        before = bot_bubbles(page).count()
        send(page, QUESTION)
        expect(alert(page)).to_have_text(limited)  # the body's French text, no retry button
        expect(alert(page).get_by_role("button")).to_have_count(0)
        expect(status(page)).to_have_text("En attente d'envoi")
        page.clock.run_for(6_500)  # Retry-After (7 s) is honoured, not the 2 s back-off
        assert_no_new_request(fake_rest, 1)
        page.clock.run_for(1_000)
        assert bot_said(page, before) == ["L'assistant : Première réponse."]
        expect(alert(page)).to_be_empty()
        first, again = fake_rest.bodies
        assert first == again and first["message_id"]

        # unreadable body, no Retry-After: the widget's own text, re-sent after the back-off
        before = bot_bubbles(page).count()
        send(page, "Quelle est la date limite ?")
        expect(alert(page)).to_contain_text("Le service reçoit beaucoup de demandes")
        page.clock.run_for(BACKOFF_MS[0])
        assert bot_said(page, before) == ["L'assistant : Deuxième réponse."]
        assert fake_rest.bodies[2] == fake_rest.bodies[3]
        assert fake_rest.bodies[2]["message_id"] != first["message_id"]  # one id per message

        # any other 4xx is not re-sent: the text goes back to the input
        send(page, "?")
        expect(widget(page).locator(".note")).to_contain_text("Ce message n'a pas pu être traité")
        page.clock.run_for(600_000)
        assert_no_new_request(fake_rest, 5)
        probe.assert_clean()


def scan_with_time_flowing(page, where: str) -> None:
    page.clock.resume()  # axe-core waits on timers of its own
    assert_no_axe_violation(page, where)
    page.clock.pause_at(page.evaluate("Date.now()") / 1000 + 0.5)


def test_rate_limited_and_not_sent_states_pass_axe(new_page, fake_rest, tmp_path, axe_source):
    limited = "Trop de demandes en ce moment. Votre message sera renvoyé dans quelques secondes."
    fake_rest.script = lambda n, body: Reply(429, {"error": limited}, {"Retry-After": "60"})
    page, probe = new_page(bypass_csp=True)  # to inject axe-core
    with demo_site(tmp_path, fake_rest.url) as site:
        open_with_paused_clock(page, site)
        page.add_script_tag(content=axe_source)
        send(page, QUESTION)
        expect(alert(page)).to_have_text(limited)
        scan_with_time_flowing(page, "429, message waiting")
        for sent in range(2, 5):  # the 3 automatic re-sends are refused too
            page.clock.run_for(60_000)
            wait_for_requests(fake_rest, sent)
        expect(alert(page)).to_contain_text(GAVE_UP)
        expect(status(page)).to_have_text("Non envoyé")
        scan_with_time_flowing(page, "message not sent, « Réessayer »")
        assert fake_rest.count() == 4
        probe.assert_clean()


def backdate(
    state: dict, now_ms: int, days: float, first: int = 0, last: int | None = None
) -> None:
    """Date the messages state["msgs"][first:last] and the last activity `days` ago."""
    when = now_ms - int(days * DAY_MS)
    for message in state["msgs"][first:last]:
        message["d"] = when
    state["t"] = when


def test_transcript_older_than_retention_is_dropped(new_page, fake_rest, tmp_path):
    fake_rest.script = lambda n, body: answer(f"Réponse {n}.")
    page, probe = new_page()
    with demo_site(tmp_path, fake_rest.url, data_retention_days="30") as site:
        open_demo(page, site)
        open_widget(page)
        expect(widget(page).locator(".privacy")).to_contain_text("conservés 30 jours")
        ask(page, "Première question")
        ask(page, "Seconde question")
        state = stored_state(page)
        sender = state["id"]
        assert [m["f"] for m in state["msgs"]] == ["b", "u", "b", "u", "b"]  # greeting first
        now_ms = page.evaluate("Date.now()")

        # active 29 days ago: kept, but its messages older than 30 days are gone
        backdate(state, now_ms, 31, last=3)
        backdate(state, now_ms, 29, first=3)
        write_state(page, state)
        page.reload()
        expect(panel(page)).to_be_visible()
        expect(user_bubbles(page)).to_have_text(["Vous : Seconde question"])
        expect(bot_bubbles(page)).to_have_text(["L'assistant : Réponse 2."])
        kept = stored_state(page)
        assert kept["id"] == sender and len(kept["msgs"]) == 2

        # no activity for 31 days: nothing shown, nothing kept, a new conversation id
        backdate(kept, now_ms, 31)
        write_state(page, kept)
        page.reload()
        expect(launcher(page)).to_be_visible()
        assert stored_raw(page) is None
        open_widget(page)
        expect(user_bubbles(page)).to_have_count(0)
        expect(bot_bubbles(page)).to_have_count(1)  # the greeting of a new conversation
        before = bot_bubbles(page).count()
        send(page, "Nouvelle question")
        assert bot_said(page, before) == ["L'assistant : Réponse 3."]
        new_sender = fake_rest.bodies[-1]["sender"]
        assert new_sender != sender and stored_state(page)["id"] == new_sender
        probe.assert_clean()
