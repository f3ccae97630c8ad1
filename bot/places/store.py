"""The places and contacts store (SQLAlchemy 1.4; SQLite by default, PostgreSQL in production).

Tables (all prefixed `spie_` so that the store can share a database with the tracker store):
régions, départements, communes, postal codes, State services, préfectures, SPIE territories,
staff contact updates and a `meta` row holding the version of the data files it was built from.

`build_database()` fills the reference tables from `bot/data/geo/` and `bot/data/services/`; it is
idempotent and never touches `spie_service_updates`, the values staff imported with
`bot contacts import` (they survive a rebuild and are merged over the base rows when read).

Every failure to reach or read the database raises `StoreUnavailable` (and logs one line for
staff), so that the actions can answer without a contact card instead of crashing.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import InterfaceError, NoSuchTableError, OperationalError, ProgrammingError

from bot import DATA_DIR
from bot.config import database_url
from bot.masking import mask_secrets

log = logging.getLogger(__name__)

# Bump when the table layout changes: the next `build_database()` then rebuilds.
SCHEMA_VERSION = "1"
GEO_DIR = DATA_DIR / "geo"
SERVICES_DIR = DATA_DIR / "services"
DATA_FILES = (
    GEO_DIR / "regions.csv",
    GEO_DIR / "departements.csv",
    GEO_DIR / "communes.csv",
    GEO_DIR / "postal_codes.csv",
    SERVICES_DIR / "services.csv",
    SERVICES_DIR / "prefectures.csv",
    SERVICES_DIR / "spie_territories.csv",
)

Scope = Literal["departement", "region"]
RowT = TypeVar("RowT")
CONTACT_FIELDS = ("address", "phone", "email", "website")


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or read (server down, database not built…)."""


# Server down, connection lost, missing tables (SQLite reports those as OperationalError).
# Other errors (integrity…) are bugs and propagate as they are.
_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, ProgrammingError, NoSuchTableError)


# --- rows and their tables ---------------------------------------------------------------------
# Each table is written once: the row dataclass, whose fields carry their column (`column(...)`).
# Fields without a column are derived when read (a préfecture's département name, a service's
# staff-imported values). Tuples are stored as space-separated codes (`joined=True`).

COLUMN = "column"


def column(
    sql_type: sa.types.TypeEngine,
    *,
    key: bool = False,
    nullable: bool = False,
    index: bool = False,
    joined: bool = False,
) -> Any:
    spec = {
        "sql_type": sql_type,
        "key": key,
        "nullable": nullable,
        "index": index,
        "joined": joined,
    }
    return dataclasses.field(metadata={COLUMN: spec})


def table_of(name: str, row_type: type, *extra: sa.Column) -> sa.Table:
    """The table of a row dataclass: one column per field declared with `column()`."""
    columns = [
        sa.Column(
            f.name,
            spec["sql_type"],
            primary_key=spec["key"],
            nullable=spec["nullable"],
            index=spec["index"],
            autoincrement=False,
        )
        for f in _column_fields(row_type)
        for spec in [f.metadata[COLUMN]]
    ]
    return sa.Table(name, metadata, *extra, *columns)


def _column_fields(row_type: type) -> list[dataclasses.Field[Any]]:
    return [f for f in dataclasses.fields(row_type) if COLUMN in f.metadata]


metadata = sa.MetaData()


@dataclass(frozen=True)
class RegionRow:
    code: str = column(sa.String(3), key=True)
    name: str = column(sa.String(80))
    tncc: str = column(sa.String(1))
    chef_lieu: str = column(sa.String(5))
    # Département of the chef-lieu: its préfecture is the préfecture de région.
    prefecture_dep: str = column(sa.String(3))


