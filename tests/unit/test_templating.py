"""The generated documents' templates (bot/templates/): escaping, the shared staff layout,
packaging, and the benchmark's Markdown report."""

from __future__ import annotations

from datetime import date, datetime, timezone
from fnmatch import fnmatch

import pytest
import tomli

from bot import PACKAGE_DIR, PROJECT_DIR
from bot.staff import faq_sheet, report
from bot.staff.faq_sheet import Answer, Entry
from bot.staff.report import DayStats, FallbackMessage, ReportData
from bot.staff.templating import TEMPLATES_DIR, environment, md_escape, md_fence
from tests.bench_results import WORKDIR, benchmark, full_results, partial_results

SCRIPT = "<script>alert('x')</script>"
ATTRIBUTE_BREAK = '" onmouseover="alert(1)'
GENERATED = datetime(2021, 3, 4, 13, 5, tzinfo=timezone.utc)


def hostile_entry() -> Entry:
    answer = Answer(
        text=f"Réponse {SCRIPT} & suite",
        buttons=(f"Bouton {SCRIPT}",),
        source=f"https://example.org/{ATTRIBUTE_BREAK}",
        note=f"note {SCRIPT}",
    )
    unsafe_link = Answer(text="autre réponse", source="javascript:alert(1)")
    return Entry(
        intent="faq/<b>x</b>",
        title=f"Titre {SCRIPT}",
        examples=(f"exemple {SCRIPT}",),
        answered_by=("utter_<i>",),
        answers=(answer, unsafe_link),
    )


def hostile_report() -> ReportData:
    return ReportData(
        generated=GENERATED,
        since=None,
        conversations=1,
        user_messages=2,
        bot_messages=2,
        per_day=[DayStats(date(2021, 3, 4), 1, 2, 2)],
        topics={f"sujet {SCRIPT}": 1},
        fallback_messages=[FallbackMessage(GENERATED, f"{SCRIPT} {ATTRIBUTE_BREAK}")],
        eligibility={"eligible": 1},
        departements={"<i>03</i>": 1},
        departement_names={"<i>03</i>": f"Allier {ATTRIBUTE_BREAK}"},
    )


@pytest.fixture()
def fast_plots(monkeypatch: pytest.MonkeyPatch) -> None:
    """The charts' pixels are not what these tests read."""
    monkeypatch.setattr(report, "plot_per_day", lambda stats: "UExPVA==")
    monkeypatch.setattr(report, "plot_bars", lambda counts, title, limit=15: "UExPVA==")


def test_faq_sheet_escapes_every_value() -> None:
    page = faq_sheet.render_html([hostile_entry()], GENERATED)
    assert "<script" not in page and "<b>" not in page and "<i>" not in page
    assert "Titre &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page  # heading and summary
    assert page.count("&lt;script&gt;") == 6  # title ×2, note, answer, button, example
    assert "Réponse &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; suite" in page
    assert (
        "<code>faq/&lt;b&gt;x&lt;/b&gt;</code>" in page and "<code>utter_&lt;i&gt;</code>" in page
    )
    # A quote in a source cannot leave the href attribute; only http(s) sources become links.
    assert 'href="https://example.org/&#34; onmouseover=&#34;alert(1)"' in page
    assert 'onmouseover="' not in page and 'href="javascript' not in page
    assert "Source : javascript:alert(1)</p>" in page
    # The anchor keeps only safe characters.
    assert '<section id="q-faq--b-x--b-" aria-labelledby="q-faq--b-x--b--h">' in page


def test_faq_sheet_markdown_shows_hostile_text_as_text() -> None:
    text = faq_sheet.render_markdown([hostile_entry()], GENERATED)
    assert "## Titre &lt;script&gt;alert('x')&lt;/script&gt;" in text
    assert "*note &lt;script&gt;alert('x')&lt;/script&gt;*" in text
    assert "- Bouton &lt;script&gt;alert('x')&lt;/script&gt;" in text
    # The answer is shown exactly as sent, inside a fenced block (code, never rendered as HTML).
    assert f"~~~text\nRéponse {SCRIPT} & suite\n~~~" in text
    assert "<script" not in text.replace(f"~~~text\nRéponse {SCRIPT}", "")
    # A source with a space or a quote is not turned into an autolink.
    assert 'Source : https://example.org/" onmouseover="alert(1)' in text
    assert "Source : javascript:alert(1)" in text


