"""rasa_ext/shell.py: what `make shell` prints for a bot turn, driven through Rasa's own console
code (`_get_user_input`) with keys on a pipe instead of a terminal."""

from __future__ import annotations

import asyncio

import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rasa.cli import utils as cli_utils
from rasa.core.channels import console

from bot.knowledge.facts import closed_call_note
from rasa_ext import shell
from tests.terminal import domain_answer, words

DOWN, ENTER, CTRL_C = "\x1b[B", "\r", "\x03"


@pytest.fixture
def printer(monkeypatch: pytest.MonkeyPatch) -> None:
    """shell.install() for one test: Rasa's console restored afterwards."""
    monkeypatch.setattr(console, "_print_bot_output", console._print_bot_output)
    monkeypatch.setattr(cli_utils, "FREE_TEXT_INPUT_PROMPT", cli_utils.FREE_TEXT_INPUT_PROMPT)
    monkeypatch.setattr(
        cli_utils, "payload_from_button_question", cli_utils.payload_from_button_question
    )
    monkeypatch.setattr(shell, "terminal_width", lambda: 80)
    shell.install()


def who_can_apply_turn() -> list[dict[str, object]]:
    """The turn for « Qui peut candidater ? » once the call is closed: the answer with its
    buttons, then the closed-call note (actions/answers.utter_faq)."""
    text, _ = domain_answer("utter_faq/who_can_apply")
    domain_buttons = [
        {"title": "Faire le test d'éligibilité", "payload": "/check_eligibility"},
        {"title": "Les partenaires du groupement", "payload": '/faq{"topic": "faq/partners"}'},
    ]
    note = closed_call_note("faq/who_can_apply")
    assert note, "the call is closed: the note follows the answer"
    return [{"text": text, "buttons": domain_buttons}, {"text": note}]


def play_turn(turn: list[dict[str, object]], keys: str) -> str | None:
    """Prints `turn` as Rasa's record_messages does, then answers the prompt with `keys`."""
    for message in turn[:-1]:
        console._print_bot_output(message)
    pipe = create_pipe_input()
    try:
        with create_app_session(input=pipe, output=DummyOutput()):
            pipe.send_text(keys)
            return asyncio.run(console._get_user_input(turn[-1]))
    finally:
        pipe.close()


def test_wrapped_keeps_every_word_and_line() -> None:
    text, _ = domain_answer("utter_faq/who_can_apply")
    for width in (40, 80, 120):
        lines = shell.wrapped(text, width).splitlines()
        assert all(len(line) < width for line in lines)
        assert words(" ".join(lines)) == words(text)
        assert any(line.startswith("Source : ") for line in lines)  # a line of its own


def test_whole_answer_then_buttons_send_payload(printer, capsys) -> None:
    turn = who_can_apply_turn()
    payload = play_turn(turn, DOWN + ENTER)  # second button
    assert payload == '/faq{"topic": "faq/partners"}'
    printed = capsys.readouterr().out
    assert words(str(turn[0]["text"])) in words(printed)
    assert words(str(turn[1]["text"])) in words(printed)
    assert "Buttons:" not in printed  # offered in the select, not listed as Rasa did
    assert turn[0]["buttons"][0] == {  # the message itself is left whole
        "title": "Faire le test d'éligibilité",
        "payload": "/check_eligibility",
    }


def test_free_text_choice_asks_for_a_message(printer) -> None:
    turn = who_can_apply_turn()
    # The free-text line is the last choice: down twice, Enter, then the message typed.
    typed = play_turn(turn, DOWN + DOWN + ENTER + "et les dates ?" + ENTER)
    assert typed == "et les dates ?"


def test_turn_without_buttons_asks_for_free_text(printer, capsys) -> None:
    typed = play_turn([{"text": "Bonjour."}], "merci" + ENTER)
    assert typed == "merci"
    assert "Bonjour." in capsys.readouterr().out


def test_ctrl_c_in_the_buttons_ends_the_shell(printer) -> None:
    """None is what makes Rasa's console stop (as Ctrl-C at the text prompt does), not a crash."""
    assert play_turn(who_can_apply_turn(), CTRL_C) is None
