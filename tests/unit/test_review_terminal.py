"""`bot review` driven in a real terminal (pexpect): arrow keys, Enter, typing to search a topic.

The conversations are those of tests/unit/test_review.py, in a SQLite store filled by Rasa's
SQLTrackerStore. No model, no server: the first run is a dry run (nothing written, nothing
trained); the second ignores and marks messages, which writes only the review files."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest
import yaml

from bot.staff.review import state_id
from scripts.supervisor import ROOT
from tests.unit.test_review import EVAL_MESSAGE, fill, sql_store

DOWN, UP, ENTER = "\x1b[B", "\x1b[A", "\r"
MENU = r"Que faire de ce message \({}/7\)"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture()
def tracker_url(tmp_path: Path) -> str:
    path = tmp_path / "tracker.db"
    fill(sql_store(dialect="sqlite", db=str(path)))
    return f"sqlite:///{path}"


def shown(text: str) -> str:
    """A regex for `text` on the screen, whatever colour codes split it."""
    return "(?:\x1b\\[[0-9;?]*[A-Za-z])*".join(re.escape(char) for char in text)


def spawn_review(tmp_path: Path, tracker_url: str, *args: str) -> pexpect.spawn:
    review = pexpect.spawn(
        sys.executable,
        ["-m", "bot.cli", "review", "--db-url", tracker_url,
         "--review-dir", str(tmp_path / "review"), *args],
        cwd=ROOT,
        env=dict(os.environ, TERM="xterm-256color", PYTHONPATH=str(ROOT), PROMPT_TOOLKIT_NO_CPR="1"),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )  # fmt: skip
    review.logfile_read = open(tmp_path / "review.log", "w")  # closed in close()
    return review


def choose(review: pexpect.spawn, position: int, downs: int) -> None:
    """In the menu of message `position`, go down `downs` lines and press Enter."""
    review.expect(MENU.format(position))
    review.send(DOWN * downs + ENTER)


def close(review: pexpect.spawn, tmp_path: Path) -> str:
    review.expect(pexpect.EOF)
    review.close()
    review.logfile_read.close()
    return ANSI.sub("", (tmp_path / "review.log").read_text(encoding="utf-8"))


def test_review_keyboard_dry_run(tmp_path: Path, tracker_url: str) -> None:
    review = spawn_review(tmp_path, tracker_url, "--dry-run")
    review.expect("8 message\\(s\\) à revoir, 7 après regroupement des doublons.")
    review.expect(r"\[1/7\] « qsdfgh »")
    choose(review, 1, 3)  # Voir la conversation
    review.expect("Conversation anne")
    review.expect("→ Usager : qsdfgh")
    choose(review, 1, 2)  # Ignorer
    review.expect(re.escape(f"[2/7] « {EVAL_MESSAGE} »"))
    choose(review, 2, 0)  # Ajouter comme exemple…
    review.expect("Refusé : c'est un message des évaluations")
    choose(review, 2, 4)  # Passer
    choose(review, 3, 4)
    choose(review, 4, 4)
    choose(review, 5, 1)  # Question à apprendre
    choose(review, 6, 0)  # add « le cahier des charges svp »
    review.expect("Sujet \\(tapez pour chercher")
    review.send("informations")  # search: « Où trouver plus d'informations ? »
    review.expect(shown("Où trouver plus d'informations ?"))
    review.send(DOWN + ENTER)  # the first match, accepted
    review.expect("Mes réponses viennent d'une actualité publiée par la DREETS")
    review.expect(
        shown("Ajouter « le cahier des charges svp » à « Où trouver plus d'informations ? »")
    )
    review.expect("Oui")
    review.send(ENTER)  # « Oui », the first choice
    choose(review, 7, 5)  # Terminer la revue
    screen = close(review, tmp_path)
    assert "faq.yml : 1 exemple(s) ajouté(s)" in screen
    assert "  - le cahier des charges svp   [faq/more_info]" in screen
    assert "questions.yml : 1 question(s)" in screen
    assert "  - je m'appelle …, mon mail est …, un rdv ? (1 fois)" in screen
    assert "ignored.yml : 1 message(s) ignoré(s)\n  - qsdfgh" in screen
    assert "+++ b/data/nlu/faq.yml" in screen and "\n+    - le cahier des charges svp\n" in screen
    assert "Essai à blanc (--dry-run) : aucun fichier n'a été modifié." in screen
    assert not (tmp_path / "review").exists()


def test_review_keyboard_writes_review_files(tmp_path: Path, tracker_url: str) -> None:
    review = spawn_review(tmp_path, tracker_url)
    choose(review, 1, 2)  # Ignorer « qsdfgh »
    choose(review, 2, 1)  # the evaluation message: a question to learn
    review.expect(MENU.format(3))
    review.send(UP + ENTER)  # up from the first choice: the last, « Terminer la revue »
    screen = close(review, tmp_path)
    assert "ignored.yml : 1 message(s) ignoré(s)" in screen
    ignored = yaml.safe_load((tmp_path / "review" / "ignored.yml").read_text(encoding="utf-8"))
    assert ignored == [{"key": state_id("qsdfgh"), "text": "qsdfgh"}]
    questions = yaml.safe_load((tmp_path / "review" / "questions.yml").read_text(encoding="utf-8"))
    assert [(q["question"], q["count"]) for q in questions] == [(EVAL_MESSAGE, 1)]
    # The next review starts with what was neither ignored nor learned.
    again = spawn_review(tmp_path, tracker_url, "--dry-run")
    again.expect("5 message\\(s\\) à revoir, 5 après regroupement des doublons.")
    again.expect(r"\[1/5\] « qui peut candidater \? »")
    again.expect(r"Que faire de ce message \(1/5\)")
    again.send(UP + ENTER)
    close(again, tmp_path)
