"""Custom actions driven in-process with rasa-sdk's Tracker and CollectingDispatcher (no server)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.eligibility import ValidateEligibilityForm
from actions.topics import ActionAnswerFaq, ActionAnswerPlace, ActionNotInSources

pytest_plugins = ["tests.conftest_db"]


@pytest.fixture(autouse=True)
def built_store(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The place and contact actions read a store built from the data files."""
    monkeypatch.setenv("DATABASE_URL", sqlite_url)


DOMAIN: dict[str, Any] = {
    "responses": {"utter_faq/partners": [{"text": "…"}], "utter_help": [{"text": "…"}]}
}


def tracker(
    text: str = "",
    intent: str = "faq",
    entities: list[dict[str, Any]] | None = None,
    events: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    **parse_data: Any,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent}, "entities": entities or [], **parse_data}
    return Tracker("test", slots or {}, latest, events or [], False, None, {}, "action_listen")


def run(action, track: Tracker) -> tuple[CollectingDispatcher, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, track, DOMAIN))
    return dispatcher, events


def test_a_clicked_topic_gets_its_answer_and_the_closed_call_line():
    track = tracker("/faq", entities=[{"entity": "topic", "value": "faq/partners"}])
    dispatcher, _ = run(ActionAnswerFaq(), track)
    assert dispatcher.messages[0]["response"] == "utter_faq/partners"
    # Rasa fills the response's {fact} placeholders with these values (bot/data/call.yml).
    assert dispatcher.messages[0]["france_travail_since"] == "1er janvier 2024"
    assert "est clos" in dispatcher.messages[1]["text"]


def test_the_greeting_says_where_the_call_stands(monkeypatch: pytest.MonkeyPatch):
    from actions.topics import ActionGreet

    monkeypatch.setenv("SPIE_TODAY", "2026-12-02")
    dispatcher, _ = run(ActionGreet(), tracker("bonjour", "greet"))
    assert dispatcher.messages[0]["response"] == "utter_greet"
    assert "Cet appel est clos" in dispatcher.messages[0]["call_status"]
    monkeypatch.setenv("SPIE_TODAY", "2021-09-01")
    dispatcher, _ = run(ActionGreet(), tracker("bonjour", "greet"))
    assert "L'appel est ouvert" in dispatcher.messages[0]["call_status"]


@pytest.mark.parametrize("selector_name", ["faq", "default"])
def test_a_typed_question_gets_the_response_selectors_answer(selector_name: str):
    # "default": a ResponseSelector without `retrieval_intent` (Rasa's default configuration)
    selector = {selector_name: {"response": {"intent_response_key": "faq/partners"}}}
    dispatcher, _ = run(ActionAnswerFaq(), tracker("les partenaires ?", response_selector=selector))
    assert dispatcher.messages[0]["response"] == "utter_faq/partners"


def test_a_forged_topic_gets_the_menu():
    track = tracker("/faq", entities=[{"entity": "topic", "value": "faq/nothing"}])
    dispatcher, _ = run(ActionAnswerFaq(), track)
    assert [m["response"] for m in dispatcher.messages] == ["utter_help"]


def test_not_in_sources_names_the_subject_and_offers_the_contact():
    track = tracker("budget ?", "not_in_sources", [{"entity": "subject", "value": "money"}])
    dispatcher, _ = run(ActionNotInSources(), track)
    message = dispatcher.messages[0]
    assert "ne précise pas le financement" in message["text"]
    assert any(b["payload"] == "/ask_contact" for b in message["buttons"])


@pytest.mark.parametrize(
    ("last_action", "expected"),
    [
        ("action_territory_status", "dans le SPIE"),
        ("action_contact", "vos interlocuteurs"),
        (None, "vos interlocuteurs"),
    ],
)
def test_a_place_alone_answers_the_last_place_question(last_action, expected):
    events = [{"event": "action", "name": last_action}] if last_action else []
    track = tracker(
        "et l'Allier ?", "inform_place", [{"entity": "place", "value": "Allier"}], events
    )
    dispatcher, events = run(ActionAnswerPlace(), track)
    assert (
        expected in dispatcher.messages[0]["text"]
        and "Allier (03)" in dispatcher.messages[0]["text"]
    )
    assert {"event": "slot", "timestamp": None, "name": "departement", "value": "03"} in events


