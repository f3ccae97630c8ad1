"""A benchmark run's results, built with the benchmark's own `summarize` (no server): the input of
the Markdown report tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parents[1] / "bench"
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import benchmark  # noqa: E402

from bench.spy_profile import CATEGORY_NAMES  # noqa: E402

WORKDIR = "/tmp/spie-bench-x1"


def scenario(kinds: tuple[str, ...], base: float, errors: int = 0, **extra: Any) -> dict[str, Any]:
    results = [
        benchmark.Result(kind, 200, base * (1 + index / 10))
        for kind in kinds
        for index in range(20)
    ]
    results += [
        benchmark.Result(kinds[0], 500, base, "http_500", "`x` -> boom") for _ in range(errors)
    ]
    summary = benchmark.summarize(results, wall=12.5, **extra)
    summary.update(rasa_peak_rss_mb=2300.4, actions_peak_rss_mb=190.2)
    return summary


def run(
    base: float,
    model: str,
    vmhwm_mb: float = 2320.0,
    profile: dict[str, Any] | None = None,
    wall: float = 12.5,
) -> dict[str, Any]:
    """One configuration served; `wall` sets the saturation's throughput (60 requests in it)."""
    saturation = scenario(benchmark.KINDS, base * 8)
    saturation.update(wall_s=wall, throughput=saturation["requests"] / wall)
    return {
        "model": model,
        "model_mb": 82.4,
        "startup_s": 38.4,
        "memory": {
            "rasa_vmhwm_mb": vmhwm_mb,
            "rasa_idle_rss_mb": 2305.1,
            "actions_peak_rss_mb": 193.0,
        },
        "scenarios": {
            "baseline": scenario(("faq",), base),
            "users": scenario(benchmark.KINDS, base * 2),
            "saturation": saturation,
            "bad_input": scenario(
                ("faq",), base * 20, errors=1, http_500=1, by_category={"200": 10, "400": 11}
            ),
        },
        "profile": profile,
    }


def profile(shares: dict[str, float], top: list[tuple[str, float]]) -> dict[str, Any]:
    """A profile as the benchmark keeps it (bench/spy_profile.py's shares, as dicts), 1000 samples."""
    return {
        "seconds": 20.0,
        "rate": 100,
        "load": "812 requests in 22.0 s (36.9/s), p50 210 ms",
        "samples": 1000,
        "categories": [
            {
                "name": name,
                "samples": round(shares.get(name, 0.0) * 1000),
                "share": shares.get(name, 0.0),
            }
            for name in CATEGORY_NAMES
        ],
        "top_self": [
            {"name": name, "samples": round(share * 1000), "share": share} for name, share in top
        ],
    }


def cold_start(ready: float, first: float, method: str, note: str = "") -> dict[str, Any]:
    return {
        "method": method,
        "note": note,
        "ready_s": ready,
        "first_answer_s": first,
        "answer_ok": True,
        "answer": "Le conseil départemental…",
        "stop_s": 3.2,
        "exit_code": 130,
        "processes": 5,
        "left": 0,
    }


def nlu(macro_f1: float) -> dict[str, Any]:
    scores = {"greet": 1.0, "faq/who_can_apply": 0.91, "ask_contact": 0.88, "deny": 0.97}
    return {
        "macro_f1": macro_f1,
        "worst": ["ask_contact", 0.88],
        "gate_passed": macro_f1 >= 0.95,
        "labels": len(scores),
        "examples": 120,
        "seconds": 41.0,
        "scores": scores,
    }


def full_results() -> dict[str, Any]:
    """Every section present: ours, the default configuration, the stock channel, both NLU scores."""
    options = {
        "users": 50,
        "turns": 8,
        "think_min": 2.0,
        "think_max": 6.0,
        "baseline_turns": 100,
        "sat_clients": 8,
        "sat_seconds": 30.0,
        "bad_requests": 21,
        "bad_concurrency": 20,
        "seed": 2021,
        "stock_budget": 120.0,
        "profile_seconds": 20.0,
    }
    return {
        "date": "2026-11-27 05:37 UTC",
        "duration_s": 1158.0,
        "machine": {
            "nproc": 2,
            "cpu": "AMD EPYC",
            "memory_gb": 23.5,
            "kernel": "6.18.44",
            "python": "3.10.13",
            "rasa": "3.6.21",
            "commit": "ba9d64c",
        },
        "load_start": "1.18 1.50 1.97",
        "load_end": "1.33 1.24 1.51",
        "argv": "--users 50",
        "options": options,
        "workdir": WORKDIR,
        "commands": [f"rasa train --out {WORKDIR}/models", "rasa run --port 5005"],
        "training": {
            "ours_s": 246.0,
            "before_s": 300.0,
            "default_s": 329.0,
            "ours_peak_mb": 3285.0,
        },
        "failures": [],
        "before_source": {
            "ref": "62eddae",
            "commit": "62eddae",
            "tree": f"{WORKDIR}/before",
            "model": "models/bench-before.tar.gz",
        },
        # ours: FAQ p95 168 ms against 420 ms (0.40), saturation 60/12.5 = 4.8/s against 60/30 = 2.0/s
        "ours": run(
            0.03,
            "models/current.tar.gz",
            vmhwm_mb=1450.0,
            profile=profile(
                {"TEDPolicy": 0.1, "DIET": 0.2, "tracker store": 0.05, "other": 0.65},
                [
                    ("__call__ (tensorflow/python/eager/def_function.py)", 0.25),
                    ("select (selectors.py)", 0.1),
                ],
            ),
        ),
        "before": run(
            0.075,
            "models/bench-before.tar.gz",
            wall=30.0,
            profile=profile(
                {"jsonschema": 0.315, "TEDPolicy": 0.2, "other": 0.485},
                [
                    ("iter_errors (jsonschema/validators.py)", 0.3),
                    ("__call__ (tensorflow/python/eager/def_function.py)", 0.2),
                    ("do_execute (sqlalchemy/engine/default.py)", 0.05),
                ],
            ),
        ),
        "default": run(0.035, "models/bench-default.tar.gz"),
        "cold_start_ours": cold_start(24.6, 26.1, "`bash scripts/run.sh` (= `make run`)"),
        "cold_start_before": cold_start(
            41.0, 44.5, "`python -m scripts.supervisor run`", "not `bash scripts/run.sh`: venv"
        ),
        "nlu_ours": nlu(0.966),
        "nlu_before": nlu(0.958),
        "nlu_default": nlu(0.93),
        "stock_bad_input": scenario(
            ("faq",), 1.1, errors=3, http_500=3, by_category={"500": 3, "200": 18}
        ),
    }


def partial_results() -> dict[str, Any]:
    """Ours only, the default configuration failed, no before, no profile, no cold start, no
    training (--no-train): the report says what was not measured."""
    results = full_results()
    for key in (
        "default",
        "nlu_default",
        "stock_bad_input",
        "before",
        "before_source",
        "nlu_before",
        "cold_start_ours",
        "cold_start_before",
    ):
        del results[key]
    results["training"] = {}
    results["ours"]["profile"] = {"skipped": "py-spy is not installed"}
    results["failures"] = ["default configuration: the server did not start <in time>"]
    results["options"]["users"] = 10
    return results
