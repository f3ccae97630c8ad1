"""rasa_ext/stores.py's tracker store reads and writes exactly what Rasa's SQLTrackerStore does,
on SQLite and on PostgreSQL, with plain SQL instead of ORM rows."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from rasa_ext.stores import UrlSQLTrackerStore
from tests.pg import temporary_database

DOMAIN = Domain.from_dict(
    {
        "intents": ["greet", "faq"],
        "slots": {"departement": {"type": "text", "mappings": [{"type": "custom"}]}},
    }
)
T0 = 1_700_000_000.0


def rasa_store(url: str) -> SQLTrackerStore:
    parsed = make_url(url)
    return SQLTrackerStore(
        DOMAIN,
        dialect=parsed.drivername,
        host=parsed.host,
        port=parsed.port,
        db=parsed.database,
        username=parsed.username,
    )


def turns(sender: str) -> Iterator[list]:
    """Two sessions of a conversation, turn by turn (each list is saved as one turn)."""
    yield [
        ActionExecuted("action_session_start", timestamp=T0),
        SessionStarted(timestamp=T0),
        ActionExecuted("action_listen", timestamp=T0 + 1),
    ]
    yield [
        UserUttered("Bonjour", {"name": "greet", "confidence": 1.0}, timestamp=T0 + 2),
        BotUttered("Bonjour !", timestamp=T0 + 3),
        ActionExecuted("action_listen", timestamp=T0 + 3),
    ]
    yield [
        UserUttered("Allier", {"name": "faq", "confidence": 0.9}, timestamp=T0 + 4),
        SlotSet("departement", "03", timestamp=T0 + 5),
        ActionExecuted("action_listen", timestamp=T0 + 5),
    ]
    # a new session the next day (same timestamp as the last event of the day before: >=)
    yield [
        ActionExecuted("action_session_start", timestamp=T0 + 86400),
        SessionStarted(timestamp=T0 + 86400),
        SlotSet("departement", "03", timestamp=T0 + 86400),
        ActionExecuted("action_listen", timestamp=T0 + 86400),
    ]
    yield [
        UserUttered("Merci", {"name": "greet", "confidence": 1.0}, timestamp=T0 + 86401),
        ActionExecuted("action_listen", timestamp=T0 + 86402),
    ]


@pytest.fixture(autouse=True)
def no_retention_schedule(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests read back what they wrote; the purge thread a store starts (tested in
    test_privacy.py) could delete the old-dated test conversation in between (seen once in CI)."""
    monkeypatch.setattr("rasa_ext.stores.start_retention_schedule", lambda db_url: None)


def play(store: SQLTrackerStore, sender: str) -> list[list]:
    """Saves the conversation turn by turn as Rasa does (read, update, save); returns what each
    read gave back, as event dicts."""
    seen = []
    for turn in turns(sender):
        tracker = asyncio.run(store.retrieve(sender)) or DialogueStateTracker(sender, DOMAIN.slots)
        seen.append([event.as_dict() for event in tracker.events])
        for event in turn:
            tracker.update(event)
        asyncio.run(store.save(tracker))
    final = asyncio.run(store.retrieve(sender))
    seen.append([event.as_dict() for event in final.events])
    seen.append([e.as_dict() for e in asyncio.run(store.retrieve_full_tracker(sender)).events])
    return seen


def rows(store: SQLTrackerStore) -> list[tuple]:
    table = store.SQLEvent.__table__
    with store.engine.connect() as connection:
        return [
            tuple(row)
            for row in connection.execute(
                sa.select(
                    table.c.sender_id,
                    table.c.type_name,
                    table.c.timestamp,
                    table.c.intent_name,
                    table.c.action_name,
                    table.c.data,
                ).order_by(table.c.id)
            )
        ]


def check_same_as_rasa(ours_url: str, rasa_url: str) -> None:
    ours, rasa = UrlSQLTrackerStore(DOMAIN, url=ours_url), rasa_store(rasa_url)
    for sender in ("alice", "bob"):
        assert play(ours, sender) == play(rasa, sender)
    assert rows(ours) == rows(rasa)
    assert asyncio.run(ours.retrieve("nobody")) is None
    latest = asyncio.run(ours.retrieve("alice"))
    assert [e.type_name for e in latest.events][:2] == ["action", "session_started"]
    assert latest.get_slot("departement") == "03"


def test_same_reads_and_writes_as_rasa_on_sqlite(tmp_path) -> None:
    check_same_as_rasa(f"sqlite:///{tmp_path / 'ours.db'}", f"sqlite:///{tmp_path / 'rasa.db'}")


def test_sqlite_connections_are_pooled(tmp_path) -> None:
    store = UrlSQLTrackerStore(DOMAIN, url=f"sqlite:///{tmp_path / 'tracker.db'}")
    play(store, "alice")
    assert isinstance(store.engine.pool, sa.pool.QueuePool)
    assert store.engine.pool.checkedout() == 0  # every read and write gave its connection back


@pytest.mark.postgres
def test_same_reads_and_writes_as_rasa_on_postgresql() -> None:
    with temporary_database() as ours_url, temporary_database() as rasa_url:
        check_same_as_rasa(ours_url, rasa_url)
