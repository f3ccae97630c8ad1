"""`make shell` driven in a real terminal: staff type questions and read the answers, on the
byte stream (pexpect) and on the screen itself (tmux), and closing the terminal stops it all."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable

import pexpect
import pytest

from bot.knowledge.facts import closed_call_note
from rasa_ext import shell
from scripts.supervisor import ROOT, free_port
from tests.terminal import (
    Tmux,
    command_lines,
    domain_answer,
    process_tree,
    terminal_window,
    wait_all_gone,
    words,
)

pytestmark = pytest.mark.server


def test_make_shell_answers_questions(tmp_path):
    env = dict(
        os.environ,
        ACTIONS_PORT=str(free_port()),
        RASA_PORT=str(free_port()),  # rasa shell's own server: not 5005, maybe taken
        TRACKER_DB_URL=f"sqlite:///{tmp_path / 'tracker.db'}",
        DATABASE_URL=f"sqlite:///{tmp_path / 'spie.db'}",
        VENV=str(ROOT / ".venv"),
        COLUMNS="200",
    )
    session = pexpect.spawn(
        "make", ["shell"], cwd=ROOT, env=env, encoding="utf-8", timeout=240, dimensions=(50, 200)
    )
    session.logfile_read = open(tmp_path / "shell.log", "w")  # closed with the process
    try:
        session.expect("Your input ->")
        session.sendline("c'est quoi le SPIE ?")
        session.expect(r"parcours\s+personnalisé", timeout=60)  # answers are wrapped
        session.expect("Your input ->")
        session.sendline("c'est quand la date limite ?")
        session.expect(r"11\s+octobre\s+2021", timeout=60)
        session.expect("Your input ->")
        session.sendline("/stop")
        session.expect(pexpect.EOF, timeout=60)
    finally:
        session.close(force=True)
        session.logfile_read.close()


CHOICE_LINE = re.escape(shell.CHOICE_PROMPT)
INPUT_LINE = re.escape("Your input ->")  # Rasa's own free-text prompt
ANY_PROMPT = f"{CHOICE_LINE}|{INPUT_LINE}"


@pytest.fixture
def terminal(tmp_path):
    with terminal_window(tmp_path) as window:
        yield window


def last_line(screen: str) -> str:
    lines = [line for line in screen.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def ask(window: Tmux, question: str) -> list[str]:
    """Types `question` as staff do and returns the screen lines after it, once the next prompt
    shows. From a select, the free-text line (the last choice: Up from the first) comes first."""
    if not re.search(INPUT_LINE, last_line(window.screen())):
        window.send("Up")
        window.send("Enter")
        window.wait_for(f"{INPUT_LINE}\\s*$", 30)
    return after_keys(
        window, f"{INPUT_LINE}\\s+{re.escape(question)}", lambda: window.type_line(question)
    )


def after_keys(
    window: Tmux, echoed: str, press: Callable[[], None], timeout: float = 90
) -> list[str]:
    """Presses keys (`press`), then returns the lines of the visible screen after the line they
    left (`echoed`: a regular expression, from the line's start), once a prompt follows them.
    The same question may be asked twice: the scrollback tells the new line from the old ones."""
    before = len(matching(window.screen_and_history(), echoed))
    press()
    deadline = time.monotonic() + timeout
    while True:
        if len(matching(window.screen_and_history(), echoed)) > before:
            screen = window.screen()
            lines, asked = screen.splitlines(), matching(screen, echoed)
            after = lines[asked[-1] + 1 :] if asked else []
            if any(re.search(ANY_PROMPT, line) for line in after):
                return after
        if time.monotonic() > deadline:
            raise TimeoutError(f"no answer after {echoed!r} on screen:\n{window.screen()}")
        time.sleep(0.3)


def matching(screen: str, pattern: str) -> list[int]:
    return [i for i, line in enumerate(screen.splitlines()) if re.match(pattern, line)]


def shows_lines(screen: list[str], expected: list[str]) -> bool:
    """`expected` appear on `screen` as consecutive lines (trailing spaces aside)."""
    screen = [line.rstrip() for line in screen]
    return any(screen[i : i + len(expected)] == expected for i in range(len(screen)))


def check_whole_answer(window: Tmux, columns: int) -> None:
    """« Qui peut candidater ? »: the whole answer, wrapped to `columns`, then its buttons."""
    text, titles = domain_answer("utter_faq/who_can_apply")
    screen = ask(window, "Qui peut candidater ?")
    assert words(text) in words(" ".join(screen)), "\n".join(screen)  # the whole text…
    assert shows_lines(screen, shell.wrapped(text, columns).splitlines())  # …wrapped to the width
    assert all(len(line.rstrip()) < columns for line in screen)
    note = closed_call_note("faq/who_can_apply")
    if note:  # once the call is closed
        assert words(note) in words(" ".join(screen))
    select = next(i for i, line in enumerate(screen) if shell.CHOICE_PROMPT in line)
    choices = "\n".join(screen[select:])
    assert all(title in choices for title in titles), choices
    assert shell.FREE_TEXT_CHOICE in choices and shell.CHOICE_HINT in choices


def test_make_shell_screen_then_closing_the_terminal_stops_everything(tmp_path, terminal):
    """At 80×24 then 120×40: whole answers and their buttons on screen, a button chosen with the
    keyboard; then the terminal is closed (SIGHUP) and nothing `make shell` started is left."""
    actions_port, rasa_port = free_port(), free_port()
    env = {
        "ACTIONS_PORT": str(actions_port),
        "RASA_PORT": str(rasa_port),
        "TRACKER_DB_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'spie.db'}",
        "VENV": str(ROOT / ".venv"),
    }
    terminal.start(["make", "shell"], env, ROOT, (80, 24))
    terminal.wait_for(f"{INPUT_LINE}\\s*$", 600)

    check_whole_answer(terminal, 80)
    partners, _ = domain_answer("utter_faq/partners")
    chosen = after_keys(  # the second button, « Les partenaires du groupement », chosen
        terminal,
        f"\\? {CHOICE_LINE}\\s+2: Les partenaires du groupement",
        lambda: terminal.send("Down", "Enter"),
    )
    assert words(partners) in words(" ".join(chosen))

    terminal.resize(120, 40)
    check_whole_answer(terminal, 120)

    started = process_tree(terminal.pane_pid())
    terminal.started.update(started)
    commands = command_lines(started)
    assert any("rasa_ext.shell" in line for line in commands), commands
    assert any("run actions" in line for line in commands), commands
    terminal.kill_server()
    seconds = wait_all_gone(started, [actions_port, rasa_port], timeout=15)
    print(f"everything stopped {seconds:.1f} s after the terminal was closed")
