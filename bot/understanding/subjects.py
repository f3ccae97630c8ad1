"""Is a message about the subject of the answer chosen for it? (bot/data/subjects.yml)

The classifiers always pick the closest answer, even for a question that no source answers:
« Y a-t-il une enveloppe budgétaire ? » came out as the four expectations. `unanswered_subject`
tells when a message is about an in-domain subject the sources do not cover and shows nothing of
the chosen answer's own subject: the assistant then says so honestly instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

import yaml

from bot import DATA_DIR
from bot.text import fold

SUBJECTS_FILE = DATA_DIR / "subjects.yml"
WHOLE_WORD_MAX_LETTERS = 4
_WORDS = re.compile(r"[a-z0-9€]+")


@dataclass(frozen=True)
class Subject:
    key: str
    label: (
        str  # "le financement (montants, budget…)": completes « La page de l'AMI ne précise pas … »
    )
    cues: tuple[str, ...]
    strong: tuple[str, ...] = ()  # win over the chosen answer's own words


@dataclass(frozen=True)
class Subjects:
    answered: dict[str, tuple[str, ...]]  # answer key (faq/<key> or an intent) → cues
    unanswered: tuple[Subject, ...]
    domain: tuple[str, ...]  # cues of a message about the AMI at all
    place_questions: dict[str, tuple[str, ...]]  # intent → cues, for a message naming a place
    decisive: dict[str, tuple[str, ...]]  # answer key → words that settle the question
    decisive_keeps: dict[str, tuple[str, ...]]  # answer key → answers that also answer it
    decisive_wins: dict[str, tuple[str, ...]]  # answer key → answers whose decisive words it beats
    complaints: tuple[str, ...] = ()  # cues of a remark on the assistant itself (« t'es nul »)
    own_words: dict[str, tuple[str, ...]] = field(default_factory=dict)  # intent → its words
    # answer key → words that ask for it whatever the subject (whom to contact)
    decisive_over_unanswered: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def place_question(self, text: str) -> str | None:
        """The place intent (SPIE status, contact) a message naming a place asks, if any."""
        words = words_of(text)
        return next(
            (intent for intent, cues in self.place_questions.items() if _any_cue(cues, words)), None
        )

    def in_domain(self, text: str) -> bool:
        return _any_cue(self.domain, words_of(text))

    def is_complaint(self, text: str) -> bool:
        """A remark on the assistant (« t'es vraiment nul comme bot »), not a question on the
        AMI: it gets what the assistant can do, not a guess. A question (« t'es un robot débile
        ou il y a quelqu'un ? ») is left to the classifiers."""
        return (
            "?" not in text
            and _any_cue(self.complaints, words_of(text))
            and not self.in_domain(text)
        )

    def unanswered_subject(self, text: str, answer_key: str | None) -> Subject | None:
        """The unanswered subject `text` is about, unless it also shows `answer_key`'s subject."""
        if self._asks_over_unanswered(text):
            return None
        strong = self.strong_subject(text)
        if strong is not None:
            return strong
        words = words_of(without_purpose(text))
        subject = _most_specific(self.unanswered, "cues", words)
        if subject is None:
            return None
        if answer_key and _any_cue(self.answered.get(answer_key, ()), words):
            return None
        return subject

    def _asks_over_unanswered(self, text: str) -> bool:
        """« Notre budget est de 33 000 €, je m'adresse à qui ? » asks whom to contact: that
        answer holds whatever the subject, and the sources do say it."""
        words = words_of(text)
        return any(_any_cue(cues, words) for cues in self.decisive_over_unanswered.values())

    def strong_subject(self, text: str) -> Subject | None:
        """The unanswered subject whose strong words the message shows, if any."""
        if self._asks_over_unanswered(text):
            return None
        return _most_specific(self.unanswered, "strong", words_of(without_purpose(text)))

    def shows(self, answer_key: str, text: str) -> bool:
        """Whether `text` shows a cue of the answer `answer_key`, its decisive words included
        (« peut-on encore candidater ? » is about the dates, though « candidater » is not)."""
        cues = (
            self.answered.get(answer_key, ())
            + self.decisive.get(answer_key, ())
            + self.own_words.get(answer_key, ())
        )
        return _any_cue(cues, words_of(text))

    def answer_from_cues(self, text: str) -> str | None:
        """The one answer whose cues the message shows (« et la sélection ? » → the dates), for a
        message the classifiers found unclear; None when none or several answers match."""
        words = words_of(text)
        matching = [key for key, cues in self.answered.items() if _any_cue(cues, words)]
        return matching[0] if len(matching) == 1 else None

    def decisive_answer(self, text: str, chosen: str | None = None) -> str | None:
        """The answer the message's decisive words settle (« la sélection, c'est quand ? » → the
        dates) when it differs from `chosen`; None when no answer or several answers are shown
        (after `decisive_wins`), when `chosen` already answers it, or when the message is about an unanswered subject
        (« quand les fonds seront-ils versés ? »)."""
        words = words_of(text)
        asked = words_of(without_purpose(text))
        unanswered = any(_any_cue(subject.cues, asked) for subject in self.unanswered)
        if unanswered and not self._asks_over_unanswered(text):
            return None
        matching = [key for key, cues in self.decisive.items() if _any_cue(cues, words)]
        beaten = {key for winner in matching for key in self.decisive_wins.get(winner, ())}
        matching = [key for key in matching if key not in beaten]
        if len(matching) != 1:
            return None
        decided = matching[0]
        if chosen == decided or chosen in self.decisive_keeps.get(decided, ()):
            return None
        return decided

    def subject(self, key: str) -> Subject | None:
        return next((subject for subject in self.unanswered if subject.key == key), None)


# « …, pour caler notre budget pluriannuel »: a closing clause that says why one asks, not what.
_PURPOSE = re.compile(r",\s*(?:afin d|pour)\s*(?:pouvoir |bien |mieux )?[a-z]+(?:er|ir|re)\b[^?]*$")


def without_purpose(text: str) -> str:
    """`text` without a closing purpose clause (« quelle période de réalisation, pour caler notre
    budget ? » asks for the period): the subjects the sources leave out are read in the question."""
    folded = fold(text).replace("'", " ")
    match = _PURPOSE.search(folded)
    return folded[: match.start()] if match and match.start() > 0 else folded


# Idioms whose words would be read as cues: « quand même » (anyway) is not « quand » (when).
_IDIOMS = re.compile(r"\bquand (?:bien )?meme\b")


def words_of(text: str) -> list[str]:
    """Folded words ("d'argent" → "d", "argent"; "50 000 €" keeps "€")."""
    return _WORDS.findall(_IDIOMS.sub("meme", fold(text).replace("'", " ")))


END = "$"  # a cue ending with « $ » must end the message
_WORD_CHARS = "[a-z0-9€]*"  # what may follow a long cue word in the word it starts


@cache
def _cues_pattern(cues: tuple[str, ...]) -> re.Pattern[str]:
    """One regular expression for a list of cues, over the message's words joined by spaces
    (compiled once per list: scanning the cues word by word cost ≈ 20 ms per message).

    A cue word of WHOLE_WORD_MAX_LETTERS letters or fewer is a whole word, a longer one starts a
    word; the words of a cue follow each other; « $ » ends the message."""
    branches = []
    for cue in cues:
        parts = cue.split()
        at_end = bool(parts) and parts[-1] == END
        parts = parts[:-1] if at_end else parts
        words = [
            re.escape(part) + ("" if len(part) <= WHOLE_WORD_MAX_LETTERS else _WORD_CHARS)
            for part in parts
        ]
        branches.append(" ".join(words) + ("(?![^ ])$" if at_end else "(?![^ ])"))
    if not branches:
        return re.compile(r"(?!)")  # matches nothing
    return re.compile(r"(?<![^ ])(?:" + "|".join(branches) + ")")


def _any_cue(cues: tuple[str, ...], words: list[str]) -> bool:
    return bool(cues) and _cues_pattern(cues).search(" ".join(words)) is not None


def _longest_cue(cues: tuple[str, ...], words: list[str]) -> int:
    """The length of the longest of `cues` the words show (0: none). Each cue is matched on its
    own: one alternation stops at the first cue that matches at a place, not the longest."""
    joined = " ".join(words)
    found = (_cues_pattern((cue,)).search(joined) for cue in cues)
    return max((len(match.group()) for match in found if match), default=0)


def _most_specific(
    subjects: tuple[Subject, ...], field: Literal["cues", "strong"], words: list[str]
) -> Subject | None:
    """The subject whose `field` cues the words show, the longest cue shown deciding between
    several: « recevrons-nous un accusé de réception ? » shows money's « recevr » and
    after_submission's « accusé de réception », which says more. File order breaks a tie."""
    shown = [s for s in subjects if _any_cue(getattr(s, field), words)]
    if len(shown) <= 1:
        return shown[0] if shown else None
    return max(shown, key=lambda s: _longest_cue(getattr(s, field), words))


@lru_cache(maxsize=4)
def load_subjects(path: Path = SUBJECTS_FILE) -> Subjects:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    answered = {key: tuple(fold(str(c)) for c in cues) for key, cues in raw["answered"].items()}
    unanswered = tuple(
        Subject(
            key,
            value["label"],
            # strong words are cues too: written once, under `strong`
            tuple(dict.fromkeys(fold(str(c)) for c in [*value.get("cues", ()), *strong])),
            tuple(fold(str(c)) for c in strong),
        )
        for key, value in raw["unanswered"].items()
        for strong in [value.get("strong") or ()]
    )
    domain = tuple(fold(str(cue)) for cue in raw["domain"])
    place_questions = {
        intent: tuple(fold(str(c)) for c in cues) for intent, cues in raw["place_questions"].items()
    }
    decisive = {key: tuple(fold(str(c)) for c in cues) for key, cues in raw["decisive"].items()}
    keeps = {key: tuple(values) for key, values in (raw.get("decisive_keeps") or {}).items()}
    wins = {key: tuple(values) for key, values in (raw.get("decisive_wins") or {}).items()}
    complaints = tuple(fold(str(cue)) for cue in raw.get("complaints") or ())
    own_words = {
        key: tuple(fold(str(c)) for c in cues) for key, cues in (raw.get("own_words") or {}).items()
    }
    return Subjects(
        answered,
        unanswered,
        domain,
        place_questions,
        decisive,
        keeps,
        wins,
        complaints,
        own_words,
        {
            key: tuple(fold(str(c)) for c in cues)
            for key, cues in (raw.get("decisive_over_unanswered") or {}).items()
        },
    )
