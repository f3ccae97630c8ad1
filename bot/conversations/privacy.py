"""Personal data: conversation events are kept a limited number of days.

`purge_events` deletes every event older than the retention (`CONVERSATION_RETENTION_DAYS`, 90 days)
from Rasa's `events` table, SQLite or PostgreSQL (in `POSTGRESQL_SCHEMA` when set), whether or not
the conversation is still active: a returning visitor keeps the same sender id for ever, so old
events go and recent ones stay; a conversation with nothing recent left disappears entirely.

It runs on a schedule while the assistant runs (`RetentionSchedule`, started by the tracker store
that the Rasa server loads, every `PURGE_INTERVAL_HOURS`) and by hand (`bot privacy purge`). With
several servers on one PostgreSQL database, a transaction-level advisory lock lets one purge run at
a time; the others skip their turn.
"""

from __future__ import annotations

import argparse
import logging
import threading
import time
from dataclasses import dataclass

import sqlalchemy as sa

from bot.config import settings, tracker_db_url
from bot.conversations.tracker_db import EVENTS, has_events_table, tracker_engine
from bot.masking import mask_secrets

logger = logging.getLogger(__name__)
# Key of the PostgreSQL advisory lock held by the purging server ("SPIEPURG" in ASCII).
PURGE_LOCK_KEY = 0x5350_4945_5055_5247


def retention_days() -> float:
    return settings().conversation_retention_days


def purge_interval_hours() -> float:
    """Hours between two purges while the assistant runs; 0 turns the schedule off."""
    return settings().purge_interval_hours


@dataclass(frozen=True)
class PurgeResult:
    events: int = 0  # events deleted
    conversations: int = 0  # conversations left without any event (gone entirely)
    skipped: bool = False  # another server was purging (PostgreSQL advisory lock taken)


def purge_events(db_url: str, older_than_days: float, now: float | None = None) -> PurgeResult:
    """Deletes the events older than `older_than_days` days, in one transaction."""
    if older_than_days < 0:
        raise ValueError("le nombre de jours doit être positif")
    cutoff = (now if now is not None else time.time()) - older_than_days * 86400
    engine = tracker_engine(db_url)
    try:
        if not has_events_table(engine):
            return PurgeResult()
        with engine.begin() as connection:
            if (
                engine.dialect.name == "postgresql"
                and not connection.execute(
                    sa.select(sa.func.pg_try_advisory_xact_lock(PURGE_LOCK_KEY))
                ).scalar()
            ):
                return PurgeResult(skipped=True)
            return _delete_before(connection, cutoff)
    finally:
        engine.dispose()


def _delete_before(connection: sa.engine.Connection, cutoff: float) -> PurgeResult:
    # Conversations with nothing at or after the cutoff disappear entirely (one aggregate query:
    # no list of sender ids, however many there are).
    emptied = (
        sa.select(EVENTS.c.sender_id)
        .group_by(EVENTS.c.sender_id)
        .having(sa.func.max(EVENTS.c.timestamp) < cutoff)
        .subquery()
    )
    conversations = connection.execute(sa.select(sa.func.count()).select_from(emptied)).scalar()
    deleted = connection.execute(sa.delete(EVENTS).where(EVENTS.c.timestamp < cutoff)).rowcount
    return PurgeResult(events=deleted, conversations=conversations or 0)


class RetentionSchedule:
    """Purges the tracker store every `interval_hours` in a daemon thread, the first time at once.

    A thread of its own: the purge (blocking SQL) never runs on the Rasa server's event loop. A
    failure is logged and retried at the next interval; it never stops the server.
    """

    def __init__(self, db_url: str, interval_hours: float, retention: float) -> None:
        self.db_url = db_url
        self.interval = interval_hours * 3600
        self.retention = retention
        self.runs = 0  # purges attempted, for tests and logs
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="retention-purge", daemon=True)

    def start(self) -> RetentionSchedule:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.purge_once()
            self._stop.wait(self.interval)

    def purge_once(self) -> PurgeResult | None:
        self.runs += 1
        try:
            result = purge_events(self.db_url, self.retention)
        except Exception as error:  # the server must go on; retried next time
            logger.error("Purge des conversations impossible : %s", mask_secrets(str(error)))
            return None
        if result.skipped:
            logger.info("Purge : un autre serveur purge déjà, tour passé.")
        elif result.events:
            logger.info(
                "Purge : %d événement(s) de plus de %g jour(s) supprimé(s), %d conversation(s) vidée(s).",
                result.events,
                self.retention,
                result.conversations,
            )
        return result


_schedules: dict[str, RetentionSchedule] = {}
_schedules_lock = threading.Lock()


def start_retention_schedule(db_url: str) -> RetentionSchedule | None:
    """Starts the purge schedule of `db_url` once per process; None when turned off (interval 0)."""
    interval = purge_interval_hours()
    if interval <= 0:
        logger.info("Purge périodique désactivée (PURGE_INTERVAL_HOURS=0).")
        return None
    with _schedules_lock:
        if db_url not in _schedules:
            _schedules[db_url] = RetentionSchedule(db_url, interval, retention_days()).start()
            logger.info(
                "Purge des événements de plus de %g jour(s) toutes les %g h.",
                retention_days(),
                interval,
            )
        return _schedules[db_url]


def _cli_purge(args: argparse.Namespace) -> int:
    days = args.older_than if args.older_than is not None else retention_days()
    result = purge_events(args.db_url or tracker_db_url(), days)
    if result.skipped:
        print("Une purge est déjà en cours sur un autre serveur : rien à faire.")
        return 0
    print(
        f"{result.events} événement(s) de plus de {days:g} jour(s) supprimé(s) ; "
        f"{result.conversations} conversation(s) supprimée(s) entièrement."
    )
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    privacy = subparsers.add_parser("privacy", help="Données personnelles.")
    commands = privacy.add_subparsers(dest="privacy_command", required=True)
    purge = commands.add_parser("purge", help="Supprime les messages anciens.")
    purge.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help="jours (défaut : CONVERSATION_RETENTION_DAYS, voir bot/config.py)",
    )
    purge.add_argument("--db-url", help="tracker store (défaut : TRACKER_DB_URL)")
    purge.set_defaults(func=_cli_purge)
