"""Tracker and lock stores configured from environment URLs (see README, "Configuration").

The tracker store is the one object every Rasa server builds at start-up from endpoints.yml, in
`make run` and in `make cluster` alike: it also starts the retention schedule (bot/conversations/privacy.py) and
masks secrets in the server's log lines (bot/masking.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore
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
        write_ahead_log(self.engine)
        self.retention_schedule = start_retention_schedule(db_url)


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
