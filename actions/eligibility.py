"""The eligibility self-test: a Rasa form whose questions and rules live in bot/eligibility/rules.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import button_choice, place_mention, topic_payload
from bot.eligibility import rules as eligibility
from bot.eligibility.rules import DONT_KNOW
from bot.knowledge.facts import today
from bot.places import answers as place_answers
from bot.understanding.subjects import load_subjects

FORM = "eligibility_form"
CHOICE = "choice"
MAX_FAILED_TRIES = 2


def answers_of(tracker: Tracker) -> dict[str, Any]:
    return {slot: tracker.get_slot(slot) for slot in eligibility.load_rules().slots}


class ValidateEligibilityForm(FormValidationAction):
    """Asks only the questions that apply and understands free-text answers."""

    def name(self) -> str:
        return "validate_eligibility_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        return eligibility.required_slots(answers_of(tracker))

    def _reject(
        self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker, *, dont_know: bool
    ) -> dict[str, Any]:
        """Explain (je ne sais pas) or say it was not understood; help after repeated failures."""
        rules = eligibility.load_rules()
        if dont_know:
            dispatcher.utter_message(text=rules.question(slot).explain)
            return {slot: None}
        failures = int(tracker.get_slot("form_retries") or 0) + 1
        dispatcher.utter_message(text=rules.messages["not_understood"])
        if failures >= MAX_FAILED_TRIES:
            dispatcher.utter_message(response="utter_form_help")
            failures = 0
        return {slot: None, "form_retries": float(failures)}

    def _go_on(
        self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """« oui, lance le questionnaire » while the test runs is no failed answer: the test is
        introduced again if nothing was answered yet, then the question is asked again."""
        if not any(answers_of(tracker).values()):
            dispatcher.utter_message(response="utter_eligibility_start")
        return {slot: None}

    def _accept(self, slot: str, value: Any) -> dict[str, Any]:
        return {slot: value, "form_retries": 0.0}

    def _validate_answer(
        self, slot: str, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """One validator for every question: a clicked choice, else the text, read by its kind."""
        question = eligibility.load_rules().question(slot)
        answer = eligibility.interpret(question, free_text(value), button_choice(tracker))
        if answer is None and asks_for_the_test(free_text(value)):
            return self._go_on(slot, dispatcher, tracker)
        if answer is None or answer == DONT_KNOW:
            return self._reject(slot, dispatcher, tracker, dont_know=answer == DONT_KNOW)
        if question.kind == "structure":
            dispatcher.utter_message(text=eligibility.structure_echo(answer))
        return self._accept(slot, answer)

    async def validate_departement(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = place_mention(tracker) or free_text(value)
        if eligibility.parse_yes_no(text) == DONT_KNOW:
            return self._reject("departement", dispatcher, tracker, dont_know=True)
        # The resolver and the store: off the event loop.
        outcome = await asyncio.to_thread(place_answers.departement_from_text, text)
        if outcome.code:
            return self._accept("departement", outcome.code)
        dispatcher.utter_message(text=outcome.message, buttons=outcome.buttons)
        return {"departement": None}


def _validator(slot: str) -> Callable[..., Awaitable[dict[str, Any]]]:
    async def validate(
        self: ValidateEligibilityForm,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return self._validate_answer(slot, value, dispatcher, tracker)

    validate.__name__ = f"validate_{slot}"
    return validate


# Rasa looks for `validate_<slot>`: one per question of bot/data/eligibility.yml, all alike.
for _question in eligibility.load_rules().questions:
    if _question.kind != "place":
        setattr(ValidateEligibilityForm, f"validate_{_question.slot}", _validator(_question.slot))


def asks_for_the_test(text: str) -> bool:
    """The message speaks of the self-test itself (« test », « questionnaire »…)."""
    return bool(text) and load_subjects().shows("check_eligibility", text)


def free_text(value: Any) -> str:
    """The typed answer; a button payload (« /answer{…} ») carries no free text."""
    text = str(value or "")
    return "" if text.startswith("/") else text


def answer_payload(value: str) -> str:
    return f"/answer{json.dumps({CHOICE: value})}"


def _ask_action(slot: str) -> type[Action]:
    """The action that asks one question of the test (text and buttons from the data file)."""

    class AskQuestion(Action):
        def name(self) -> str:
            return f"action_ask_{slot}"

        async def run(
            self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
        ) -> list[EventType]:
            question = eligibility.load_rules().question(slot)
            buttons = [
                {"title": title, "payload": answer_payload(value)}
                for title, value in question.buttons
            ]
            text = eligibility.numbered_question(slot, answers_of(tracker))
            dispatcher.utter_message(text=text, buttons=buttons)
            return []

    AskQuestion.__name__ = AskQuestion.__qualname__ = f"ActionAsk_{slot}"
    return AskQuestion


# One action per question, so that Rasa's form finds `action_ask_<slot>`.
ASK_ACTIONS = [_ask_action(slot) for slot in eligibility.load_rules().slots]


class ActionResetEligibility(Action):
    """Clears the answers of a previous test; the département, once known, is kept."""

    def name(self) -> str:
        return "action_reset_eligibility"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        slots = [s for s in eligibility.load_rules().slots if s != "departement"]
        return [SlotSet(slot, None) for slot in slots] + [
            SlotSet("form_retries", 0.0),
            SlotSet("eligibility_result", None),
            SlotSet("requested_slot", None),
        ]


class ActionEligibilityResult(Action):
    """Verdict, unmet conditions with what to do, SPIE and date notes, then the contact."""

    def name(self) -> str:
        return "action_eligibility_result"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        answers = answers_of(tracker)
        verdict = eligibility.evaluate(answers)
        dispatcher.utter_message(text=eligibility.format_verdict(verdict, today()))
        departement = answers.get("departement")
        if departement:
            reply = await asyncio.to_thread(
                place_answers.contact_for_departement, departement, with_spie_status=True
            )
            dispatcher.utter_message(text=reply.message)
        dispatcher.utter_message(
            text="Voulez-vous refaire le test ou poser une autre question ?",
            buttons=[
                {"title": "Refaire le test", "payload": "/restart_test"},
                {"title": "Qui peut candidater ?", "payload": topic_payload("faq/who_can_apply")},
                {"title": "Les dates", "payload": "/ask_dates"},
            ],
        )
        result = "eligible" if verdict.eligible else "not_eligible"
        return [SlotSet("eligibility_result", result)]
