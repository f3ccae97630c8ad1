"""`bot report` on stores filled by Rasa's own SQLTrackerStore with scripted conversations."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from bot import cli
from bot.staff.report import DayStats, ReportData, compute_report, render_html, topic_of

PG_ADMIN_URL = "postgresql://root@127.0.0.1:5432/test"
DOMAIN: dict[str, Any] = {
    "version": "3.1",
    "intents": ["greet", "faq", "inform_place", "start_eligibility", "ask_dates", "thanks"],
    "slots": {
        "departement": {"type": "text", "mappings": [{"type": "custom"}]},
        "eligibility_result": {
            "type": "categorical",
            "values": ["eligible", "not_eligible"],
            "mappings": [{"type": "custom"}],
        },
    },
    "responses": {"utter_greet": [{"text": "Bonjour !"}]},
}
LABELS = {"03": "Allier", "2A": "Corse-du-Sud"}.get
SCRIPT = "<script>alert(1)</script>"


def ts(day: int, second: int = 0) -> float:
    """12:00 UTC (13:00 in Paris) on 2021-03-<day>, plus a few seconds."""
    return datetime(2021, 3, day, 12, 0, second, tzinfo=timezone.utc).timestamp()


def user(text: str, intent: str, when: float, key: str | None = None) -> Any:
    from rasa.shared.core.events import UserUttered

    parse_data: dict[str, Any] = {"intent": {"name": intent, "confidence": 0.9}, "entities": []}
    if key:
        parse_data["response_selector"] = {
            "faq": {"response": {"intent_response_key": key, "confidence": 0.8}}
        }
    return UserUttered(text, parse_data["intent"], [], parse_data, timestamp=when)


def bot(text: str, when: float) -> Any:
    from rasa.shared.core.events import BotUttered

    return BotUttered(text, timestamp=when)


def slot(name: str, value: str | None, when: float) -> Any:
    from rasa.shared.core.events import SlotSet

    return SlotSet(name, value, timestamp=when)


def session(when: float) -> list[Any]:
    from rasa.shared.core.events import ActionExecuted, SessionStarted

    return [
        ActionExecuted("action_session_start", timestamp=when),
        SessionStarted(timestamp=when),
        ActionExecuted("action_listen", timestamp=when),
    ]


def conversations() -> dict[str, list[Any]]:
    """Four senders over 1, 2 and 4 March 2021 (nothing on the 3rd)."""
    return {
        "alice": [
            *session(ts(1)),
            user("qui peut candidater", "faq", ts(1, 1), "faq/who_can_apply"),
            bot("Les départements…", ts(1, 2)),
            user("je suis dans l'Allier", "inform_place", ts(1, 3)),
            slot("departement", "03", ts(1, 4)),
            bot("Dans l'Allier…", ts(1, 5)),
            user(SCRIPT, "nlu_fallback", ts(1, 6)),
            bot("Je n'ai pas compris.", ts(1, 7)),
            *session(ts(4)),
            user("merci", "thanks", ts(4, 1)),
            slot("eligibility_result", "eligible", ts(4, 2)),
            slot("departement", None, ts(4, 3)),
            bot("Avec plaisir.", ts(4, 4)),
        ],
        "bob": [
            *session(ts(1, 10)),
            user("bonjour", "greet", ts(1, 11)),
            bot("Bonjour !", ts(1, 12)),
            user("suis-je éligible", "start_eligibility", ts(1, 13)),
            slot("eligibility_result", "eligible", ts(1, 14)),
            bot("Vous semblez éligible.", ts(1, 15)),
            user("blabla xyz", "nlu_fallback", ts(1, 16)),
        ],
        "carol": [
            *session(ts(2)),
            user("quelle est la date limite", "ask_dates", ts(2, 1)),
            bot("Le 15 avril 2021.", ts(2, 2)),
            slot("departement", "2A", ts(2, 3)),
            slot("departement", "03", ts(2, 4)),
            user("quel budget", "faq", ts(2, 5), "faq/budget"),
            bot("Le budget…", ts(2, 6)),
            user("qui peut postuler", "faq", ts(2, 7), "faq/who_can_apply"),
            slot("eligibility_result", "not_eligible", ts(2, 8)),
            bot("Les départements…", ts(2, 9)),
        ],
        "dave": [*session(ts(4, 20)), bot("Bonjour, je suis l'assistant SPIE.", ts(4, 21))],
    }


def fill(store: Any) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    for sender, events in conversations().items():
        tracker = DialogueStateTracker.from_events(sender, events, slots=store.domain.slots)
        asyncio.run(store.save(tracker))


def sql_store(**kwargs: Any) -> Any:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    return SQLTrackerStore(Domain.from_dict(DOMAIN), **kwargs)


# --- assertions shared by SQLite and PostgreSQL -------------------------------------------

EXPECTED_DAYS = [
    DayStats(date(2021, 3, 1), conversations=2, user_messages=6, bot_messages=5),
    DayStats(date(2021, 3, 2), conversations=1, user_messages=3, bot_messages=3),
    DayStats(date(2021, 3, 3), conversations=0, user_messages=0, bot_messages=0),
    DayStats(date(2021, 3, 4), conversations=1, user_messages=1, bot_messages=2),
]
EXPECTED_TOPICS = {
    "faq/who_can_apply": 2,
    "ask_dates": 1,
    "faq/budget": 1,
    "greet": 1,
    "inform_place": 1,
    "start_eligibility": 1,
    "thanks": 1,
}


def check_data(data: ReportData) -> None:
    assert data.conversations == 3  # dave never wrote
    assert data.user_messages == 10
    assert data.bot_messages == 10
    assert data.per_day == EXPECTED_DAYS
    assert data.topics == EXPECTED_TOPICS
    assert list(data.topics)[0] == "faq/who_can_apply"
    assert data.fallback_count == 2
    assert data.fallback_rate == pytest.approx(0.2)
    assert [m.text for m in data.fallback_messages] == [SCRIPT, "blabla xyz"]
    assert data.eligibility == {"eligible": 2, "not_eligible": 1}
    assert data.departements == {"03": 2, "2A": 1}
    assert data.departement_names == {"03": "Allier", "2A": "Corse-du-Sud"}


def row(*cells: object) -> str:
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def check_html(page: str) -> None:
    assert '<html lang="fr">' in page
    assert row("Conversations", 3) in page
    assert row("Messages reçus", 10) in page
    assert row("Messages non compris", 2) in page
    assert row("Taux de messages non compris", "20,0 %") in page
    assert row("01/03/2021", 2, 6, 5) in page
    assert row("02/03/2021", 1, 3, 3) in page
    assert row("03/03/2021", 0, 0, 0) in page
    assert row("04/03/2021", 1, 1, 2) in page
    assert row("Qui peut candidater ? (faq/who_can_apply)", 2) in page
    assert row("faq/budget", 1) in page
    assert row("01/03/2021 13:00", "&lt;script&gt;alert(1)&lt;/script&gt;") in page
    assert row("01/03/2021 13:00", "blabla xyz") in page
    assert row("Éligible", 2) in page
    assert row("Non éligible", 1) in page
    assert row("03 – Allier", 2) in page
    assert row("2A – Corse-du-Sud", 1) in page
    # Self-contained and safe: inline images with alt text, no script, no external resource.
    assert page.count('<img src="data:image/png;base64,') == 4
    assert 'alt=""' not in page and "<script" not in page and "http" not in page


# --- SQLite -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("tracker") / "tracker.db"
    store = sql_store(dialect="sqlite", db=str(path))
    fill(store)
    store.engine.dispose()
    return f"sqlite:///{path}"


def test_sqlite_counts_and_html(sqlite_url: str) -> None:
    data = compute_report(sqlite_url, labeller=LABELS)
    check_data(data)
    check_html(render_html(data))


def test_days_window(sqlite_url: str) -> None:
    now = datetime(2021, 3, 4, 18, 0, tzinfo=timezone.utc)
    data = compute_report(sqlite_url, days=2, now=now, labeller=LABELS)
    assert (data.conversations, data.user_messages, data.bot_messages) == (1, 1, 2)
    assert [s.day for s in data.per_day] == [date(2021, 3, d) for d in (2, 3, 4)]
    assert data.per_day[-1] == EXPECTED_DAYS[-1]
    assert data.eligibility == {"eligible": 1} and data.departements == {}
    assert data.fallback_count == 0 and "Aucune donnée sur la période." in render_html(data)


def test_cli_writes_self_contained_report(sqlite_url: str, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    assert cli.main(["report", "--db-url", sqlite_url, "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert row("Conversations", 3) in page and "&lt;script&gt;" in page
    assert "<script" not in page and page.count("data:image/png;base64,") == 4


# --- empty stores -------------------------------------------------------------------------


def test_missing_file_is_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'absent.db'}"
    data = compute_report(url)
    assert data.empty and data.conversations == 0 and data.per_day == []
    assert "Aucune donnée" in render_html(data)
    assert not (tmp_path / "absent.db").exists()  # the report never creates a store


def test_no_events_table_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    sqlite3.connect(path).close()
    data = compute_report(f"sqlite:///{path}")
    assert data.empty and "Aucune donnée" in render_html(data)


def test_zero_rows_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "tracker.db"
    sql_store(dialect="sqlite", db=str(path)).engine.dispose()
    assert sa.inspect(sa.create_engine(f"sqlite:///{path}")).has_table("events")
    data = compute_report(f"sqlite:///{path}")
    assert data.empty and data.fallback_rate == 0.0
    page = render_html(data)
    assert "Aucune donnée" in page and "<img" not in page


# --- details ------------------------------------------------------------------------------


def test_topic_of_retrieval_key_or_intent() -> None:
    selector = {"faq": {"response": {"intent_response_key": "faq/dates"}}}
    assert topic_of({"intent": {"name": "faq"}, "response_selector": selector}) == "faq/dates"
    assert topic_of({"intent": {"name": "faq"}}) == "faq"
    assert topic_of({"intent": {"name": "greet"}, "response_selector": selector}) == "greet"
    assert topic_of({}) is None


def test_escaping_everywhere() -> None:
    data = ReportData(generated=datetime(2021, 3, 1, tzinfo=timezone.utc), since=None)
    data.user_messages = 1
    data.topics = {"<b>x</b>": 1}
    data.departements = {"<i>": 1}
    data.departement_names = {"<i>": "<img src=x>"}
    page = render_html(data)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>" not in page
    assert "&lt;i&gt; – &lt;img src=x&gt;" in page and "<img src=x>" not in page


# --- PostgreSQL ---------------------------------------------------------------------------


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database, dropped afterwards: other tests and users are not disturbed."""
    name = f"report_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(name)
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {quoted}"))
    try:
        yield f"postgresql://root@127.0.0.1:5432/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        admin.dispose()


