"""Personal data: conversations are kept a limited number of days.

`bot privacy purge --older-than DAYS` deletes every conversation whose last message is older than
DAYS days from the tracker store (Rasa's `events` table, SQLite or PostgreSQL). Default DAYS:
`CONVERSATION_RETENTION_DAYS` (90). `make run` purges at start-up.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

import sqlalchemy as sa

from bot.config import tracker_db_url

logger = logging.getLogger(__name__)
DEFAULT_RETENTION_DAYS = 90


def retention_days() -> int:
    return int(os.environ.get("CONVERSATION_RETENTION_DAYS") or DEFAULT_RETENTION_DAYS)


def purge_conversations(db_url: str, older_than_days: float, now: float | None = None) -> int:
    """Deletes conversations inactive for `older_than_days`; returns how many were deleted."""
    if older_than_days < 0:
        raise ValueError("le nombre de jours doit être positif")
    cutoff = (now if now is not None else time.time()) - older_than_days * 86400
    engine = sa.create_engine(db_url, future=True)
    try:
        if not sa.inspect(engine).has_table("events"):
            return 0
        events = sa.Table("events", sa.MetaData(), autoload_with=engine)
        stale = (
            sa.select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < cutoff)
        )
        with engine.begin() as connection:
            senders = [row.sender_id for row in connection.execute(stale)]
            for start in range(0, len(senders), 500):
                batch = senders[start : start + 500]
                connection.execute(sa.delete(events).where(events.c.sender_id.in_(batch)))
        return len(senders)
    finally:
        engine.dispose()


def _cli_purge(args: argparse.Namespace) -> int:
    days = args.older_than if args.older_than is not None else retention_days()
    deleted = purge_conversations(args.db_url or tracker_db_url(), days)
    print(f"{deleted} conversation(s) de plus de {days} jour(s) supprimée(s).")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    privacy = subparsers.add_parser("privacy", help="Données personnelles.")
    commands = privacy.add_subparsers(dest="privacy_command", required=True)
    purge = commands.add_parser("purge", help="Supprime les conversations anciennes.")
    purge.add_argument(
        "--older-than",
        type=float,
        metavar="DAYS",
        help=f"jours (défaut : CONVERSATION_RETENTION_DAYS ou {DEFAULT_RETENTION_DAYS})",
    )
    purge.add_argument("--db-url", help="tracker store (défaut : TRACKER_DB_URL)")
    purge.set_defaults(func=_cli_purge)
