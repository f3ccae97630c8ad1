"""Tracker and lock stores configured from environment URLs (see README, "Configuration").

The tracker store is the one object every Rasa server builds at start-up from endpoints.yml, in
`make run` and in `make cluster` alike: it also starts the retention schedule (bot/conversations/privacy.py) and
masks secrets in the server's log lines (bot/masking.py).

Each turn reads the conversation's latest session and appends the new events. Rasa's
SQLTrackerStore builds an ORM object per stored event to read one column and counts the stored
events through a subquery of whole rows; on SQLite it opens and closes a connection for each of
these. Here the same rows are read and counted with plain SQL on `data`, and SQLite connections
are kept in a small pool (a sixth of a turn's CPU, measured in docs/benchmarks.md).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import Event, SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.config import settings, tracker_db_url
from bot.conversations.privacy import start_retention_schedule
from bot.conversations.tracker_db import write_ahead_log
from bot.masking import install_masking_filter, mask_secrets

logger = logging.getLogger(__name__)


class UrlSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store, configured by one URL (`TRACKER_DB_URL`) instead of parts."""

    def __init__(
        self,
        domain: Any = None,
        event_broker: Any = None,
        url: str | None = None,
        host: str | None = None,  # Rasa passes the endpoint's `url` here; ours is TRACKER_DB_URL
        **kwargs: Any,
    ) -> None:
        install_masking_filter()
        db_url = url or host or tracker_db_url()
        parsed = make_url(db_url)
        if parsed.get_backend_name() == "sqlite" and parsed.database:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        logger.info("Tracker store: %s", mask_secrets(db_url))
        super().__init__(
            domain=domain,
            dialect=parsed.drivername,
            host=parsed.host,
            port=parsed.port,
            db=parsed.database or "",
            username=parsed.username,
            password=parsed.password,
            event_broker=event_broker,
            query=dict(parsed.query) or None,
            **kwargs,
        )
        # After super().__init__: Rasa has created the `events` table (and waited for the database).
        if self.engine.dialect.name == "sqlite":
            self._pool_sqlite_connections()
        self.retention_schedule = start_retention_schedule(db_url)

    def _pool_sqlite_connections(self) -> None:
        """SQLAlchemy 1.4 gives a SQLite file no pool: a connection opened and closed for each
        read and each write of a turn. Turns run on the server's one event-loop thread, and the
        purge has its own engine: a few pooled connections suffice."""
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(
            url,
            poolclass=sa.pool.QueuePool,
            pool_size=2,
            max_overflow=8,
            connect_args={"check_same_thread": False},
        )
        write_ahead_log(self.engine)
        # The switch to WAL is written in the file: make it now, before the purge thread or a
        # turn opens the file. Two connections switching a fresh file at once race for its lock,
        # and the loser fails with « database is locked » (seen in CI: a turn would fail the same way).
        with self.engine.connect():
            pass
        self.sessionmaker = sa.orm.sessionmaker(bind=self.engine)

    def _latest_session(self, sender_id: str, columns: list[Any]) -> sa.sql.Select:
        """Rasa's `_event_query` for the latest session (events from the last `session_started`
        on, or all of them), selecting `columns` instead of ORM objects."""
        events = self.SQLEvent.__table__
        session_start = (
            sa.select(sa.func.max(events.c.timestamp))
            .where(
                events.c.sender_id == sender_id,
                events.c.type_name == SessionStarted.type_name,
            )
            .scalar_subquery()
        )
        return sa.select(*columns).where(
            events.c.sender_id == sender_id,
            sa.or_(events.c.timestamp >= session_start, session_start.is_(None)),
        )

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        if fetch_events_from_all_sessions:  # the HTTP API's full history: rare, Rasa's way
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        events = self.SQLEvent.__table__
        query = self._latest_session(sender_id, [events.c.data]).order_by(events.c.id)
        with self.session_scope() as session:
            rows = session.execute(query).scalars().all()
        if not self.domain or not rows:
            return None
        return DialogueStateTracker.from_dict(
            sender_id, [json.loads(data) for data in rows], self.domain.slots
        )

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Event]:
        """The tracker's events not stored yet (those after the latest session's stored ones)."""
        stored = session.execute(
            self._latest_session(tracker.sender_id, [sa.func.count()])
        ).scalar()
        return itertools.islice(tracker.events, stored, len(tracker.events))


def redis_options(url: str) -> dict[str, Any]:
    """Host, port, database, credentials and TLS of a `REDIS_URL` (database 1 by default), for
    the lock store and the turn records alike; ValueError in French for another scheme."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(
            f"REDIS_URL invalide : {mask_secrets(url)!r} (attendu : redis://hôte:port/base)"
        )
    return {
        "host": parts.hostname or "localhost",
        "port": parts.port or 6379,
        "db": int(parts.path.lstrip("/") or 1),
        "username": parts.username,
        "password": parts.password,
        "tls": parts.scheme == "rediss",
    }


def _redis_lock_store(url: str) -> RedisLockStore:
    options = redis_options(url)
    return RedisLockStore(
        use_ssl=options.pop("tls"), key_prefix=settings().redis_key_prefix or None, **options
    )


class EnvLockStore(LockStore):
    """Redis lock store when `REDIS_URL` is set (several servers), in-memory otherwise."""

    def __init__(self, endpoint_config: Any = None) -> None:
        url = settings().redis_url.get_secret_value()
        self._store: LockStore = _redis_lock_store(url) if url else InMemoryLockStore()
        logger.info("Lock store: %s", "Redis" if url else "in-memory (one server only)")
        super().__init__()

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        return self._store.get_lock(conversation_id)

    def delete_lock(self, conversation_id: str) -> None:
        self._store.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self._store.save_lock(lock)
