"""Test helpers around the live servers. Starting and stopping them is scripts/supervisor.py's
job (also used by `make run`, the cluster and the benchmark); here only what the tests add: the
tracker's count of turns, and the reply helpers."""

from __future__ import annotations

import sqlite3
from typing import Any

from scripts import supervisor


class Assistant(supervisor.Assistant):
    """The supervisor's assistant (action + Rasa server on free ports), with test look-ups."""

    def user_turns(self, sender: str) -> int:
        """How many user messages the conversation's tracker holds (turns really played)."""
        with sqlite3.connect(self.workdir / "tracker.db") as tracker:
            (count,) = tracker.execute(
                "SELECT count(*) FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
            ).fetchone()
        return count


def texts(replies: list[dict[str, Any]]) -> str:
    """All reply texts of a turn, joined (for assertions)."""
    return "\n".join(reply.get("text", "") for reply in replies)


def button_titles(replies: list[dict[str, Any]]) -> list[str]:
    return [b["title"] for reply in replies for b in reply.get("buttons", [])]
