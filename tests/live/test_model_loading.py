"""The trained model loaded without Rasa's training step (rasa_ext/speedups.py) predicts exactly
what Rasa's own loading predicts: every intent, ranking and response-selector output of the
held-out set, to the last digit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scripts.supervisor import MODEL, ROOT, base_env
from tests.model_outputs import holdout_messages


def model_outputs(loading: str, out: Path) -> list:
    subprocess.run(
        [sys.executable, "-m", "tests.model_outputs", str(MODEL), loading, str(out)],
        cwd=ROOT,
        env=base_env(),
        check=True,
        capture_output=True,
        timeout=600,
    )
    return json.loads(out.read_text(encoding="utf-8"))


def test_same_predictions_as_rasas_own_loading(tmp_path: Path) -> None:
    rasa = model_outputs("rasa", tmp_path / "rasa.json")
    ours = model_outputs("speedups", tmp_path / "speedups.json")
    assert len(rasa) == len(holdout_messages())  # the whole held-out set
    assert {entry[1]["name"] for entry in rasa} >= {"faq", "ask_contact", "greet", "stop"}
    assert any(entry[3] for entry in rasa)  # the response selector answered FAQs
    assert len(ours) == len(rasa)
    mismatches = [(r[0], r[1], o[1]) for r, o in zip(rasa, ours, strict=True) if r != o]
    assert not mismatches, mismatches[:5]
