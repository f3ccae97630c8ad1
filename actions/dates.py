from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.knowledge.facts import dates_answer


class ActionAnswerDates(Action):
    """The calendar of the call, with the deadline compared with today's date."""

    def name(self) -> str:
        return "action_answer_dates"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(text=dates_answer())
        return []
