"""Answers chosen by the bot's own knowledge rather than by the classifiers: a clicked topic,
a question the sources do not answer, a place given on its own."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import answer_continued_follow_up, selected_faq, utter_faq
from actions.common import SUBJECT, TOPIC, buttons, latest_entity
from actions.places import ActionContact, ActionTerritoryStatus
from bot.knowledge.facts import facts
from bot.knowledge.topics import closest_topics, not_in_sources_message
from bot.understanding.subjects import load_subjects

PLACE_ACTIONS = {ActionContact().name(), ActionTerritoryStatus().name()}


class ActionGreet(Action):
    """The greeting, with where the call stands today (open, closed) from bot/data/call.yml."""

    def name(self) -> str:
        return "action_greet"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(response="utter_greet", **facts())
        return []


class ActionAnswerFaq(Action):
    """The answer to a frequently asked question: the one clicked in a menu
    (« /faq{"topic": "faq/partners"} », no NLU), else the one the ResponseSelector chose, unless
    the message is a follow-up it only guessed (then the previous answer: actions/answers.py)."""

    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        clicked = latest_entity(tracker, TOPIC)
        key = clicked or selected_faq(tracker.latest_message) or ""
        if not clicked and answer_continued_follow_up(dispatcher, tracker, key):
            return []
        response = f"utter_{key}"
        if key.startswith("faq/") and response in (domain.get("responses") or {}):
            utter_faq(dispatcher, key)
        else:  # an old or forged payload: offer the menu rather than fail silently
            dispatcher.utter_message(response="utter_help")
        return []


class ActionNotInSources(Action):
    """An in-domain question no source answers: say so, and who can help."""

    def name(self) -> str:
        return "action_not_in_sources"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        subject = load_subjects().subject(latest_entity(tracker, SUBJECT) or "")
        dispatcher.utter_message(
            text=not_in_sources_message(subject.label if subject else None),
            buttons=buttons(closest_topics(["ask_contact", "faq/more_info"], limit=2)),
        )
        return []


class ActionAnswerPlace(Action):
    """A place given on its own answers the place question asked last (contact or SPIE status)."""

    def name(self) -> str:
        return "action_answer_place"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        last = next(
            (
                event.get("name")
                for event in reversed(tracker.events)
                if event.get("event") == "action" and event.get("name") in PLACE_ACTIONS
            ),
            None,
        )
        action = ActionTerritoryStatus() if last == "action_territory_status" else ActionContact()
        return await action.run(dispatcher, tracker, domain)
