"""How the project's NLU components overrule the classifiers: one place for the shape Rasa
expects of an intent and of an entity read from the whole message."""

from __future__ import annotations

from rasa.shared.nlu.constants import (
    ENTITIES,
    ENTITY_ATTRIBUTE_END,
    ENTITY_ATTRIBUTE_START,
    ENTITY_ATTRIBUTE_TYPE,
    ENTITY_ATTRIBUTE_VALUE,
    EXTRACTOR,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    RESPONSE_SELECTOR,
)
from rasa.shared.nlu.training_data.message import Message


def answer_key(message: Message, intent: str | None = None) -> str | None:
    """faq/<key> for a retrieval intent (from the ResponseSelector), else the intent."""
    intent = intent or (message.get(INTENT) or {}).get(INTENT_NAME_KEY)
    if intent != "faq":
        return intent
    selected = (message.get(RESPONSE_SELECTOR) or {}).get("faq", {}).get("response", {})
    return selected.get("intent_response_key")


def override_intent(message: Message, intent: str, confidence: float = 1.0) -> None:
    """Make `intent` the message's intent, first in its ranking (once)."""
    chosen = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: confidence}
    ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get(INTENT_NAME_KEY) != intent]
    message.set(INTENT, chosen, add_to_output=True)
    message.set(INTENT_RANKING_KEY, [chosen, *ranking], add_to_output=True)


def set_whole_message_entity(message: Message, entity: str, value: str, extractor: str) -> None:
    """An entity read from the whole message (a subject, a topic): an empty span at its start,
    since Rasa's tools expect every entity to have one; replaces an earlier one of that type."""
    entities = [e for e in message.get(ENTITIES, []) if e.get(ENTITY_ATTRIBUTE_TYPE) != entity]
    entities.append(
        {
            ENTITY_ATTRIBUTE_TYPE: entity,
            ENTITY_ATTRIBUTE_VALUE: value,
            ENTITY_ATTRIBUTE_START: 0,
            ENTITY_ATTRIBUTE_END: 0,
            EXTRACTOR: extractor,
        }
    )
    message.set(ENTITIES, entities, add_to_output=True)