@pytest.mark.postgres
def test_postgresql_counts_and_html(pg_url: str) -> None:
    url = sa.engine.make_url(pg_url)
    assert compute_report(pg_url).empty  # the database exists, the table not yet
    store = sql_store(
        dialect="postgresql", host=url.host, port=url.port, db=url.database, username="root"
    )
    fill(store)
    store.engine.dispose()
    data = compute_report(pg_url, labeller=LABELS)
    check_data(data)
    check_html(render_html(data))


def test_departement_names_from_store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import bot.places.store
    from bot.staff.report import store_labeller

    class FakeStore:
        def data_version(self) -> str:
            return "v1"

        def departements(self) -> list[Any]:
            return [SimpleNamespace(code="03", name="Allier")]

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'absent.db'}")
    assert store_labeller() is None  # no store file: codes alone, and no file created
    assert not (tmp_path / "absent.db").exists()
    monkeypatch.setenv("DATABASE_URL", "postgresql://root@127.0.0.1:5432/test")
    monkeypatch.setattr(bot.places.store, "Store", FakeStore)
    labeller = store_labeller()
    assert labeller is not None and labeller("03") == "Allier" and labeller("2A") is None


# --- free-text département answers --------------------------------------------------------

# Answers as users typed them (a text slot): one département whatever the spelling.
FREE_TEXT_ANSWERS = [
    "Allier",
    "03",
    "allier",
    "Moulins",
    "l'Allier",
    "2A",
    "Saint-Denis",
    "Tombouctou",
]


