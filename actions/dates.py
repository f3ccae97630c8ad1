from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.answers import answer_continued_follow_up
from bot.knowledge.facts import dates_answer
from bot.understanding.follow_ups import DATES


class ActionAnswerDates(Action):
    """The calendar of the call, with the deadline compared with today's date (unless the message
    is a follow-up only guessed as the dates: then the previous answer, actions/answers.py)."""

    def name(self) -> str:
        return "action_answer_dates"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if not answer_continued_follow_up(dispatcher, tracker, DATES):
            dispatcher.utter_message(text=dates_answer())
        return []
