"""Retention: events older than CONVERSATION_RETENTION_DAYS are deleted, conversation active or not,
on SQLite and PostgreSQL (with and without POSTGRESQL_SCHEMA), one purger at a time, on a schedule
started by the tracker store the Rasa server loads."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.conversations import privacy
from bot.conversations.privacy import PURGE_LOCK_KEY, PurgeResult, purge_events
from bot.conversations.tracker_db import EVENTS, tracker_engine
from rasa_ext.stores import UrlSQLTrackerStore
from tests.pg import temporary_database

DAY = 86400
NOW = time.time()
# sender -> ages in days of its messages; « returning » came back 10 days ago with the same id.
CONVERSATIONS = {
    "old-1": [120, 120],
    "old-2": [95, 91],
    "returning": [200, 150, 10],
    "today": [0],
}


def rasa_store(url: str) -> SQLTrackerStore:
    parsed = make_url(url)
    return SQLTrackerStore(
        Domain.empty(),
        dialect=parsed.drivername,
        host=parsed.host,
        port=parsed.port,
        db=parsed.database,
        username=parsed.username,
    )


def fill(store: SQLTrackerStore, conversations: dict[str, list[int]], now: float = NOW) -> None:
    """Saves each conversation through Rasa's own store, messages backdated by their age."""
    for sender, ages in conversations.items():
        tracker = DialogueStateTracker(sender, [])
        for age in ages:
            tracker.update(UserUttered(f"message d'il y a {age} jours", timestamp=now - age * DAY))
        asyncio.run(store.save(tracker))


def messages(store: SQLTrackerStore) -> dict[str, list[str]]:
    """What the store gives back to Rasa: each conversation's user messages."""
    result = {}
    for sender in asyncio.run(store.keys()):
        tracker = asyncio.run(store.retrieve_full_tracker(sender))
        if tracker is None:
            continue  # purged by the schedule's thread between the listing and the reading
        result[sender] = [event.text for event in tracker.events if isinstance(event, UserUttered)]
    return result


def check_purge(url: str) -> None:
    store = rasa_store(url)
    fill(store, CONVERSATIONS)
    assert purge_events(url, 90, now=NOW) == PurgeResult(events=6, conversations=2)
    assert messages(store) == {
        "returning": ["message d'il y a 10 jours"],
        "today": ["message d'il y a 0 jours"],
    }
    assert purge_events(url, 90, now=NOW) == PurgeResult()  # idempotent
    assert purge_events(url, 5, now=NOW) == PurgeResult(events=1, conversations=1)
    assert messages(store) == {"today": ["message d'il y a 0 jours"]}
    store.engine.dispose()


def test_purge_on_sqlite(tmp_path):
    check_purge(f"sqlite:///{tmp_path / 'tracker.db'}")


@pytest.mark.postgres
def test_purge_on_postgresql():
    with temporary_database("privacy") as url:
        check_purge(url)


@pytest.mark.postgres
def test_purge_in_a_postgresql_schema(monkeypatch: pytest.MonkeyPatch):
    """Rasa keeps the events in POSTGRESQL_SCHEMA; the purge must look there, not in `public`."""
    with temporary_database("privacy_schema") as url:
        engine = sa.create_engine(url, future=True)
        with engine.begin() as connection:
            connection.execute(sa.text("CREATE SCHEMA conversations"))
        monkeypatch.setenv("POSTGRESQL_SCHEMA", "conversations")
        check_purge(url)
        with engine.connect() as connection:
            tables = sa.inspect(connection).get_table_names(schema="conversations")
            assert "events" in tables and not sa.inspect(connection).has_table("events")
        engine.dispose()


@pytest.mark.postgres
def test_one_purger_at_a_time_on_postgresql():
    """While a server holds the advisory lock (purging), another one skips its turn."""
    with temporary_database("privacy_lock") as url:
        store = rasa_store(url)
        fill(store, CONVERSATIONS)
        engine = sa.create_engine(url, future=True)
        with engine.begin() as connection:  # the other server, in the middle of its purge
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(PURGE_LOCK_KEY)))
            assert purge_events(url, 90, now=NOW) == PurgeResult(skipped=True)
            assert len(messages(store)) == 4  # nothing deleted
        assert purge_events(url, 90, now=NOW).events == 6  # lock released: the next turn purges
        engine.dispose()
        store.engine.dispose()


def test_purge_on_an_empty_store(tmp_path):
    assert purge_events(f"sqlite:///{tmp_path / 'empty.db'}", 30) == PurgeResult()


def test_purge_command(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    fill(rasa_store(url), CONVERSATIONS)
    assert main(["privacy", "purge", "--older-than", "100", "--db-url", url]) == 0
    assert capsys.readouterr().out == (
        "4 événement(s) de plus de 100 jour(s) supprimé(s) ; "
        "1 conversation(s) supprimée(s) entièrement.\n"
    )


@pytest.fixture
def fast_schedule(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("PURGE_INTERVAL_HOURS", str(1 / 3600))  # every second
    monkeypatch.setenv("CONVERSATION_RETENTION_DAYS", "90")
    yield
    for schedule in privacy._schedules.values():
        schedule.stop()
    privacy._schedules.clear()


def wait_for(condition, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_the_tracker_store_purges_on_a_schedule_while_running(tmp_path, fast_schedule):
    """The store class of endpoints.yml starts the schedule: old events go without a restart."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    store = UrlSQLTrackerStore(Domain.empty(), url=url)
    assert store.retention_schedule is not None
    fill(store, CONVERSATIONS)
    assert wait_for(lambda: set(messages(store)) == {"returning", "today"})
    # later, while the server still runs: a conversation that has just aged past the retention
    fill(store, {"aged-since": [91, 30]})
    assert wait_for(lambda: messages(store).get("aged-since") == ["message d'il y a 30 jours"])
    assert store.retention_schedule.runs >= 2
    # one schedule per process, whatever the number of stores Rasa builds
    assert (
        UrlSQLTrackerStore(Domain.empty(), url=url).retention_schedule is store.retention_schedule
    )


def test_schedule_off_with_interval_zero(tmp_path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PURGE_INTERVAL_HOURS", "0")
    store = UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 'tracker.db'}")
    assert store.retention_schedule is None and not privacy._schedules


def test_purge_of_many_conversations_at_once(tmp_path):
    """Thousands of expired visitors (more than SQLite's bound parameters) in one purge."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    store = rasa_store(url)
    fill(store, {"today": [0]})
    old = NOW - 100 * DAY
    with store.engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO events (sender_id, type_name, timestamp) VALUES (:s, 'user', :t)"),
            [{"s": f"visitor-{index}", "t": old} for index in range(40_000)],
        )
    assert purge_events(url, 90, now=NOW) == PurgeResult(events=40_000, conversations=40_000)
    assert set(messages(store)) == {"today"}
    store.engine.dispose()


def test_the_sqlite_tracker_store_writes_ahead_and_the_purge_reads_alongside(tmp_path):
    """A turn's commit does not wait for two fsyncs (WAL, synchronous=NORMAL), and the purge's
    own engine sees what the store wrote."""
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    store = UrlSQLTrackerStore(Domain.empty(), url=url)
    # Already in the file when the store is built (before its purge thread or a turn opens it),
    # as a connection without the store's settings sees.
    with closing(sqlite3.connect(tmp_path / "tracker.db")) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
    fill(store, {"today": [0]})
    engine = tracker_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 1
        assert connection.execute(sa.select(sa.func.count()).select_from(EVENTS)).scalar() > 0