def validate(slot: str, text: str, entities: list[dict[str, Any]] | None = None):
    form = ValidateEligibilityForm()
    dispatcher = CollectingDispatcher()
    method = getattr(form, f"validate_{slot}")
    result = method(text, dispatcher, tracker(text, "answer", entities), {})
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return result, dispatcher


@pytest.mark.parametrize("text", ["oui lance le questionnaire", "ok pour le test, on y va"])
def test_asking_for_the_test_while_it_runs_is_no_failed_answer(text: str):
    result, dispatcher = validate("structure_type", text)
    assert result == {"structure_type": None}  # no failure counted
    assert [m.get("response") for m in dispatcher.messages] == ["utter_eligibility_start"]


def test_a_clicked_structure_is_taken_and_echoed():
    result, dispatcher = validate(
        "structure_type",
        '/answer{"choice": "acteur_insertion_emploi"}',
        [{"entity": "choice", "value": "acteur_insertion_emploi"}],
    )
    assert result["structure_type"] == "acteur_insertion_emploi"
    assert "Vous êtes : un autre acteur" in dispatcher.messages[0]["text"]


@pytest.mark.parametrize(
    "answer", ["une association du département", "un CCAS du département", "la CAF du département"]
)
def test_a_structure_of_the_departement_is_not_the_conseil_departemental(answer: str):
    result, _ = validate("structure_type", answer)
    assert result["structure_type"] == "acteur_insertion_emploi"


@pytest.mark.parametrize(
    "answer",
    ["le conseil départemental", "Collectivité européenne d'Alsace", "la Métropole de Lyon"],
)
def test_a_conseil_departemental_or_a_collectivity_with_its_powers(answer: str):
    result, _ = validate("structure_type", answer)
    assert result["structure_type"] == "conseil_departemental"


@pytest.mark.parametrize(
    ("structure", "slot", "number"),
    [
        (None, "structure_type", 1),
        ("acteur_insertion_emploi", "cd_agreement", 2),
        ("acteur_insertion_emploi", "group_has_pe", 4),
        ("acteur_insertion_emploi", "departement", 10),
        ("conseil_departemental", "group_has_pe", 2),  # no agreement or group questions
        ("conseil_departemental", "departement", 8),
    ],
)
def test_questions_are_numbered_as_the_person_gets_them(structure, slot, number):
    from actions.eligibility import ASK_ACTIONS

    ask = next(action() for action in ASK_ACTIONS if action().name() == f"action_ask_{slot}")
    dispatcher, _ = run(ask, tracker(slots={"structure_type": structure}))
    assert dispatcher.messages[0]["text"].startswith(f"{number}. ")


def test_a_clicked_yes_no_answer_and_a_forged_one():
    result, _ = validate("group_has_pe", "/answer", [{"entity": "choice", "value": "not_yet"}])
    assert result["group_has_pe"] == "not_yet"
    result, dispatcher = validate("group_has_pe", "/answer", [{"entity": "choice", "value": "x"}])
    assert result["group_has_pe"] is None and "pas compris" in dispatcher.messages[0]["text"]


def test_the_skip_button_of_the_partners_question():
    result, _ = validate("other_partners", "/answer", [{"entity": "choice", "value": "skip"}])
    assert result["other_partners"] == []


def test_a_departement_button_of_the_self_test():
    result, _ = validate("departement", "/inform_place", [{"entity": "place", "value": "03"}])
    assert result["departement"] == "03"


def test_a_short_follow_up_gets_the_answer_its_words_point_to():
    from actions.fallback import ActionSuggestTopics, ActionWhatElse

    dispatcher, _ = run(ActionWhatElse(), tracker("et pôle emploi dans tout ça ?", "answer"))
    assert dispatcher.messages[0]["response"] == "utter_faq/pole_emploi"
    dispatcher, _ = run(ActionWhatElse(), tracker("ok", "answer"))
    assert dispatcher.messages[0]["response"] == "utter_what_else"
    dispatcher, _ = run(ActionSuggestTopics(), tracker("xkcd blorp", "nlu_fallback"))
    assert "pas bien compris" in dispatcher.messages[0]["text"]


def user_event(text: str, intent: str, **parse_data: Any) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text,
        "parse_data": {"text": text, "intent": {"name": intent}, "entities": [], **parse_data},
    }


