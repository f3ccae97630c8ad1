"""The remaining custom actions driven in-process (rasa-sdk's Tracker and CollectingDispatcher):
the dates, the contact and SPIE-status look-ups, the self-test's questions, reset and verdict;
and the self-test's wiring: domain.yml, the form, the ask actions and the validators agree with
bot/data/eligibility.yml, the one file staff edit."""

from __future__ import annotations

import asyncio
import csv
import json
import time
from typing import Any

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.dates import ActionAnswerDates
from actions.eligibility import (
    ASK_ACTIONS,
    FORM,
    ActionEligibilityResult,
    ActionResetEligibility,
    ValidateEligibilityForm,
)
from actions.places import ActionContact, ActionTerritoryStatus
from bot import DATA_DIR, PROJECT_DIR
from bot.eligibility.rules import load_rules
from bot.knowledge.facts import french_date, load_call
from bot.places.answers import PlaceReply

pytest_plugins = ["tests.conftest_db"]

ALLIER_WEBSITE = next(
    row["website"]
    for row in csv.DictReader((DATA_DIR / "services" / "prefectures.csv").open(encoding="utf-8"))
    if row["dep"] == "03"
)


@pytest.fixture(autouse=True)
def built_store(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)


def tracker(
    text: str = "",
    intent: str = "answer",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent}, "entities": entities or []}
    return Tracker("test", slots or {}, latest, [], False, None, {}, "action_listen")


def run(action, track: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, {}))
    return dispatcher, events


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


# --- dates -----------------------------------------------------------------------------------


def test_the_dates_answer_gives_the_deadline_and_where_the_call_stands(
    monkeypatch: pytest.MonkeyPatch,
):
    deadline = load_call().dates.deadline
    monkeypatch.setenv("SPIE_TODAY", "2026-12-02")
    dispatcher, events = run(
        ActionAnswerDates(), tracker("c'est quand la date limite", "ask_dates")
    )
    text = texts(dispatcher)
    assert f"Date limite de dépôt : {french_date(deadline)} inclus" in text
    assert "Source :" in text and events == []


# --- places ----------------------------------------------------------------------------------


ALLIER = [{"entity": "place", "value": "Allier"}]


def test_the_contact_of_a_named_departement_is_its_prefecture_and_remembered():
    dispatcher, events = run(
        ActionContact(), tracker("qui contacter dans l'Allier", "ask_contact", ALLIER)
    )
    text = texts(dispatcher)
    assert "Allier (03)" in text and ALLIER_WEBSITE in text
    assert slot_events(events) == {"departement": "03"}


def test_the_contact_without_a_place_asks_for_it_and_remembers_nothing():
    dispatcher, events = run(ActionContact(), tracker("qui contacter ?", "ask_contact"))
    assert "département" in texts(dispatcher)
    assert slot_events(events) == {}


def test_the_contact_uses_the_departement_already_known():
    track = tracker("qui contacter ?", "ask_contact", slots={"departement": "03"})
    dispatcher, _ = run(ActionContact(), track)
    assert "Allier (03)" in texts(dispatcher)


def test_the_spie_status_of_a_departement():
    dispatcher, events = run(
        ActionTerritoryStatus(),
        tracker("l'Allier est-il dans le SPIE", "ask_territory_status", ALLIER),
    )
    text = texts(dispatcher)
    assert "Allier (03)" in text and "SPIE" in text
    assert slot_events(events) == {"departement": "03"}


# --- the self-test ---------------------------------------------------------------------------


def test_every_question_is_asked_numbered_with_its_buttons_from_the_data_file():
    rules = load_rules()
    for action_class, question in zip(ASK_ACTIONS, rules.questions, strict=True):
        dispatcher, events = run(action_class(), tracker())
        (message,) = dispatcher.messages
        number, text = message["text"].split(". ", 1)
        assert number.isdigit() and text == question.text and "{" not in text
        payloads = [
            json.loads(b["payload"].removeprefix("/answer")) for b in message["buttons"] or []
        ]
        assert [p["choice"] for p in payloads] == [value for _, value in question.buttons]
        assert events == []


def test_reset_clears_the_answers_but_keeps_the_departement():
    answers = {slot: "yes" for slot in load_rules().slots}
    _, events = run(ActionResetEligibility(), tracker(slots=answers))
    cleared = slot_events(events)
    assert "departement" not in cleared
    assert {
        slot: None for slot in load_rules().slots if slot != "departement"
    }.items() <= cleared.items()
    assert cleared["requested_slot"] is None and cleared["eligibility_result"] is None


def eligible_answers() -> dict[str, Any]:
    return {
        "structure_type": "conseil_departemental",
        "group_has_pe": "yes",
        "other_partners": "skip",
        "exp_beneficiaries": "yes",
        "exp_public_knowledge": "yes",
        "exp_spie_principles": "yes",
        "exp_implementation": "yes",
        "departement": "03",
    }


