"""`bot review`: turn the messages the assistant did not understand into a better assistant.

Reads the conversations from the tracker store (`bot.report.read_events`, SQLite or PostgreSQL),
lists the user messages that got the fallback, the topic suggestions, the « not in the sources »
answer or a low confidence, most frequent first, near-duplicates grouped (`message_key`). For each,
staff choose with the keyboard: add it as an example of a topic (`bot.staff.nlu_examples`), mark it as a
question to learn (`review/questions.yml`, for whoever writes the content), or ignore it
(`review/ignored.yml`, never shown again). The review files live in `review/`, not under `data/`:
Rasa trains on every YAML file there. New examples are kept only after `bot.staff.review_check` has
validated, retrained in a temporary directory and compared the old and the new model.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import logging
import signal
import tempfile
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Protocol

import yaml

from bot import PROJECT_DIR, config
from bot.knowledge.topics import NOT_IN_SOURCES, UNCLEAR_MESSAGE
from bot.staff.nlu_examples import (
    Addition,
    Refused,
    TrainingData,
    by_file,
    message_key,
    preview,
    restore,
    write_additions,
)
from bot.staff.personal_data import mask_personal_data
from bot.staff.report import FALLBACK_INTENT, event_data, read_events, topic_label, topic_of
from bot.staff.review_check import (
    CURRENT_MODEL,
    WORSE,
    Checks,
    RasaChecks,
    format_comparison,
    run_checks,
)

REVIEW_DIR = PROJECT_DIR / "review"
IGNORED_FILE = "ignored.yml"
QUESTIONS_FILE = "questions.yml"
LOW_CONFIDENCE = 0.6  # below it, the assistant's guess is worth a look
NOT_IN_SOURCES_START = NOT_IN_SOURCES.split("{", 1)[0]
# Why a message is listed (in the order shown).
REASONS = {
    "fallback": "non compris",
    "suggestions": "sujets proposés",
    "not_in_sources": "« pas dans les sources »",
    "low_confidence": "confiance faible",
}
# Intents staff cannot add examples to: not topics (the self-test's answers, the fallback
# itself) or read by the project's own components (places: annotated examples only).
NOT_TOPICS = {FALLBACK_INTENT, "answer", "inform_place"}
CONTEXT_BEFORE, CONTEXT_AFTER = 4, 3

log = logging.getLogger(__name__)


# --- reading the conversations ------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    speaker: str  # "user" or "bot"
    text: str


@dataclass
class Occurrence:
    sender: str
    index: int  # of the user's message in the conversation
    when: datetime
    text: str
    understood: str | None  # topic the assistant read, with its confidence
    reasons: set[str] = field(default_factory=set)


@dataclass
class Item:
    """One message to review: every occurrence of the same words."""

    key: str
    occurrences: list[Occurrence]

    @property
    def count(self) -> int:
        return len(self.occurrences)

    @property
    def text(self) -> str:
        """The most frequent wording (the first seen on a tie)."""
        return Counter(o.text for o in self.occurrences).most_common(1)[0][0]

    @property
    def variants(self) -> list[str]:
        return sorted({o.text for o in self.occurrences} - {self.text})

    @property
    def reasons(self) -> Counter[str]:
        return Counter(r for o in self.occurrences for r in o.reasons)

    def summary(self) -> str:
        reasons = self.reasons
        why = ", ".join(f"{REASONS[r]} ×{reasons[r]}" for r in REASONS if reasons[r])
        understood = Counter(o.understood for o in self.occurrences if o.understood)
        read = f" ; lu comme : {understood.most_common(1)[0][0]}" if understood else ""
        return f"{self.count} fois ({why}){read}"


def _confidence(parse_data: dict[str, Any]) -> float | None:
    """The lower of the intent's and, for a retrieval intent, the response selector's."""
    intent = parse_data.get("intent") or {}
    values = [intent.get("confidence")]
    selector = parse_data.get("response_selector") or {}
    chosen = selector.get(intent.get("name")) or {}
    values.append((chosen.get("response") or {}).get("confidence"))
    numbers = [float(v) for v in values if isinstance(v, (int, float))]
    return min(numbers) if numbers else None


def user_reasons(parse_data: dict[str, Any], threshold: float) -> set[str]:
    reasons = set()
    intent = (parse_data.get("intent") or {}).get("name")
    if intent == FALLBACK_INTENT:
        reasons.add("fallback")
    if intent == "not_in_sources":
        reasons.add("not_in_sources")
    confidence = _confidence(parse_data)
    if confidence is not None and confidence < threshold and intent != FALLBACK_INTENT:
        reasons.add("low_confidence")
    return reasons


def bot_reasons(text: str) -> set[str]:
    if text.startswith(UNCLEAR_MESSAGE):
        return {"suggestions"}
    if text.startswith(NOT_IN_SOURCES_START):
        return {"not_in_sources"}
    return set()


@dataclass
class Conversations:
    """What was said, per sender, and the user messages worth reviewing."""

    lines: dict[str, list[Line]] = field(default_factory=lambda: defaultdict(list))
    occurrences: list[Occurrence] = field(default_factory=list)

    def context(self, occurrence: Occurrence) -> list[Line]:
        lines = self.lines[occurrence.sender]
        start = max(0, occurrence.index - CONTEXT_BEFORE)
        return lines[start : occurrence.index + CONTEXT_AFTER + 1]


def _understood(parse_data: dict[str, Any]) -> str | None:
    topic = topic_of(parse_data)
    confidence = _confidence(parse_data)
    if not topic:
        return None
    label = topic_label(topic)  # « Qui peut candidater ? (faq/who_can_apply) »
    return f"{label}, confiance {confidence:.2f}" if confidence is not None else label


def read_conversations(
    db_url: str, since: datetime | None = None, threshold: float = LOW_CONFIDENCE
) -> Conversations:
    found = Conversations()
    latest: dict[str, Occurrence | None] = {}  # sender → its last user message, when listed
    for row in read_events(db_url, since):
        if row.type_name == "slot":
            continue
        data = event_data(row)
        text = str(data.get("text") or "")
        lines = found.lines[row.sender_id]
        if row.type_name == "bot":
            lines.append(Line("bot", text))
            pending = latest.get(row.sender_id)
            if pending is not None:
                pending.reasons |= bot_reasons(text)
            continue
        lines.append(Line("user", text))
        parse_data = data.get("parse_data") or {}
        if text.startswith("/"):  # a button: nothing to learn from its payload
            latest[row.sender_id] = None
            continue
        when = datetime.fromtimestamp(row.timestamp or 0, timezone.utc)
        occurrence = Occurrence(
            row.sender_id, len(lines) - 1, when, text, _understood(parse_data),
            user_reasons(parse_data, threshold),
        )  # fmt: skip
        found.occurrences.append(occurrence)
        latest[row.sender_id] = occurrence
    found.occurrences = [o for o in found.occurrences if o.reasons]
    return found


def group(occurrences: Iterable[Occurrence], skip: AbstractSet[str] = frozenset()) -> list[Item]:
    """Items, most frequent first (then the most recent); keys in `skip` left out."""
    grouped: dict[str, list[Occurrence]] = defaultdict(list)
    for occurrence in occurrences:
        key = message_key(occurrence.text)
        if key and state_id(key) not in skip:
            grouped[key].append(occurrence)
    items = [Item(key, found) for key, found in grouped.items()]
    return sorted(items, key=lambda i: (-i.count, -max(o.when for o in i.occurrences).timestamp()))


# --- the review files ---------------------------------------------------------------------

IGNORED_HEADER = """\
# Messages ignorés par `bot review` : ils ne sont plus proposés.
# key : empreinte du message (sans le texte, qui peut contenir des données personnelles) ;
# text : le message, données personnelles masquées. Retirer une entrée pour le revoir.
"""
QUESTIONS_HEADER = """\
# Questions que l'assistant devrait apprendre à traiter, relevées par `bot review`, pour les
# personnes qui rédigent les contenus (réponses, sources). count : nombre de fois où la question
# a été posée ; les plus fréquentes d'abord. Données personnelles masquées.
"""


def state_id(key: str) -> str:
    """What the review files keep of a message's key: a fingerprint, not the words."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def _read_list(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [
        e for e in yaml.safe_load(path.read_text(encoding="utf-8")) or [] if isinstance(e, dict)
    ]


