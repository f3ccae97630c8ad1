"""NLU component: an answer is given only when the message is about that answer's subject.

After the classifiers, it reads the message with `bot.subjects`: a message about an in-domain
subject that no source covers (money, dossier templates, signatures, jury, next calls…) and that
shows nothing of the chosen answer's subject becomes `not_in_sources`, with the subject as an
entity, so that the assistant says honestly that the AMI page does not say and who can help.
Intents that are not answers (greetings, the self-test's answers, places) are left alone.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.subjects import load_subjects

NOT_IN_SOURCES = "not_in_sources"
SUBJECT = "subject"
RESPONSE_SELECTOR = "response_selector"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SubjectGuard(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # guarded_intents: answers checked against the message's subject.
        # weak_intents: not answers to a question; replaced only for a message about the AMI.
        return {
            "guarded_intents": [
                "faq", "ask_dates", "ask_territory_status", "check_eligibility", NOT_IN_SOURCES
            ],
            "weak_intents": ["out_of_scope", "nlu_fallback", "help", "answer", "greet", "thank"],
        }

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SubjectGuard:
        load_subjects()
        return cls(config)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._guard(message)
        return messages

    def _guard(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
        if not text or text.startswith("/"):
            return
        subjects = load_subjects()
        weak = intent in self.config["weak_intents"]
        if not (intent in self.config["guarded_intents"] or (weak and subjects.in_domain(text))):
            return
        subject = subjects.unanswered_subject(text, answer_key(message))
        if subject is None:
            return
        chosen = {INTENT_NAME_KEY: NOT_IN_SOURCES, PREDICTED_CONFIDENCE_KEY: 1.0}
        ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != NOT_IN_SOURCES]
        message.set(INTENT, chosen, add_to_output=True)
        message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)
        entities = [e for e in message.get(ENTITIES, []) if e.get(ENTITY_ATTRIBUTE_TYPE) != SUBJECT]
        entities.append(
            {ENTITY_ATTRIBUTE_TYPE: SUBJECT, ENTITY_ATTRIBUTE_VALUE: subject.key,
             EXTRACTOR: self.__class__.__name__}
        )
        message.set(ENTITIES, entities, add_to_output=True)


def answer_key(message: Message) -> str | None:
    """faq/<key> for a retrieval intent (from the ResponseSelector), else the intent."""
    intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
    if intent != "faq":
        return intent
    selected = (message.get(RESPONSE_SELECTOR) or {}).get("faq", {}).get("response", {})
    return selected.get("intent_response_key")
