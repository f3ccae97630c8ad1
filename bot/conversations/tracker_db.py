"""Rasa's SQL tracker store as `bot` reads it: the `events` table and an engine configured like Rasa's.

Rasa 3.6 `SQLTrackerStore` keeps one row per event in table `events` (id, sender_id, type_name,
timestamp = Unix time of the event, intent_name, action_name, data = the event's JSON). With
PostgreSQL, `POSTGRESQL_SCHEMA` puts the table in that schema (Rasa sets the search path), so every
reader and the purge must set the same search path, or they would look in `public`.
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.config import settings

# The columns of Rasa's SQLTrackerStore.SQLEvent that `bot` reads or filters on.
EVENTS = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("type_name", sa.String(255)),
    sa.Column("timestamp", sa.Float),
    sa.Column("data", sa.Text),
)


def is_postgresql(db_url: str) -> bool:
    backend: str = sa.engine.make_url(normalized_url(db_url)).get_backend_name()
    return backend == "postgresql"


def normalized_url(db_url: str) -> str:
    """Like Rasa: `postgres://` is accepted for `postgresql://`."""
    if db_url.startswith("postgres://"):
        return "postgresql://" + db_url[len("postgres://") :]
    return db_url


def write_ahead_log(engine: sa.engine.Engine) -> None:
    """SQLite only: every connection of `engine` in write-ahead-log mode, synced at checkpoints.

    In SQLite's default mode each commit (one per turn) waits for two fsyncs, ≈ 5 ms during which
    the Rasa server's event loop answers nobody; in WAL mode with `synchronous=NORMAL` a commit
    costs ≈ 0.5 ms, a crash of the program loses nothing, a power cut at most the last commits,
    and the purge can read while a turn writes. No effect on other databases."""
    if engine.dialect.name != "sqlite":
        return

    def on_connect(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    sa.event.listen(engine, "connect", on_connect)


def tracker_engine(db_url: str) -> sa.engine.Engine:
    """An engine on the tracker store, in Rasa's schema (`POSTGRESQL_SCHEMA`) when one is set."""
    db_url = normalized_url(db_url)
    schema = settings().postgresql_schema
    if schema and is_postgresql(db_url):
        return sa.create_engine(
            db_url, future=True, connect_args={"options": f"-csearch_path={schema}"}
        )
    engine = sa.create_engine(db_url, future=True)
    write_ahead_log(engine)
    return engine


def has_events_table(engine: sa.engine.Engine) -> bool:
    """Whether `events` exists where the engine's queries look (its search path's schema)."""
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        if engine.dialect.name != "postgresql":
            return bool(inspector.has_table("events"))
        schema = connection.execute(sa.text("SELECT current_schema()")).scalar()
        return schema is not None and bool(inspector.has_table("events", schema=schema))
