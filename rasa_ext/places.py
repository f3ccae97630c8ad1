"""NLU component: places are read by the project's resolver, not guessed by DIET.

DIET tagged « Bresse » in « Bourg en Bresse » (→ the Vosges) and « 04 » in a phone number (→ the
Alpes-de-Haute-Provence). This component runs the place resolver of `bot/` (every département,
région, commune and postal code, with typos and homonyms) over the whole message, as the user
wrote it, and:
- replaces any `place` entity with the places it found (the value is the text as written; the
  actions resolve it again, with the same resolver, to a département or a question back);
- makes a message that only gives a place (« je suis à Ygrande », « et pour le 33 ? ») an
  `inform_place`, whatever the classifiers guessed, unless they chose an intent that uses the
  place itself (whom to contact, is the territory in the SPIE).
The resolver is built once per process from the data files (no database needed).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.places.resolver import PlaceResolver, is_place_message
from bot.places.store import place_data_from_files
from bot.text import fold
from bot.understanding.message_focus import is_question, signature_start
from bot.understanding.subjects import load_subjects, words_of
from rasa_ext.message_focus import ORIGINAL_TEXT
from rasa_ext.overrides import answer_key, override_intent

PLACE = "place"
INFORM_PLACE = "inform_place"
SPACY_DOC = "text_spacy_doc"
FIRST_PERSON = frozenset(
    {"je", "j", "on", "nous", "notre", "nos", "mon", "ma", "mes", "moi", "chez"}
)
_WORDS = re.compile(r"[^\W\d_]+")

_resolver: PlaceResolver | None = None
_resolver_lock = threading.Lock()


def shared_resolver() -> PlaceResolver:
    """One resolver per process (about a second to build, ~100 MB), built on first use."""
    global _resolver
    with _resolver_lock:
        if _resolver is None:
            _resolver = PlaceResolver(place_data_from_files())
        return _resolver


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class PlaceExtractor(GraphComponent, EntityExtractorMixin):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # keep_intents: intents that use the place themselves (never changed).
        # weak_intents: not a question; with a place, the message is taken as giving the place.
        return {
            "keep_intents": [
                "ask_contact",
                "ask_territory_status",
                INFORM_PLACE,
                "check_eligibility",
            ],
            "weak_intents": ["nlu_fallback", "greet", "goodbye", "thank", "answer"],
            # any_place_intents: asked with a place anywhere in the message, introduction too.
            "any_place_intents": ["ask_contact"],
            # kept only on their own words: « asso à Chaufour, on monte un dossier » is no
            # request for the self-test, whatever the classifiers chose.
            "own_words_keep_intents": ["check_eligibility"],
        }

    @staticmethod
    def required_components() -> list[type]:
        return [SpacyNLP]  # the French model's vocabulary tells common words from misspelt places

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> PlaceExtractor:
        shared_resolver()  # built while the model loads, not during the first user's turn
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._read_places(message)
        return messages

    def _read_places(self, message: Message) -> None:
        text = message.get(ORIGINAL_TEXT) or message.get(TEXT) or ""
        if not text or text.startswith("/"):
            return  # a button payload carries its own entities
        # A signature's names (« Maëlle », « Marie ») are not places: read up to the signature.
        end = signature_start(text)
        body = text[:end] if end is not None else text
        _, spans = shared_resolver().scan_text(body, common_words_of(message, body).__contains__)
        entities = [e for e in message.get(ENTITIES, []) if e.get(ENTITY_ATTRIBUTE_TYPE) != PLACE]
        entities += [
            {
                ENTITY_ATTRIBUTE_TYPE: PLACE,
                ENTITY_ATTRIBUTE_VALUE: text[span.start : span.end],
                ENTITY_ATTRIBUTE_START: span.start,
                ENTITY_ATTRIBUTE_END: span.end,
                EXTRACTOR: self.__class__.__name__,
            }
            for span in spans
        ]
        message.set(ENTITIES, entities, add_to_output=True)
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if spans and not self._keeps(intent, message.get(TEXT) or text):
            # The question decides (message.get(TEXT) is the question part of a long message).
            place_intent = self._place_intent(text, message.get(TEXT) or text, spans, message)
            if place_intent:
                override_intent(message, place_intent)

    def _keeps(self, intent: str | None, question: str) -> bool:
        if intent not in self.config["keep_intents"]:
            return False
        return intent not in self.config["own_words_keep_intents"] or load_subjects().shows(
            intent, question
        )

    def _place_intent(self, text: str, question: str, spans: list, message: Message) -> str | None:
        """What a message naming a place asks, when the bot knows better than the classifiers."""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if is_place_message(text, spans):
            return INFORM_PLACE  # « je suis à Ygrande », « et pour le 33 ? »
        about_place = (
            question == text
            or any(text[span.start : span.end] in question for span in spans)
            or bool(FIRST_PERSON & set(words_of(question)))  # « chez nous », « notre projet »
        )
        asked = load_subjects().place_question(question)
        if asked and (about_place or asked in self.config["any_place_intents"]):
            # « Quel service est compétent à Bastia ? », « l'Allier est-il retenu ? »; a place of
            # the introduction counts when the question speaks of the writer's own place
            # (« est-ce qu'on a été retenus ? »), not in « combien de territoires retenus ? »;
            # whom to contact is always asked for the place the message names (« Mairie de
            # Langogne. À qui s'adresser ? », « asso à Aubusson, vers qui se tourner ? »)
            return asked
        # « Association Le Relais, 3 place de la Mairie, 42620 »: a message that asks nothing and
        # shows none of the chosen answer's words gives its place.
        asks_nothing = not is_question(question) and not load_subjects().shows(
            answer_key(message) or "", question
        )
        if (
            (intent in self.config["weak_intents"] or asks_nothing)
            and about_place
            and load_subjects().strong_subject(question) is None
        ):
            # A place is the clearest thing in an otherwise unclear message; not a place of the
            # introduction when the question itself was not understood, nor when it is about a
            # subject the sources do not cover (SubjectGuard reads those).
            return INFORM_PLACE
        return None


def common_words_of(message: Message, text: str) -> set[str]:
    """Words of `text` that the French model knows (not to be read as misspelt places)."""
    doc = message.get(SPACY_DOC)
    if doc is None:
        return set()
    vocab = doc.vocab
    return {fold(word) for word in _WORDS.findall(text) if vocab.has_vector(word.lower())}