def test_a_follow_up_gets_the_answer_of_the_question_it_follows():
    from actions.fallback import ActionWhatElse

    selector = {"faq": {"response": {"intent_response_key": "faq/partners"}}}
    events = [
        user_event("qui doit faire partie du groupement ?", "faq", response_selector=selector),
        user_event("et les CCAS aussi ?", "answer"),
    ]
    dispatcher, _ = run(ActionWhatElse(), tracker("et les CCAS aussi ?", "answer", events=events))
    assert dispatcher.messages[0]["response"] == "utter_faq/partners"
    # Not a follow-up: the neutral prompt, not the partners again.
    events[-1] = user_event("d'accord", "answer")
    dispatcher, _ = run(ActionWhatElse(), tracker("d'accord", "answer", events=events))
    assert dispatcher.messages[0]["response"] == "utter_what_else"


def test_a_follow_up_of_the_dates_gets_the_dates_again():
    from actions.fallback import ActionSuggestTopics

    events = [
        user_event("date limite ?", "ask_dates"),
        user_event("et le deuxième ?", "nlu_fallback"),
    ]
    dispatcher, _ = run(
        ActionSuggestTopics(), tracker("et le deuxième ?", "nlu_fallback", events=events)
    )
    assert "Date limite de dépôt" in dispatcher.messages[0]["text"]


def test_code_is_not_answered_by_its_words():
    from actions.fallback import ActionSuggestTopics

    text = "SELECT * FROM candidatures;"
    dispatcher, _ = run(ActionSuggestTopics(), tracker(text, "nlu_fallback"))
    assert "pas bien compris" in dispatcher.messages[0]["text"]


def test_a_no_that_takes_leave_gets_goodbye():
    from actions.fallback import ActionWhatElse

    dispatcher, _ = run(ActionWhatElse(), tracker("non c'est tout, bonne journée", "answer"))
    assert dispatcher.messages[0]["response"] == "utter_goodbye"


def test_leave_taking_is_read_in_the_message_as_written():
    """The NLU read only « Non, rien d'autre. »; the goodbye is in the rest of the message."""
    from actions.fallback import ActionWhatElse

    track = tracker("Non, rien d'autre.", "answer", original_text="Non, rien d'autre. Au revoir.")
    dispatcher, _ = run(ActionWhatElse(), track)
    assert dispatcher.messages[0]["response"] == "utter_goodbye"


def faq_event(text: str, key: str) -> dict[str, Any]:
    selector = {"faq": {"response": {"intent_response_key": key, "confidence": 0.9}}}
    return user_event(text, "faq", response_selector=selector)


def guessed(text: str, intent: str, confidence: float, events: list[dict[str, Any]]) -> Tracker:
    """The latest message `text`, classified as `intent` with `confidence`, after `events`."""
    track = tracker(text, intent, events=[*events, user_event(text, intent)])
    track.latest_message["intent"]["confidence"] = confidence
    return track


def test_a_follow_up_only_guessed_as_the_dates_gets_the_previous_answer():
    from actions.dates import ActionAnswerDates

    before = [faq_event("combien de départements retenus ?", "faq/territory_count")]
    track = guessed("et les partenaires de la deuxième vague ?", "ask_dates", 0.5, before)
    dispatcher, _ = run(ActionAnswerDates(), track)
    assert dispatcher.messages[0]["response"] == "utter_faq/territory_count"
    # Sure, but the follow-up names no subject at all: the previous one still.
    track = guessed("et pour la deuxième vague ?", "ask_dates", 0.9, before)
    dispatcher, _ = run(ActionAnswerDates(), track)
    assert dispatcher.messages[0]["response"] == "utter_faq/territory_count"
    # A date word, a sure guess naming another subject, no question before: the dates.
    for text, confidence, events in [
        ("et la date de clôture ?", 0.5, before),
        ("et les partenaires de la deuxième vague ?", 0.9, before),
        ("et pour la deuxième vague ?", 0.5, []),
    ]:
        dispatcher, _ = run(ActionAnswerDates(), guessed(text, "ask_dates", confidence, events))
        assert "Date limite de dépôt" in dispatcher.messages[0]["text"], text


