"""Small helpers shared by the actions."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot.topics import Topic


def buttons(topics: list[Topic]) -> list[dict[str, str]]:
    return [{"title": topic.title, "payload": topic.payload} for topic in topics]


def latest_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text  # a button payload carries no free text


def place_mention(tracker: Tracker) -> str | None:
    """The place the user named in the latest message: the `place` entity, else None."""
    values: list[Any] = list(tracker.get_latest_entity_values("place"))
    return str(values[0]) if values else None
