"""NLU component: an answer is given only when the message is about that answer's subject.

After the classifiers, it reads the message with `bot.understanding.subjects`: a message about an in-domain
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
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    RESPONSE_SELECTOR,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.understanding.message_focus import is_follow_up
from bot.understanding.subjects import Subject, load_subjects
from rasa_ext.overrides import answer_key, override_intent, set_whole_message_entity

NOT_IN_SOURCES = "not_in_sources"
SUBJECT = "subject"
TOPIC = "topic"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class SubjectGuard(GraphComponent, IntentClassifier):
    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # guarded_intents: answers checked against the message's subject.
        # weak_intents: not answers to a question; replaced only for a message about the AMI.
        return {
            # An unclear message (nlu_fallback) about money or the dossier is answered honestly.
            "guarded_intents": [
                "faq",
                "ask_dates",
                "ask_territory_status",
                "check_eligibility",
                NOT_IN_SOURCES,
                "nlu_fallback",
            ],
            # « cbm de fric par projet » is texting about the AMI's money, not another language.
            # « un recours si on n'est pas retenu ? » is not a request to restart the self-test.
            "weak_intents": [
                "out_of_scope",
                "other_language",
                "help",
                "answer",
                "greet",
                "thank",
                "restart_test",
            ],
            # Answers checked only against decisive words (« je cherche la page de référence »
            # taken for a contact question because it names a town).
            "decisive_only_intents": ["ask_contact", "bot_challenge"],
            # Intents given only when the message shows their own words, else unclear (the
            # unclear path answers a follow-up by its words: « et la sélection ? » → the dates).
            "own_words_intents": ["bot_challenge"],
            # Intents a follow-up gets only when it shows their own words, else unclear: « la
            # CAF, on peut l'intégrer aussi ? » after the partners is not a request for the
            # self-test (the unclear path gives the answer it follows).
            # « et la sélection ? » after the deadline is no greeting either.
            "follow_up_own_words_intents": ["check_eligibility", "greet"],
            # A runner-up replaces an answer whose words are absent only with this confidence.
            "runner_up_confidence": 0.2,
            # Answers known to be chosen on a misleading word (« quand même » read as a date).
            "second_look_intents": ["ask_dates", NOT_IN_SOURCES],
            "faq_confidence": 0.5,
            # Intents given only on their own words, whatever the context: stopping the self-test
            # on a guess would lose its answers.
            "explicit_intents": ["stop"],
            # A remark on the assistant, not about the AMI (bot/data/subjects.yml: complaints).
            "complaint_intent": "help",
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
        if subjects.is_complaint(text):
            override_intent(message, self.config["complaint_intent"])
            return
        if intent in self.config["explicit_intents"] and not subjects.shows(intent, text):
            override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)
            return
        if intent in self.config["decisive_only_intents"]:
            if not self._take_strong_subject(message, text, intent):
                if not self._take_decisive_answer(message, text):
                    self._check_own_words(message, text, intent)
            return
        weak = intent in self.config["weak_intents"]
        # A follow-up (« mais ils ont changé de nom ? ») is about what the conversation is about.
        about_the_ami = subjects.in_domain(text) or is_follow_up(text)
        if not (intent in self.config["guarded_intents"] or (weak and about_the_ami)):
            return
        subject = subjects.unanswered_subject(text, answer_key(message))
        if subject is None:
            if not self._take_decisive_answer(message, text):
                self._check_runner_up(message, text, intent)
                self._check_follow_up_own_words(message, text, intent)
            return
        self._answer_honestly(message, subject)

    def _answer_honestly(self, message: Message, subject: Subject) -> None:
        """`not_in_sources`, with the subject the sources do not cover as an entity."""
        override_intent(message, NOT_IN_SOURCES)
        set_whole_message_entity(message, SUBJECT, subject.key, self.__class__.__name__)

    def _take_strong_subject(self, message: Message, text: str, intent: str) -> bool:
        """« Les lettres d'engagement doivent-elles suivre un modèle ? » from someone who named
        their town is not a contact question: a message that shows an unanswered subject's strong
        words and none of the chosen answer's own is answered honestly."""
        subjects = load_subjects()
        subject = subjects.strong_subject(text)
        if subject is None or subjects.shows(intent, text):
            return False
        self._answer_honestly(message, subject)
        return True

    def _check_own_words(self, message: Message, text: str, intent: str) -> None:
        if intent in self.config["own_words_intents"] and not load_subjects().shows(intent, text):
            override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)

    def _check_follow_up_own_words(self, message: Message, text: str, intent: str | None) -> None:
        if (
            intent in self.config["follow_up_own_words_intents"]
            and is_follow_up(text)
            and not load_subjects().shows(intent, text)
        ):
            override_intent(message, DEFAULT_NLU_FALLBACK_INTENT_NAME)

    def _take_decisive_answer(self, message: Message, text: str) -> bool:
        """The message's words settle the answer (« la sélection, c'est quand ? », « il s'appelle
        toujours comme ça ? »): take it, whatever the classifiers chose."""
        decided = load_subjects().decisive_answer(text, answer_key(message))
        if decided is None:
            return False
        intent, _, _ = decided.partition("/")
        override_intent(message, intent)
        if intent == "faq":  # the FAQ answer as a topic entity, as a clicked topic sends it
            set_whole_message_entity(message, TOPIC, decided, self.__class__.__name__)
        return True

    def _check_runner_up(self, message: Message, text: str, intent: str | None) -> None:
        """The chosen answer shows none of its words but the runner-up's do: take the runner-up.

        « puis-je quand même candidater ? » came out as the dates (« quand »): nothing in it is
        about dates, everything about applying. A not_in_sources guess with no subject word at
        all is checked the same way.
        """
        if intent not in self.config["second_look_intents"]:
            return
        subjects = load_subjects()
        chosen = answer_key(message)
        if chosen in subjects.answered and subjects.shows(chosen, text):
            return
        if intent != NOT_IN_SOURCES and chosen not in subjects.answered:
            return
        for name, confidence in self._runners_up(message, intent):
            if subjects.shows(answer_key(message, name) or "", text):
                chosen_intent = {INTENT_NAME_KEY: name, PREDICTED_CONFIDENCE_KEY: confidence}
                message.set(INTENT, chosen_intent, add_to_output=True)
                return

    def _runners_up(self, message: Message, intent: str | None) -> list[tuple[str, float]]:
        """The next intents of the ranking with some confidence, and the FAQ answer the
        ResponseSelector chose when it is confident (it is computed for every message)."""
        minimum = self.config["runner_up_confidence"]
        found = [
            (item[INTENT_NAME_KEY], float(item.get(PREDICTED_CONFIDENCE_KEY, 0.0)))
            for item in (message.get(INTENT_RANKING_KEY) or [])[1:3]
            if item.get(INTENT_NAME_KEY) not in (intent, "nlu_fallback")
            and float(item.get(PREDICTED_CONFIDENCE_KEY, 0.0)) >= minimum
        ]
        selected = (message.get(RESPONSE_SELECTOR) or {}).get("faq", {}).get("response", {})
        if (
            intent != "faq"
            and float(selected.get("confidence", 0.0)) >= self.config["faq_confidence"]
        ):
            found.append(("faq", float(selected["confidence"])))
        return found
