"""One source for each fact: the call's dates and counts live in bot/data/call.yml, and every
answer text names them through a {placeholder}. A literal date or count of the call written
anywhere else in an answer would not follow a change of the data file."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from bot import PROJECT_DIR
from bot.knowledge.facts import FACT_PLACEHOLDER, facts, fill_facts

FACTS = facts()
COUNT_WORDS = r"(?:territoires?|projets?|expérimentations?|de plus)"
# The call's name (« l'AMI SPIE 2021 ») is a name, written out in the fixed texts (greeting, help).
NAMES = ("call_name",)
COUNTS = ("territories_planned", "territories_retained", "experiments", "first_call_territories")
ANSWER_DATA = [
    PROJECT_DIR / "domain.yml",
    *(PROJECT_DIR / "bot" / "data").glob("*.yml"),
]
CODE = [
    path
    for folder in ("bot", "actions", "rasa_ext")
    for path in (PROJECT_DIR / folder).rglob("*.py")
]


def literals() -> list[re.Pattern[str]]:
    """What a fact looks like written out: its words (dates, months) and its counts."""
    written = [
        re.escape(value)
        for key, value in FACTS.items()
        if any(ch.isdigit() for ch in value) and key not in (*NAMES, *COUNTS, "france_travail_year")
    ]
    counts = [rf"\b{re.escape(FACTS[key])}\s+{COUNT_WORDS}" for key in COUNTS]
    year = [rf"depuis\s+{FACTS['france_travail_year']}\b"]
    return [re.compile(p, re.IGNORECASE) for p in (*written, *counts, *year)]


def yaml_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in yaml_strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in yaml_strings(item)]
    return []


def code_strings(path: Path) -> list[str]:
    """String constants of a module, docstrings left out (they explain, they do not answer)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def offending(texts: list[str]) -> list[str]:
    return [text for text in texts for pattern in literals() if pattern.search(text)]


@pytest.mark.parametrize("path", ANSWER_DATA, ids=lambda p: p.name)
def test_answer_texts_name_the_facts_through_placeholders(path: Path):
    texts = yaml_strings(yaml.safe_load(path.read_text(encoding="utf-8")))
    if path.name == "call.yml":  # the one home of the facts
        return
    assert offending(texts) == []


@pytest.mark.parametrize("path", CODE, ids=lambda p: str(p.relative_to(PROJECT_DIR)))
def test_code_never_writes_a_fact_of_the_call(path: Path):
    assert offending(code_strings(path)) == []


def test_every_placeholder_of_an_answer_is_a_known_fact():
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    texts = [
        variation.get("text") or ""
        for variations in domain["responses"].values()
        for variation in variations
    ]
    names = {match for text in texts for match in FACT_PLACEHOLDER.findall(text)}
    assert names and names <= set(FACTS)
    assert all(not FACT_PLACEHOLDER.search(fill_facts(text)) for text in texts)


def test_a_changed_fact_reaches_the_answers(tmp_path: Path):
    from bot.knowledge.facts import CALL_FILE, load_call

    changed = CALL_FILE.read_text(encoding="utf-8").replace("retained: 34", "retained: 36")
    (tmp_path / "call.yml").write_text(changed, encoding="utf-8")
    call = load_call(tmp_path / "call.yml")
    assert "36 territoires" in fill_facts("{territories_retained} territoires", call)