@dataclass(frozen=True)
class DepartementRow:
    code: str = column(sa.String(3), key=True)
    name: str = column(sa.String(80))
    region_code: str = column(sa.String(3), index=True)
    # INSEE article code: 0 "de Paris", 2 "du Rhône", 3 "de la Drôme", 5 "de l'Allier".
    tncc: str = column(sa.String(1))
    chef_lieu: str = column(sa.String(5))
    prefecture: str = column(sa.String(100))  # name of the chef-lieu commune
    population: int = column(sa.Integer)


# Communes and postal codes also cover the collectivités d'outre-mer (975, 977, 978, 98x) and
# Monaco, which are not among the 101 départements: no foreign key on `dep_code`.
@dataclass(frozen=True)
class CommuneRow:
    # A commune déléguée often keeps the code of its commune nouvelle: the key is (code, type).
    code: str = column(sa.String(5), key=True)
    name: str = column(sa.String(100))
    dep_code: str = column(sa.String(3), index=True)
    region_code: str = column(sa.String(3))
    type: str = column(sa.String(4), key=True)  # COM, COMD (déléguée), COMA (associée), ARM
    population: int | None = column(sa.Integer, nullable=True)
    postal_codes: tuple[str, ...] = column(sa.String(200), joined=True)
    parent: str = column(sa.String(5))


@dataclass(frozen=True)
class PostalCodeRow:
    postal_code: str = column(sa.String(5), key=True)
    insee: str = column(sa.String(5), key=True)
    dep_code: str = column(sa.String(3))
    name: str = column(sa.String(100))


@dataclass(frozen=True)
class ServiceRow:
    scope: Scope = column(sa.String(12), key=True)
    code: str = column(sa.String(3), key=True)
    kind: str = column(sa.String(12))  # DDETS, DDETSPP, DRIEETS UD, DEETS, DGCOPOP, DREETS, DRIEETS
    name: str = column(sa.String(120))
    website: str = column(sa.String(200))
    # How firmly the service's kind is known: verified / likely / unverified.
    status: str = column(sa.String(12))
    website_status: str = column(sa.String(12))  # the same, "" when there is no website
    source: str = column(sa.String(200))
    note: str = column(sa.String(300))
    address: str = ""  # only values staff imported (status verified)
    phone: str = ""
    email: str = ""
    contact_source: str = ""  # "import <file> <date>" of the last imported value


@dataclass(frozen=True)
class ServiceUpdateRow:
    """One value staff imported over a service's base row (`bot contacts import`)."""

    scope: Scope = column(sa.String(12), key=True)
    code: str = column(sa.String(3), key=True)
    field: str = column(sa.String(12), key=True)  # one of CONTACT_FIELDS
    value: str = column(sa.String(300))
    status: str = column(sa.String(12))
    source: str = column(sa.String(200))
    updated_at: datetime = column(sa.DateTime(timezone=True))


@dataclass(frozen=True)
class PrefectureRow:
    dep_code: str = column(sa.String(3), key=True)
    website: str = column(sa.String(200))
    dep_name: str = ""  # read from the département


@dataclass(frozen=True)
class SpieTerritoryRow:
    code: str = column(sa.String(4))
    name: str = column(sa.String(120))
    wave: str = column(sa.String(30))  # experimentation_2020, ami_1_avril_2021, ami_2_2021
    status: str = column(sa.String(12))  # verified / partial
    deps: tuple[str, ...] = column(sa.String(40), joined=True)
    coverage: str = column(sa.String(8))  # "whole" département(s) or "part" of one
    source: str = column(sa.String(200))
    note: str = column(sa.String(300))


@dataclass(frozen=True)
class MetaRow:
    key: str = column(sa.String(40), key=True)
    value: str = column(sa.String(200))


