"""The decisive words of bot/data/subjects.yml never contradict the project's own examples: a
message whose words settle an answer (« la sélection, c'est quand ? ») takes it, and no training
or held-out example would be moved away from its label by them."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot import PROJECT_DIR
from bot.understanding.message_focus import is_follow_up
from bot.understanding.spelling import standard_spelling
from bot.understanding.subjects import WHOLE_WORD_MAX_LETTERS, _any_cue, load_subjects, words_of
from rasa_ext.subject_guard import SubjectGuard

ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]+\)|\{[^}]+\})")
CONFIG = SubjectGuard.get_default_config()
SUBJECTS = load_subjects()


def examples() -> list[tuple[str, str]]:
    files = [
        *sorted((PROJECT_DIR / "data" / "nlu").glob("*.yml")),
        PROJECT_DIR / "tests" / "nlu_holdout.yml",
    ]
    found = []
    for path in files:
        for block in yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines() if block.get("intent") else []:
                text = ANNOTATION.sub(r"\1", line.strip().removeprefix("- ").strip())
                if text:
                    found.append((block["intent"], text))
    return found


def guarded(label: str, text: str) -> bool:
    """Whether SubjectGuard looks at a message the classifiers gave this label."""
    intent = label.split("/")[0]
    weak = intent in CONFIG["weak_intents"] and (SUBJECTS.in_domain(text) or is_follow_up(text))
    return intent in (*CONFIG["guarded_intents"], *CONFIG["decisive_only_intents"]) or weak


def test_decisive_words_never_move_an_example_from_its_label():
    moved = [
        (label, text, decided)
        for label, text in examples()
        if guarded(label, text)
        and (decided := SUBJECTS.decisive_answer(standard_spelling(text), label)) is not None
    ]
    assert len(examples()) > 2000 and moved == []


@pytest.mark.parametrize(
    ("text", "chosen", "decided"),
    [
        ("la selection c qd", "faq/territory_count", "ask_dates"),
        ("donc c'est fermé maintenant ?", "faq/pole_emploi", "ask_dates"),
        ("et à qui je peux m'adresser côté État ?", "nlu_fallback", "ask_contact"),
        ("elle a changé de nom, l'agence ?", "faq/partners", "faq/pole_emploi"),
        ("vous auriez un lien vers le texte ?", "faq/what_is_ami", "faq/more_info"),
        # Both the map and the territories are named: the map (the source page) wins.
        (
            "elle est où la cartographie des départements déjà engagés ?",
            "faq/territory_count",
            "faq/more_info",
        ),
    ],
)
def test_decisive_words_settle_the_answer(text: str, chosen: str, decided: str):
    assert SUBJECTS.decisive_answer(standard_spelling(text), chosen) == decided


@pytest.mark.parametrize(
    ("text", "chosen"),
    [
        ("quand on est une association, peut-on candidater ?", "faq/who_can_apply"),  # « if »
        ("quand les fonds seront-ils versés ?", "ask_dates"),  # money: the sources don't say
        ("à qui s'adresser pour monter le dossier ?", "faq/how_to_submit"),  # names the services
        ("quand Pôle emploi a-t-il changé de nom ?", "faq/pole_emploi"),  # already that answer
    ],
)
def test_what_decisive_words_leave_alone(text: str, chosen: str):
    assert SUBJECTS.decisive_answer(standard_spelling(text), chosen) is None


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("ki pt candidater", "qui peut candidater"),
        ("pe a ete renomme ?", "pe a ete renomme ?"),  # « pe » is Pôle emploi here
        ("la selection c qd", "la selection c'est quand"),
        ("jveu fer le test", "je veux faire le test"),
        ("cbm de temps jusqu au 15 juil", "combien de temps jusqu au 15 juillet"),
        ("c'est quand ?", "c'est quand ?"),  # an apostrophe form is left as it is
        ("Allier (03)", "Allier (03)"),
    ],
)
def test_texting_spellings_are_read_as_words(text: str, read: str):
    assert standard_spelling(text) == read


def test_intents_given_on_their_own_words_show_them_in_every_example():
    """An example of bot_challenge without its words would be made unclear by SubjectGuard."""
    missing = [
        (label, text)
        for label, text in examples()
        if label in (*CONFIG["own_words_intents"], *CONFIG["explicit_intents"])
        and not SUBJECTS.shows(label, standard_spelling(text))
    ]
    assert missing == []


def test_strong_subject_words_never_take_an_answered_example():
    """A training example of an answer never reads as a subject the sources do not cover."""
    taken = [
        (label, text, subject.key)
        for label, text in examples()
        if label not in ("not_in_sources", "out_of_scope", *CONFIG["decisive_only_intents"])
        and guarded(label, text)
        and (subject := SUBJECTS.strong_subject(standard_spelling(text))) is not None
    ]
    assert taken == []


def reference_cue_matches(cue: str, words: list[str]) -> bool:
    """The cue rule of bot/data/subjects.yml, word by word (what the compiled patterns replace)."""

    def word_matches(part: str, word: str) -> bool:
        return word == part if len(part) <= WHOLE_WORD_MAX_LETTERS else word.startswith(part)

    parts = cue.split()
    if parts[-1] == "$":
        parts = parts[:-1]
        last = words[-len(parts) :]
        return len(last) == len(parts) and all(map(word_matches, parts, last))
    return any(
        all(map(word_matches, parts, words[start : start + len(parts)]))
        for start in range(len(words) - len(parts) + 1)
    )


def test_compiled_cues_match_as_the_rule_says():
    """Every cue list against every example and evaluation message: the same answer as the rule
    applied word by word."""
    lists = [
        *SUBJECTS.answered.values(),
        *(subject.cues for subject in SUBJECTS.unanswered),
        *(subject.strong for subject in SUBJECTS.unanswered),
        SUBJECTS.domain,
        *SUBJECTS.place_questions.values(),
        *SUBJECTS.decisive.values(),
    ]
    texts = [text for _, text in examples()] + ["et le deuxième ?", "c'est quand", "quand $"]
    differing = [
        (cue, text)
        for text in texts
        for words in [words_of(standard_spelling(text))]
        for cues in lists
        for cue in cues
        if _any_cue((cue,), words) != reference_cue_matches(cue, words)
    ]
    whole_lists = [
        text
        for text in texts
        for words in [words_of(standard_spelling(text))]
        for cues in lists
        if _any_cue(cues, words) != any(reference_cue_matches(cue, words) for cue in cues)
    ]
    assert differing == [] and whole_lists == []


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        # money's « recevr » and after_submission's « accusé de réception »: the longer says more
        ("recevrons-nous un accusé de réception après l'envoi ?", "after_submission"),
        ("allons-nous recevoir un accusé de réception ?", "after_submission"),
        ("combien allons-nous recevoir ?", "money"),
    ],
)
def test_the_longest_strong_cue_names_the_subject(text: str, subject: str):
    found = SUBJECTS.strong_subject(standard_spelling(text))
    assert found is not None and found.key == subject