def test_report_escapes_every_value(fast_plots: None) -> None:
    page = report.render_html(hostile_report())
    assert "<script" not in page and "<i>" not in page and 'onmouseover="' not in page
    message = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &#34; onmouseover=&#34;alert(1)"
    assert f"<tr><td>04/03/2021 13:05</td><td>{message}</td></tr>" in page
    assert (
        "<tr><td>sujet &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</td><td>1</td></tr>" in page
    )
    assert "<td>&lt;i&gt;03&lt;/i&gt; – Allier &#34; onmouseover=&#34;alert(1)</td>" in page
    # The alt text names the same labels, and a quote cannot close the attribute.
    assert (
        'Les plus fréquents : &lt;i&gt;03&lt;/i&gt; – Allier &#34; onmouseover=&#34;alert(1) : 1."'
        in page
    )


def test_staff_pages_share_one_layout(fast_plots: None) -> None:
    faq = faq_sheet.render_html([hostile_entry()], GENERATED)
    usage = report.render_html(hostile_report())
    for page, command in [(faq, "bot faq-sheet"), (usage, "bot report")]:
        assert page.startswith('<!DOCTYPE html>\n<html lang="fr">')
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
        assert page.count("<h1>") == 1 and page.count("<main>") == 1
        assert "<header>\n<h1>" in page
        footer = page[page.index("<footer>") : page.index("</footer>")]
        assert "Généré le 04/03/2021 à 13:05" in footer
        assert f"par la commande <code>{command}</code>" in footer
    assert "Source : fichiers du projet Rasa (domain.yml, data/nlu" in faq
    assert "Source : conversations enregistrées par l&#39;assistant (tracker store" in usage
    assert "<title>Questions connues de l&#39;assistant SPIE</title>" in faq
    assert "<title>Rapport d&#39;utilisation de l&#39;assistant SPIE</title>" in usage


def test_only_html_templates_are_autoescaped() -> None:
    env = environment()
    assert env is environment()  # one Environment, shared
    assert env.autoescape("faq_sheet.html") and not env.autoescape("faq_sheet.md")
    assert md_escape("a *b* <c>\nd") == r"a \*b\* &lt;c&gt; d"
    assert md_fence("x ~~~~ y") == "~~~~~text\nx ~~~~ y\n~~~~~"