regions_table = table_of("spie_regions", RegionRow)
departements_table = table_of("spie_departements", DepartementRow)
communes_table = table_of("spie_communes", CommuneRow)
postal_codes_table = table_of("spie_postal_codes", PostalCodeRow)
services_table = table_of("spie_services", ServiceRow)
service_updates_table = table_of("spie_service_updates", ServiceUpdateRow)
prefectures_table = table_of("spie_prefectures", PrefectureRow)
# The territories keep the order of their file: a surrogate key.
territories_table = table_of(
    "spie_territories", SpieTerritoryRow, sa.Column("id", sa.Integer, primary_key=True)
)
meta_table = table_of("spie_meta", MetaRow)
# Rebuilt from the data files; `spie_service_updates` is deliberately not in this list.
REFERENCE_TABLES = (
    regions_table,
    departements_table,
    communes_table,
    postal_codes_table,
    services_table,
    prefectures_table,
    territories_table,
    meta_table,
)


def row_from(row_type: type[RowT], values: Sequence[Any]) -> RowT:
    """A row dataclass from the values of its columns, in field order (joined tuples split)."""
    builder = _builders.get(row_type) or _builders.setdefault(row_type, _row_builder(row_type))
    row: RowT = builder(values)
    return row


_builders: dict[type[Any], Callable[[Sequence[Any]], Any]] = {}


def _row_builder(row_type: type[Any]) -> Callable[[Sequence[Any]], Any]:
    # Positional construction, and no per-value test for the tables without joined columns:
    # ~75,000 rows are read for the resolver.
    joined = [i for i, f in enumerate(_column_fields(row_type)) if f.metadata[COLUMN]["joined"]]
    if not joined:
        return lambda values: row_type(*values)

    def build(values: Sequence[Any]) -> Any:
        converted = list(values)
        for i in joined:
            converted[i] = tuple(str(converted[i]).split())
        return row_type(*converted)

    return build


def _select_rows(table: sa.Table, row_type: type) -> sa.sql.Select:
    """SELECT the columns of the row dataclass, in its field order."""
    return sa.select(*(table.c[f.name] for f in _column_fields(row_type)))


@dataclass(frozen=True)
class PlaceData:
    """Everything the place resolver indexes, read in one go."""

    regions: tuple[RegionRow, ...]
    departements: tuple[DepartementRow, ...]
    communes: tuple[CommuneRow, ...]
    postal_codes: tuple[PostalCodeRow, ...]


@dataclass(frozen=True)
class ReferenceData:
    """The small reference tables, read once per database and kept in memory: only the values
    staff import (`spie_service_updates`) are read when a card is made."""

    regions: dict[str, RegionRow]
    departements: dict[str, DepartementRow]
    services: dict[tuple[str, str], ServiceRow]  # base rows, without staff values
    prefectures: dict[str, PrefectureRow]
    territories: tuple[SpieTerritoryRow, ...]


@dataclass(frozen=True)
class ContactUpdate:
    """One value staff set (`value` "" removes a previously imported value)."""

    scope: Scope
    code: str
    field: str  # one of CONTACT_FIELDS
    value: str


# --- engines ----------------------------------------------------------------------------------

_engines: dict[str, Engine] = {}
_engines_lock = threading.Lock()
_reference_cache: dict[str, ReferenceData] = {}
_reference_lock = threading.Lock()


def engine_for(url: str | None = None) -> Engine:
    """The engine of `url` (default `bot.config.database_url()`), created on first use."""
    url = url or database_url()
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create_engine(url)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    with _engines_lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _create_engine(url: str) -> Engine:
    parsed = sa.engine.make_url(url)
    options: dict[str, object] = {"future": True, "pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    elif parsed.get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": 5}  # fail fast when the server is down
    return sa.create_engine(url, **options)


def safe_url(url: str) -> str:
    return mask_secrets(url)


# --- the store --------------------------------------------------------------------------------