def _dump(header: str, entries: list[dict[str, Any]]) -> str:
    body = (
        yaml.safe_dump(entries, allow_unicode=True, sort_keys=False, width=100) if entries else ""
    )
    return header + body


@dataclass
class ReviewFiles:
    """`review/ignored.yml` and `review/questions.yml`."""

    directory: Path = REVIEW_DIR

    @property
    def ignored_path(self) -> Path:
        return self.directory / IGNORED_FILE

    @property
    def questions_path(self) -> Path:
        return self.directory / QUESTIONS_FILE

    def ignored(self) -> list[dict[str, Any]]:
        return _read_list(self.ignored_path)

    def questions(self) -> list[dict[str, Any]]:
        return _read_list(self.questions_path)

    def seen(self) -> set[str]:
        """Messages already decided: ignored or marked as questions to learn."""
        return {str(e.get("key")) for e in [*self.ignored(), *self.questions()]}

    def ignored_text(self, items: list[Item]) -> str:
        entries = self.ignored() + [
            {"key": state_id(i.key), "text": mask_personal_data(i.text)} for i in items
        ]
        return _dump(IGNORED_HEADER, entries)

    def questions_text(self, items: list[Item], today: date, counts: dict[str, int]) -> str:
        """Existing questions with counts brought up to date from `counts` (state id → count in
        the store), plus `items`; most asked first."""
        entries = []
        for entry in self.questions():
            entry["count"] = max(int(entry.get("count") or 0), counts.get(str(entry["key"]), 0))
            entries.append(entry)
        for item in items:
            entry = {
                "key": state_id(item.key),
                "question": mask_personal_data(item.text),
                "count": item.count,
                "since": today.isoformat(),
            }
            if item.variants:
                entry["variants"] = [mask_personal_data(v) for v in item.variants]
            entries.append(entry)
        entries.sort(key=lambda e: -int(e["count"]))
        return _dump(QUESTIONS_HEADER, entries)


