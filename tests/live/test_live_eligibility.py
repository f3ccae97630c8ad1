"""The eligibility self-test driven over the REST channel of a running server."""

from __future__ import annotations

import uuid

import pytest

from tests.servers import Assistant, button_titles, texts

pytestmark = pytest.mark.server

EXPECTATION_ANSWERS = ["Oui", "Oui", "Oui", "Oui"]


class Conversation:
    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant
        self.sender = f"elig-{uuid.uuid4().hex[:12]}"
        self.last = ""
        self.last_replies: list[dict] = []

    def say(self, text: str) -> str:
        self.last_replies = self.assistant.say(self.sender, text)
        self.last = texts(self.last_replies)
        return self.last


def run_test(assistant: Assistant, answers: list[str]) -> Conversation:
    conversation = Conversation(assistant)
    assert "1. Quelle structure porte le projet" in conversation.say("suis-je éligible ?")
    for answer in answers:
        conversation.say(answer)
    return conversation


def test_eligible_path_for_a_conseil_departemental(assistant: Assistant):
    c = run_test(
        assistant,
        [
            "Le conseil départemental",
            "Oui",
            "la CAF et la mission locale",
            *EXPECTATION_ANSWERS,
            "Allier",
        ],
    )
    assert "correspond aux conditions énoncées" in c.last and "ne correspond pas" not in c.last
    assert "appel est clos" in c.last
    assert "Allier" in c.last and "SPIE" in c.last  # already in the SPIE (1st AMI)
    assert "lannuaire.service-public.gouv.fr" in c.last
    assert "Refaire le test" in button_titles(c.last_replies)


def test_other_actor_asks_for_the_agreement_and_the_group(assistant: Assistant):
    c = Conversation(assistant)
    c.say("test d'éligibilité")
    assert "2. Le projet a-t-il l'accord du conseil départemental" in c.say("une association")
    assert "3. Le groupement" in c.say("oui")
    assert "4. Le groupement comprend-il Pôle emploi" in c.say("ouais")


@pytest.mark.parametrize(
    ("answers", "unmet"),
    [
        (
            ["une association", "non", "oui", "oui", "passer", *EXPECTATION_ANSWERS, "63"],
            "Accord du conseil départemental",
        ),
        (
            ["une association", "oui", "non", "oui", "passer", *EXPECTATION_ANSWERS, "63"],
            "Conseil départemental dans le groupement",
        ),
        (
            ["Le conseil départemental", "non", "passer", *EXPECTATION_ANSWERS, "63"],
            "Pôle emploi (France Travail) dans le groupement",
        ),
        (
            ["Une autre structure", "oui", "oui", "oui", "passer", *EXPECTATION_ANSWERS, "63"],
            "Porteur du projet",
        ),
        (
            ["Le conseil départemental", "oui", "passer", "non", "oui", "oui", "oui", "63"],
            "Bénéficiaires au cœur du projet",
        ),
        (
            ["Le conseil départemental", "oui", "passer", "oui", "pas encore", "oui", "oui", "63"],
            "Bonne connaissance du public (pas encore)",
        ),
        (
            ["Le conseil départemental", "oui", "passer", "oui", "oui", "non", "oui", "63"],
            "Inscription dans les principes du SPIE",
        ),
        (
            ["Le conseil départemental", "oui", "passer", "oui", "oui", "oui", "pas du tout", "63"],
            "Modalités de mise en œuvre explicitées",
        ),
    ],
)
def test_each_failing_condition_is_named(assistant: Assistant, answers: list[str], unmet: str):
    c = run_test(assistant, answers)
    assert "ne correspond pas encore aux conditions" in c.last
    assert unmet in c.last


def test_dont_know_gets_an_explanation_and_the_question_again(assistant: Assistant):
    c = Conversation(assistant)
    c.say("je voudrais faire le test d'eligibilite")
    c.say("Le conseil départemental")
    answer = c.say("je ne sais pas")
    assert "obligatoirement faire partie du groupement" in answer
    assert "2. Le groupement comprend-il Pôle emploi" in answer


def test_unclear_answers_offer_help_after_two_tries(assistant: Assistant):
    c = Conversation(assistant)
    c.say("suis je eligible")
    assert "pas compris" in c.say("la boulangerie du coin")
    second = c.say("mon cousin")
    assert "pas compris" in second and "annuler" in second
    assert "1. Quelle structure" in second


def test_faq_in_the_middle_then_the_test_resumes(assistant: Assistant):
    c = Conversation(assistant)
    c.say("suis-je éligible ?")
    c.say("Le conseil départemental")
    answer = c.say("c'est quoi le SPIE ?")
    assert "parcours personnalisé" in answer
    assert "2. Le groupement comprend-il Pôle emploi" in answer
    assert "3. Quels autres partenaires" in c.say("oui")


def test_cancel_ends_the_test(assistant: Assistant):
    c = Conversation(assistant)
    c.say("suis-je éligible ?")
    c.say("Le conseil départemental")
    assert "test d'éligibilité est arrêté" in c.say("annuler")
    assert (
        "Qui peut candidater" in c.say("qui peut candidater ?") or "conseil départemental" in c.last
    )


def test_restart_goes_back_to_the_first_question(assistant: Assistant):
    c = Conversation(assistant)
    c.say("suis-je éligible ?")
    c.say("une association")
    c.say("oui")
    assert "1. Quelle structure porte le projet" in c.say("recommencer")
    # Numbered as this person gets them: a conseil départemental skips the association questions.
    assert "2. Le groupement comprend-il Pôle emploi" in c.say("Le conseil départemental")


def test_known_departement_is_not_asked_again(assistant: Assistant):
    c = Conversation(assistant)
    c.say("qui contacter dans la Drôme ?")
    c.say("suis-je éligible ?")
    for answer in ["Le conseil départemental", "oui", "passer", "oui", "oui", "oui"]:
        c.say(answer)
    final = c.say("oui")
    assert "Dans quel département" not in final
    assert "correspond aux conditions énoncées" in final and "Drôme" in final


def test_ambiguous_departement_answer_is_asked_back(assistant: Assistant):
    c = run_test(assistant, ["Le conseil départemental", "oui", "passer", *EXPECTATION_ANSWERS])
    assert "8. Dans quel département" in c.last
    assert "plusieurs départements" in c.say("Moulins")
    assert "correspond aux conditions énoncées" in c.say("Allier (03)")