class Store:
    """Read and write access to one database; every method raises `StoreUnavailable` on failure."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url or database_url()

    @property
    def engine(self) -> Engine:
        return engine_for(self.url)

    @contextmanager
    def _connect(self, *, write: bool = False) -> Iterator[Connection]:
        try:
            context = self.engine.begin() if write else self.engine.connect()
            with context as connection:
                yield connection
        except _UNAVAILABLE_ERRORS as error:
            raise self._unavailable(error) from error

    def _unavailable(self, error: Exception) -> StoreUnavailable:
        reason = str(error).splitlines()[0][:300]
        if "no such table" in reason or "does not exist" in reason or "not built" in reason:
            reason += " (run `bot db build`)"
        log.error("store unavailable (%s): %s", safe_url(self.url), reason)
        return StoreUnavailable(f"store {safe_url(self.url)} unavailable: {reason}")

    def ping(self) -> None:
        """Raise `StoreUnavailable` unless the store is reachable and built."""
        if self.data_version() is None:
            raise self._unavailable(RuntimeError("database not built"))

    def data_version(self) -> str | None:
        with self._connect() as connection:
            if not sa.inspect(connection).has_table(meta_table.name):
                return None
            query = sa.select(meta_table.c.value).where(meta_table.c.key == "data_version")
            version = connection.execute(query).scalar_one_or_none()
            return None if version is None else str(version)

    # reference data (in memory after the first read)

    def reference(self) -> ReferenceData:
        """The reference tables of this database, read once (`build_database` refreshes them)."""
        with _reference_lock:
            data = _reference_cache.get(self.url)
            if data is None:
                data = _reference_cache[self.url] = self._read_reference()
            return data

    def _read_reference(self) -> ReferenceData:
        with self._connect() as connection:

            def rows(table: sa.Table, row_type: type[RowT]) -> list[RowT]:
                query = _select_rows(table, row_type)
                return [row_from(row_type, row) for row in connection.execute(query)]

            regions = rows(regions_table, RegionRow)
            departements = rows(departements_table, DepartementRow)
            services = rows(services_table, ServiceRow)
            prefectures = rows(prefectures_table, PrefectureRow)
            order = _select_rows(territories_table, SpieTerritoryRow).order_by(
                territories_table.c.id
            )
            territories = [row_from(SpieTerritoryRow, row) for row in connection.execute(order)]
        names = {row.code: row.name for row in departements}
        return ReferenceData(
            regions={row.code: row for row in sorted(regions, key=lambda r: r.code)},
            departements={row.code: row for row in sorted(departements, key=lambda r: r.code)},
            services={(row.scope, row.code): row for row in services},
            prefectures={
                row.dep_code: dataclasses.replace(row, dep_name=names.get(row.dep_code, ""))
                for row in prefectures
            },
            territories=tuple(territories),
        )

    def regions(self) -> list[RegionRow]:
        return list(self.reference().regions.values())

    def region(self, code: str) -> RegionRow | None:
        return self.reference().regions.get(code)

    def departements(self, region_code: str | None = None) -> list[DepartementRow]:
        rows = self.reference().departements.values()
        return [row for row in rows if region_code is None or row.region_code == region_code]

    def departement(self, code: str) -> DepartementRow | None:
        return self.reference().departements.get(code)

    def prefecture(self, dep_code: str) -> PrefectureRow | None:
        return self.reference().prefectures.get(dep_code)

    def spie_territories(self, dep_code: str | None = None) -> list[SpieTerritoryRow]:
        # A territory may span several départements (space-separated codes): filter here.
        rows = self.reference().territories
        return [row for row in rows if dep_code is None or dep_code in row.deps]

    def place_data(self) -> PlaceData:
        """Every place, for the resolver (which is built once: not kept here)."""
        with self._connect() as connection:

            def rows(table: sa.Table, row_type: type[RowT]) -> tuple[RowT, ...]:
                query = _select_rows(table, row_type)
                return tuple(row_from(row_type, row) for row in connection.execute(query))

            return PlaceData(
                regions=rows(regions_table, RegionRow),
                departements=rows(departements_table, DepartementRow),
                communes=rows(communes_table, CommuneRow),
                postal_codes=rows(postal_codes_table, PostalCodeRow),
            )

    # services: base rows from memory, staff values read (one query)

    def service(self, scope: Scope, code: str) -> ServiceRow | None:
        found = self.services([(scope, code)])
        return found[0] if found else None

    def services(self, keys: Sequence[tuple[Scope, str]] | None = None) -> list[ServiceRow]:
        """The services of `keys` (all of them by default, by scope and code) with the values
        staff imported merged in; unknown keys are left out. One read of the database."""
        base = self.reference().services
        wanted = sorted(base) if keys is None else [key for key in keys if key in base]
        updates = self._service_updates(None if keys is None else wanted)
        return [_merged_service(base[key], updates.get(key, [])) for key in wanted]

    def _service_updates(
        self, keys: Sequence[tuple[str, str]] | None
    ) -> dict[tuple[str, str], list[ServiceUpdateRow]]:
        table = service_updates_table
        query = _select_rows(table, ServiceUpdateRow)
        if keys is not None:
            if not keys:
                return {}
            query = query.where(sa.tuple_(table.c.scope, table.c.code).in_(keys))
        with self._connect() as connection:
            found = [row_from(ServiceUpdateRow, row) for row in connection.execute(query)]
        by_service: dict[tuple[str, str], list[ServiceUpdateRow]] = {}
        for update in found:
            by_service.setdefault((update.scope, update.code), []).append(update)
        return by_service

    # staff updates

    def apply_contact_updates(self, updates: Sequence[ContactUpdate], source: str) -> int:
        """Apply every update in one transaction; return how many values actually changed.

        A value equal to the current verified value changes nothing (re-imports are no-ops).
        """
        now = datetime.now(timezone.utc)
        changed = 0
        with self._connect(write=True) as connection:
            for update in updates:
                changed += _apply_update(connection, update, source, now)
        return changed


def _apply_update(connection: Connection, update: ContactUpdate, source: str, now: datetime) -> int:
    table = service_updates_table
    key = (
        (table.c.scope == update.scope)
        & (table.c.code == update.code)
        & (table.c.field == update.field)
    )
    current = connection.execute(sa.select(table.c.value).where(key)).scalar_one_or_none()
    if not update.value:
        if current is None:
            return 0
        connection.execute(sa.delete(table).where(key))
        return 1
    if current == update.value or (current is None and _is_verified_base(connection, update)):
        return 0
    if current is not None:
        connection.execute(sa.delete(table).where(key))
    connection.execute(
        sa.insert(table).values(
            scope=update.scope,
            code=update.code,
            field=update.field,
            value=update.value,
            status="verified",
            source=source,
            updated_at=now,
        )
    )
    return 1


def _is_verified_base(connection: Connection, update: ContactUpdate) -> bool:
    """Only the website has a base value; importing the same verified website is a no-op."""
    if update.field != "website":
        return False
    query = sa.select(services_table.c.website, services_table.c.website_status).where(
        services_table.c.scope == update.scope, services_table.c.code == update.code
    )
    row = connection.execute(query).first()
    return bool(row) and row.website == update.value and row.website_status == "verified"


def _merged_service(base: ServiceRow, updates: Sequence[ServiceUpdateRow]) -> ServiceRow:
    values: dict[str, Any] = {}
    latest: tuple[datetime, str] | None = None
    for update in updates:
        values[update.field] = update.value
        if update.field == "website":
            values["website_status"] = update.status
        stamp = (_aware(update.updated_at), update.source)
        latest = stamp if latest is None or stamp > latest else latest
    return dataclasses.replace(base, **values, contact_source=latest[1] if latest else "")


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone=True columns.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- building ---------------------------------------------------------------------------------


def compute_data_version() -> str:
    digest = hashlib.sha256(SCHEMA_VERSION.encode())
    for path in DATA_FILES:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_database(url: str | None = None, *, force: bool = False) -> bool:
    """Create and fill the reference tables; return False when already built from these files."""
    store = Store(url)
    version = compute_data_version()
    if not force and store.data_version() == version:
        log.info("store %s already built (data %s)", safe_url(store.url), version)
        return False
    with store._connect(write=True) as connection:
        metadata.drop_all(connection, tables=list(REFERENCE_TABLES))
        metadata.create_all(connection)  # also creates spie_service_updates the first time
        _load_reference_data(connection)
        connection.execute(sa.insert(meta_table).values(key="data_version", value=version))
    with _reference_lock:
        _reference_cache.pop(store.url, None)
    log.info("store %s built (data %s)", safe_url(store.url), version)
    return True


def _place_rows() -> dict[str, list[dict[str, Any]]]:
    """The rows of the place tables, read from the data files (column names of the tables)."""
    departements = _read_rows(GEO_DIR / "departements.csv")
    for row in departements:
        row["region_code"] = row.pop("region")
        row["population"] = int(row["population"])
    communes = _read_rows(GEO_DIR / "communes.csv")
    for row in communes:
        row["dep_code"] = row.pop("dep")
        row["region_code"] = row.pop("region")
        row["population"] = int(row["population"]) if row["population"] else None
    postal_codes = _read_rows(GEO_DIR / "postal_codes.csv")
    for row in postal_codes:
        row["dep_code"] = row.pop("dep")
    return {
        "regions": _read_rows(GEO_DIR / "regions.csv"),
        "departements": departements,
        "communes": communes,
        "postal_codes": postal_codes,
    }


def place_data_from_files() -> PlaceData:
    """What the place resolver indexes, straight from the data files (no database).

    The NLU pipeline reads places with it: the Rasa server needs no database connection.
    """
    rows = _place_rows()
    return PlaceData(
        regions=tuple(_as_row(RegionRow, row) for row in rows["regions"]),
        departements=tuple(_as_row(DepartementRow, row) for row in rows["departements"]),
        communes=tuple(_as_row(CommuneRow, row) for row in rows["communes"]),
        postal_codes=tuple(_as_row(PostalCodeRow, row) for row in rows["postal_codes"]),
    )


def _as_row(row_type: type[RowT], values: dict[str, Any]) -> RowT:
    """A row dataclass from a data file's row (named like the columns)."""
    return row_from(row_type, [values[f.name] for f in _column_fields(row_type)])