# --- decisions ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TopicChoice:
    intent: str
    title: str
    answer: str


def topic_choices(data: TrainingData) -> list[TopicChoice]:
    """The topics staff can teach, by their French title (`bot.staff.faq_sheet`), with their answer."""
    from bot.staff.faq_sheet import build_sheet

    known = data.intents() - NOT_TOPICS
    quiet = logging.getLogger("bot")
    level = quiet.level
    quiet.setLevel(logging.CRITICAL)  # without the place store, contact answers are generic: fine
    try:
        entries = [e for e in build_sheet() if e.intent in known]
    finally:
        quiet.setLevel(level)
    return [TopicChoice(e.intent, e.title, e.answers[0].text if e.answers else "") for e in entries]


@dataclass
class Decisions:
    additions: list[Addition] = field(default_factory=list)
    questions: list[Item] = field(default_factory=list)
    ignored: list[Item] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.additions or self.questions or self.ignored)


class Prompter(Protocol):
    """The keyboard questions of a review; questionary in a terminal, a script in tests."""

    def action(self, item: Item, position: str) -> str: ...

    def topic(self, choices: list[TopicChoice]) -> TopicChoice | None: ...

    def confirm(self, message: str, default: bool = True) -> bool: ...

    def edit(self, message: str, default: str) -> str | None: ...


