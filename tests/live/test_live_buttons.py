"""Every quick reply, clicked on the live assistant: it sends a payload (never text for the NLU)
and the conversation goes on as intended."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest

from bot.eligibility import rules as eligibility
from bot.knowledge.topics import load_topics
from tests.servers import Assistant, texts

pytestmark = pytest.mark.server
CARD = re.compile(r"\(((?:\d{2,3})|2[AB])\) — vos interlocuteurs")


def new_sender() -> str:
    return f"click-{uuid.uuid4().hex[:12]}"


def buttons_of(replies: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [button for reply in replies for button in reply.get("buttons", [])]


def question_text(slot: str) -> str:
    """The question without its number (numbers depend on the path)."""
    return eligibility.load_rules().question(slot).text


def click(assistant: Assistant, sender: str, replies: list[dict[str, Any]], title: str):
    button = next(b for b in buttons_of(replies) if b["title"] == title)
    assert button["payload"].startswith("/"), f"{title!r} sends text to the NLU: {button}"
    return assistant.say(sender, button["payload"])


def test_every_button_of_the_assistant_is_a_payload(assistant: Assistant):
    """Greeting, help and topic menus: each button is an intent payload that gets an answer."""
    for opener in ("/greet", "/help", "xkcd blorp zzzz", "/nlu_fallback"):
        replies = assistant.say(new_sender(), opener)
        for button in buttons_of(replies):
            assert button["payload"].startswith("/"), button
            answer = texts(assistant.say(new_sender(), button["payload"]))
            assert "pas bien compris" not in answer and answer.strip(), (button, answer)


@pytest.mark.parametrize("key", sorted(load_topics()))
def test_each_menu_topic_answers_its_subject(assistant: Assistant, key: str):
    topic = load_topics()[key]
    answer = texts(assistant.say(new_sender(), topic.payload))
    assert (
        answer.strip()
        and "pas bien compris" not in answer
        and "Je réponds aux questions" not in answer
        or key == "help"
    )


def _answer_path(structure: str) -> list[str]:
    """The slots asked, in order, after question 1 for this structure."""
    answers = {"structure_type": structure}
    return [s for s in eligibility.required_slots(answers) if s != "structure_type"]


@pytest.mark.parametrize("title,value", eligibility.load_rules().question("structure_type").buttons)
def test_each_structure_button_goes_on_to_the_right_question(assistant: Assistant, title, value):
    sender = new_sender()
    replies = assistant.say(sender, "/check_eligibility")
    replies = click(assistant, sender, replies, title)
    answer = texts(replies)
    assert "Vous êtes :" in answer
    assert question_text(_answer_path(value)[0]) in answer


def test_every_self_test_button_is_understood(assistant: Assistant):
    """Each button of each question, clicked, is accepted (next question) or explained (« je ne
    sais pas »: the question again); never « pas compris », never an FAQ answer."""
    rules = eligibility.load_rules()
    path = _answer_path("acteur_insertion_emploi")
    for index, slot in enumerate(path):
        question = rules.question(slot)
        for title, value in question.buttons:
            sender = new_sender()
            replies = assistant.say(sender, "/check_eligibility")
            replies = click(
                assistant, sender, replies, "Un autre acteur de l'insertion ou de l'emploi"
            )
            for earlier in path[:index]:  # reach the question with "Oui" / the first partner
                first = rules.question(earlier).buttons[0][0]
                replies = click(assistant, sender, replies, first)
            replies = click(assistant, sender, replies, title)
            answer = texts(replies)
            assert "pas compris" not in answer, (slot, title, answer)
            if value == "dont_know":
                assert question.explain in answer and question_text(slot) in answer
            elif index + 1 < len(path):
                assert question_text(path[index + 1]) in answer, (slot, title, answer)
            else:
                assert "Résultat" in answer, answer


@pytest.mark.parametrize(
    "message", ["je suis à Moulins", "je suis en Bretagne", "on est à Saint-Martin"]
)
def test_each_place_choice_gives_that_departements_card(assistant: Assistant, message: str):
    replies = assistant.say(new_sender(), message)
    choices = buttons_of(replies)
    assert choices, texts(replies)
    for button in choices:
        code = re.search(r'"place": "(\w+)"', button["payload"]).group(1)
        answer = texts(assistant.say(new_sender(), button["payload"]))
        assert CARD.findall(answer) == [code], (button, answer)


def test_self_test_departement_choices_are_payloads(assistant: Assistant):
    sender = new_sender()
    replies = assistant.say(sender, "/check_eligibility")
    replies = click(assistant, sender, replies, "Le conseil départemental")
    for slot in _answer_path("conseil_departemental")[:-1]:
        replies = click(
            assistant, sender, replies, eligibility.load_rules().question(slot).buttons[0][0]
        )
    assert question_text("departement") in texts(replies)
    replies = assistant.say(sender, "Moulins")
    choices = buttons_of(replies)
    assert choices and all(b["payload"].startswith("/inform_place") for b in choices), choices
    allier = next(b for b in choices if "(03)" in b["title"])
    result = texts(assistant.say(sender, allier["payload"]))
    assert "Résultat" in result and "Allier (03)" in result
