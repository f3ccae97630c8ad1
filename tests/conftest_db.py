"""Store fixtures: a built store on SQLite (temporary file) and on PostgreSQL (throw-away database).

Loaded by the store, resolver and contacts test modules with `pytest_plugins = ["tests.conftest_db"]`.
PostgreSQL tests are marked `postgres` and fail (never skip) when the server is down.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from bot.places.resolver import PlaceResolver
from bot.places.store import Store, build_database, dispose_engines, service_updates_table
from tests.pg import temporary_database

BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite store built from bot/data."""
    url = f"sqlite:///{tmp_path_factory.mktemp('store') / 'spie.db'}"
    build_database(url)
    return url


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL store built from bot/data in a database of its own, dropped at the end."""
    with temporary_database("spie_store") as url:
        build_database(url)
        yield url
        dispose_engines()  # close the pooled connections before the database is dropped


@pytest.fixture(scope="session", params=BACKENDS)
def store_url(request: pytest.FixtureRequest) -> str:
    """The URL of a built store, once per backend."""
    return request.getfixturevalue(f"{request.param}_url")


@pytest.fixture()
def store(store_url: str) -> Iterator[Store]:
    """A built store without any staff-imported contact (cleared before and after each test)."""
    clear_contact_updates(store_url)
    yield Store(store_url)
    clear_contact_updates(store_url)


@pytest.fixture(scope="session")
def resolver(sqlite_url: str) -> PlaceResolver:
    return PlaceResolver.from_store(Store(sqlite_url))


def clear_contact_updates(url: str) -> None:
    with Store(url).engine.begin() as connection:
        connection.execute(sa.delete(service_updates_table))
