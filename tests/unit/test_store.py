"""The store on SQLite and PostgreSQL: build, idempotent rebuild, queries, failures, injection."""

from __future__ import annotations

import logging
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from bot import PROJECT_DIR
from bot.cli import main as cli_main
from bot.contacts.cards import region_card
from bot.places.resolver import PlaceResolver
from bot.places.store import (
    ContactUpdate,
    Store,
    StoreUnavailable,
    build_database,
    communes_table,
    engine_for,
    regions_table,
)

pytest_plugins = ["tests.conftest_db"]

INJECTIONS = [
    "'; DROP TABLE spie_communes; --",
    "03' OR '1'='1",
    "03; DELETE FROM spie_services",
    'Robert"); DROP TABLE spie_regions;--',
]
EXPECTED_COUNTS = {
    "spie_regions": 18,
    "spie_departements": 101,
    "spie_communes": 37590,
    "spie_postal_codes": 35511,
    "spie_services": 119,
    "spie_prefectures": 101,
    "spie_territories": 68,
}


def table_counts(url: str) -> dict[str, int]:
    with engine_for(url).connect() as connection:
        return {
            name: connection.execute(sa.text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
            for name in EXPECTED_COUNTS  # fixed table names, not user input
        }


def test_build_fills_every_table(store_url: str) -> None:
    assert table_counts(store_url) == EXPECTED_COUNTS


def test_rebuild_is_skipped_unless_forced_and_keeps_staff_contacts(store: Store) -> None:
    version = store.data_version()
    assert build_database(store.url) is False
    update = ContactUpdate("departement", "03", "phone", "04 70 00 00 00")
    assert store.apply_contact_updates([update], "import test.csv 2026-01-01") == 1
    assert build_database(store.url, force=True) is True
    assert store.data_version() == version
    assert table_counts(store.url) == EXPECTED_COUNTS
    assert store.service("departement", "03").phone == "04 70 00 00 00"


def test_place_queries(store: Store) -> None:
    allier = store.departement("03")
    assert (allier.name, allier.region_code, allier.prefecture) == ("Allier", "84", "Moulins")
    assert allier.population > 300_000
    assert store.departement("2A").name == "Corse-du-Sud"
    assert store.departement("99") is None
    assert store.region("84").name == "Auvergne-Rhône-Alpes"
    assert [dep.code for dep in store.departements("53")] == ["22", "29", "35", "56"]
    assert len(store.departements()) == 101
    assert len(store.regions()) == 18


def test_prefectures_and_region_prefecture(store: Store) -> None:
    assert store.prefecture("03").website == "https://www.allier.gouv.fr"
    assert store.prefecture("03").dep_name == "Allier"
    # The préfecture de région is the préfecture of the département of the chef-lieu.
    assert region_card("84", store).region_prefecture.dep_code == "69"  # chef-lieu Lyon
    assert region_card("11", store).region_prefecture.website.endswith("/ile-de-france")
    assert region_card("94", store).region_prefecture.dep_code == "2A"  # chef-lieu Ajaccio


def test_services_by_kind(store: Store) -> None:
    kinds = {row.code: row.kind for row in store.services() if row.scope == "departement"}
    assert kinds["03"] == "DDETSPP" and kinds["26"] == "DDETS"
    assert {code for code, kind in kinds.items() if kind == "DRIEETS UD"} == {
        "75",
        "92",
        "93",
        "94",
    }
    assert {code for code, kind in kinds.items() if kind == "DEETS"} == {"971", "972", "974", "976"}
    assert kinds["973"] == "DGCOPOP"
    assert store.service("region", "11").kind == "DRIEETS"
    assert store.service("region", "93").website == "https://paca.dreets.gouv.fr"
    assert store.service("region", "32").website_status == "likely"
    assert store.service("region", "03").website == ""  # Guyane: no DGCOPOP website known
    assert all(not (row.phone or row.email or row.address) for row in store.services())


def test_spie_territories(store: Store) -> None:
    assert [row.code for row in store.spie_territories("22")] == ["53R"]
    lyon = store.spie_territories("69")
    assert [(row.code, row.coverage) for row in lyon] == [("69M", "part")]
    assert {row.code for row in store.spie_territories("67")} == {"67", "6AE"}
    assert [row.wave for row in store.spie_territories("03")] == ["ami_1_avril_2021"]
    assert {row.status for row in store.spie_territories("2B")} == {"partial"}
    assert store.spie_territories("09") == []
    assert len(store.spie_territories()) == 68


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_attempts_are_plain_values(
    store: Store, resolver: PlaceResolver, text: str
) -> None:
    assert store.departement(text) is None
    assert store.region(text) is None
    assert store.service("departement", text) is None
    assert store.prefecture(text) is None
    assert store.spie_territories(text) == []
    assert resolver.resolve(text).kind == "unknown"
    assert resolver.find_in_text(text).kind == "unknown"
    assert table_counts(store.url) == EXPECTED_COUNTS


def test_injection_in_contact_values_is_stored_verbatim(store: Store) -> None:
    value = "1 rue X'); DROP TABLE spie_services; --"
    store.apply_contact_updates([ContactUpdate("region", "84", "address", value)], "import t 1")
    assert store.service("region", "84").address == value
    assert table_counts(store.url) == EXPECTED_COUNTS


def test_unreachable_server_raises_store_unavailable(caplog: pytest.LogCaptureFixture) -> None:
    store = Store("postgresql://root@127.0.0.1:1/nothing")  # nothing listens on port 1
    started = time.perf_counter()
    with caplog.at_level(logging.ERROR, logger="bot.places.store"), pytest.raises(StoreUnavailable):
        store.departement("03")
    assert time.perf_counter() - started < 10
    assert any("store unavailable" in record.getMessage() for record in caplog.records)


def test_unbuilt_database_raises_store_unavailable(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'empty.db'}")
    assert store.data_version() is None
    with pytest.raises(StoreUnavailable):
        store.departement("03")
    with pytest.raises(StoreUnavailable):
        store.ping()


def test_sqlite_folder_is_created(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "var" / "deeper" / "spie.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
    assert Store().url == f"sqlite:///{path}"
    engine_for()
    assert path.parent.is_dir()


def test_no_engine_at_import_time() -> None:
    code = "import bot.places.store, bot.places.resolver, bot.contacts.cards; print(len(bot.places.store._engines))"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "0"


def test_cli_db_build(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["db", "build", "--url", store_url]) == 0
    assert "déjà à jour" in capsys.readouterr().out


def test_cli_db_build_reports_a_down_server(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli_main(["db", "build", "--url", "postgresql://root@127.0.0.1:1/nothing"]) == 1
    assert "Base indisponible" in capsys.readouterr().out


@pytest.mark.postgres
def test_resolver_from_postgres_matches_sqlite(postgres_url: str, resolver: PlaceResolver) -> None:
    from_pg = PlaceResolver.from_store(Store(postgres_url))
    for mention in ("Allier", "01200", "Moulins", "Clermont-Ferand", "2A", "Bretagne", "Paris 15e"):
        assert from_pg.resolve(mention) == resolver.resolve(mention), mention


def test_names_with_quotes_and_accents_round_trip(store: Store) -> None:
    with store.engine.connect() as connection:
        query = sa.select(communes_table.c.name).where(communes_table.c.name == "L'Haÿ-les-Roses")
        assert connection.execute(query).scalar_one() == "L'Haÿ-les-Roses"
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(regions_table)).scalar() == 18
        )
