"""Rules of the eligibility self-test, driven by bot/data/eligibility.yml (no Rasa import)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot import DATA_DIR
from bot.knowledge.facts import Call, deadline_status, fill_facts, french_date, load_call
from bot.text import fold

RULES_FILE = DATA_DIR / "eligibility.yml"
YES, NO, NOT_YET, DONT_KNOW, SKIP = "yes", "no", "not_yet", "dont_know", "skip"
CONSEIL_DEPARTEMENTAL = "conseil_departemental"


@dataclass(frozen=True)
class Question:
    slot: str
    kind: str  # structure | yes_no | partners | place
    text: str
    explain: str  # the answer to « je ne sais pas »
    buttons: tuple[tuple[str, str], ...] = ()  # quick replies: (title, the answer it gives)
    ask_if: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    id: str
    label: str
    advice: str
    met_if: Mapping[str, tuple[str, ...]]
    or_if: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Rules:
    source: str
    questions: tuple[Question, ...]
    conditions: tuple[Condition, ...]
    answers: Mapping[str, tuple[str, ...]]
    structures: Mapping[str, tuple[str, ...]]
    partners: Mapping[str, tuple[str, ...]]
    messages: Mapping[str, str]
    structure_labels: Mapping[str, str]
    weak_structure_words: tuple[str, ...]

    @property
    def slots(self) -> tuple[str, ...]:
        return tuple(question.slot for question in self.questions)

    def question(self, slot: str) -> Question:
        return next(question for question in self.questions if question.slot == slot)


@dataclass(frozen=True)
class Verdict:
    eligible: bool
    unmet: tuple[Condition, ...]
    pending: tuple[Condition, ...]  # unmet because the answer was "pas encore"


def _name(value: Any) -> str:
    # YAML 1.1 reads a bare yes/no as a boolean: map it back to the answer name.
    return {True: YES, False: NO}.get(value, str(value)) if isinstance(value, bool) else str(value)


def _value_sets(raw: Mapping[str, Any] | None) -> dict[str, tuple[str, ...]]:
    return {slot: tuple(_name(v) for v in values) for slot, values in (raw or {}).items()}


def _phrases(raw: Mapping[Any, Any]) -> dict[str, tuple[str, ...]]:
    return {_name(k): tuple(fold(str(p)) for p in v) for k, v in raw.items()}


@lru_cache(maxsize=4)
def load_rules(path: Path = RULES_FILE) -> Rules:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Rules(
        source=raw["source"],
        questions=tuple(
            Question(
                slot=q["slot"],
                kind=q["kind"],
                text=fill_facts(q["text"]),
                explain=fill_facts(q["explain"]),
                buttons=tuple(
                    (str(title), _name(value)) for title, value in (q.get("buttons") or {}).items()
                ),
                ask_if=_value_sets(q.get("ask_if")),
            )
            for q in raw["questions"]
        ),
        conditions=tuple(
            Condition(
                id=c["id"],
                label=fill_facts(c["label"]),
                advice=fill_facts(c["advice"]),
                met_if=_value_sets(c["met_if"]),
                or_if=_value_sets(c.get("or_if")),
            )
            for c in raw["conditions"]
        ),
        answers=_phrases(raw["answers"]),
        structures=_phrases(raw["structures"]),
        partners=_phrases(raw["partners"]),
        messages=dict(raw["messages"]),
        structure_labels=dict(raw["structure_labels"]),
        weak_structure_words=tuple(fold(str(w)) for w in raw["weak_structure_words"]),
    )


def _matches(answers: Mapping[str, Any], expected: Mapping[str, tuple[str, ...]]) -> bool:
    return bool(expected) and all(answers.get(slot) in values for slot, values in expected.items())


def required_slots(answers: Mapping[str, Any], rules: Rules | None = None) -> list[str]:
    """The questions to ask, in order, given the answers so far (conditional questions)."""
    rules = rules or load_rules()
    return [q.slot for q in rules.questions if not q.ask_if or _matches(answers, q.ask_if)]


def numbered_question(slot: str, answers: Mapping[str, Any], rules: Rules | None = None) -> str:
    """The question as the person reads it: numbered among the questions they actually get
    (a conseil départemental goes from 1 to 2, not to 4)."""
    rules = rules or load_rules()
    asked = required_slots(answers, rules)
    number = asked.index(slot) + 1 if slot in asked else len(asked) + 1
    return f"{number}. {rules.question(slot).text}"


def evaluate(answers: Mapping[str, Any], rules: Rules | None = None) -> Verdict:
    rules = rules or load_rules()
    unmet = tuple(
        c
        for c in rules.conditions
        if not (_matches(answers, c.met_if) or _matches(answers, c.or_if))
    )
    pending = tuple(c for c in unmet if NOT_YET in (answers.get(s) for s in _slots_of(c)))
    return Verdict(eligible=not unmet, unmet=unmet, pending=pending)


def _slots_of(condition: Condition) -> set[str]:
    return set(condition.met_if) | set(condition.or_if)


# --- Understanding free-text answers -------------------------------------------------------------


def _words(text: str) -> str:
    """Folded text with punctuation turned into spaces, padded for whole-phrase search."""
    return " " + re.sub(r"[^a-z0-9' ]+", " ", fold(text)).replace("'", "' ") + " "


def _contains(haystack: str, phrase: str) -> bool:
    return f" {phrase.replace(chr(39), chr(39) + ' ')} " in haystack


def _first_category(text: str, categories: Mapping[str, tuple[str, ...]]) -> str | None:
    """The category whose longest phrase occurs in the text (longest match wins)."""
    words = _words(text)
    best: tuple[int, str] | None = None
    for category, phrases in categories.items():
        for phrase in phrases:
            if _contains(words, phrase) and (best is None or len(phrase) > best[0]):
                best = (len(phrase), category)
    return best[1] if best else None


def parse_yes_no(text: str, rules: Rules | None = None) -> str | None:
    """yes | no | not_yet | dont_know, or None when the answer is not understood."""
    rules = rules or load_rules()
    if fold(text).strip(" .!") == "?":
        return DONT_KNOW
    categories = {k: rules.answers[k] for k in (YES, NO, NOT_YET, DONT_KNOW)}
    return _first_category(text, categories)


def parse_structure(text: str, rules: Rules | None = None) -> str | None:
    """A structure type, dont_know, or None.

    What the structure *is* decides, not a word it mentions: « une association du département »
    is an association. A bare « département » counts only when nothing else is named.
    """
    rules = rules or load_rules()
    if _first_category(text, {DONT_KNOW: rules.answers[DONT_KNOW]}):
        return DONT_KNOW
    found = _first_category(text, rules.structures)
    if found == CONSEIL_DEPARTEMENTAL and _is_bare_departement(text, rules):
        others = {k: v for k, v in rules.structures.items() if k != CONSEIL_DEPARTEMENTAL}
        return _first_category(text, others) or found
    return found


def _is_bare_departement(text: str, rules: Rules) -> bool:
    """The conseil départemental was recognised only by a weak word (« département », « CD »)."""
    words = _words(text)
    strong = [
        p for p in rules.structures[CONSEIL_DEPARTEMENTAL] if p not in rules.weak_structure_words
    ]
    return not any(_contains(words, phrase) for phrase in strong)


def structure_echo(structure: str, rules: Rules | None = None) -> str:
    """How the answer to question 1 was understood, with the way to correct it."""
    rules = rules or load_rules()
    return rules.messages["structure_echo"].format(label=rules.structure_labels[structure])


def parse_partners(text: str, rules: Rules | None = None) -> list[str] | None:
    """The partner kinds named in the text; [] when the user skips; None when not understood."""
    rules = rules or load_rules()
    words = _words(text)
    found = [
        kind
        for kind, phrases in rules.partners.items()
        if any(_contains(words, p) for p in phrases)
    ]
    if found:
        return found
    if _first_category(text, {SKIP: rules.answers[SKIP]}):
        return []
    return None


def interpret(question: Question, text: str, choice: str | None = None) -> Any:
    """The answer to `question`: from a quick reply's `choice` when one was clicked, else read in
    the text. DONT_KNOW for « je ne sais pas »; None when not understood. (Places: see
    place_answers.departement_from_text.)"""
    if choice is not None:
        values = {value for _, value in question.buttons}
        if choice not in values:
            return None
        if question.kind == "partners":
            return [] if choice == SKIP else [choice]
        return choice
    if question.kind == "structure":
        return parse_structure(text)
    if question.kind == "yes_no":
        return parse_yes_no(text)
    if question.kind == "partners":
        if parse_yes_no(text) == DONT_KNOW:
            return DONT_KNOW
        return parse_partners(text)
    raise ValueError(f"no free-text reading for questions of kind {question.kind!r}")


# --- The result as a user reads it ---------------------------------------------------------------


def format_verdict(verdict: Verdict, on: date, call: Call | None = None) -> str:
    """The verdict, each unmet condition with what to do, and the date check (French).

    Honest about what it is: a reading of self-declared answers against the conditions the AMI
    stated, not a decision (the selection was competitive).
    """
    call = call or load_call()
    if verdict.eligible:
        lines = [
            "Résultat : d'après vos réponses, votre projet correspond aux conditions énoncées par "
            f"{call.short_name}."
        ]
    else:
        lines = [
            "Résultat : d'après vos réponses, votre projet ne correspond pas encore aux conditions "
            f"énoncées par {call.short_name}. À revoir :"
        ]
        for condition in verdict.unmet:
            marker = " (pas encore)" if condition in verdict.pending else ""
            lines.append(f"• {condition.label}{marker}. Conseil : {condition.advice}")
    lines.append(
        "Ce test n'est pas une décision : la sélection était compétitive "
        f"({call.territories_planned} territoires prévus, {call.territories_retained} retenus)."
    )
    if on > call.dates.deadline:
        lines.append(
            f"Attention : cet appel est clos (date limite : {french_date(call.dates.deadline)} "
            "inclus). Ce test montre tout de même si votre projet correspond aux conditions qu'il "
            "énonçait."
        )
    else:
        lines.append(deadline_status(on, call))
    lines.append(f"Source : {load_rules().source}.")
    return "\n".join(lines)
