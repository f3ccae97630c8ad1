"""Topics offered as quick replies: the closest ones when a message is unclear."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot import DATA_DIR

TOPICS_FILE = DATA_DIR / "topics.yml"
FALLBACK_TOPICS = ("help", "ask_contact")
UNCLEAR_MESSAGE = (
    "Je n'ai pas bien compris votre message. Vouliez-vous parler de l'un de ces sujets ?"
)


@dataclass(frozen=True)
class Topic:
    key: str
    title: str
    payload: str


@lru_cache(maxsize=4)
def load_topics(path: Path = TOPICS_FILE) -> dict[str, Topic]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {key: Topic(key, value["title"], value["payload"]) for key, value in raw.items()}


def closest_topics(ranked_keys: Iterable[str], limit: int = 3) -> list[Topic]:
    """The first `limit` known topics among `ranked_keys` (best first), padded with the menu."""
    topics = load_topics()
    chosen: list[Topic] = []
    for key in [*ranked_keys, *FALLBACK_TOPICS]:
        topic = topics.get(key)
        if topic and topic not in chosen:
            chosen.append(topic)
        if len(chosen) == limit:
            break
    return chosen


NOT_IN_SOURCES = (
    "La page de l'AMI 2021 ne précise pas {subject}, et je ne veux pas vous donner une réponse "
    "qui n'y figure pas. Pour ce point, adressez-vous aux services de l'État de votre département, "
    "qui accompagnent les porteurs de projet : je peux vous indiquer lesquels."
)


def not_in_sources_message(subject_label: str | None) -> str:
    """The honest answer to an in-domain question the sources do not answer."""
    return NOT_IN_SOURCES.format(subject=subject_label or "ce point")
