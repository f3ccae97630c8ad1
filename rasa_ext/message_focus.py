"""NLU component: the classifiers read the question, not the greeting, introduction or signature.

First in the pipeline. When `bot.understanding.message_focus.focus` finds the question part of a long message,
the component keeps the message as written in `original_text` (the place reader and the actions
use it) and gives the question part to the featurizers and classifiers, texting spellings read as
ordinary words (`bot.understanding.spelling`: « ki pe candidaté » → « qui peut candidaté »). Training data is left as it
is. The tracker always stores the text as the user wrote it.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.understanding.message_focus import focus
from bot.understanding.spelling import standard_spelling

ORIGINAL_TEXT = "original_text"
OTHER_QUESTIONS = "other_questions"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER, is_trainable=False)
class MessageFocus(GraphComponent):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> MessageFocus:
        return cls()

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            if text.startswith("/"):
                continue
            found = focus(text)
            read = standard_spelling(found.text if found else text)
            if read == text:
                continue
            message.set(ORIGINAL_TEXT, text, add_to_output=True)
            message.set(TEXT, read)
            if found and found.other_questions:
                message.set(OTHER_QUESTIONS, list(found.other_questions), add_to_output=True)
        return messages
