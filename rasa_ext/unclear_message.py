"""NLU component: a message made mostly of unknown words is unclear, not a confident guess.

DIET gives a confident intent even to keyboard mashes ("qsdfgh", "xkcd blorp zzzz"), so the
FallbackClassifier threshold never fires for them. This component, placed after the classifiers,
predicts `nlu_fallback` (topic suggestions) when at least half the words of a message are neither in
the training data nor in the French model's vocabulary, and for a message without any word (emoji,
punctuation) or that looks like code or SQL. Other languages are left alone: their words
are unknown to a French model by nature, and they have their own intent.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.utils.spacy_utils import SpacyNLP
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    ENTITIES,
    INTENT,
    INTENT_NAME_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.text import fold, is_noise
from rasa_ext.overrides import override_intent

VOCABULARY_FILE = "vocabulary.json"
MASH_SHARE = 0.6  # share of unknown Latin words from which "another language" is a keyboard mash
SPACY_DOC = "text_spacy_doc"  # where SpacyNLP puts the parsed message


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class UnclearMessageClassifier(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # unknown_share: share of unknown words from which a message is unclear.
        # keep_intents: intents never overridden (a foreign language is "unknown" by nature).
        return {"unknown_share": 0.5, "keep_intents": ["other_language"]}

    @staticmethod
    def required_components() -> list[type]:
        return [SpacyNLP]  # reads the words of the parsed message (SPACY_DOC)

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        vocabulary: set[str] | None = None,
    ) -> None:
        self.config = config
        self.model_storage = model_storage
        self.resource = resource
        self.vocabulary = vocabulary or set()

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> UnclearMessageClassifier:
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> UnclearMessageClassifier:
        with model_storage.read_from(resource) as directory:
            words = json.loads((directory / VOCABULARY_FILE).read_text(encoding="utf-8"))
        return cls(config, model_storage, resource, set(words))

    def train(self, training_data: TrainingData) -> Resource:
        self.vocabulary = {
            word for example in training_data.training_examples for word in words_of(example)
        }
        with self.model_storage.write_to(self.resource) as directory:
            (directory / VOCABULARY_FILE).write_text(
                json.dumps(sorted(self.vocabulary), ensure_ascii=False), encoding="utf-8"
            )
        return self.resource

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if self.is_unclear(message):
                override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)
        return messages

    def _is_mash(self, message: Message) -> bool:
        """Latin letters most of which make no known word (« xkcd blorp zzzz »): not a language.
        A real foreign message has some word the model knows (« hello », « un ») or another
        script."""
        doc = message.get(SPACY_DOC)
        if doc is None:
            return False
        words = [token for token in doc if token.is_alpha]
        latin = all(token.text.isascii() for token in words)  # « dónde », « für »: a language
        unknown = [t for t in words if t.is_oov and fold(t.text) not in self.vocabulary]
        return bool(words) and latin and len(unknown) >= MASH_SHARE * len(words)

    def is_unclear(self, message: Message) -> bool:
        text = message.get(TEXT) or ""
        if text.startswith("/"):
            return False  # a button payload
        if is_noise(text):
            return True  # « 🙂 », « ??? », code: never a confident guess (it was « Au revoir »)
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if intent in self.config["keep_intents"] and not self._is_mash(message):
            return False
        if message.get(ENTITIES):
            return False
        if not any(char.isalpha() for char in text):
            return True  # « 1234 »: figures that are not a place (those are entities, above)
        doc = message.get(SPACY_DOC)
        if doc is None:
            return False
        words = [token for token in doc if token.is_alpha and len(token.text) >= 2]
        unknown = [t for t in words if t.is_oov and fold(t.text) not in self.vocabulary]
        return bool(words) and len(unknown) >= self.config["unknown_share"] * len(words)


def words_of(example: Message) -> set[str]:
    """The folded words of a training example (from its spaCy doc, or split on spaces)."""
    doc = example.get(SPACY_DOC)
    tokens = [token.text for token in doc] if doc is not None else (example.get(TEXT) or "").split()
    return {fold(token) for token in tokens}