ADD, LEARN, IGNORE, CONTEXT, SKIP, STOP = "add", "learn", "ignore", "context", "skip", "stop"
ACTIONS = {
    ADD: "Ajouter comme exemple d'un sujet existant",
    LEARN: "Question à apprendre (pour les rédacteurs)",
    IGNORE: "Ignorer (ne plus proposer)",
    CONTEXT: "Voir la conversation",
    SKIP: "Passer (décider plus tard)",
    STOP: "Terminer la revue",
}


def wrap(text: str, indent: str = "    ", first: str | None = None, width: int = 100) -> str:
    """`text` wrapped at `width`, every line after `indent`; the very first after `first`."""
    lines = []
    for number, line in enumerate(text.splitlines()):
        start = first if first is not None and number == 0 else indent
        lines.append(textwrap.fill(line, width, initial_indent=start, subsequent_indent=indent))
    return "\n".join(lines)


def show_context(conversations: Conversations, item: Item, say: Callable[[str], None]) -> None:
    for occurrence in item.occurrences[:3]:
        say(f"  Conversation {occurrence.sender} ({occurrence.when:%d/%m/%Y %H:%M} UTC) :")
        for number, line in enumerate(conversations.context(occurrence)):
            start = occurrence.index - min(occurrence.index, CONTEXT_BEFORE)
            mark = "→" if start + number == occurrence.index else " "
            who = "Usager" if line.speaker == "user" else "Assistant"
            say(wrap(line.text, " " * (len(who) + 9), f"    {mark} {who} : "))
    if item.count > 3:
        say(f"  … et {item.count - 3} autre(s) conversation(s).")


def acceptable_text(
    item: Item, data: TrainingData, prompter: Prompter, say: Callable[[str], None]
) -> str | None:
    """The message, or the staff's edit of it without personal data; None when refused."""
    text = item.text
    while True:
        try:
            data.check_text(text)
            return text
        except Refused as refusal:
            say(f"  Refusé : {refusal}.")
            if "données personnelles" not in str(refusal):
                return None
            edited = prompter.edit("Texte sans données personnelles :", mask_personal_data(text))
            if not edited:
                return None
            text = edited


def propose_addition(
    item: Item, data: TrainingData, prompter: Prompter, topics: list[TopicChoice],
    say: Callable[[str], None],
) -> Addition | None:  # fmt: skip
    text = acceptable_text(item, data, prompter, say)
    choice = prompter.topic(topics) if text else None
    if text is None or choice is None:
        return None
    say(f"  Réponse du sujet « {choice.title} » :")
    say(wrap(choice.answer))
    addition = data.check(choice.intent, text)
    if not prompter.confirm(f"Ajouter « {addition.text} » à « {choice.title} » ?"):
        return None
    data.remember(addition)
    return addition


def review_items(
    items: list[Item], conversations: Conversations, data: TrainingData, prompter: Prompter,
    say: Callable[[str], None] = print, topics: list[TopicChoice] | None = None,
) -> Decisions:  # fmt: skip
    decisions = Decisions()
    topics = topics if topics is not None else topic_choices(data)
    for number, item in enumerate(items, 1):
        say("")
        say(f"[{number}/{len(items)}] « {item.text} »")
        say(f"  {item.summary()}")
        if item.variants:
            say("  Aussi écrit : " + " | ".join(f"« {v} »" for v in item.variants[:5]))
        while True:
            action = prompter.action(item, f"{number}/{len(items)}")
            if action == CONTEXT:
                show_context(conversations, item, say)
                continue
            if action == ADD:
                addition = propose_addition(item, data, prompter, topics, say)
                if addition is None:
                    continue  # back to the choices for this message
                decisions.additions.append(addition)
            elif action == LEARN:
                decisions.questions.append(item)
            elif action == IGNORE:
                decisions.ignored.append(item)
            elif action == STOP:
                return decisions
            break
    return decisions


# --- the end: what is written, checked, kept ------------------------------------------------


