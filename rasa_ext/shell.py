"""`make shell`: Rasa's `rasa shell`, with every answer shown whole.

Rasa 3.6's console (rasa/core/channels/console.py) renders an answer that has buttons as the
prompt of a `questionary` select, which shows only its first line, cut at the terminal's width:
staff testing an answer could not read it. Here the console's bot-output rendering is replaced:
the text is printed whole, wrapped to the terminal's width (line breaks, such as the « Source : »
line, kept), then the buttons of the turn are offered in a select with a short French prompt
(arrow keys + Enter send the button's payload, as before). Everything else is Rasa's CLI,
unchanged: `python -m rasa_ext.shell --model … --endpoints …` runs `rasa shell --model …`.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from typing import Any

import questionary
from prompt_toolkit.styles import Style
from rasa.cli import utils as cli_utils
from rasa.core.channels import console
from rasa.shared.utils.cli import print_color
from rasa.shared.utils.io import bcolors

CHOICE_PROMPT = "Choisissez une réponse :"
FREE_TEXT_CHOICE = "Écrire un autre message…"
CHOICE_HINT = "(flèches ↑ ↓, puis Entrée)"  # questionary's own is in English
BOT_COLOR = bcolors.OKBLUE
# Rasa's own colours for the select (prompt, choices, chosen answer).
SELECT_STYLE = Style([("qmark", "#6d91d3"), ("", "#6d91d3"), ("answer", "#b373d6")])
MIN_WIDTH = 20

_rasa_print_bot_output = console._print_bot_output


def terminal_width() -> int:
    """The terminal's current width: asked of the terminal itself first (not $COLUMNS, which may
    be stale), so that a resized window is followed, as prompt_toolkit does for the select."""
    try:
        return os.get_terminal_size(sys.stdout.fileno()).columns
    except (OSError, ValueError):
        return shutil.get_terminal_size().columns


def wrapped(text: str, width: int) -> str:
    """`text` wrapped to `width` columns, each of its lines (paragraph, « Source : ») kept apart.
    One column is left free: a line filling the last column makes some terminals wrap twice."""
    columns = max(width - 1, MIN_WIDTH)
    lines: list[str] = []
    for paragraph in text.splitlines():
        lines.extend(textwrap.wrap(paragraph, width=columns, break_on_hyphens=False) or [""])
    return "\n".join(lines)


def button_lines(buttons: list[dict[str, Any]]) -> list[str]:
    """« 1: Titre (/payload) » for each button: the form Rasa's console reads the payload from."""
    # button_to_string pops the keys it prints: give it copies, the message stays whole.
    return [cli_utils.button_to_string(dict(button), index) for index, button in enumerate(buttons)]


def button_question(buttons: list[dict[str, Any]]) -> questionary.Question:
    choices = [*button_lines(buttons), FREE_TEXT_CHOICE]
    return questionary.select(CHOICE_PROMPT, choices, style=SELECT_STYLE, instruction=CHOICE_HINT)


class TurnPrinter:
    """Prints the messages of one bot turn as they arrive; the turn's buttons become the select
    shown after its last message. A turn's buttons are often not on its last message (« Qui peut
    candidater ? » is followed by the closed-call note): they stay choosable, as in the widget."""

    def __init__(self) -> None:
        self.pending_buttons: list[dict[str, Any]] | None = None

    def __call__(
        self, message: dict[str, Any], is_latest_message: bool = False, color: str = BOT_COLOR
    ) -> questionary.Question | None:
        rest = dict(message)
        buttons = rest.pop("buttons", None)
        text = rest.pop("text", None)
        if text:
            print_color(wrapped(text, terminal_width()), color=color)
        _rasa_print_bot_output(rest, False, color)  # images, attachments, custom…: as Rasa does
        if buttons:
            self.keep_buttons(buttons, color)
        if not is_latest_message:
            return None
        buttons, self.pending_buttons = self.pending_buttons, None
        return button_question(buttons) if buttons else None

    def keep_buttons(self, buttons: list[dict[str, Any]], color: str) -> None:
        """Only one select per turn: buttons superseded by a later message's are listed."""
        if self.pending_buttons:
            print_color("\n".join(button_lines(self.pending_buttons)), color=color)
        self.pending_buttons = buttons


async def payload_from_button_question(question: questionary.Question) -> str | None:
    """The payload of the chosen button, as Rasa reads it, or None when the select is left with
    Ctrl-C: the shell then ends, as Ctrl-C at the text prompt does. (Rasa's own crashes on None,
    leaving the console dead and `make shell` hanging.)"""
    answer = await question.ask_async()
    if answer is None or answer == cli_utils.FREE_TEXT_INPUT_PROMPT:
        return answer
    return answer[answer.rfind("(") + 1 : answer.rfind(")")]


def install() -> None:
    """Replaces the console's bot-output rendering and button reading (looked up by Rasa at
    each call)."""
    console._print_bot_output = TurnPrinter()
    cli_utils.payload_from_button_question = payload_from_button_question
    # Rasa compares the chosen line with this constant to offer free text instead of a payload.
    cli_utils.FREE_TEXT_INPUT_PROMPT = FREE_TEXT_CHOICE


def main(args: list[str]) -> None:
    from rasa.__main__ import main as rasa_main

    install()
    sys.argv = ["rasa", "shell", *args]
    rasa_main()


if __name__ == "__main__":
    main(sys.argv[1:])
