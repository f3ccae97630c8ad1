"""The blind end-to-end evaluation: every item of tests/eval/*.yml sent to a live assistant over
REST, the reply judged by its content, and a table per category.

    .venv/bin/python -m tests.eval.evaluate --url http://127.0.0.1:5005   # against `make run`
    .venv/bin/python -m tests.eval.evaluate --model PATH.tar.gz  # starts its own servers (bot review)
    .venv/bin/python -m tests.eval.evaluate --model models/current.tar.gz --items fresh/batch3.yml

`make test` runs it against the session's assistant (tests/live/test_live_eval.py) and fails under
MIN_OVERALL overall or MIN_CATEGORY in any category: the product's target (issue 11). On
2026-12-07: 99.4 % overall, weakest category 97.8 % (CI machine's model), 98.9 % and 96.7 % with a
model trained on another machine; the README gives the
figures with other seeds and on the fresh batches (FRESH_FILES), which measure what this set, tuned
on over several sessions, no longer can.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.eligibility.rules import load_rules, numbered_question, required_slots

EVAL_DIR = Path(__file__).resolve().parent
ROOT = EVAL_DIR.parent.parent
ITEM_FILES = ("questions.yml", "places.yml")
# Later batches written blind the same way, measured with `--items` and reported in the README,
# not gated by `make test`: each measures the assistant on messages nobody tuned it on, until a
# session tunes on it (its header says when it was written and measured).
FRESH_FILES = (
    "fresh/batch2.yml",
    "fresh/batch3.yml",
    "fresh/batch4.yml",
    "fresh/batch5.yml",
    "fresh/batch6.yml",
    "fresh/batch7.yml",
)
MIN_OVERALL = 0.95
MIN_CATEGORY = 0.90
# A reply about one département: « Allier (03) — vos interlocuteurs… », « Gironde (33) : ce… »
CARD = re.compile(r"\(((?:\d{2,3})|2[AB])\) (?:—|:) ")
PLACE_TOPICS = {"contact", "territory_status"}

Say = Callable[[str, str], list[dict[str, Any]]]


@dataclass(frozen=True)
class Item:
    id: str
    category: str
    text: str
    expect: str
    before: tuple[str, ...] = ()
    place: str | None = None
    places: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()  # generated items: exact strings the reply must show


@dataclass
class Outcome:
    item: Item
    passed: bool
    why: str = ""
    reply: str = ""


def load_items(files: Iterable[str] = ITEM_FILES, *, buttons: bool = True) -> list[Item]:
    """The items of `files` (names under tests/eval/), and the quick-reply clicks."""
    items = []
    for name in files:
        raw = yaml.safe_load((EVAL_DIR / name).read_text(encoding="utf-8"))
        for entry in raw["items"]:
            items.append(
                Item(
                    id=str(entry["id"]),
                    category=str(entry["category"]),
                    text=str(entry["text"]),
                    expect=str(entry["expect"]),
                    before=tuple(str(b) for b in entry.get("before") or ()),
                    place=str(entry["place"]) if entry.get("place") else None,
                    places=tuple(str(p) for p in entry.get("places") or ()),
                )
            )
    return items + button_items() if buttons else items


def button_items() -> list[Item]:
    """Quick-reply clicks: each menu topic, and each answer to the self-test's first question."""
    topics = yaml.safe_load((ROOT / "bot/data/topics.yml").read_text(encoding="utf-8"))
    expect_of = {
        "ask_dates": "dates",
        "ask_territory_status": "territory_status",
        "ask_contact": "contact",
        "check_eligibility": "eligibility",
        "help": "help",
    }
    items = [
        Item(
            f"click-topic-{key}",
            "clicks",
            value["payload"],
            key.removeprefix("faq/") if key.startswith("faq/") else expect_of[key],
        )
        for key, value in topics.items()
    ]

    # After the first answer comes the next question this structure gets, with its number.
    def next_question(value: str) -> str:
        answers = {"structure_type": value}
        return numbered_question(required_slots(answers)[1], answers)

    question = load_rules().question("structure_type")
    for _, value in question.buttons:
        items.append(
            Item(
                f"click-structure-{value}",
                "clicks",
                f"/answer{json.dumps({'choice': value})}",
                "self_test",
                before=("/check_eligibility",),
                contains=(next_question(value),),
            )
        )
    return items


def judge(item: Item, reply: str, expectations: dict[str, Any]) -> tuple[bool, str]:
    never = expectations.get("never", {})
    for topic, strings in never.items():
        if item.expect != topic and any(s in reply for s in strings):
            return False, f"says {strings[0]!r}"
    if item.contains:
        missing = [s for s in item.contains if s not in reply]
        return (not missing, f"missing {missing[0]!r}" if missing else "")
    cards = set(CARD.findall(reply))
    wanted = {item.place} if item.place else set(item.places)
    if item.expect in PLACE_TOPICS and wanted:
        return judge_place(reply, cards, wanted, single=item.place is not None)
    if cards and item.expect not in PLACE_TOPICS | {"eligibility"}:
        return False, f"gives the card of {sorted(cards)}"
    if item.expect in PLACE_TOPICS and cards:
        return False, f"guesses a place {sorted(cards)} the message does not give"
    rule = expectations["topics"][item.expect]
    if not any(s in reply for s in rule.get("any", ())):
        return False, f"not the {item.expect} answer"
    bad = [s for s in rule.get("none", ()) if s in reply]
    return (not bad, f"says {bad[0]!r}" if bad else "")