def describe(decisions: Decisions, files: ReviewFiles) -> str:
    lines = []
    for path, group_ in by_file(decisions.additions).items():
        lines.append(f"{_shown(path)} : {len(group_)} exemple(s) ajouté(s)")
        lines += [f"  - {a.text}   [{a.intent}]" for a in group_]
    if decisions.questions:
        lines.append(f"{_shown(files.questions_path)} : {len(decisions.questions)} question(s)")
        lines += [f"  - {mask_personal_data(i.text)} ({i.count} fois)" for i in decisions.questions]
    if decisions.ignored:
        lines.append(
            f"{_shown(files.ignored_path)} : {len(decisions.ignored)} message(s) ignoré(s)"
        )
        lines += [f"  - {mask_personal_data(i.text)}" for i in decisions.ignored]
    return "\n".join(lines) or "Rien à écrire."


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(PROJECT_DIR))
    except ValueError:
        return str(path)


def write_review_files(
    decisions: Decisions, files: ReviewFiles, counts: dict[str, int], today: date
) -> None:
    files.directory.mkdir(parents=True, exist_ok=True)
    if decisions.ignored:
        files.ignored_path.write_text(files.ignored_text(decisions.ignored), encoding="utf-8")
    if decisions.questions or files.questions_path.exists():
        text = files.questions_text(decisions.questions, today, counts)
        files.questions_path.write_text(text, encoding="utf-8")


def keep_or_restore(
    decisions: Decisions, checks: Checks, prompter: Prompter, old_model: Path,
    say: Callable[[str], None] = print,
) -> bool:  # fmt: skip
    """Writes the examples, checks, keeps them only if the model is not worse and staff agree."""
    previous = write_additions(decisions.additions)
    kept = False
    try:
        with _exit_on_hangup():
            kept = _checked_and_accepted(checks, prompter, old_model, say)
    finally:  # refused, worse, failed, interrupted or terminal closed: the data as it was
        if not kept:
            restore(previous)
            say("Les fichiers de données sont restaurés : rien n'est gardé.")
    if kept:
        say("Exemples gardés. Relisez puis validez (git) les fichiers modifiés ; `make run`"
            " entraînera le nouveau modèle au prochain démarrage.")  # fmt: skip
    return kept