def _load_reference_data(connection: Connection) -> None:
    rows = _place_rows()
    connection.execute(sa.insert(regions_table), rows["regions"])
    connection.execute(sa.insert(departements_table), rows["departements"])
    connection.execute(sa.insert(communes_table), rows["communes"])
    connection.execute(sa.insert(postal_codes_table), rows["postal_codes"])
    connection.execute(sa.insert(services_table), _read_rows(SERVICES_DIR / "services.csv"))
    prefectures = [
        {"dep_code": row["dep"], "website": row["website"]}
        for row in _read_rows(SERVICES_DIR / "prefectures.csv")
    ]
    connection.execute(sa.insert(prefectures_table), prefectures)
    territories = _read_rows(SERVICES_DIR / "spie_territories.csv")
    connection.execute(sa.insert(territories_table), territories)


def _read_rows(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


# --- command line -----------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("db", help="Base des lieux et des contacts.")
    commands = parser.add_subparsers(dest="db_command", required=True)
    build = commands.add_parser("build", help="Crée et remplit la base depuis bot/data.")
    build.add_argument("--force", action="store_true", help="reconstruire même si elle est à jour")
    build.add_argument("--url", help="URL SQLAlchemy (par défaut DATABASE_URL ou var/spie.db)")
    build.set_defaults(func=_cli_build)


def _cli_build(args: argparse.Namespace) -> int:
    url = args.url or database_url()
    try:
        built = build_database(url, force=args.force)
    except StoreUnavailable as error:
        print(f"Base indisponible : {error}")
        return 1
    state = "construite" if built else "déjà à jour"
    print(f"Base {state} : {safe_url(url)} (données {compute_data_version()})")
    return 0
