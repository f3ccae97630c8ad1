"""What `bot review` runs before new examples are kept: validate, retrain, compare old and new.

The steps are behind `Checks` so tests inject fakes (a training takes ≈ 8 minutes).
`RasaChecks` runs the real ones in subprocesses (`bot/` never imports rasa): `rasa data validate`,
`rasa train` into a temporary directory (never `models/`), `rasa test nlu` on the held-out set read
by `bot.staff.nlu_gate`, and the blind evaluation set (`tests.eval.evaluate --model`) for each model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bot import PROJECT_DIR
from bot.staff.nlu_gate import INTENT_F1_MIN, MACRO_F1_MIN, GateResult, evaluate, load_scores

CURRENT_MODEL = PROJECT_DIR / "models" / "current.tar.gz"
HOLDOUT = PROJECT_DIR / "tests" / "nlu_holdout.yml"
MOVE = 0.01  # an F1 or a share that changes by less is noise, not a move
# As `ensure_model` in scripts/common.sh trains: repeatable (Python's string hashing and
# TensorFlow's threaded ops fixed), so the candidate differs from the current model by the new
# examples only, and is the very model `make run` will train from the kept data.
REPEATABLE_TRAINING = {"PYTHONHASHSEED": "0", "TF_DETERMINISTIC_OPS": "1"}


@dataclass(frozen=True)
class ModelScores:
    holdout: GateResult
    eval_topics: dict[str, tuple[int, int]]  # expected topic → (right, items)

    @property
    def eval_right(self) -> int:
        return sum(right for right, _ in self.eval_topics.values())

    @property
    def eval_items(self) -> int:
        return sum(items for _, items in self.eval_topics.values())

    @property
    def eval_share(self) -> float:
        return self.eval_right / self.eval_items if self.eval_items else 0.0


class Checks(Protocol):
    def validate(self) -> tuple[bool, str]: ...

    def train(self, out_dir: Path) -> Path: ...

    def scores(self, model: Path, work_dir: Path) -> ModelScores: ...


def eval_topics(outcomes: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Outcomes written by `tests.eval.evaluate --json` → expected topic → (right, items)."""
    topics: dict[str, tuple[int, int]] = {}
    for outcome in outcomes:
        right, items = topics.get(outcome["expect"], (0, 0))
        topics[outcome["expect"]] = (right + bool(outcome["passed"]), items + 1)
    return topics


class RasaChecks:
    """The real steps, as staff would type them."""

    def __init__(self, project_dir: Path = PROJECT_DIR, bin_dir: Path | None = None) -> None:
        self.project_dir = project_dir
        self.bin_dir = bin_dir or Path(sys.executable).parent  # the venv's rasa and python

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command,
            cwd=self.project_dir,
            env={**os.environ, **REPEATABLE_TRAINING},
            capture_output=True,
            text=True,
            check=False,
        )

    def validate(self) -> tuple[bool, str]:
        done = self._run(str(self.bin_dir / "rasa"), "data", "validate", "--fail-on-warnings")
        return done.returncode == 0, (done.stdout + done.stderr)[-3000:]

    def train(self, out_dir: Path) -> Path:
        done = self._run(
            str(self.bin_dir / "rasa"), "train", "--out", str(out_dir),
            "--fixed-model-name", "candidat",
        )  # fmt: skip
        model = out_dir / "candidat.tar.gz"
        if done.returncode != 0 or not model.exists():
            raise RuntimeError(f"l'entraînement a échoué :\n{(done.stdout + done.stderr)[-3000:]}")
        return model

    def scores(self, model: Path, work_dir: Path) -> ModelScores:
        work_dir.mkdir(parents=True, exist_ok=True)
        results = work_dir / "holdout"
        self._run(
            str(self.bin_dir / "rasa"), "test", "nlu", "--nlu", str(HOLDOUT),
            "--model", str(model), "--out", str(results),
        )  # fmt: skip
        outcomes = work_dir / "eval.json"
        self._run(
            str(self.bin_dir / "python"), "-m", "tests.eval.evaluate", "--model", str(model),
            "--json", str(outcomes),
        )  # fmt: skip
        if not outcomes.exists():
            raise RuntimeError(f"l'évaluation du modèle {model} n'a rien produit")
        holdout = evaluate(*load_scores(results))
        return ModelScores(holdout, eval_topics(json.loads(outcomes.read_text(encoding="utf-8"))))


# --- the verdict ------------------------------------------------------------------------------

BETTER, SAME, WORSE = "meilleur", "équivalent", "moins bon"


@dataclass(frozen=True)
class Comparison:
    old: ModelScores
    new: ModelScores
    verdict: str
    reasons: tuple[str, ...]  # why, in plain French
    moved: tuple[str, ...]  # topics whose score changed, one line each


