"""Adding user messages as training examples in `data/nlu/`, the way a careful person would.

Each example goes into the first block of its intent, in the file that holds it, at the end of the
block; the file is rewritten through ruamel.yaml's round trip, so its comments, order, quotes and
indentation stay as they were (a file read and written back unchanged is byte for byte the same).
An example is refused when it is already a training example (of any intent: the same words
under two intents would teach a contradiction), when it is an evaluation message under `tests/`
(the held-out figures would no longer be blind), or when it contains personal data.
"""

from __future__ import annotations

import difflib
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from bot import PROJECT_DIR
from bot.staff.faq_sheet import file_examples, load_examples
from bot.staff.personal_data import find_personal_data
from bot.text import fold

NLU_DIR = PROJECT_DIR / "data" / "nlu"
TESTS_DIR = PROJECT_DIR / "tests"
# Evaluation messages: never training examples (tests/eval/*.yml, the held-out set, the stories).
EVAL_ITEM_FILES = ("eval/questions.yml", "eval/places.yml")
HOLDOUT_FILE = "nlu_holdout.yml"
TEST_STORIES_FILE = "test_stories.yml"
_NOT_WORDS = re.compile(r"[^\w']+")


def message_key(text: str) -> str:
    """What two messages share when they say the same thing: folded (`bot.text.fold`), without
    punctuation; « Qui peut candidater ? » and « qui peut candidater » have one key."""
    return " ".join(_NOT_WORDS.sub(" ", fold(text)).split())


def as_example(text: str) -> str:
    """A user message as one example line: one line, and no brackets, which Rasa would read as
    an entity annotation (« [Allier](place) »)."""
    text = text.replace("[", "(").replace("]", ")").replace("{", "(").replace("}", ")")
    return " ".join(text.split())


class Refused(ValueError):
    """The example cannot be written; the message says why, in French, for staff."""


@dataclass(frozen=True)
class Addition:
    intent: str
    text: str
    path: Path


def _user_steps(story_file: Path) -> list[str]:
    raw = yaml.safe_load(story_file.read_text(encoding="utf-8")) or {}
    return [
        str(step["user"]).strip()
        for story in raw.get("stories") or []
        for step in story.get("steps") or []
        if isinstance(step, dict) and step.get("user")
    ]


def evaluation_messages(tests_dir: Path = TESTS_DIR) -> list[str]:
    """Every message the evaluations send: blind set, held-out NLU set, conversation tests."""
    messages: list[str] = []
    for name in EVAL_ITEM_FILES:
        raw = yaml.safe_load((tests_dir / name).read_text(encoding="utf-8")) or {}
        for item in raw.get("items") or []:
            messages += [str(item["text"]), *(str(b) for b in item.get("before") or ())]
    for examples in file_examples(tests_dir / HOLDOUT_FILE).values():
        messages += examples
    return messages + _user_steps(tests_dir / TEST_STORIES_FILE)


def _round_trip(path: Path) -> YAML:
    handler = YAML()
    # ruamel.yaml 0.17 annotates both attributes as None: its own defaults, not their types.
    handler.preserve_quotes = True  # type: ignore[assignment]
    handler.width = 4096  # type: ignore[assignment]  # never fold a long line
    if re.search(r"^  - intent:", path.read_text(encoding="utf-8"), re.MULTILINE):
        handler.indent(mapping=2, sequence=4, offset=2)  # files whose list is indented
    return handler


class TrainingData:
    """The examples of `data/nlu/` and the evaluation messages, to check and add examples."""

    def __init__(self, nlu_dir: Path = NLU_DIR, tests_dir: Path = TESTS_DIR) -> None:
        self.nlu_dir = nlu_dir
        self.tests_dir = tests_dir

    @cached_property
    def intent_of_key(self) -> dict[str, str]:
        """message_key of every example → its intent."""
        return {
            message_key(text): intent
            for intent, texts in load_examples(self.nlu_dir).items()
            for text in texts
        }

    @cached_property
    def evaluation_keys(self) -> set[str]:
        return {message_key(text) for text in evaluation_messages(self.tests_dir)}

    def intents(self) -> set[str]:
        return set(self.intent_of_key.values())

    def file_of(self, intent: str) -> Path:
        """The file holding the first block of `intent`."""
        for path in sorted(self.nlu_dir.glob("*.yml")):
            blocks = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("nlu") or []
            if any(isinstance(b, dict) and b.get("intent") == intent for b in blocks):
                return path
        raise Refused(f"l'intention {intent} n'a aucun exemple dans {self.nlu_dir}")

    def check(self, intent: str, text: str) -> Addition:
        """The addition, or `Refused` with the reason."""
        example = self.check_text(text)
        return Addition(intent, example, self.file_of(intent))

    def check_text(self, text: str) -> str:
        """The example line for `text`, whatever its intent, or `Refused` with the reason."""
        example = as_example(text)
        key = message_key(example)
        if not key:
            raise Refused("le message ne contient aucun mot")
        personal = find_personal_data(example)
        if personal:
            raise Refused(f"données personnelles ({', '.join(personal)}) : à retirer avant l'ajout")
        if key in self.intent_of_key:
            raise Refused(f"déjà un exemple d'entraînement (intention {self.intent_of_key[key]})")
        if key in self.evaluation_keys:
            raise Refused("c'est un message des évaluations (tests/) : il doit rester inédit")
        return example

    def remember(self, addition: Addition) -> None:
        """Later checks see this addition as an existing example (no duplicate in one session)."""
        self.intent_of_key[message_key(addition.text)] = addition.intent


def render_with(path: Path, additions: Iterable[Addition]) -> str:
    """The text of `path` with `additions` at the end of the first block of their intent."""
    handler = _round_trip(path)
    document: Any = handler.load(path.read_text(encoding="utf-8"))
    for addition in additions:
        block = next(b for b in document["nlu"] if b.get("intent") == addition.intent)
        examples = str(block.get("examples") or "")
        if examples and not examples.endswith("\n"):
            examples += "\n"
        block["examples"] = LiteralScalarString(f"{examples}- {addition.text}\n")
    out = io.StringIO()
    handler.dump(document, out)
    return out.getvalue()


def by_file(additions: Iterable[Addition]) -> dict[Path, list[Addition]]:
    grouped: dict[Path, list[Addition]] = {}
    for addition in additions:
        grouped.setdefault(addition.path, []).append(addition)
    return grouped


def preview(additions: Iterable[Addition], root: Path) -> str:
    """What `write_additions` would change, as a unified diff (paths relative to `root`)."""
    parts: list[str] = []
    for path, group in by_file(additions).items():
        relative = path.is_relative_to(root)
        name = str(path.relative_to(root)) if relative else str(path)
        parts += difflib.unified_diff(
            path.read_text(encoding="utf-8").splitlines(True),
            render_with(path, group).splitlines(True),
            f"a/{name}" if relative else name,
            f"b/{name}" if relative else name,
        )
    return "".join(parts)


def write_additions(additions: Iterable[Addition]) -> dict[Path, str]:
    """Writes the additions; returns each touched file's previous text (to restore it)."""
    previous: dict[Path, str] = {}
    for path, group in by_file(additions).items():
        previous[path] = path.read_text(encoding="utf-8")
        path.write_text(render_with(path, group), encoding="utf-8")
    return previous


def restore(previous: dict[Path, str]) -> None:
    for path, text in previous.items():
        path.write_text(text, encoding="utf-8")