@pytest.fixture(scope="module")
def resolver(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The place resolver on a places store built from bot/data (SQLite)."""
    from bot.places.resolver import PlaceResolver
    from bot.places.store import Store, build_database

    url = f"sqlite:///{tmp_path_factory.mktemp('places') / 'spie.db'}"
    build_database(url)
    return PlaceResolver.from_store(Store(url))


def test_free_text_departements_are_counted_by_departement(tmp_path: Path, resolver: Any) -> None:
    from rasa.shared.core.trackers import DialogueStateTracker

    path = tmp_path / "tracker.db"
    store = sql_store(dialect="sqlite", db=str(path))
    for index, answer in enumerate(FREE_TEXT_ANSWERS):
        events = [*session(ts(1, index)), slot("departement", answer, ts(1, index))]
        tracker = DialogueStateTracker.from_events(f"visitor-{index}", events, store.domain.slots)
        asyncio.run(store.save(tracker))
    store.engine.dispose()

    from bot.staff.report import departement_code

    data = compute_report(
        f"sqlite:///{path}",
        labeller=LABELS,
        place_coder=lambda answer: departement_code(resolver.resolve(answer)),
    )
    # « Moulins »: the Allier's préfecture, not the villages of the same name elsewhere;
    # « Saint-Denis » (La Réunion or Seine-Saint-Denis) and an unknown place stay as written.
    assert data.departements == {"03": 5, "2A": 1, "Saint-Denis": 1, "Tombouctou": 1}
    page = render_html(data)
    assert row("03 – Allier", 5) in page and "allier" not in page
