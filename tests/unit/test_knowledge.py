import datetime as dt
from pathlib import Path

import pytest

from bot import PROJECT_DIR
from bot.knowledge.facts import (
    dates_answer,
    deadline_status,
    french_date,
    is_open,
    load_call,
    today,
)

CALL = load_call()


def test_dates_come_from_the_data_file():
    assert CALL.dates.launch == dt.date(2021, 7, 15)
    assert CALL.dates.deadline == dt.date(2021, 10, 11)
    assert CALL.dates.selection == "décembre 2021"
    assert CALL.dates.implementation == "2022 et 2023"


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2021, 7, 1), "pas encore ouvert"),
        (dt.date(2021, 7, 15), "il vous reste 88 jours"),
        (dt.date(2021, 10, 10), "il vous reste 1 jour pour"),
        (dt.date(2021, 10, 11), "aujourd'hui est le dernier jour"),
        (dt.date(2021, 10, 12), "Cet appel est clos"),
        (dt.date(2026, 11, 27), "Cet appel est clos"),
    ],
)
def test_deadline_compares_with_the_frozen_date(day, expected):
    assert expected in deadline_status(day)


def test_deadline_day_is_inclusive():
    assert is_open(dt.date(2021, 10, 11))
    assert not is_open(dt.date(2021, 10, 12))


def test_dates_answer_before_and_after_the_deadline():
    before = dates_answer(dt.date(2021, 9, 1))
    after = dates_answer(dt.date(2022, 1, 5))
    for answer in (before, after):
        assert "15 juillet 2021" in answer
        assert "11 octobre 2021 inclus" in answer
        assert "décembre 2021" in answer
        assert "2022 et 2023" in answer
        assert "Source :" in answer
    assert "ouvert" in before and "clos" not in before
    assert "clos" in after


def test_today_can_be_frozen_by_environment(monkeypatch):
    monkeypatch.setenv("SPIE_TODAY", "2021-08-01")
    assert today() == dt.date(2021, 8, 1)
    assert "ouvert" in dates_answer()


def test_a_later_call_is_only_a_data_change(tmp_path: Path):
    text = (PROJECT_DIR / "bot/data/call.yml").read_text(encoding="utf-8")
    later = tmp_path / "call.yml"
    later.write_text(text.replace("2021-10-11", "2027-03-01"), encoding="utf-8")
    call = load_call(later)
    assert "il vous reste" in deadline_status(dt.date(2027, 2, 28), call)
    assert "1er mars 2027" in dates_answer(dt.date(2027, 2, 28), call)


def test_french_date():
    assert french_date(dt.date(2024, 1, 1)) == "1er janvier 2024"
    assert french_date(dt.date(2021, 8, 15)) == "15 août 2021"
