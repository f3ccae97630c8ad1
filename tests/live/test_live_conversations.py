"""End-to-end conversations over the REST channel of a running server (model + action server)."""

from __future__ import annotations

import uuid

import pytest

from tests.servers import Assistant, button_titles, texts

pytestmark = pytest.mark.server


def new_sender() -> str:
    return f"test-{uuid.uuid4().hex[:12]}"


# --- Issue 2: the questions about the call ---------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Qui peut candidater ?", "conseil départemental"),
        ("une association peut elle porter le projet ?", "avec l'accord du conseil départemental"),
        ("quels sont les partenaires obligatoires ?", "Pôle emploi (France Travail"),
        ("qu'est ce que le projet doit montrer", "bénéficiaires au cœur du projet"),
        ("c'est quand la date limite ?", "11 octobre 2021 inclus"),
        ("combien de territoires seront retenus", "35"),
        ("c'est quoi le SPIE", "parcours personnalisé"),
        ("comment deposer mon dossier ?", "DDETS"),
        ("pole emploi c'est devenu quoi ?", "France Travail"),
    ],
)
def test_real_questions_get_the_right_answer(assistant: Assistant, question: str, expected: str):
    replies = assistant.say(new_sender(), question)
    assert expected in texts(replies)


def test_deadline_answer_says_the_call_is_closed(assistant: Assistant):
    answer = texts(assistant.say(new_sender(), "jusqu'à quand peut-on déposer un projet ?"))
    assert "clos" in answer and "11 octobre 2021" in answer


def test_greeting_offers_a_menu(assistant: Assistant):
    replies = assistant.say(new_sender(), "bonjour")
    assert "Bonjour" in texts(replies)
    assert "Qui peut candidater ?" in button_titles(replies)


def test_other_language_gets_a_french_answer(assistant: Assistant):
    answer = texts(assistant.say(new_sender(), "Hello, who can apply to this call for projects?"))
    assert "français" in answer


def test_unclear_message_offers_topics_as_buttons(assistant: Assistant):
    replies = assistant.say(new_sender(), "xkcd blorp zzzz")
    assert "pas bien compris" in texts(replies)
    assert 2 <= len(button_titles(replies)) <= 3


# --- Issue 3: whom to contact ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("qui contacter dans l'Allier ?", "Allier"),
        ("code postal 63000", "Puy-de-Dôme"),
        ("qui contacter dans le 2A ?", "Corse-du-Sud"),
        ("contact DDETS de la Drôme", "Drôme"),
        ("qui contacter à Mamoudzou ?", "Mayotte"),
    ],
)
def test_contact_card_for_a_place(assistant: Assistant, message: str, expected: str):
    answer = texts(assistant.say(new_sender(), message))
    assert expected in answer
    assert "lannuaire.service-public.gouv.fr" in answer


def test_contact_without_a_place_asks_then_understands(assistant: Assistant):
    sender = new_sender()
    assert "Pour quel département" in texts(assistant.say(sender, "qui dois-je contacter ?"))
    answer = texts(assistant.say(sender, "Clermont-Ferrand"))
    assert "Puy-de-Dôme" in answer


def test_ambiguous_postal_code_is_asked_back(assistant: Assistant):
    replies = assistant.say(new_sender(), "qui contacter pour le code postal 01200 ?")
    titles = " ".join(button_titles(replies))
    assert "plusieurs départements" in texts(replies)
    assert "(01)" in titles and "(74)" in titles


def test_homonym_commune_is_asked_back_then_resolved(assistant: Assistant):
    sender = new_sender()
    replies = assistant.say(sender, "qui contacter à Saint-Denis ?")
    assert "plusieurs départements" in texts(replies)
    payload = next(
        b["payload"] for r in replies for b in r.get("buttons", []) if "(974)" in b["title"]
    )
    assert "La Réunion" in texts(assistant.say(sender, payload))


def test_region_offers_its_departements(assistant: Assistant):
    replies = assistant.say(new_sender(), "contact DREETS Bretagne")
    assert "bretagne.dreets.gouv.fr" in texts(replies) or "Bretagne" in texts(replies)
    assert any("(35)" in title for title in button_titles(replies))


def test_unknown_place_gets_a_second_chance(assistant: Assistant):
    sender = new_sender()
    assert "Pour quel département" in texts(assistant.say(sender, "qui contacter ?"))
    assert "Pour quel département" in texts(assistant.say(sender, "Atlantide"))
    assert "Allier" in texts(assistant.say(sender, "03"))


def test_a_departement_that_does_not_exist_is_said_so(assistant: Assistant):
    """The département already known does not answer for one that does not exist."""
    sender = new_sender()
    assert "Cantal" in texts(assistant.say(sender, "qui contacter dans le Cantal ?"))
    answer = texts(assistant.say(sender, "et dans le 97 ?"))
    assert "« 97 » n'est pas un numéro de département" in answer and "Cantal" not in answer
    answer = texts(
        assistant.say(new_sender(), "qui contacter pour le département de la Syldavie ?")
    )
    assert "Je ne connais pas de département « Syldavie »" in answer


def test_whom_to_contact_is_asked_for_the_place_of_the_introduction(assistant: Assistant):
    answer = texts(
        assistant.say(new_sender(), "Mairie d'Ygrande. Vers qui se tourner pour l'AMI ?")
    )
    assert "Allier (03)" in answer and "lannuaire.service-public.gouv.fr" in answer


def test_known_departement_is_not_asked_again(assistant: Assistant):
    sender = new_sender()
    assistant.say(sender, "qui contacter dans le Cantal ?")
    assert "Cantal" in texts(assistant.say(sender, "qui contacter ?"))


def test_territory_already_in_the_spie(assistant: Assistant):
    answer = texts(assistant.say(new_sender(), "l'Allier est-il déjà retenu ?"))
    assert "Allier" in answer and "2021" in answer
