from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import buttons, latest_text
from actions.topics import utter_faq
from bot.knowledge import dates_answer
from bot.place_answers import ASK_PLACE, contact_reply
from bot.subjects import load_subjects
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


def asked_for_a_place(tracker: Tracker) -> bool:
    """Whether the assistant's last message asked for a département."""
    last = next((e for e in reversed(tracker.events) if e.get("event") == "bot"), None)
    return bool(last) and ASK_PLACE in (last.get("text") or "")


def answer_by_words(dispatcher: CollectingDispatcher, text: str) -> bool:
    """Answer a message whose words clearly point to one answer (« et la sélection ? », « et les
    partenaires ? »): a short follow-up the classifiers could not place. False when none or
    several answers match."""
    answer = load_subjects().answer_from_cues(text)
    if answer and answer.startswith("faq/"):
        utter_faq(dispatcher, answer)
        return True
    if answer == "ask_dates":
        dispatcher.utter_message(text=dates_answer())
        return True
    return False


class ActionSuggestTopics(Action):
    """Unclear message: the one answer its words point to, else say so and offer the two or
    three closest topics as buttons."""

    def name(self) -> str:
        return "action_suggest_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if answer_by_words(dispatcher, latest_text(tracker)):
            return []
        if asked_for_a_place(tracker):  # « Pour quel département ? » → « Atlantide »
            reply = contact_reply(latest_text(tracker), None, None, place_expected=True)
            dispatcher.utter_message(text=reply.message, buttons=reply.buttons or None)
            return []
        topics = closest_topics(ranked_topic_keys(tracker.latest_message), limit=3)
        dispatcher.utter_message(text=UNCLEAR_MESSAGE, buttons=buttons(topics))
        return []


class ActionWhatElse(Action):
    """A short answer (« ok », « et les CCAS aussi ? ») with no question of the self-test running:
    the answer its words point to, else a neutral prompt with the topics."""

    def name(self) -> str:
        return "action_what_else"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if not answer_by_words(dispatcher, latest_text(tracker)):
            dispatcher.utter_message(response="utter_what_else")
        return []