def judge_place(reply: str, cards: set[str], wanted: set[str], *, single: bool) -> tuple[bool, str]:
    """The right département's card, or a question whose choices include it; never another."""
    wrong = cards - wanted
    if wrong:
        return False, f"WRONG PLACE {sorted(wrong)} (expected {sorted(wanted)})"
    if single and cards == wanted:
        return True, ""
    offered = set(re.findall(r'"place": "(\w+)"', reply))
    if offered and offered <= wanted | set() and (offered & wanted):
        return True, ""
    if single and wanted <= offered:
        return True, ""
    if not single and len(cards) == 1 and len(wanted) == 1:
        return True, ""
    return (
        False,
        f"no card nor choice for {sorted(wanted)} (cards {sorted(cards)}, offered {sorted(offered)[:6]})",
    )


def normalised(text: str) -> str:
    """Lower case, no accents, no entity markup, words only: to compare messages."""
    import unicodedata

    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = unicodedata.normalize("NFKD", text.lower())
    text = "".join(char for char in text if not unicodedata.combining(char))
    return " ".join(re.findall(r"[a-z0-9]+", text))


def reply_text(replies: list[dict[str, Any]]) -> str:
    """Texts and buttons (title and payload) of a turn's replies, as one string."""
    parts = []
    for reply in replies:
        parts.append(reply.get("text") or "")
        for button in reply.get("buttons") or []:
            parts.append(f"[{button.get('title')}] {button.get('payload')}")
    return "\n".join(parts)


def run_item(say: Say, item: Item, expectations: dict[str, Any]) -> Outcome:
    sender = f"eval-{uuid.uuid4().hex[:12]}"
    try:
        for message in item.before:
            say(sender, message)
        reply = reply_text(say(sender, item.text))
    except Exception as error:  # a failed request is a failed item, reported
        return Outcome(item, False, f"request failed: {error}")
    passed, why = judge(item, reply, expectations)
    return Outcome(item, passed, why, reply)


def evaluate(say: Say, items: list[Item] | None = None, workers: int = 4) -> list[Outcome]:
    items = items if items is not None else load_items()
    expectations = yaml.safe_load((EVAL_DIR / "expectations.yml").read_text(encoding="utf-8"))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda item: run_item(say, item, expectations), items))


def table(outcomes: list[Outcome]) -> str:
    by_category: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_category[outcome.item.category].append(outcome)
    lines = [f"{'category':<12} {'right':>7} {'items':>6} {'share':>7}"]
    for category in sorted(by_category):
        group = by_category[category]
        right = sum(o.passed for o in group)
        lines.append(f"{category:<12} {right:>7} {len(group):>6} {right / len(group):>7.1%}")
    right = sum(o.passed for o in outcomes)
    lines.append(f"{'overall':<12} {right:>7} {len(outcomes):>6} {right / len(outcomes):>7.1%}")
    lines.append(f"required: {MIN_OVERALL:.0%} overall, {MIN_CATEGORY:.0%} in each category")
    return "\n".join(lines)


def shares(outcomes: list[Outcome]) -> tuple[float, dict[str, float]]:
    by_category: dict[str, list[bool]] = defaultdict(list)
    for outcome in outcomes:
        by_category[outcome.item.category].append(outcome.passed)
    overall = sum(o.passed for o in outcomes) / len(outcomes)
    return overall, {c: sum(v) / len(v) for c, v in by_category.items()}


def failures(outcomes: list[Outcome], limit: int = 400) -> str:
    lines = []
    for outcome in [o for o in outcomes if not o.passed][:limit]:
        first = outcome.reply.replace("\n", " ⏎ ")[:150]
        lines.append(
            f"- {outcome.item.id} [{outcome.item.expect}] {outcome.item.text[:80]!r}: {outcome.why} | {first}"
        )
    return "\n".join(lines)


def rest_say(url: str) -> Say:
    import urllib.request

    def say(sender: str, text: str) -> list[dict[str, Any]]:
        body = json.dumps({"sender": sender, "message": text}).encode()
        request = urllib.request.Request(
            f"{url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    return say


def evaluate_model(model: Path, items: list[Item] | None = None) -> list[Outcome]:
    """The evaluation against an action server and a Rasa server started for `model`."""
    import tempfile

    from tests.servers import Assistant

    with tempfile.TemporaryDirectory(prefix="spie-eval-") as workdir:
        assistant = Assistant(Path(workdir), model=model.resolve()).start()
        try:
            return evaluate(rest_say(assistant.url), items)
        finally:
            assistant.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:5005")
    parser.add_argument("--model", type=Path, help="start servers with this model (not --url)")
    parser.add_argument("--failures", action="store_true", help="list the failed items")
    parser.add_argument(
        "--items", nargs="+", help=f"these item files instead (under tests/eval/: {FRESH_FILES})"
    )
    parser.add_argument("--json", help="write every outcome to this file")
    args = parser.parse_args(argv)
    items = load_items(args.items, buttons=False) if args.items else None
    outcomes = (
        evaluate_model(args.model, items) if args.model else evaluate(rest_say(args.url), items)
    )
    print(table(outcomes))
    if args.failures:
        print(failures(outcomes))
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    {
                        "id": o.item.id,
                        "category": o.item.category,
                        "expect": o.item.expect,
                        "passed": o.passed,
                        "why": o.why,
                        "text": o.item.text,
                        "reply": o.reply,
                    }
                    for o in outcomes
                ],
                ensure_ascii=False,
                indent=1,
            ),
            encoding="utf-8",
        )
    overall, categories = shares(outcomes)
    return 0 if overall >= MIN_OVERALL and min(categories.values()) >= MIN_CATEGORY else 1


if __name__ == "__main__":
    sys.exit(main())
