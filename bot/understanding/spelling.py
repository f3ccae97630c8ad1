"""Texting spellings (« ki pe candidaté », « la selection c qd ») read as the words they stand
for, so that the classifiers, trained on ordinary French, see ordinary French. The forms are in
bot/data/spelling.yml."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

from bot import DATA_DIR
from bot.text import fold

SPELLING_FILE = DATA_DIR / "spelling.yml"
# A word: letters and digits (« combi1 »), not inside an apostrophe form (« c'est » keeps its c).
_WORD = re.compile(r"(?<![\w'’])[^\W_]+(?![\w'’])")


@lru_cache(maxsize=4)
def load_forms(path: Path = SPELLING_FILE) -> dict[str, str]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {fold(str(form)): str(words) for form, words in raw["words"].items()}


def standard_spelling(text: str, forms: dict[str, str] | None = None) -> str:
    """`text` with each texting form replaced by its words; the rest as written."""
    forms = load_forms() if forms is None else forms
    return _WORD.sub(lambda m: forms.get(fold(m.group()), m.group()), text)