def test_a_follow_up_the_response_selector_only_guessed_gets_the_previous_answer():
    events = [faq_event("le SPIE, ça sert à quoi ?", "faq/what_is_spie")]
    text = "et ça concerne quelles personnes au juste ?"
    unsure = {"faq": {"response": {"intent_response_key": "faq/partners", "confidence": 0.3}}}
    events.append(user_event(text, "faq", response_selector=unsure))
    track = tracker(text, events=events, response_selector=unsure)
    dispatcher, _ = run(ActionAnswerFaq(), track)
    assert dispatcher.messages[0]["response"] == "utter_faq/what_is_spie"
    # A follow-up that names the previous subject, however sure the selector was of another.
    sure = {"faq": {"response": {"intent_response_key": "faq/more_info", "confidence": 0.95}}}
    text = "et si on est une association ?"
    before = [faq_event("qui a le droit de candidater ?", "faq/who_can_apply")]
    events = [*before, user_event(text, "faq", response_selector=sure)]
    dispatcher, _ = run(ActionAnswerFaq(), tracker(text, events=events, response_selector=sure))
    assert dispatcher.messages[0]["response"] == "utter_faq/who_can_apply"
    # A follow-up that names its subject gets that subject's answer.
    text = "et les partenaires du groupement ?"
    events = [
        faq_event("le SPIE, ça sert à quoi ?", "faq/what_is_spie"),
        user_event(text, "faq", response_selector=unsure),
    ]
    dispatcher, _ = run(ActionAnswerFaq(), tracker(text, events=events, response_selector=unsure))
    assert dispatcher.messages[0]["response"] == "utter_faq/partners"


def test_help_or_a_follow_up_taken_for_it():
    from actions.fallback import ActionHelp

    dispatcher, _ = run(ActionHelp(), tracker("et qui a le droit de porter le projet ?", "help"))
    assert dispatcher.messages[0]["response"] == "utter_faq/who_can_apply"
    for text in ["vous pouvez m'aider ?", "et sinon tu sais faire quoi ?"]:
        dispatcher, _ = run(ActionHelp(), tracker(text, "help"))
        assert [m["response"] for m in dispatcher.messages] == ["utter_help"], text


def test_asked_to_repeat_gets_the_previous_answer_again():
    before = [faq_event("les partenaires obligatoires ?", "faq/partners")]
    text = "vous pouvez répéter le premier ?"
    events = [*before, user_event(text, "faq")]
    selector = {"faq": {"response": {"intent_response_key": "faq/more_info", "confidence": 0.9}}}
    dispatcher, _ = run(ActionAnswerFaq(), tracker(text, events=events, response_selector=selector))
    assert dispatcher.messages[0]["response"] == "utter_faq/partners"


def test_a_chain_of_follow_ups_leans_on_the_answer_they_all_follow():
    """« et qui d'autre ? » was answered with the partners (the answer before it): the next
    follow-up is still about the partners, not about that unplaced message."""
    from actions.fallback import ActionWhatElse

    selector = {"faq": {"response": {"intent_response_key": "faq/partners"}}}
    events = [
        user_event("le groupement, c'est qui au minimum ?", "faq", response_selector=selector),
        user_event("et qui d'autre encore ?", "nlu_fallback"),
        user_event("les centres sociaux aussi ?", "answer"),
    ]
    track = tracker("les centres sociaux aussi ?", "answer", events=events)
    dispatcher, _ = run(ActionWhatElse(), track)
    assert dispatcher.messages[0]["response"] == "utter_faq/partners"


def test_stop_with_no_test_running_answers_the_question_it_carries():
    from actions.fallback import ActionNothingToStop

    text = "pas de test pour moi merci, je veux juste savoir qui peut candidater"
    dispatcher, _ = run(ActionNothingToStop(), tracker(text, "stop"))
    assert dispatcher.messages[0]["response"] == "utter_faq/who_can_apply"
    dispatcher, _ = run(ActionNothingToStop(), tracker("annule", "stop"))
    assert dispatcher.messages[0]["response"] == "utter_nothing_to_stop"


def test_a_reply_asking_whether_the_bot_is_a_person_gets_the_bots_answer():
    from actions.fallback import ActionWhatElse

    track = tracker("t'es une vraie personne, hein ?", "answer")
    dispatcher, _ = run(ActionWhatElse(), track)
    assert dispatcher.messages[0]["response"] == "utter_iamabot"
