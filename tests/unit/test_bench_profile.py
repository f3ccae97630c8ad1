"""bench/spy_profile.py on a small hand-written py-spy raw file (no server, no py-spy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.spy_profile import CATEGORY_NAMES, Frame, category, parse_frame, read_profile

ROOT_FRAMES = (
    "<module> (rasa/__main__.py:1);main (rasa/__main__.py:120);run (asyncio/base_events.py:640)"
)
PROCESS = "handle_message (rasa/core/processor.py:140)"

# 100 samples in all. Each line: frames root first, then the number of samples.
RAW = f"""\
{ROOT_FRAMES};{PROCESS};parse_message (rasa/core/processor.py:700);process (rasa/nlu/classifiers/diet_classifier.py:1020);_predict (rasa/nlu/classifiers/diet_classifier.py:990);__call__ (tensorflow/python/eager/def_function.py:880) 20
{ROOT_FRAMES};{PROCESS};parse_message (rasa/core/processor.py:700);process (rasa/nlu/selectors/response_selector.py:500);_predict (rasa/nlu/classifiers/diet_classifier.py:990) 10
{ROOT_FRAMES};{PROCESS};predict_next_action (rasa/core/processor.py:900);predict_action_probabilities (rasa/core/policies/ted_policy.py:800);__call__ (tensorflow/python/eager/def_function.py:880) 15
{ROOT_FRAMES};{PROCESS};parse_message (rasa/core/processor.py:700);process (rasa/nlu/utils/spacy_utils.py:300);__call__ (spacy/language.py:1000);predict (thinc/model.py:315) 12
{ROOT_FRAMES};{PROCESS};save_tracker (rasa/core/processor.py:1100);save (/work/wt-bench/rasa_ext/stores.py:88);execute (sqlalchemy/engine/base.py:1200);do_execute (sqlalchemy/engine/default.py:700) 9
{ROOT_FRAMES};{PROCESS};get_tracker (rasa/core/tracker_store.py:1300);_read (sqlalchemy/orm/query.py:2800) 3
{ROOT_FRAMES};{PROCESS};_run_action (rasa/core/processor.py:1000);run (rasa/core/actions/action.py:685);request (rasa/utils/endpoints.py:150);_request (aiohttp/client.py:500) 8
{ROOT_FRAMES};{PROCESS};validate (jsonschema/validators.py:300);iter_errors (jsonschema/validators.py:250) 6
{ROOT_FRAMES};{PROCESS};_run_action (rasa/core/processor.py:1000);run (rasa/core/actions/action.py:685);validate (jsonschema/validators.py:300) 2
{ROOT_FRAMES};connect (sqlalchemy/pool/base.py:300) 4
{ROOT_FRAMES};select (selectors.py:469) 7
{ROOT_FRAMES};{PROCESS};parse_message (rasa/core/processor.py:700);process (rasa/nlu/classifiers/diet_classifier.py:1020);_predict (rasa/nlu/classifiers/diet_classifier.py:990);__call__ (tensorflow/python/eager/def_function.py:880) 4

not a stack line
"""


@pytest.fixture
def raw_file(tmp_path: Path) -> Path:
    path = tmp_path / "rasa.raw"
    path.write_text(RAW, encoding="utf-8")
    return path


def shares(path: Path) -> dict[str, float]:
    return {c.name: round(c.share, 4) for c in read_profile(path).categories}


def test_parse_frame() -> None:
    assert parse_frame("run (rasa/core/actions/action.py:685)") == Frame(
        "run", "rasa/core/actions/action.py", 685
    )
    assert parse_frame("<module> (/work/x/rasa_ext/stores.py)") == Frame(
        "<module>", "/work/x/rasa_ext/stores.py"
    )
    assert parse_frame("MainThread") == Frame("MainThread", "")


def test_categories_inclusive_first_category_in_order(raw_file: Path) -> None:
    profile = read_profile(raw_file)
    assert profile.samples == 100 and profile.stacks == 12  # blank and malformed lines skipped
    assert [c.name for c in profile.categories] == CATEGORY_NAMES
    assert shares(raw_file) == {
        # jsonschema alone, and under an action's run: jsonschema is the first category
        "jsonschema": 0.08,
        # response_selector.py is entered before diet_classifier.py: the ResponseSelector's
        "ResponseSelector": 0.10,
        "TEDPolicy": 0.15,
        "DIET": 0.24,
        "spaCy": 0.12,
        # rasa_ext/stores.py (full path) and rasa/core/tracker_store.py, SQLAlchemy under them included
        "tracker store": 0.12,
        # an action's run, except the stack where it validated with jsonschema
        "action server call": 0.08,
        "SQLAlchemy": 0.04,  # only the stack that did not go through the tracker store
        "other": 0.07,
    }
    assert sum(c.samples for c in profile.categories) == profile.samples
    assert profile.category_share("TEDPolicy") == 0.15


def test_category_order_not_nesting() -> None:
    selector = "process (rasa/nlu/selectors/response_selector.py:500)"
    diet = "_predict (rasa/nlu/classifiers/diet_classifier.py:990)"
    # A ResponseSelector stack counts as ResponseSelector whether DIET's frame is above or below.
    assert category([parse_frame(diet), parse_frame(selector)]) == "ResponseSelector"
    assert category([parse_frame(selector), parse_frame(diet)]) == "ResponseSelector"
    store = parse_frame("save (rasa/core/tracker_store.py:1)")
    orm = parse_frame("flush (sqlalchemy/orm/session.py:1)")
    assert category([orm, store]) == "tracker store"


def test_spacy_is_a_directory_not_a_file_name() -> None:
    assert category([parse_frame("process (rasa/nlu/utils/spacy_utils.py:300)")]) == "other"
    assert category([parse_frame("f (/venv/lib/site-packages/spacy/tokens/doc.py:1)")]) == "spaCy"
    assert category([parse_frame("f (my_tracker_store.py:1)")]) == "other"


def test_remote_action_by_name() -> None:
    assert category([parse_frame("RemoteAction.run (rasa/core/actions/x.py:1)")]) == (
        "action server call"
    )
    other_function = parse_frame("_validate_action_result (rasa/core/actions/action.py:700)")
    assert category([other_function]) == "other"


def test_top_functions_by_self_time(raw_file: Path) -> None:
    top = read_profile(raw_file, top=3).top_self
    # Leaf frames, lines merged: the two DIET stacks end in the same TensorFlow function as TED's.
    assert [(t.name, t.samples) for t in top] == [
        ("__call__ (tensorflow/python/eager/def_function.py)", 39),
        ("predict (thinc/model.py)", 12),
        ("_predict (rasa/nlu/classifiers/diet_classifier.py)", 10),  # the ResponseSelector's too
    ]
    assert top[0].share == pytest.approx(0.39)
    assert len(read_profile(raw_file).top_self) == 10  # fewer distinct leaves than 12


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.raw"
    path.write_text("")
    profile = read_profile(path)
    assert profile.samples == 0 and profile.top_self == []
    assert all(c.share == 0.0 for c in profile.categories)
