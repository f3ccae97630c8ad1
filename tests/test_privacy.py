import asyncio
import time

import pytest
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.cli import main
from bot.privacy import purge_conversations
from tests.pg import temporary_database

DAY = 86400
NOW = time.time()


def fill(url: str) -> SQLTrackerStore:
    parsed = make_url(url)
    store = SQLTrackerStore(
        Domain.empty(),
        dialect=parsed.drivername,
        host=parsed.host,
        port=parsed.port,
        db=parsed.database,
        username=parsed.username,
    )
    for sender, age_days in [("old-1", 120), ("old-2", 91), ("recent", 10), ("today", 0)]:
        tracker = DialogueStateTracker(sender, [])
        # an old conversation that was active recently must be kept: "recent" starts 200 days ago
        start = 200 if sender == "recent" else age_days
        tracker.update(UserUttered("bonjour", timestamp=NOW - start * DAY))
        tracker.update(UserUttered("merci", timestamp=NOW - age_days * DAY))
        asyncio.run(store.save(tracker))
    return store


def remaining(store: SQLTrackerStore) -> set[str]:
    return set(asyncio.run(store.keys()))


def check_purge(url: str) -> None:
    store = fill(url)
    assert purge_conversations(url, 90, now=NOW) == 2
    assert remaining(store) == {"recent", "today"}
    assert purge_conversations(url, 90, now=NOW) == 0  # idempotent
    assert purge_conversations(url, 5, now=NOW) == 1
    assert remaining(store) == {"today"}


def test_purge_on_sqlite(tmp_path):
    check_purge(f"sqlite:///{tmp_path / 'tracker.db'}")


@pytest.mark.postgres
def test_purge_on_postgresql():
    with temporary_database("privacy") as url:
        check_purge(url)


def test_purge_on_an_empty_store(tmp_path):
    assert purge_conversations(f"sqlite:///{tmp_path / 'empty.db'}", 30) == 0


def test_purge_command(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    fill(url)
    assert main(["privacy", "purge", "--older-than", "100", "--db-url", url]) == 0
    assert "1 conversation(s)" in capsys.readouterr().out
