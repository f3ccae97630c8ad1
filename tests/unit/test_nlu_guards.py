"""The project's NLU components overrule the classifiers only where the message's words say so:
SubjectGuard (rasa_ext/subject_guard.py) and PlaceExtractor (rasa_ext/places.py), given what the
classifiers chose, without a trained model."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from rasa_ext.message_focus import MessageFocus
from rasa_ext.places import PlaceExtractor
from rasa_ext.subject_guard import SubjectGuard


def classified(text: str, intent: str) -> Message:
    """A message as the classifiers leave it: read by MessageFocus (the question part, texting
    spellings as words), then given `intent`."""
    message = Message(data={TEXT: text})
    MessageFocus().process([message])
    message.set(INTENT, {INTENT_NAME_KEY: intent, "confidence": 0.6})
    return message


def guarded(text: str, intent: str) -> Message:
    message = classified(text, intent)
    SubjectGuard(SubjectGuard.get_default_config()).process([message])
    return message


def intent_of(message: Message) -> str:
    return message.get(INTENT)[INTENT_NAME_KEY]


def entity(message: Message, name: str) -> str | None:
    return next((e["value"] for e in message.get(ENTITIES, []) if e["entity"] == name), None)


@pytest.mark.parametrize(
    ("text", "chosen", "subject"),
    [
        # Taken for a contact question (a town was named), but about a template: honest answer.
        (
            "Je travaille au CCAS de Nantes. Faut-il une trame pour la candidature ?",
            "ask_contact",
            "templates",
        ),
        # Texting about money read as another language: in the domain, so answered honestly.
        ("cb de tune par projet svp", "other_language", "money"),
        # « finançable » puts a message about salaries in the AMI's domain.
        ("le poste du coordinateur est il finançable", "out_of_scope", "money"),
        # Money and the people accompanied are the AMI's matter, not out of scope.
        ("les fonds arrivent à quel moment ?", "out_of_scope", "money"),
        ("faut-il un logo sur nos affiches ?", "faq", "communication"),
        ("pour le projet, il faut joindre un extrait SIRET ?", "out_of_scope", "templates"),
        # Strong words win over the chosen answer's own (« groupement », « date », « retenu »).
        ("le groupement doit-il avoir une structure juridique à lui ?", "faq", "legal_form"),
        (
            "aurons-nous un accusé de réception avant la date de sélection ?",
            "ask_dates",
            "after_submission",
        ),
        (
            "recalés l'an dernier, peut-on être retenus cette fois ?",
            "ask_territory_status",
            "reapplying",
        ),
        ("pourquoi le projet du département voisin a-t-il été rejeté ?", "faq", "selection"),
        # « recevr » (money) and « accusé de réception »: the longer cue says more.
        ("va-t-on recevoir un accusé de réception par mail ?", "faq", "after_submission"),
        (
            "faut-il envoyer un rapport d'activité chaque année, et quand ?",
            "ask_dates",
            "reporting",
        ),
        ("notre projet doit-il prévoir un volet logement ?", "faq", "project_themes"),
        ("le SPIE existe encore après la réforme France Travail ?", "faq", "after_2023"),
        # « personnel » is not « une personne »: no question about the bot
        ("les frais de personnel sont-ils financés ?", "bot_challenge", "money"),
    ],
)
def test_unanswered_subjects_overrule_the_classifiers(text: str, chosen: str, subject: str):
    message = guarded(text, chosen)
    assert (intent_of(message), entity(message, "subject")) == ("not_in_sources", subject)


@pytest.mark.parametrize(
    ("text", "chosen"),
    [
        ("Budget de 80 000 €, je m'adresse à qui ?", "ask_contact"),  # contact words: kept
        ("Where can I find the application form?", "other_language"),  # no French domain word
        ("quel est le montant du RSA", "out_of_scope"),  # not about the AMI
    ],
)
def test_what_the_guard_leaves_to_the_classifiers(text: str, chosen: str):
    assert intent_of(guarded(text, chosen)) == chosen


def test_a_question_about_the_bot_needs_words_about_the_bot():
    assert intent_of(guarded("et les partenaires alors ?", "bot_challenge")) == "nlu_fallback"
    assert intent_of(guarded("je discute avec un ordinateur ?", "bot_challenge")) == "bot_challenge"


def placed(text: str, intent: str) -> Message:
    message = classified(text, intent)
    PlaceExtractor(PlaceExtractor.get_default_config()).process([message])
    return message


@pytest.mark.parametrize(
    "text",
    [
        "Bonjour,\nJe suis au PLIE de Roubaix. Les annexes doivent-elles être paginées ?\nMerci",
        "Chargée de mission à Roubaix, y aura-t-il un évaluateur extérieur pour les projets ?",
    ],
)
def test_a_place_does_not_make_an_unclear_or_unanswered_question_a_place(text: str):
    message = placed(text, "nlu_fallback")
    assert intent_of(message) == "nlu_fallback" and entity(message, "place") == "Roubaix"


@pytest.mark.parametrize(
    ("text", "chosen", "intent"),
    [
        ("je suis à Roubaix", "nlu_fallback", "inform_place"),  # only a place
        ("CCAS de Quimperlé, on prépare un dossier pour l'AMI", "faq", "ask_contact"),
        (
            "Mission locale de Quimperlé : notre territoire est-il déjà retenu ?",
            "faq",
            "ask_territory_status",
        ),
        # Whom to contact is asked for the place of the introduction too.
        ("Mairie de Quimperlé. À qui s'adresser pour le SPIE ?", "faq", "ask_contact"),
        (
            "On est une asso à Quimperlé, vers qui se tourner pour le dossier ?",
            "faq",
            "ask_contact",
        ),
        # … not whether a territory is retained (« combien de territoires retenus ? »).
        ("Je suis à Quimperlé. Combien de territoires ont été retenus ?", "faq", "faq"),
        ("Quimperlé est-il déjà couvert par le SPIE ?", "faq", "ask_territory_status"),
        ("Est-ce que le Finistère expérimente déjà le SPIE ?", "faq", "ask_territory_status"),
        # The self-test is kept on its own words only.
        (
            "Association d'insertion à Quimperlé, on monte un dossier avec le département",
            "check_eligibility",
            "ask_contact",
        ),
        (
            "je suis à Quimperlé, je voudrais faire le test",
            "check_eligibility",
            "check_eligibility",
        ),
        # An address that asks nothing gives its place, whatever answer was guessed.
        ("Association Le Lien, 2 rue du Port, 29300", "ask_dates", "inform_place"),
        ("Quimperlé, la date limite", "ask_dates", "ask_dates"),
    ],
)
def test_what_a_named_place_decides(text: str, chosen: str, intent: str):
    assert intent_of(placed(text, chosen)) == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # After the partners: not a request for the self-test; the unclear path gives the
        # answer it follows.
        ("et les missions locales, on peut les associer aussi ?", "nlu_fallback"),
        ("et nous, on serait éligibles ?", "check_eligibility"),
        ("je voudrais faire le test", "check_eligibility"),  # not a follow-up
    ],
)
def test_a_follow_up_is_the_self_test_only_in_its_own_words(text: str, intent: str):
    assert intent_of(guarded(text, "check_eligibility")) == intent


@pytest.mark.parametrize(
    "text", ["t'es vraiment nul comme bot", "tu sers à rien", "vous êtes inutile, robot"]
)
def test_a_remark_on_the_assistant_gets_what_it_can_do(text: str):
    assert intent_of(guarded(text, "bot_challenge")) == "help"


@pytest.mark.parametrize(
    "text",
    [
        "le projet est nul si le département refuse ?",
        "je ne comprends rien à l'AMI",
        "Pourriez-vous me donner les horaires de la mairie",  # « pourri… » is no remark
        "t'es un robot débile ou il y a quelqu'un ?",  # a question to the bot
    ],
)
def test_a_question_on_the_ami_is_no_remark_on_the_assistant(text: str):
    assert intent_of(guarded(text, "faq")) != "help"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("et les CCAS, ils en sont ?", "nlu_fallback"),  # the unclear path reads its words
        ("et bonjour à vous aussi", "greet"),
    ],
)
def test_a_follow_up_is_a_greeting_only_in_its_own_words(text: str, intent: str):
    assert intent_of(guarded(text, "greet")) == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("euh, je ne sais plus trop", "nlu_fallback"),  # a reply, not a request to stop the test
        ("on y réfléchit encore", "nlu_fallback"),
        ("bon, on arrête ce questionnaire", "stop"),
    ],
)
def test_the_test_is_stopped_only_on_words_that_say_so(text: str, intent: str):
    assert intent_of(guarded(text, "stop")) == intent