@contextlib.contextmanager
def _exit_on_hangup() -> Iterator[None]:
    """A closed terminal (SIGHUP) or a `kill` (SIGTERM) while the data files hold the new
    examples: exit through `finally`, which restores them, instead of dying on the spot."""

    def leave(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    previous = {sig: signal.signal(sig, leave) for sig in (signal.SIGHUP, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _checked_and_accepted(
    checks: Checks, prompter: Prompter, old_model: Path, say: Callable[[str], None]
) -> bool:
    with tempfile.TemporaryDirectory(prefix="spie-review-") as work:
        comparison = run_checks(checks, Path(work), old_model, say)
    if comparison is None:
        return False
    say(format_comparison(comparison))
    if comparison.verdict == WORSE:
        say("Le nouveau modèle est moins bon : les nouveaux exemples ne sont pas gardés.")
        return False
    return prompter.confirm("Garder les nouveaux exemples ?")


@dataclass
class Review:
    """One `bot review` session; every dependency can be replaced in tests."""

    db_url: str
    prompter: Prompter
    data: TrainingData = field(default_factory=TrainingData)
    files: ReviewFiles = field(default_factory=ReviewFiles)
    checks: Checks = field(default_factory=RasaChecks)
    old_model: Path = CURRENT_MODEL
    since: datetime | None = None
    threshold: float = LOW_CONFIDENCE
    dry_run: bool = False
    say: Callable[[str], None] = print
    topics: list[TopicChoice] | None = None
    today: date = field(default_factory=date.today)

    def items(self, conversations: Conversations) -> list[Item]:
        return group(conversations.occurrences, skip=self.files.seen())

    def run(self) -> int:
        conversations = read_conversations(self.db_url, self.since, self.threshold)
        items = self.items(conversations)
        total = sum(i.count for i in items)
        if not items:
            self.say("Aucun message à revoir : tout a été compris ou déjà traité.")
            return 0
        self.say(f"{total} message(s) à revoir, {len(items)} après regroupement des doublons.")
        decisions = review_items(
            items, conversations, self.data, self.prompter, self.say, self.topics
        )
        self.say("")
        self.say(describe(decisions, self.files))
        if self.dry_run:
            if decisions.additions:
                self.say("Ce qui serait écrit dans les données d'entraînement :")
                self.say(preview(decisions.additions, PROJECT_DIR).rstrip("\n"))
            self.say("Essai à blanc (--dry-run) : aucun fichier n'a été modifié.")
            return 0
        counts = {state_id(k): len(v) for k, v in _keys(conversations.occurrences).items()}
        write_review_files(decisions, self.files, counts, self.today)
        if decisions.additions:
            keep_or_restore(decisions, self.checks, self.prompter, self.old_model, self.say)
        return 0


def _keys(occurrences: Iterable[Occurrence]) -> dict[str, list[Occurrence]]:
    keyed: dict[str, list[Occurrence]] = defaultdict(list)
    for occurrence in occurrences:
        keyed[message_key(occurrence.text)].append(occurrence)
    return keyed


# --- the terminal -------------------------------------------------------------------------


class QuestionaryPrompter:
    """Arrow keys to choose, typing to search a topic; Ctrl-C ends the review."""

    def action(self, item: Item, position: str) -> str:
        import questionary

        choices = [questionary.Choice(label, value=key) for key, label in ACTIONS.items()]
        answer = questionary.select(
            f"Que faire de ce message ({position}) ?", choices, qmark="?",
            instruction="(flèches, Entrée)",
        ).ask()  # fmt: skip
        return answer or STOP

    def topic(self, choices: list[TopicChoice]) -> TopicChoice | None:
        import questionary

        by_title = {c.title: c for c in choices}
        title = questionary.autocomplete(
            "Sujet (tapez pour chercher, flèches pour choisir, Entrée ; vide : annuler) :",
            list(by_title),
            validate=lambda text: text in by_title or not text or "Choisissez un sujet de la liste",
            validate_while_typing=False,  # the list narrows while typing: no error meanwhile
        ).ask()
        return by_title.get(title or "")

    def confirm(self, message: str, default: bool = True) -> bool:
        import questionary

        choices = ["Oui", "Non"] if default else ["Non", "Oui"]  # the default first
        answer = questionary.select(message, choices, instruction="(flèches, Entrée)").ask()
        return bool(answer == "Oui")

    def edit(self, message: str, default: str) -> str | None:
        import questionary

        text = questionary.text(message, default=default).ask()
        return None if text is None else str(text)


def _run(args: argparse.Namespace) -> int:
    since = datetime.now(timezone.utc) - timedelta(days=args.days) if args.days else None
    review = Review(
        db_url=args.db_url or config.tracker_db_url(),
        prompter=QuestionaryPrompter(),
        files=ReviewFiles(args.review_dir),
        since=since,
        threshold=args.threshold,
        dry_run=args.dry_run,
    )
    try:
        return review.run()
    except KeyboardInterrupt:
        print("\nRevue interrompue.")
        return 130


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "review", help="revoir les messages mal compris et en faire des exemples d'entraînement"
    )
    parser.add_argument("--db-url", default=None, help="défaut : TRACKER_DB_URL ou var/tracker.db")
    parser.add_argument("--days", type=int, default=None, help="seulement les N derniers jours")
    parser.add_argument(
        "--threshold", type=float, default=LOW_CONFIDENCE,
        help=f"confiance sous laquelle un message est revu (défaut {LOW_CONFIDENCE})",
    )  # fmt: skip
    parser.add_argument("--review-dir", type=Path, default=REVIEW_DIR, help="défaut : review/")
    parser.add_argument(
        "--dry-run", action="store_true", help="montre ce qui serait écrit, n'écrit rien"
    )
    parser.set_defaults(func=_run)
