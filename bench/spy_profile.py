"""Reads py-spy's raw (collapsed) output: where the Rasa server spends its time under load.

`py-spy record --format raw` writes one line per distinct stack, root first, frames separated by
`;`, then a space and the number of samples:

    <module> (rasa/__main__.py:1);run (rasa/core/run.py:300);_save (sqlalchemy/orm/session.py:12) 7

`read_profile` gives
- the share of samples of named categories, inclusive: each stack is counted once, in the first
  category of CATEGORIES (in that order) that one of its frames matches, the frames walked from the
  root. The order puts what is called from inside another category first: jsonschema validating an
  action server's answer counts as jsonschema, not as the action server call; the ResponseSelector
  (a DIET subclass) before DIET; the tracker store before the SQLAlchemy it runs. Stacks with no
  matching frame are "other";
- the functions with the most self time: the leaf frame of each stack (function and file, lines
  merged).

Used by bench/benchmark.py (the profile phase); no server, no py-spy needed to read a file.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

OTHER = "other"
TOP_FUNCTIONS = 12


@dataclass(frozen=True)
class Frame:
    function: str
    filename: str  # as py-spy shows it (relative to its sys.path entry, "/" separators); "" if none
    line: int | None = None

    @property
    def parts(self) -> tuple[str, ...]:
        return tuple(self.filename.split("/"))

    @property
    def label(self) -> str:
        return f"{self.function} ({self.filename})" if self.filename else self.function


FRAME = re.compile(r"^(?P<function>.*) \((?P<filename>[^()]*?)(?::(?P<line>\d+))?\)$")


def parse_frame(text: str) -> Frame:
    """`run (rasa/core/actions/action.py:685)` → Frame("run", "rasa/core/actions/action.py", 685).
    Anything else (a thread or process label) is a frame with no file."""
    match = FRAME.match(text.strip())
    if not match:
        return Frame(text.strip(), "")
    line = match.group("line")
    return Frame(match.group("function"), match.group("filename"), int(line) if line else None)


def in_directory(*names: str) -> Callable[[Frame], bool]:
    """The file is under a directory of one of these names (`jsonschema/`, `spacy/`)."""
    return lambda frame: any(name in frame.parts[:-1] for name in names)


def file_named(*names: str) -> Callable[[Frame], bool]:
    """The file's path ends with one of these (`ted_policy.py`, `rasa_ext/stores.py`)."""
    return lambda frame: any(
        frame.parts[-len(name.split("/")) :] == tuple(name.split("/")) for name in names
    )


def remote_action(frame: Frame) -> bool:
    """The call to the action server: RemoteAction, or an action's `run` in core/actions/action.py."""
    return "RemoteAction" in frame.function or (
        file_named("core/actions/action.py")(frame) and frame.function.split(".")[-1] == "run"
    )


# In this order: a stack matching two categories counts for the first.
CATEGORIES: list[tuple[str, Callable[[Frame], bool]]] = [
    ("jsonschema", in_directory("jsonschema")),
    ("ResponseSelector", file_named("response_selector.py")),
    ("TEDPolicy", file_named("ted_policy.py")),
    ("DIET", file_named("diet_classifier.py")),
    ("spaCy", in_directory("spacy", "thinc")),
    ("tracker store", file_named("tracker_store.py", "rasa_ext/stores.py")),
    ("action server call", remote_action),
    ("SQLAlchemy", in_directory("sqlalchemy")),
]
CATEGORY_NAMES = [name for name, _ in CATEGORIES] + [OTHER]


def category(stack: list[Frame]) -> str:
    """The first category of CATEGORIES that a frame of the stack (root first) matches."""
    for name, matches in CATEGORIES:
        if any(matches(frame) for frame in stack):
            return name
    return OTHER


@dataclass(frozen=True)
class Share:
    name: str
    samples: int
    share: float  # of all samples, 0-1


@dataclass(frozen=True)
class Profile:
    samples: int
    stacks: int
    categories: list[Share]  # every category, in CATEGORY_NAMES order, "other" last
    top_self: list[Share]  # functions by self time, most first

    def category_share(self, name: str) -> float:
        return next((c.share for c in self.categories if c.name == name), 0.0)


def parse_lines(lines: Iterable[str]) -> list[tuple[list[Frame], int]]:
    """(frames root first, samples) per line; blank or malformed lines are skipped."""
    stacks = []
    for raw in lines:
        line = raw.rstrip("\n")
        stack, _, count = line.rpartition(" ")
        if not stack.strip() or not count.isdigit():
            continue
        stacks.append(([parse_frame(frame) for frame in stack.split(";")], int(count)))
    return stacks


def summarize(stacks: list[tuple[list[Frame], int]], top: int = TOP_FUNCTIONS) -> Profile:
    total = sum(count for _, count in stacks)
    by_category: Counter[str] = Counter()
    by_leaf: Counter[str] = Counter()
    for frames, count in stacks:
        by_category[category(frames)] += count
        by_leaf[frames[-1].label] += count

    def share(samples: int) -> float:
        return samples / total if total else 0.0

    return Profile(
        samples=total,
        stacks=len(stacks),
        categories=[
            Share(name, by_category[name], share(by_category[name])) for name in CATEGORY_NAMES
        ],
        top_self=[
            Share(label, samples, share(samples))
            for label, samples in sorted(by_leaf.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
        ],
    )


def read_profile(path: Path, top: int = TOP_FUNCTIONS) -> Profile:
    """The profile of a py-spy raw file."""
    with path.open(encoding="utf-8", errors="replace") as lines:
        return summarize(parse_lines(lines), top)
