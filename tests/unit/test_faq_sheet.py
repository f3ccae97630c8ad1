"""`bot faq-sheet` on a tiny fixture project and on the real project files."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest
import yaml
from markupsafe import escape

from bot import PROJECT_DIR, cli
from bot.knowledge.facts import fill_facts
from bot.staff.faq_sheet import (
    Entry,
    as_title,
    build_sheet,
    clean_example,
    load_examples,
    load_samples,
    render_html,
    render_markdown,
)

FIXTURE = PROJECT_DIR / "tests" / "fixtures" / "faq_project"
SAMPLES = {
    "action_answer_dates": lambda: ("question posée le 1er mars 2021", "Date limite : 15 avril."),
}


def by_intent(entries: list[Entry]) -> dict[str, Entry]:
    return {entry.intent: entry for entry in entries}


def texts(entry: Entry) -> list[str]:
    return [answer.text for answer in entry.answers]


@pytest.fixture(scope="module")
def fixture_entries() -> dict[str, Entry]:
    return by_intent(build_sheet(FIXTURE, SAMPLES))


# --- fixture project ----------------------------------------------------------------------


def test_fixture_lists_every_intent_with_retrieval_keys(fixture_entries: dict[str, Entry]) -> None:
    assert list(fixture_entries) == [
        "greet",
        "faq/who_can_apply",
        "faq/budget",
        "ask_dates",
        "ask_contact",
        "start_eligibility",
        "chitchat_unknown",
        "orphan",
        "stop",
        "restart",
    ]


def test_fixture_retrieval_answers(fixture_entries: dict[str, Entry]) -> None:
    who = fixture_entries["faq/who_can_apply"]
    assert who.title == "Qui peut candidater ?"  # from metadata.title
    assert who.examples == ("qui peut candidater", "est-ce que mon département peut répondre")
    assert texts(who) == ["Les conseils départementaux & leurs partenaires <consortium>."]
    assert who.answers[0].source == "https://example.org/ami-spie-2021"
    budget = fixture_entries["faq/budget"]
    assert budget.title == "Quel est le budget ?"  # from the first example
    assert texts(budget) == ["Le budget est précisé dans le cahier des charges.\nDeuxième ligne."]
    assert budget.answers[0].source is None


def test_fixture_responses_actions_and_forms(fixture_entries: dict[str, Entry]) -> None:
    greet = fixture_entries["greet"]
    assert greet.answered_by == ("utter_greet",)
    assert greet.answers[0].buttons == ("Qui peut candidater ?", "Quelles dates ?")
    dates = fixture_entries["ask_dates"]
    assert texts(dates) == ["Date limite : 15 avril."]
    assert "question posée le 1er mars 2021" in (dates.answers[0].note or "")
    assert texts(fixture_entries["ask_contact"]) == ["réponse calculée par l'action action_contact"]
    assert fixture_entries["ask_contact"].examples == ("qui contacter dans l'Allier",)
    form = fixture_entries["start_eligibility"]
    assert texts(form) == [
        "Quel est le porteur du projet ?",
        "réponse calculée par l'action action_eligibility_result",
    ]
    assert "à la fin du formulaire eligibility_form" in (form.answers[1].note or "")
    assert texts(fixture_entries["orphan"]) == [
        "aucune réponse associée dans les règles ni les histoires"
    ]
    assert texts(fixture_entries["restart"]) == ["La conversation est remise à zéro."]


def test_fixture_answers_depend_on_the_running_form(fixture_entries: dict[str, Entry]) -> None:
    stop = fixture_entries["stop"]
    assert stop.answered_by == (
        "utter_nothing_to_stop",
        "action_deactivate_loop",
        "utter_cancelled",
    )
    notes = [answer.note or "" for answer in stop.answers]
    assert notes[0] == "si aucun formulaire n'est en cours"
    assert notes[1].startswith("pendant le formulaire eligibility_form")
    assert notes[2] == "pendant le formulaire eligibility_form"
    # The same action before and during the form: no restriction shown; the form resume is not
    # an answer.
    assert fixture_entries["ask_dates"].answered_by == ("action_answer_dates",)


def test_broken_sample_is_reported() -> None:
    def broken() -> tuple[str, str]:
        raise RuntimeError("store absent")

    dates = by_intent(build_sheet(FIXTURE, {"action_answer_dates": broken}))["ask_dates"]
    assert texts(dates) == ["réponse calculée par l'action action_answer_dates"]
    assert "store absent" in (dates.answers[0].note or "")


def test_html_is_escaped_accessible_with_toc(fixture_entries: dict[str, Entry]) -> None:
    page = render_html(list(fixture_entries.values()))
    assert page.startswith("<!DOCTYPE html>") and '<html lang="fr">' in page
    assert page.count("<h1>") == 1 and page.count("<h2 ") == len(fixture_entries) + 1
    assert "&lt;consortium&gt;" in page and "&amp; leurs" in page and "<consortium>" not in page
    assert '<a href="#q-faq-who_can_apply">Qui peut candidater ?</a>' in page
    assert '<section id="q-faq-who_can_apply"' in page
    assert "<li>est-ce que mon département peut répondre</li>" in page
    assert "<li>Quelles dates ?</li>" in page  # button title
    assert '<a href="https://example.org/ami-spie-2021">' in page
    assert "Source : <em>non renseignée</em>" in page
    assert "<script" not in page and "<link" not in page


def test_markdown_has_the_same_content(fixture_entries: dict[str, Entry]) -> None:
    text = render_markdown(list(fixture_entries.values()))
    assert "## Qui peut candidater ?" in text
    assert "1. [Salutation](#q-greet) `greet`" in text
    assert "~~~text\nLes conseils départementaux & leurs partenaires <consortium>.\n~~~" in text
    assert "Le budget est précisé dans le cahier des charges.\nDeuxième ligne." in text
    assert "- est-ce que mon département peut répondre" in text
    assert "Source : <https://example.org/ami-spie-2021>" in text
    assert "Source : *non renseignée*" in text


def test_cli_writes_both_files(tmp_path: Path) -> None:
    code = cli.main(["faq-sheet", "--out-dir", str(tmp_path), "--project-dir", str(FIXTURE)])
    assert code == 0
    assert "Qui peut candidater ?" in (tmp_path / "faq.html").read_text(encoding="utf-8")
    assert "## Qui peut candidater ?" in (tmp_path / "faq.md").read_text(encoding="utf-8")


def test_helpers() -> None:
    assert (
        clean_example("qui contacter dans l'[Allier](place) ?") == "qui contacter dans l'Allier ?"
    )
    assert clean_example('dans le [03]{"entity": "place"}') == "dans le 03"
    assert as_title("suis-je éligible") == "Suis-je éligible ?"
    assert as_title("bonjour") == "Bonjour"


def nlu_examples_by_rasa(nlu_dir: Path) -> dict[str, list[str]]:
    """The same examples as Rasa reads them (retrieval intents by full key)."""
    from rasa.shared.nlu.training_data.loading import load_data

    examples: dict[str, list[str]] = defaultdict(list)
    for message in load_data(str(nlu_dir)).intent_examples:
        key = message.get("intent_response_key") or message.get("intent")
        examples[key].append(message.get("text"))
    return dict(examples)


def test_examples_match_rasa_reading_fixture() -> None:
    assert load_examples(FIXTURE / "data" / "nlu") == nlu_examples_by_rasa(FIXTURE / "data" / "nlu")


# --- real project -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_entries() -> dict[str, Entry]:
    return by_intent(build_sheet(PROJECT_DIR))


def faq_responses() -> dict[str, list[dict[str, object]]]:
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    responses = domain.get("responses") or {}
    return {key[len("utter_") :]: value for key, value in responses.items() if "/" in key}


def test_real_project_every_retrieval_key(real_entries: dict[str, Entry]) -> None:
    faq = faq_responses()
    assert faq, "domain.yml has no utter_<intent>/<key> response"
    page = render_html(list(real_entries.values()))
    markdown = render_markdown(list(real_entries.values()))
    for key, variations in faq.items():
        entry = real_entries[key]
        assert entry.examples, f"{key}: no training example"
        for variation in variations:
            text = fill_facts(str(variation["text"]))  # as the assistant says it
            assert text in texts(entry), key
            assert escape(text) in page and text in markdown, key  # escaped as Jinja2 does


def test_real_project_examples_match_rasa() -> None:
    """Same examples per intent as Rasa reads them (an intent may span files: order aside)."""
    nlu_dir = PROJECT_DIR / "data" / "nlu"
    ours, rasa = load_examples(nlu_dir), nlu_examples_by_rasa(nlu_dir)
    assert {k: sorted(v) for k, v in ours.items()} == {k: sorted(v) for k, v in rasa.items()}


def test_real_project_answers_exist(real_entries: dict[str, Entry]) -> None:
    missing = [e.intent for e in real_entries.values() if any("absente" in t for t in texts(e))]
    assert missing == []
    samples = load_samples()  # bot.staff.sample_answers.SAMPLES once the lead adds it
    for entry in real_entries.values():
        for action in set(entry.answered_by) & set(samples):
            assert f"réponse calculée par l'action {action}" not in texts(entry), entry.intent
