"""Actions that depend on a place: whom to contact, is a territory already in the SPIE.

The replies read the database (staff-imported contact values) and, on first use, the place index:
they run in a worker thread (`asyncio.to_thread`) so that a slow or unreachable database never
blocks the action server's event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import place_mention
from bot.knowledge.facts import closed_call_note
from bot.places.answers import PlaceReply, contact_reply, territory_status_reply
from bot.places.resolver import get_resolver
from bot.places.store import StoreUnavailable


def relay(reply: PlaceReply, dispatcher: CollectingDispatcher) -> list[EventType]:
    """Send the reply; remember the département so that it is not asked again."""
    dispatcher.utter_message(text=reply.message, buttons=reply.buttons or None)
    return [SlotSet("departement", reply.code)] if reply.code else []


class ActionContact(Action):
    def name(self) -> str:
        return "action_contact"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        # Places are read by the NLU (rasa_ext/places.py): no entity means no place in the text.
        reply = await asyncio.to_thread(
            contact_reply, "", place_mention(tracker), tracker.get_slot("departement")
        )
        events = relay(reply, dispatcher)
        note = closed_call_note(self.name()) if reply.code else None
        if note:
            dispatcher.utter_message(text=note)
        return events


class ActionTerritoryStatus(Action):
    def name(self) -> str:
        return "action_territory_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        reply = await asyncio.to_thread(
            territory_status_reply, "", place_mention(tracker), tracker.get_slot("departement")
        )
        return relay(reply, dispatcher)


def _warm_up() -> None:
    """Build the place index in the background so that the first user does not wait for it."""
    try:
        get_resolver()
    except StoreUnavailable:
        pass  # logged by the store; the actions answer with the annuaire link meanwhile


threading.Thread(target=_warm_up, name="resolver-warm-up", daemon=True).start()
