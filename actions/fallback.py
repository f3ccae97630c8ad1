from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import previous_answer_key, utter_answer
from actions.common import buttons, latest_text, written_text
from bot.eligibility.rules import parse_yes_no
from bot.knowledge.topics import UNCLEAR_MESSAGE, closest_topics
from bot.places.answers import ASK_PLACE, contact_reply
from bot.text import is_noise
from bot.understanding.message_focus import is_follow_up, says_goodbye
from bot.understanding.subjects import load_subjects

IGNORED_INTENTS = {"nlu_fallback", "faq"}
BOT_CHALLENGE = "bot_challenge"


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


async def answer_with_a_place(dispatcher: CollectingDispatcher, text: str) -> None:
    """The reply to an answer to « Pour quel département ? »: the card, or « not found » and the
    question again (the look-up reads the database: off the event loop)."""
    reply = await asyncio.to_thread(contact_reply, text, None, None, place_expected=True)
    dispatcher.utter_message(text=reply.message, buttons=reply.buttons or None)


def answer_follow_up(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """A follow-up the classifiers could not place (« et les CCAS aussi ? ») gets the answer of
    the question it follows, which covers it; False when it is not a follow-up of an answer."""
    if not is_follow_up(latest_text(tracker)):
        return False
    return utter_answer(dispatcher, previous_answer_key(tracker) or "")


def answer_by_words(dispatcher: CollectingDispatcher, text: str) -> bool:
    """Answer a message whose words clearly point to one answer (« et la sélection ? », « et les
    partenaires ? »): a short follow-up the classifiers could not place. False when none or
    several answers match, and for code (« SELECT * FROM candidatures »: its words are no
    question)."""
    if is_noise(text):
        return False
    key = load_subjects().answer_from_cues(text) or ""
    if key == BOT_CHALLENGE:  # « vous n'êtes pas un humain, n'est-ce pas ? » taken for a reply
        dispatcher.utter_message(response="utter_iamabot")
        return True
    return utter_answer(dispatcher, key)


class ActionSuggestTopics(Action):
    """Unclear message: the one answer its words point to, else say so and offer the two or
    three closest topics as buttons."""

    def name(self) -> str:
        return "action_suggest_topics"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if answer_by_words(dispatcher, latest_text(tracker)) or answer_follow_up(
            dispatcher, tracker
        ):
            return []
        if asked_for_a_place(tracker):  # « Pour quel département ? » → « Atlantide »
            await answer_with_a_place(dispatcher, latest_text(tracker))
            return []
        topics = closest_topics(ranked_topic_keys(tracker.latest_message), limit=3)
        dispatcher.utter_message(text=UNCLEAR_MESSAGE, buttons=buttons(topics))
        return []


class ActionWhatElse(Action):
    """A short answer (« ok », « et les CCAS aussi ? », « non merci, au revoir ») with no question
    of the self-test running: goodbye when the person takes leave, the answer its words point to
    or the answer of the question it follows, else a neutral prompt with the topics."""

    def name(self) -> str:
        return "action_what_else"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = latest_text(tracker)
        if says_goodbye(written_text(tracker)):  # « Non, rien d'autre. Au revoir. »
            dispatcher.utter_message(response="utter_goodbye")
        elif answer_by_words(dispatcher, text) or answer_follow_up(dispatcher, tracker):
            pass
        elif asked_for_a_place(tracker) and parse_yes_no(text) is None:
            # « Pour quel département ? » → « Atlantide »: the conversation says it is a place,
            # whatever short-answer intent the classifier guessed; say it is not found, ask again.
            await answer_with_a_place(dispatcher, text)
        else:
            dispatcher.utter_message(response="utter_what_else")
        return []


class ActionHelp(Action):
    """The help menu; but a follow-up whose words point to one answer (« et qui peut y répondre ? »
    just after the SPIE's answer, taken for a request for help) gets that answer."""

    def name(self) -> str:
        return "action_help"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        text = latest_text(tracker)
        if not (is_follow_up(text) and answer_by_words(dispatcher, text)):
            dispatcher.utter_message(response="utter_help")
        return []


class ActionNothingToStop(Action):
    """« Stop » with no test running: the answer the message's decisive words name (« je ne veux
    pas faire de test, dites-moi qui peut candidater »), else say that no test is running."""

    def name(self) -> str:
        return "action_nothing_to_stop"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        decided = load_subjects().decisive_answer(latest_text(tracker))
        if not utter_answer(dispatcher, decided or ""):
            dispatcher.utter_message(response="utter_nothing_to_stop")
        return []