def test_every_template_is_packaged() -> None:
    pyproject = tomli.loads((PROJECT_DIR / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot"]
    templates = sorted(p.relative_to(PACKAGE_DIR).as_posix() for p in TEMPLATES_DIR.iterdir())
    assert templates == [
        "templates/base.html",
        "templates/benchmarks.md",
        "templates/faq_sheet.html",
        "templates/faq_sheet.md",
        "templates/report.html",
    ]
    assert [t for t in templates if not any(fnmatch(t, p) for p in patterns)] == []


# --- the benchmark's Markdown -------------------------------------------------------------


def test_benchmark_markdown_full_run() -> None:
    text = benchmark.markdown(full_results())
    assert text.startswith("# Benchmarks\n\nGenerated by `bench/benchmark.py` (`make bench`)")
    assert text.endswith("reused from an earlier training.\n")
    assert "- Machine: 2 CPU (AMD EPYC), 23.5 GB RAM, Linux 6.18.44\n" in text
    assert "- Date: 2026-11-27 05:37 UTC (run took 19.3 min)\n" in text
    assert "| 50 users: FAQ p95 < 300 ms | 168 ms | PASS |\n" in text
    assert (
        "| bad input: every request answered, 0 HTTP 500 | 21 requests in 12.5 s, 1 × 500, 1 unexpected | FAIL |"
        in text
    )
    # ours | before | default | ours / before | ours / default
    assert "| measure | ours | before | default | ours / before | ours / default |\n" in text
    assert "| baseline FAQ p50 (ms) | 58 | 146 | 68 | 0.40 | 0.86 |\n" in text
    assert "| saturation: throughput (msg/s) | 4.8 | 2.0 | 4.8 | 2.40 | 1.00 |\n" in text
    assert "| training time (s) | 246 | 300 | 329 | 0.82 | 0.75 |\n" in text
    assert "| make run: first answer (s) | 26.1 | 44.5 | — | 0.59 | — |\n" in text
    assert "| NLU intent macro-F1 (held-out) | 0.966 | 0.958 | 0.930 | 1.01 | 1.04 |\n" in text
    assert "| HTTP 500 | 1 | 3 | 0.33 |\n" in text  # project channel against the stock one
    assert "Stock channel, statuses by category: {'500': 3, '200': 18}\n" in text
    assert "### Details: ours\n\n- baseline: 20 requests in 12.5 s (1.6/s), p50 58 ms" in text
    assert "### Details: before\n\n- baseline: 20 requests in 12.5 s (1.6/s), p50 146 ms" in text
    assert "### Details: default\n" in text
    assert "  - error: `faq http_500: x -> boom`\n" in text  # backticks removed inside code
    assert "macro-F1 0.966, lowest ask_contact 0.88, faq/who_can_apply 0.91, deny 0.97" in text
    assert "project gate (≥ 0.95, each ≥ 0.85): failed" in text  # the default's 0.930
    assert ".venv/bin/python bench/benchmark.py --users 50\n```" in text
    assert "rasa train --out $WORK/models\n" in text and WORKDIR not in text
    assert "Not measured" not in text and "not conclusive" not in text


def test_benchmark_markdown_issue_targets() -> None:
    text = benchmark.markdown(full_results())
    for line in [
        "| 50 users: FAQ p95 ours / before ≤ 0.5 | ours 168 ms, before 421 ms: 0.40 | PASS |",
        "| saturation (8 clients, one server): ours / before ≥ 2 | ours 4.8 msg/s, before 2.0 msg/s: 2.40 | PASS |",
        "| Rasa server: peak RSS (VmHWM) ≤ 1600 MB | 1 450 MB | PASS |",
        "| cold start of make run (model present): first answer ≤ 30 s | REST up 24.6 s, first answer 26.1 s | PASS |",
        "| training time (ours) ≤ 180 s | 246 s | FAIL |",
        "| NLU held-out macro-F1: ours ≥ before, project gate passed | ours 0.966, before 0.958; gate passed | PASS |",
        "| 50 users, think 2–6 s: 0 errors | 0 errors / 60 messages | PASS |",
    ]:
        assert line + "\n" in text, line
    assert "- **before**: the project as it was at commit `62eddae` (`--before 62eddae`;" in text
    assert "(trained in this run, copied to `models/bench-before.tar.gz`)" in text


def test_benchmark_targets_fail_against_before() -> None:
    results = full_results()
    results["before"], results["ours"] = results["ours"], results["before"]  # swapped: slower
    results["cold_start_ours"]["answer_ok"] = False  # in time, but the wrong answer
    results["nlu_ours"]["macro_f1"] = 0.95
    verdicts = {label: passed for label, _, passed in benchmark.targets(results)}
    assert verdicts["50 users: FAQ p95 ours / before ≤ 0.5"] is False
    assert verdicts["saturation (8 clients, one server): ours / before ≥ 2"] is False
    assert verdicts["Rasa server: peak RSS (VmHWM) ≤ 1600 MB"] is False  # 2320 MB
    assert verdicts["cold start of make run (model present): first answer ≤ 30 s"] is False
    assert verdicts["NLU held-out macro-F1: ours ≥ before, project gate passed"] is False


def test_benchmark_markdown_profile_side_by_side() -> None:
    text = benchmark.markdown(full_results())
    section = text[text.index("## Profile of one Rasa server under load") :]
    section = section[: section.index("\n## ")]
    assert "(20 s at 100 samples per second" in section
    assert "- ours: 1000 samples; load meanwhile: 812 requests in 22.0 s" in section
    assert (
        "| category | ours | before |\n|---|---:|---:|\n| jsonschema | 0.0% | 31.5% |\n" in section
    )
    assert "| tracker store | 5.0% | 0.0% |\n" in section
    assert section.index("| SQLAlchemy |") < section.index("| other | 65.0% | 48.5% |")
    assert (
        "| 1 | `__call__ (tensorflow/python/eager/def_function.py)` 25.0% "
        "| `iter_errors (jsonschema/validators.py)` 30.0% |\n"
    ) in section
    assert "| 3 | — | `do_execute (sqlalchemy/engine/default.py)` 5.0% |\n" in section
    assert "| 4 |" not in section
    assert (
        "  - before: `python -m scripts.supervisor run` — not `bash scripts/run.sh`: venv; "
        "REST up after 41.0 s, first answer after 44.5 s (the expected answer); stopped in 3.2 s "
        "(exit code 130), 0 of its 5 processes left after it\n"
    ) in text


def test_benchmark_markdown_partial_run() -> None:
    text = benchmark.markdown(partial_results())
    assert (
        "\n\n**Not measured in this run** — default configuration: the server did not start <in time> (see the run's output).\n\n## Targets"
        in text
    )
    assert "model `not run`." in text and "### Details: default" not in text
    assert "| (the run is smaller than the target scenario: not conclusive) |  | — |" in text
    assert "| baseline FAQ p50 (ms) | 58 | — | — | — | — |" in text
    assert "| make run: first answer (s) | — | — | — | — | — |" in text
    assert "| training time (ours) ≤ 180 s | not trained in this run | — |" in text
    assert "| 10 users: FAQ p95 ours / before ≤ 0.5 | ours 168 ms, before — ms: — | — |" in text
    assert "- **before**: not run (`--skip-before`)." in text
    assert "### Details: before" not in text and "cold start of `make run`** (ours" in text
    assert (
        "- ours: no profile — py-spy is not installed\n- before: not profiled in this run\n" in text
    )
    assert "| category |" not in text
    assert "## Bad input: the project's REST channel" not in text
    assert "uniform(2, 6) s" in text and "10 simulated users" in text
