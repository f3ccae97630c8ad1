from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import buttons
from bot.topics import UNCLEAR_MESSAGE, closest_topics

IGNORED_INTENTS = {"nlu_fallback", "faq"}


def ranked_topic_keys(parse_data: dict[str, Any]) -> list[str]:
    """Intents of the NLU ranking, best first, with `faq` replaced by its retrieval ranking."""
    faq_ranking = [
        item.get("intent_response_key")
        for item in parse_data.get("response_selector", {}).get("faq", {}).get("ranking", [])
    ]
    keys: list[str] = []
    for item in parse_data.get("intent_ranking", []):
        name = item.get("name")
        if name == "faq":
            keys.extend(key for key in faq_ranking[:2] if key)
        elif name not in IGNORED_INTENTS:
            keys.append(name)
    return keys


class ActionSuggestTopics(Action):
    """Unclear message: say so and offer the two or three closest topics as buttons."""

    def name(self) -> str:
        return "action_suggest_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        topics = closest_topics(ranked_topic_keys(tracker.latest_message), limit=3)
        dispatcher.utter_message(text=UNCLEAR_MESSAGE, buttons=buttons(topics))
        return []
