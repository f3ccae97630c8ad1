"""Settings read from the environment, with the embedded defaults of `make run`."""

from __future__ import annotations

import os

from bot import PROJECT_DIR

DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_DIR / 'var' / 'spie.db'}"
DEFAULT_TRACKER_DB_URL = f"sqlite:///{PROJECT_DIR / 'var' / 'tracker.db'}"
# Longest user message passed to NLU; longer ones are cut (see README, "Limites").
DEFAULT_MAX_MESSAGE_CHARS = 1000


def database_url() -> str:
    """Contacts and places store (SQLite file by default, PostgreSQL in production)."""
    return os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL


def tracker_db_url() -> str:
    """Conversation (tracker) store."""
    return os.environ.get("TRACKER_DB_URL") or DEFAULT_TRACKER_DB_URL


def max_message_chars() -> int:
    return int(os.environ.get("MAX_MESSAGE_CHARS") or DEFAULT_MAX_MESSAGE_CHARS)
