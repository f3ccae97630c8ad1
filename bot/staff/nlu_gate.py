"""NLU quality gate over the held-out set: `bot nlu-gate results/nlu`.

Reads the reports written by `rasa test nlu` and fails when intent macro-F1 is below the
threshold or any single intent is below its floor. Retrieval intents (faq/*) are scored by the
ResponseSelector report, since that is what picks the answer a user sees.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MACRO_F1_MIN = 0.95
INTENT_F1_MIN = 0.85
AGGREGATE_KEYS = {"accuracy", "macro avg", "weighted avg", "micro avg"}


@dataclass(frozen=True)
class GateResult:
    scores: dict[str, float]  # label -> F1
    support: dict[str, int]
    macro_f1: float
    worst: tuple[str, float]
    passed: bool


def _per_label(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in report.items() if k not in AGGREGATE_KEYS and isinstance(v, dict)}


def load_scores(results_dir: Path) -> tuple[dict[str, float], dict[str, int]]:
    intents = _per_label(json.loads((results_dir / "intent_report.json").read_text()))
    labels = dict(intents)
    selector_file = results_dir / "response_selection_report.json"
    if selector_file.exists():
        labels.update(_per_label(json.loads(selector_file.read_text())))
    # nlu_fallback is a prediction, not an intent of the held-out set.
    labels = {k: v for k, v in labels.items() if v.get("support", 0) > 0}
    return (
        {label: float(v["f1-score"]) for label, v in labels.items()},
        {label: int(v["support"]) for label, v in labels.items()},
    )


def evaluate(
    scores: dict[str, float],
    support: dict[str, int],
    macro_min: float = MACRO_F1_MIN,
    intent_min: float = INTENT_F1_MIN,
) -> GateResult:
    if not scores:
        raise ValueError("aucune intention évaluée : le rapport est vide")
    macro = sum(scores.values()) / len(scores)
    worst = min(scores.items(), key=lambda item: item[1])
    return GateResult(scores, support, macro, worst, macro >= macro_min and worst[1] >= intent_min)


def format_result(
    result: GateResult, macro_min: float = MACRO_F1_MIN, intent_min: float = INTENT_F1_MIN
) -> str:
    lines = [f"{'intention':38} {'F1':>6} {'n':>4}"]
    for label, f1 in sorted(result.scores.items(), key=lambda item: item[1]):
        flag = "  <-- sous le seuil" if f1 < intent_min else ""
        lines.append(f"{label:38} {f1:6.3f} {result.support[label]:4d}{flag}")
    lines.append(
        f"macro-F1 = {result.macro_f1:.3f} (seuil {macro_min}) ; pire intention : "
        f"{result.worst[0]} = {result.worst[1]:.3f} (seuil {intent_min}) ; "
        f"{'RÉUSSI' if result.passed else 'ÉCHEC'}"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    scores, support = load_scores(Path(args.results_dir))
    result = evaluate(scores, support, args.macro_min, args.intent_min)
    print(format_result(result, args.macro_min, args.intent_min))
    target = evaluate(scores, support)
    if (args.macro_min, args.intent_min) != (MACRO_F1_MIN, INTENT_F1_MIN):
        verdict = "atteinte" if target.passed else "NON ATTEINTE"
        print(
            f"Cible du projet (macro-F1 ≥ {MACRO_F1_MIN}, chaque intention ≥ {INTENT_F1_MIN}) : {verdict}"
        )
    return 0 if result.passed else 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("nlu-gate", help="Seuils de qualité NLU sur le jeu réservé.")
    parser.add_argument("results_dir", nargs="?", default="results/nlu")
    parser.add_argument("--macro-min", type=float, default=MACRO_F1_MIN, help="seuil du macro-F1")
    parser.add_argument(
        "--intent-min", type=float, default=INTENT_F1_MIN, help="seuil par intention"
    )
    parser.set_defaults(func=run)