def _moves(old: ModelScores, new: ModelScores) -> list[str]:
    lines = []
    for label in sorted(set(old.holdout.scores) | set(new.holdout.scores)):
        before, after = old.holdout.scores.get(label, 0.0), new.holdout.scores.get(label, 0.0)
        if abs(after - before) >= MOVE:
            way = "monte" if after > before else "baisse"
            lines.append(f"jeu réservé, {label} : F1 {way} de {before:.3f} à {after:.3f}")
    for topic in sorted(set(old.eval_topics) | set(new.eval_topics)):
        right_before, items_before = old.eval_topics.get(topic, (0, 0))
        right_after, items_after = new.eval_topics.get(topic, (0, 0))
        if right_before != right_after:
            way = "monte" if right_after > right_before else "baisse"
            lines.append(
                f"évaluation, {topic} : {way} de {right_before}/{items_before} "
                f"à {right_after}/{items_after}"
            )
    return lines


def compare(old: ModelScores, new: ModelScores) -> Comparison:
    """Worse when the new model fails the NLU gate, loses held-out macro-F1 or evaluation items;
    better when it gains either without losing the other; else the same."""
    worse, better = [], []
    if not new.holdout.passed:
        worst, f1 = new.holdout.worst
        worse.append(
            f"le nouveau modèle ne passe pas le seuil NLU (macro-F1 {new.holdout.macro_f1:.3f}, "
            f"pire intention {worst} = {f1:.3f})"
        )
    macro_change = new.holdout.macro_f1 - old.holdout.macro_f1
    if macro_change <= -MOVE / 2:
        worse.append(f"macro-F1 du jeu réservé en baisse ({macro_change:+.3f})")
    elif macro_change >= MOVE / 2:
        better.append(f"macro-F1 du jeu réservé en hausse ({macro_change:+.3f})")
    items_change = new.eval_right - old.eval_right
    if items_change < 0:
        worse.append(f"{-items_change} réponse(s) juste(s) de moins dans l'évaluation")
    elif items_change > 0:
        better.append(f"{items_change} réponse(s) juste(s) de plus dans l'évaluation")
    verdict = WORSE if worse else BETTER if better else SAME
    reasons = worse or better or ["aucun changement mesurable"]
    return Comparison(old, new, verdict, tuple(reasons), tuple(_moves(old, new)))


def _percent(share: float) -> str:
    return f"{share * 100:.1f}".replace(".", ",") + " %"


def format_comparison(comparison: Comparison) -> str:
    old, new = comparison.old, comparison.new
    rows = [
        ("", "ancien modèle", "nouveau modèle"),
        ("Jeu réservé : macro-F1", f"{old.holdout.macro_f1:.3f}", f"{new.holdout.macro_f1:.3f}"),
        (
            "Jeu réservé : pire intention",
            f"{old.holdout.worst[0]} {old.holdout.worst[1]:.3f}",
            f"{new.holdout.worst[0]} {new.holdout.worst[1]:.3f}",
        ),
        (
            f"Seuil NLU (≥ {MACRO_F1_MIN}, chaque ≥ {INTENT_F1_MIN})",
            "réussi" if old.holdout.passed else "échec",
            "réussi" if new.holdout.passed else "échec",
        ),
        (
            "Évaluation : réponses justes",
            f"{old.eval_right}/{old.eval_items} ({_percent(old.eval_share)})",
            f"{new.eval_right}/{new.eval_items} ({_percent(new.eval_share)})",
        ),
    ]
    lines = [f"{a:<44} {b:>22} {c:>22}" for a, b, c in rows]
    lines.append("")
    lines.append(f"Verdict : le nouveau modèle est {comparison.verdict.upper()}.")
    lines += [f"  - {reason}" for reason in comparison.reasons]
    if comparison.moved:
        lines.append("Sujets qui ont bougé :")
        lines += [f"  - {line}" for line in comparison.moved]
    else:
        lines.append("Aucun sujet n'a bougé.")
    return "\n".join(lines)


def run_checks(
    checks: Checks, work_dir: Path, old_model: Path, say: Callable[[str], None] = print
) -> Comparison | None:
    """Validate, train, score both models; None (and why, said) when a step fails."""
    if not old_model.exists():  # said before a training of 8 minutes, not after
        say(f"Pas de modèle actuel à comparer ({old_model}) : lancez d'abord `make model`.")
        return None
    say("Vérification des données (rasa data validate)…")
    valid, output = checks.validate()
    if not valid:
        say(f"Les données ne sont pas valides :\n{output}")
        return None
    say("Entraînement d'un nouveau modèle dans un dossier temporaire (≈ 8 min)…")
    try:
        new_model = checks.train(work_dir / "model")
        say("Évaluation de l'ancien modèle (jeu réservé et jeu d'évaluation)…")
        old = checks.scores(old_model, work_dir / "old")
        say("Évaluation du nouveau modèle…")
        new = checks.scores(new_model, work_dir / "new")
    except RuntimeError as error:
        say(str(error))
        return None
    return compare(old, new)
