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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

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
CONTACT_FIELDS = ("address", "phone", "email", "website")


class StoreUnavailable(RuntimeError):
    """The store cannot be reached or read (server down, database not built…)."""


# Server down, connection lost, missing tables (SQLite reports those as OperationalError).
# Other errors (integrity…) are bugs and propagate as they are.
_UNAVAILABLE_ERRORS = (OperationalError, InterfaceError, ProgrammingError, NoSuchTableError)


# --- tables -----------------------------------------------------------------------------------

metadata = sa.MetaData()

regions_table = sa.Table(
    "spie_regions",
    metadata,
    sa.Column("code", sa.String(3), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("tncc", sa.String(1), nullable=False),
    sa.Column("chef_lieu", sa.String(5), nullable=False),
    sa.Column("prefecture_dep", sa.String(3), nullable=False),
)
departements_table = sa.Table(
    "spie_departements",
    metadata,
    sa.Column("code", sa.String(3), primary_key=True),
    sa.Column("name", sa.String(80), nullable=False),
    sa.Column("region_code", sa.String(3), nullable=False, index=True),
    sa.Column("tncc", sa.String(1), nullable=False),
    sa.Column("chef_lieu", sa.String(5), nullable=False),
    sa.Column("prefecture", sa.String(100), nullable=False),
    sa.Column("population", sa.Integer, nullable=False),
)
# Communes and postal codes also cover the collectivités d'outre-mer (975, 977, 978, 98x) and
# Monaco, which are not among the 101 départements: no foreign key on `dep_code`.
communes_table = sa.Table(
    "spie_communes",
    metadata,
    # A commune déléguée often keeps the code of its commune nouvelle: the key is (code, type).
    sa.Column("code", sa.String(5), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("dep_code", sa.String(3), nullable=False, index=True),
    sa.Column("region_code", sa.String(3), nullable=False),
    sa.Column("type", sa.String(4), primary_key=True),
    sa.Column("population", sa.Integer),
    sa.Column("postal_codes", sa.String(200), nullable=False),
    sa.Column("parent", sa.String(5), nullable=False),
)
postal_codes_table = sa.Table(
    "spie_postal_codes",
    metadata,
    sa.Column("postal_code", sa.String(5), primary_key=True),
    sa.Column("insee", sa.String(5), primary_key=True),
    sa.Column("dep_code", sa.String(3), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
)
services_table = sa.Table(
    "spie_services",
    metadata,
    sa.Column("scope", sa.String(12), primary_key=True),
    sa.Column("code", sa.String(3), primary_key=True),
    sa.Column("kind", sa.String(12), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("website", sa.String(200), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("website_status", sa.String(12), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("note", sa.String(300), nullable=False),
)
service_updates_table = sa.Table(
    "spie_service_updates",
    metadata,
    sa.Column("scope", sa.String(12), primary_key=True),
    sa.Column("code", sa.String(3), primary_key=True),
    sa.Column("field", sa.String(12), primary_key=True),
    sa.Column("value", sa.String(300), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)
prefectures_table = sa.Table(
    "spie_prefectures",
    metadata,
    sa.Column("dep_code", sa.String(3), primary_key=True),
    sa.Column("website", sa.String(200), nullable=False),
)
territories_table = sa.Table(
    "spie_territories",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("code", sa.String(4), nullable=False),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("wave", sa.String(30), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("deps", sa.String(40), nullable=False),
    sa.Column("coverage", sa.String(8), nullable=False),
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("note", sa.String(300), nullable=False),
)
meta_table = sa.Table(
    "spie_meta",
    metadata,
    sa.Column("key", sa.String(40), primary_key=True),
    sa.Column("value", sa.String(200), nullable=False),
)
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


# --- rows -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    tncc: str
    chef_lieu: str
    prefecture_dep: str  # département of the chef-lieu: its préfecture is the préfecture de région


@dataclass(frozen=True)
class DepartementRow:
    code: str
    name: str
    region_code: str
    tncc: str  # INSEE article code: 0 "de Paris", 2 "du Rhône", 3 "de la Drôme", 5 "de l'Allier"
    chef_lieu: str
    prefecture: str  # name of the chef-lieu commune
    population: int


@dataclass(frozen=True)
class CommuneRow:
    code: str
    name: str
    dep_code: str
    region_code: str
    type: str  # COM, COMD (déléguée), COMA (associée), ARM (arrondissement municipal)
    population: int | None
    postal_codes: tuple[str, ...]
    parent: str


@dataclass(frozen=True)
class PostalCodeRow:
    postal_code: str
    insee: str
    dep_code: str
    name: str


@dataclass(frozen=True)
class ServiceRow:
    scope: Scope
    code: str
    kind: str  # DDETS, DDETSPP, DRIEETS UD, DEETS, DGCOPOP, DREETS, DRIEETS
    name: str
    website: str
    status: str  # how firmly the service's kind is known: verified / likely / unverified
    website_status: str  # verified / likely / unverified, "" when there is no website
    source: str
    note: str
    address: str = ""  # only values staff imported (status verified)
    phone: str = ""
    email: str = ""
    contact_source: str = ""  # "import <file> <date>" of the last imported value


@dataclass(frozen=True)
class PrefectureRow:
    dep_code: str
    dep_name: str
    website: str


@dataclass(frozen=True)
class SpieTerritoryRow:
    code: str
    name: str
    wave: str  # experimentation_2020, ami_1_avril_2021, ami_2_2021
    status: str  # verified / partial
    deps: tuple[str, ...]
    coverage: str  # "whole" département(s) or "part" of one
    source: str
    note: str


@dataclass(frozen=True)
class PlaceData:
    """Everything the place resolver indexes, read in one go."""

    regions: tuple[RegionRow, ...]
    departements: tuple[DepartementRow, ...]
    communes: tuple[CommuneRow, ...]
    postal_codes: tuple[PostalCodeRow, ...]


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
            return connection.execute(query).scalar_one_or_none()

    # places

    def regions(self) -> list[RegionRow]:
        with self._connect() as connection:
            rows = connection.execute(sa.select(regions_table).order_by(regions_table.c.code))
            return [RegionRow(**row._mapping) for row in rows]

    def region(self, code: str) -> RegionRow | None:
        query = sa.select(regions_table).where(regions_table.c.code == code)
        with self._connect() as connection:
            row = connection.execute(query).first()
        return RegionRow(**row._mapping) if row else None

    def departements(self, region_code: str | None = None) -> list[DepartementRow]:
        query = sa.select(departements_table).order_by(departements_table.c.code)
        if region_code is not None:
            query = query.where(departements_table.c.region_code == region_code)
        with self._connect() as connection:
            return [DepartementRow(**row._mapping) for row in connection.execute(query)]

    def departement(self, code: str) -> DepartementRow | None:
        query = sa.select(departements_table).where(departements_table.c.code == code)
        with self._connect() as connection:
            row = connection.execute(query).first()
        return DepartementRow(**row._mapping) if row else None

    def place_data(self) -> PlaceData:
        with self._connect() as connection:
            regions = connection.execute(_select_fields(regions_table, RegionRow)).all()
            departements = connection.execute(
                _select_fields(departements_table, DepartementRow)
            ).all()
            communes = connection.execute(_select_fields(communes_table, CommuneRow)).all()
            postal_codes = connection.execute(
                _select_fields(postal_codes_table, PostalCodeRow)
            ).all()
        # Positional construction: ~75,000 rows, twice as fast as keyword arguments.
        return PlaceData(
            regions=tuple(RegionRow(*row) for row in regions),
            departements=tuple(DepartementRow(*row) for row in departements),
            communes=tuple(CommuneRow(*row[:6], tuple(row[6].split()), row[7]) for row in communes),
            postal_codes=tuple(PostalCodeRow(*row) for row in postal_codes),
        )

    # services and préfectures

    def service(self, scope: Scope, code: str) -> ServiceRow | None:
        base = sa.select(services_table).where(
            services_table.c.scope == scope, services_table.c.code == code
        )
        updates = sa.select(service_updates_table).where(
            service_updates_table.c.scope == scope, service_updates_table.c.code == code
        )
        with self._connect() as connection:
            row = connection.execute(base).first()
            update_rows = connection.execute(updates).all()
        return _merged_service(row._mapping, update_rows) if row else None

    def services(self) -> list[ServiceRow]:
        base = sa.select(services_table).order_by(services_table.c.scope, services_table.c.code)
        with self._connect() as connection:
            rows = connection.execute(base).all()
            update_rows = connection.execute(sa.select(service_updates_table)).all()
        by_service: dict[tuple[str, str], list[sa.engine.Row]] = {}
        for update in update_rows:
            by_service.setdefault((update.scope, update.code), []).append(update)
        return [
            _merged_service(row._mapping, by_service.get((row.scope, row.code), [])) for row in rows
        ]

    def prefecture(self, dep_code: str) -> PrefectureRow | None:
        query = (
            sa.select(
                prefectures_table.c.dep_code, departements_table.c.name, prefectures_table.c.website
            )
            .join(departements_table, departements_table.c.code == prefectures_table.c.dep_code)
            .where(prefectures_table.c.dep_code == dep_code)
        )
        with self._connect() as connection:
            row = connection.execute(query).first()
        return PrefectureRow(*row) if row else None

    def region_prefecture(self, region_code: str) -> PrefectureRow | None:
        """The préfecture de région: the préfecture of the département holding the chef-lieu."""
        region = self.region(region_code)
        return self.prefecture(region.prefecture_dep) if region else None

    def spie_territories(self, dep_code: str | None = None) -> list[SpieTerritoryRow]:
        query = sa.select(territories_table).order_by(territories_table.c.id)
        with self._connect() as connection:
            rows = [_territory_row(row._mapping) for row in connection.execute(query)]
        # A territory may span several départements (space-separated codes): filter here.
        return [row for row in rows if dep_code is None or dep_code in row.deps]

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


def _merged_service(base: sa.engine.RowMapping, updates: Sequence[sa.engine.Row]) -> ServiceRow:
    values = dict(base)
    latest: tuple[datetime, str] | None = None
    for update in updates:
        values[update.field] = update.value
        if update.field == "website":
            values["website_status"] = update.status
        stamp = (_aware(update.updated_at), update.source)
        latest = stamp if latest is None or stamp > latest else latest
    values["contact_source"] = latest[1] if latest else ""
    return ServiceRow(**values)


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes even for timezone=True columns.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _select_fields(table: sa.Table, row_type: type) -> sa.sql.Select:
    """SELECT the columns named like the dataclass fields, in the dataclass order."""
    return sa.select(*(table.c[field.name] for field in dataclasses.fields(row_type)))


def _territory_row(values: sa.engine.RowMapping) -> SpieTerritoryRow:
    fields = {key: value for key, value in values.items() if key != "id"}
    fields["deps"] = tuple(fields["deps"].split())
    return SpieTerritoryRow(**fields)


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
    log.info("store %s built (data %s)", safe_url(store.url), version)
    return True


def _place_rows() -> dict[str, list[dict[str, object]]]:
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
        communes=tuple(
            _as_row(CommuneRow, {**row, "postal_codes": tuple(str(row["postal_codes"]).split())})
            for row in rows["communes"]
        ),
        postal_codes=tuple(_as_row(PostalCodeRow, row) for row in rows["postal_codes"]),
    )


def _as_row(row_type: type, values: dict[str, object]):  # noqa: ANN202 - any row dataclass
    return row_type(**{field.name: values[field.name] for field in dataclasses.fields(row_type)})


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


def _read_rows(path: Path) -> list[dict[str, object]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


# --- command line -----------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction) -> None:
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
