import json

import pytest
import yaml

from bot.staff.nlu_gate import evaluate, format_result, load_scores


def write_reports(tmp_path, intents: dict, selector: dict | None = None):
    def report(scores):
        data = {
            k: {"precision": v, "recall": v, "f1-score": v, "support": 10}
            for k, v in scores.items()
        }
        data["macro avg"] = {"f1-score": 0.0, "support": 0}
        data["accuracy"] = 0.9
        return data

    (tmp_path / "intent_report.json").write_text(json.dumps(report(intents)))
    if selector is not None:
        (tmp_path / "response_selection_report.json").write_text(json.dumps(report(selector)))


def test_gate_passes_and_counts_retrieval_intents(tmp_path):
    write_reports(tmp_path, {"greet": 1.0, "faq": 0.98}, {"faq/who_can_apply": 0.96})
    scores, support = load_scores(tmp_path)
    assert set(scores) == {"greet", "faq", "faq/who_can_apply"}
    result = evaluate(scores, support)
    assert result.passed
    assert result.macro_f1 == pytest.approx((1.0 + 0.98 + 0.96) / 3)
    assert "RÉUSSI" in format_result(result)


def test_gate_fails_on_one_weak_intent(tmp_path):
    write_reports(tmp_path, {"greet": 1.0, "deny": 0.80, "affirm": 1.0, "thank": 1.0})
    result = evaluate(*load_scores(tmp_path))
    assert not result.passed and result.worst == ("deny", 0.80)


def test_gate_fails_on_low_macro_f1(tmp_path):
    write_reports(tmp_path, {"a": 0.9, "b": 0.9})
    result = evaluate(*load_scores(tmp_path))
    assert not result.passed and "ÉCHEC" in format_result(result)


def test_no_held_out_example_is_a_training_example():
    """The gate measures what the model was not taught: no held-out example of four words or
    more (normalised as the blind evaluation does) is in data/nlu/. « Corrèze » may be in both."""
    from bot import PROJECT_DIR
    from tests.eval.evaluate import normalised
    from tests.unit.test_subjects import ANNOTATION

    def examples(path) -> set[str]:
        found = set()
        for block in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (block.get("examples") or "").splitlines():
                text = ANNOTATION.sub(r"\1", line.strip().removeprefix("- ").strip())
                found.add(normalised(text))
        return found

    training = set().union(*(examples(p) for p in (PROJECT_DIR / "data" / "nlu").glob("*.yml")))
    held_out = examples(PROJECT_DIR / "tests" / "nlu_holdout.yml")
    assert sorted(t for t in held_out & training if len(t.split()) >= 4) == []
