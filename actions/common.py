"""Small helpers shared by the actions."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from bot.knowledge.topics import Topic, load_topics
from bot.places.answers import MENTION_SEPARATOR

PLACE, CHOICE, TOPIC, SUBJECT = "place", "choice", "topic", "subject"


def buttons(topics: list[Topic]) -> list[dict[str, str]]:
    return [{"title": topic.title, "payload": topic.payload} for topic in topics]


def topic_payload(key: str) -> str:
    """The quick reply that opens a topic (bot/data/topics.yml): « /faq{"topic": "faq/partners"} »."""
    return load_topics()[key].payload


def latest_text(tracker: Tracker) -> str:
    text = tracker.latest_message.get("text") or ""
    return "" if text.startswith("/") else text  # a button payload carries no free text


def written_text(tracker: Tracker) -> str:
    """The latest message as the person wrote it (the NLU may have read only its question part,
    with texting spellings as words: see rasa_ext.message_focus)."""
    return str(tracker.latest_message.get("original_text") or latest_text(tracker))


def latest_entity(tracker: Tracker, entity: str) -> str | None:
    values: list[Any] = list(tracker.get_latest_entity_values(entity))
    return str(values[0]) if values else None


def place_mention(tracker: Tracker) -> str | None:
    """The places of the latest message (read by the NLU's place reader or sent by a button).

    Several mentions (« Moulins, dans l'Allier ») are joined so that the resolver combines them.
    """
    values = [str(value) for value in tracker.get_latest_entity_values(PLACE)]
    return MENTION_SEPARATOR.join(dict.fromkeys(values)) if values else None


def button_choice(tracker: Tracker) -> str | None:
    """The value of a clicked quick reply of the self-test (« /answer{"choice": "yes"} »)."""
    return latest_entity(tracker, CHOICE)
