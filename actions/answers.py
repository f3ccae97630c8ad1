"""Sending an answer by its key (faq/<key> or the dates), and the conversation's part in choosing
it: a follow-up the classifiers only guessed stays on the previous answer's subject."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.common import latest_text
from bot.knowledge.facts import closed_call_note, dates_answer, facts
from bot.understanding.follow_ups import DATES, answer_given, continued_answer

FOLLOW_UP_CHAIN = 3  # user messages looked back through for the answer a follow-up leans on


def utter_faq(dispatcher: CollectingDispatcher, key: str) -> None:
    """The answer faq/<key> of domain.yml, its {fact} placeholders filled from the call's data,
    and the closed-call line when it is about applying."""
    dispatcher.utter_message(response=f"utter_{key}", **facts())
    note = closed_call_note(key)
    if note:
        dispatcher.utter_message(text=note)


def utter_answer(dispatcher: CollectingDispatcher, key: str) -> bool:
    """Send the answer `key` (faq/<key> or the dates); False for any other key."""
    if key.startswith("faq/"):
        utter_faq(dispatcher, key)
        return True
    if key == DATES:
        dispatcher.utter_message(text=dates_answer())
        return True
    return False


def selected_faq(parse_data: dict[str, Any]) -> str | None:
    """faq/<key> chosen by the ResponseSelector for the latest message: under "faq" with
    config.yml's selector (`retrieval_intent: faq`), under "default" with a selector trained on
    every retrieval intent (Rasa's default configuration, which the benchmark serves)."""
    return (_selector(parse_data).get("response") or {}).get("intent_response_key")


def _selector(parse_data: dict[str, Any]) -> dict[str, Any]:
    selectors = parse_data.get("response_selector") or {}
    return selectors.get("faq") or selectors.get("default") or {}


def previous_answer_key(tracker: Tracker) -> str | None:
    """The answer given to the user's message before the latest one (faq/<key> or an intent),
    following a chain of follow-ups back to the answer they leaned on."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    earlier = users[-1 - FOLLOW_UP_CHAIN : -1]
    return answer_given(
        [(e.get("text") or "", _answer_key(e.get("parse_data") or {})) for e in earlier]
    )


def _answer_key(parse_data: dict[str, Any]) -> str | None:
    """faq/<key> or the intent the classifiers chose for a message."""
    topic = next(
        (e.get("value") for e in parse_data.get("entities") or [] if e.get("entity") == "topic"),
        None,
    )
    intent = (parse_data.get("intent") or {}).get("name")
    if topic:
        return str(topic)
    if intent == "faq":
        return selected_faq(parse_data)
    return intent


def answer_continued_follow_up(
    dispatcher: CollectingDispatcher, tracker: Tracker, chosen: str | None
) -> bool:
    """Give the previous answer again when the latest message is a follow-up that the
    classifiers only guessed as `chosen` (bot.understanding.follow_ups); False otherwise."""
    parse_data = tracker.latest_message
    faq_confidence = None
    if (parse_data.get("intent") or {}).get("name") == "faq":
        faq_confidence = float((_selector(parse_data).get("response") or {}).get("confidence", 0))
    key = continued_answer(
        latest_text(tracker),
        chosen,
        previous_answer_key(tracker),
        intent_confidence=float((parse_data.get("intent") or {}).get("confidence", 1.0)),
        faq_confidence=faq_confidence,
    )
    return key is not None and utter_answer(dispatcher, key)