def test_the_verdict_of_an_eligible_project_with_the_contact_and_what_next():
    dispatcher, events = run(ActionEligibilityResult(), tracker(slots=eligible_answers()))
    verdict, contact, next_step = dispatcher.messages
    assert "votre projet correspond aux conditions" in verdict["text"]
    assert "Allier (03)" in contact["text"]
    assert [b["payload"] for b in next_step["buttons"]][0] == "/restart_test"
    assert slot_events(events) == {"eligibility_result": "eligible"}


def test_the_verdict_names_the_missing_partner_and_its_advice():
    answers = eligible_answers() | {"group_has_pe": "no"}
    dispatcher, events = run(ActionEligibilityResult(), tracker(slots=answers))
    condition = next(c for c in load_rules().conditions if c.id == "groupement_pe")
    assert condition.label in dispatcher.messages[0]["text"]
    assert condition.advice in dispatcher.messages[0]["text"]
    assert slot_events(events) == {"eligibility_result": "not_eligible"}


# --- wiring: one file of questions, everything else agrees -----------------------------------


@pytest.fixture(scope="module")
def domain() -> dict[str, Any]:
    return yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))


def test_the_form_asks_the_questions_of_the_data_file_in_order(domain: dict[str, Any]):
    assert domain["forms"][FORM]["required_slots"] == list(load_rules().slots)


def action_names(domain: dict[str, Any]) -> list[str]:
    """The domain's actions: a name, or {name: options} (`send_domain`)."""
    return [a if isinstance(a, str) else next(iter(a)) for a in domain["actions"]]


def test_the_actions_that_read_the_domain_are_sent_it(domain: dict[str, Any]):
    # endpoints.yml: enable_selective_domain. The FAQ answer checks the response exists; the
    # form's validation (rasa_sdk) reads the form's slots from the domain.
    sent = {next(iter(a)) for a in domain["actions"] if isinstance(a, dict)}
    assert {"action_answer_faq", "validate_eligibility_form"} <= sent
    assert all(
        a[name].get("send_domain") for a in domain["actions"] if isinstance(a, dict) for name in a
    )


def test_each_question_has_its_ask_action_in_the_domain_and_in_the_code(domain: dict[str, Any]):
    expected = [f"action_ask_{slot}" for slot in load_rules().slots]
    declared = [a for a in action_names(domain) if a.startswith("action_ask_")]
    coded = [action_class().name() for action_class in ASK_ACTIONS]
    assert declared == expected and coded == expected


def test_each_question_has_a_validator():
    form = ValidateEligibilityForm()
    missing = [s for s in load_rules().slots if not callable(getattr(form, f"validate_{s}", None))]
    assert missing == []


def test_each_answer_slot_is_filled_from_text_only_while_its_question_is_asked(
    domain: dict[str, Any],
):
    mappings = {slot: domain["slots"][slot]["mappings"] for slot in load_rules().slots}
    not_intents = {tuple(m[0]["not_intent"]) for m in mappings.values()}
    assert len(not_intents) == 1, "the same intents interrupt every question"
    for slot, (mapping,) in mappings.items():
        assert mapping["type"] == "from_text"
        assert mapping["conditions"] == [{"active_loop": FORM, "requested_slot": slot}]


def test_the_database_is_read_off_the_event_loop(monkeypatch: pytest.MonkeyPatch):
    """A slow database (here a look-up that takes 0.5 s) must not freeze the action server: other
    conversations' coroutines keep running meanwhile."""
    import actions.places

    def slow_contact_reply(*_: Any, **__: Any) -> PlaceReply:
        time.sleep(0.5)
        return PlaceReply("Allier (03) : …", code="03")

    monkeypatch.setattr(actions.places, "contact_reply", slow_contact_reply)

    async def ticks_during_the_action() -> int:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.create_task(ticker())
        await ActionContact().run(
            CollectingDispatcher(), tracker("Allier", "ask_contact", ALLIER), {}
        )
        task.cancel()
        return ticks

    # Blocking, the ticker could not run at all while the look-up sleeps.
    assert asyncio.run(ticks_during_the_action()) >= 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [("Atlantide", "« Atlantide »"), ("oui", None), ("non merci", None)],
)
def test_an_answer_to_which_departement_is_read_as_a_place_whatever_the_intent(text, expected):
    """After « Pour quel département ? », a word the classifier took for a short answer is an
    attempted place (not found: asked again); « oui », « non merci » keep the neutral prompt."""
    from actions.fallback import ActionWhatElse
    from bot.places.answers import ASK_PLACE

    latest = {"text": text, "intent": {"name": "answer"}, "entities": []}
    events = [{"event": "bot", "text": ASK_PLACE}, {"event": "user", "text": text}]
    track = Tracker("test", {}, latest, events, False, None, {}, "action_listen")
    dispatcher, _ = run(ActionWhatElse(), track)
    (message,) = dispatcher.messages
    if expected:
        assert expected in message["text"] and ASK_PLACE in message["text"]
    else:
        assert message["response"] == "utter_what_else"
