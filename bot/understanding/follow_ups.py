"""A follow-up that the classifiers placed on a weak guess stays on the subject of the answer
before it.

« et au premier appel ? » just after the number of territories came out as the dates (at 0.53):
nothing in it is about dates, and a follow-up (« et … ? ») leans on the question before. When the
classifiers were unsure and the message shows none of the chosen answer's words, the conversation
knows better: the previous answer, which covers the follow-up, is given again. So it is when the
follow-up shows the previous answer's words and none of the chosen one's (« et pour une asso ? »
after who may apply) or no answer's words at all (« et le deuxième ? » after the first call's
date), however sure the classifiers were.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.understanding.message_focus import is_follow_up
from bot.understanding.subjects import load_subjects, words_of

# Below these, the classifiers' choice is a guess (DIET's intent; the ResponseSelector's answer).
SURE_INTENT = 0.6
SURE_FAQ = 0.5
# A follow-up this short that names no subject (« et le deuxième ? ») leans wholly on the one
# before; a longer one carries its own subject, which the cue lists may not know.
SHORT_FOLLOW_UP_WORDS = 5
DATES = "ask_dates"
# Intents of messages the classifiers could not place: the unclear paths answered them by their
# words, or, for a follow-up, with the answer before (actions/fallback.py).
UNPLACED = ("nlu_fallback", "answer")


def is_repeatable_answer(key: str | None) -> bool:
    """Answers that can be given again as they are: an FAQ answer or the dates."""
    return key is not None and (key.startswith("faq/") or key == DATES)


def continued_answer(
    text: str,
    chosen: str | None,
    previous: str | None,
    *,
    intent_confidence: float,
    faq_confidence: float | None = None,
) -> str | None:
    """The previous answer's key when `text` is a follow-up that the classifiers chose as
    `chosen` without showing any of its words, and that they only guessed, or that shows the
    previous answer's words, or is short and shows no answer's words at all (« et le deuxième ? »);
    None when the choice stands."""
    if not is_follow_up(text) or not is_repeatable_answer(previous) or previous == chosen:
        return None
    subjects = load_subjects()
    if chosen and subjects.shows(chosen, text):
        return None
    sure = intent_confidence >= SURE_INTENT and (faq_confidence or 1.0) >= SURE_FAQ
    short = len(words_of(text)) <= SHORT_FOLLOW_UP_WORDS
    names_no_subject = short and not any(subjects.shows(key, text) for key in subjects.answered)
    if not sure or names_no_subject or subjects.shows(previous or "", text):
        return previous
    return None


def answer_given(messages: Sequence[tuple[str, str | None]]) -> str | None:
    """The answer the assistant gave to the last of `messages` (text, answer key chosen by the
    classifiers), oldest first. A message the classifiers could not place was answered by its
    words or, being a follow-up, with the answer before it: « Quels partenaires ? » → « et qui
    d'autre ? » → « les organismes de formation aussi ? » is still about the partners."""
    subjects = load_subjects()
    for text, key in reversed(messages):
        if key not in UNPLACED:
            return key
        by_words = subjects.answer_from_cues(text)
        if by_words is not None or not is_follow_up(text):
            return by_words or key
    return None
