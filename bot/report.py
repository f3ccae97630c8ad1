"""`bot report`: usage report for staff, read from Rasa's SQL tracker store.

Rasa 3.6 `SQLTrackerStore` keeps one row per event in table `events`
(id, sender_id, type_name, timestamp, intent_name, action_name, data = the event's JSON).
The report is one self-contained HTML file: inline PNG plots (matplotlib, Agg) plus data tables.
"""

from __future__ import annotations

import argparse
import base64
import html
import io
import json
import logging
import os
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot import PROJECT_DIR, config

log = logging.getLogger(__name__)

DEFAULT_OUT = PROJECT_DIR / "results" / "report.html"
FALLBACK_INTENT = "nlu_fallback"
ELIGIBILITY_SLOT = "eligibility_result"
DEPARTEMENT_SLOT = "departement"
ELIGIBILITY_LABELS = {"eligible": "Éligible", "not_eligible": "Non éligible"}

# The columns of Rasa's SQLTrackerStore.SQLEvent that the report reads.
EVENTS = sa.Table(
    "events",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255)),
    sa.Column("type_name", sa.String(255)),
    sa.Column("timestamp", sa.Float),
    sa.Column("data", sa.Text),
)

Labeller = Callable[[str], "str | None"]


def local_zone() -> tzinfo:
    """Days are counted in French time."""
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo("Europe/Paris")
    except Exception:  # no tz database: fall back to UTC
        return timezone.utc


@dataclass(frozen=True)
class DayStats:
    day: date
    conversations: int  # senders with at least one user message that day
    user_messages: int
    bot_messages: int


@dataclass(frozen=True)
class FallbackMessage:
    when: datetime
    text: str


@dataclass
class ReportData:
    generated: datetime
    since: datetime | None  # None: the whole store
    conversations: int = 0
    user_messages: int = 0
    bot_messages: int = 0
    per_day: list[DayStats] = field(default_factory=list)
    topics: dict[str, int] = field(default_factory=dict)  # most asked first
    fallback_messages: list[FallbackMessage] = field(default_factory=list)
    eligibility: dict[str, int] = field(default_factory=dict)
    departements: dict[str, int] = field(default_factory=dict)  # most asked first
    departement_names: dict[str, str] = field(default_factory=dict)

    @property
    def fallback_count(self) -> int:
        return len(self.fallback_messages)

    @property
    def fallback_rate(self) -> float:
        return self.fallback_count / self.user_messages if self.user_messages else 0.0

    @property
    def empty(self) -> bool:
        return not (
            self.user_messages or self.bot_messages or self.eligibility or self.departements
        )


# --- reading the store --------------------------------------------------------------------


def _missing_sqlite_file(db_url: str) -> bool:
    url = sa.engine.make_url(db_url)
    database = url.database or ""
    return (
        url.get_backend_name() == "sqlite"
        and database not in ("", ":memory:")
        and not (Path(database).exists())
    )


def create_engine(db_url: str) -> sa.engine.Engine:
    """Like Rasa: `postgres://` accepted, `POSTGRESQL_SCHEMA` sets the search path."""
    if db_url.startswith("postgres://"):
        db_url = "postgresql://" + db_url[len("postgres://") :]
    schema = os.environ.get("POSTGRESQL_SCHEMA")
    if schema and sa.engine.make_url(db_url).get_backend_name() == "postgresql":
        return sa.create_engine(db_url, connect_args={"options": f"-csearch_path={schema}"})
    return sa.create_engine(db_url)


def read_events(db_url: str, since: datetime | None) -> Iterator[sa.engine.Row]:
    """User, bot and slot events in store order; nothing when the store has no table yet."""
    if _missing_sqlite_file(db_url):
        return
    engine = create_engine(db_url)
    try:
        if not sa.inspect(engine).has_table("events"):
            return
        query = sa.select(EVENTS).where(EVENTS.c.type_name.in_(["user", "bot", "slot"]))
        if since is not None:
            query = query.where(EVENTS.c.timestamp >= since.timestamp())
        with engine.connect() as conn:
            yield from conn.execution_options(stream_results=True).execute(
                query.order_by(EVENTS.c.id)
            )
    finally:
        engine.dispose()


def topic_of(parse_data: dict[str, Any]) -> str | None:
    """Intent name, with a retrieval intent split by its key (`faq/who_can_apply`)."""
    intent = (parse_data.get("intent") or {}).get("name")
    selector = parse_data.get("response_selector") or {}
    chosen = selector.get(intent) or selector.get("default") or {}
    key = (chosen.get("response") or {}).get("intent_response_key")
    if intent and isinstance(key, str) and key.startswith(f"{intent}/"):
        return key
    return intent


def event_data(row: sa.engine.Row) -> dict[str, Any]:
    try:
        data = json.loads(row.data or "{}")
    except ValueError:
        log.warning("event %s: data is not JSON", row.id)
        return {}
    return data if isinstance(data, dict) else {}


# --- computing the figures ----------------------------------------------------------------


class _Tally:
    """Accumulates the counts while the events stream by."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.senders: set[str] = set()
        self.day_senders: dict[date, set[str]] = defaultdict(set)
        self.day_user: Counter[date] = Counter()
        self.day_bot: Counter[date] = Counter()
        self.topics: Counter[str] = Counter()
        self.fallbacks: list[FallbackMessage] = []
        self.slots: dict[str, Counter[str]] = defaultdict(Counter)

    def add(self, row: sa.engine.Row) -> None:
        when = datetime.fromtimestamp(row.timestamp or 0, self.zone)
        if row.type_name == "bot":
            self.day_bot[when.date()] += 1
            return
        data = event_data(row)
        if row.type_name == "slot":
            if data.get("value") is not None:
                self.slots[str(data.get("name"))][str(data["value"])] += 1
            return
        self._add_user(row.sender_id, when, data)

    def _add_user(self, sender: str, when: datetime, data: dict[str, Any]) -> None:
        self.senders.add(sender)
        self.day_senders[when.date()].add(sender)
        self.day_user[when.date()] += 1
        topic = topic_of(data.get("parse_data") or {})
        if topic == FALLBACK_INTENT:
            self.fallbacks.append(FallbackMessage(when, str(data.get("text") or "")))
        else:
            self.topics[topic or "(sans intention)"] += 1

    def days(self, first: date | None, last: date) -> list[DayStats]:
        seen = [*self.day_user, *self.day_bot]
        if not seen:
            return []
        day, end = first or min(seen), max([last, *seen])
        stats = []
        while day <= end:
            stats.append(
                DayStats(day, len(self.day_senders[day]), self.day_user[day], self.day_bot[day])
            )
            day += timedelta(days=1)
        return stats


def _ranked(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def store_labeller() -> Labeller | None:
    """Département names from `bot.store` when its database is built (optional)."""
    if _missing_sqlite_file(config.database_url()):
        return None
    try:
        from bot.store import Store

        store = Store()
        if store.data_version() is None:  # not built
            return None
        names = {row.code: row.name for row in store.departements()}
    except Exception as error:  # no store, not built, unreachable: codes alone
        log.info("no département names: %s", error)
        return None
    return names.get


def label_departements(codes: Iterable[str], labeller: Labeller | None) -> dict[str, str]:
    names: dict[str, str] = {}
    if labeller is None:
        return names
    for code in codes:
        try:
            name = labeller(code)
        except Exception as error:  # labels are a nicety: never fail the report
            log.warning("no name for département %s: %s", code, error)
            return names
        if name:
            names[code] = str(name)
    return names


def compute_report(
    db_url: str | None = None,
    days: int | None = None,
    now: datetime | None = None,
    labeller: Labeller | None = None,
) -> ReportData:
    """All the figures of the report; `days` keeps only the last N days before `now`."""
    zone = local_zone()
    now = (now or datetime.now(timezone.utc)).astimezone(zone)
    since = now - timedelta(days=days) if days else None
    tally = _Tally(zone)
    for row in read_events(db_url or config.tracker_db_url(), since):
        tally.add(row)
    departements = _ranked(tally.slots[DEPARTEMENT_SLOT])
    return ReportData(
        generated=now,
        since=since,
        conversations=len(tally.senders),
        user_messages=sum(tally.day_user.values()),
        bot_messages=sum(tally.day_bot.values()),
        per_day=tally.days(since.date() if since else None, now.date() if since else date.min),
        topics=_ranked(tally.topics),
        fallback_messages=tally.fallbacks,
        eligibility=_ranked(tally.slots[ELIGIBILITY_SLOT]),
        departements=departements,
        departement_names=label_departements(departements, labeller or store_labeller()),
    )


# --- plots --------------------------------------------------------------------------------


def _png(draw: Callable[[Any], None], title: str, height: float = 3.2) -> str:
    """Draw on a fresh Agg figure (integer counts); return the PNG as base64."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(9, height), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    draw(ax)
    ax.set_title(title)
    count_axis = ax.xaxis if ax.get_xlabel() == "Nombre" else ax.yaxis
    count_axis.set_major_locator(MaxNLocator(integer=True))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def plot_per_day(stats: list[DayStats]) -> str:
    def draw(ax: Any) -> None:
        from matplotlib.dates import DateFormatter, DayLocator

        days = [s.day for s in stats]
        ax.plot(days, [s.user_messages for s in stats], marker="o", label="Messages reçus")
        ax.plot(days, [s.conversations for s in stats], marker="s", label="Conversations")
        ax.xaxis.set_major_locator(DayLocator(interval=-(-len(stats) // 10)))  # ≤ 10 ticks
        ax.xaxis.set_major_formatter(DateFormatter("%d/%m"))
        ax.set_ylim(bottom=0)
        ax.legend()

    return _png(draw, "Conversations et messages par jour")


def plot_bars(counts: dict[str, int], title: str, limit: int = 15) -> str:
    items = list(counts.items())[:limit][::-1]

    def draw(ax: Any) -> None:
        positions = range(len(items))  # numbers, not strings: codes like "03" stay labels
        ax.barh(positions, [count for _, count in items], color="#000091")
        ax.set_yticks(positions)
        ax.set_yticklabels([textwrap.shorten(name, 45, placeholder="…") for name, _ in items])
        ax.set_xlabel("Nombre")

    return _png(draw, title, height=max(2.2, 0.35 * len(items) + 1.2))


# --- HTML ---------------------------------------------------------------------------------


def percent(rate: float) -> str:
    return f"{rate * 100:.1f}".replace(".", ",") + " %"


def _img(png: str, alt: str) -> str:
    return f'<img src="data:image/png;base64,{png}" alt="{html.escape(alt)}">'


def _table(caption: str, headers: list[str], rows: Iterable[Iterable[object]]) -> str:
    head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(cell))}</td>" for cell in row) + "</tr>"
        for row in rows
    )
    return (
        f"<table><caption>{html.escape(caption)}</caption>"
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )


def _section(title: str, anchor: str, content: str) -> str:
    return f'<section aria-labelledby="{anchor}"><h2 id="{anchor}">{title}</h2>{content}</section>'


def _summary_html(data: ReportData) -> str:
    period = f"depuis le {data.since:%d/%m/%Y %H:%M}" if data.since else "toute la durée du store"
    rows = [
        ("Période", period),
        ("Conversations", data.conversations),
        ("Messages reçus", data.user_messages),
        ("Réponses envoyées", data.bot_messages),
        ("Messages non compris", data.fallback_count),
        ("Taux de messages non compris", percent(data.fallback_rate)),
    ]
    return _section("Synthèse", "synthese", _table("Chiffres clés", ["Mesure", "Valeur"], rows))


def _per_day_html(data: ReportData) -> str:
    busiest = max(data.per_day, key=lambda s: s.user_messages)
    alt = (
        f"Courbes des messages reçus et des conversations par jour, du "
        f"{data.per_day[0].day:%d/%m/%Y} au {data.per_day[-1].day:%d/%m/%Y} ; "
        f"maximum {busiest.user_messages} messages le {busiest.day:%d/%m/%Y}."
    )
    rows = [
        (s.day.strftime("%d/%m/%Y"), s.conversations, s.user_messages, s.bot_messages)
        for s in data.per_day
    ]
    headers = ["Jour", "Conversations", "Messages reçus", "Réponses envoyées"]
    content = _img(plot_per_day(data.per_day), alt) + _table("Par jour", headers, rows)
    return _section("Conversations et messages par jour", "par-jour", content)


def _counts_html(
    title: str, anchor: str, column: str, counts: dict[str, int], label: Callable[[str], str]
) -> str:
    if not counts:
        return _section(title, anchor, "<p>Aucune donnée sur la période.</p>")
    named = {label(key): count for key, count in counts.items()}
    top = ", ".join(f"{name} : {count}" for name, count in list(named.items())[:5])
    alt = f"Diagramme en barres « {title} ». Les plus fréquents : {top}."
    table = _table(title, [column, "Nombre"], named.items())
    return _section(title, anchor, _img(plot_bars(named, title), alt) + table)


def topic_label(topic: str) -> str:
    """`faq/who_can_apply` → `Qui peut candidater ? (faq/who_can_apply)`."""
    from bot.faq_sheet import TITLES

    return f"{TITLES[topic]} ({topic})" if topic in TITLES else topic


def _fallback_html(data: ReportData) -> str:
    intro = (
        f"<p>{data.fallback_count} message(s) non compris sur {data.user_messages} "
        f"({percent(data.fallback_rate)}). Ces textes sont les prochains exemples "
        "d'entraînement à ajouter.</p>"
    )
    rows = [(m.when.strftime("%d/%m/%Y %H:%M"), m.text) for m in data.fallback_messages]
    table = _table("Messages non compris", ["Date", "Texte"], rows) if rows else ""
    return _section("Messages non compris", "non-compris", intro + table)


_CSS = """
body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;
color:#1e1e1e;line-height:1.5}img{max-width:100%;height:auto}
table{border-collapse:collapse;margin:1rem 0}caption{text-align:left;font-weight:bold}
th,td{border:1px solid #bbb;padding:.25rem .6rem;text-align:left;vertical-align:top}
th{background:#eef}h2{border-top:1px solid #ccc;padding-top:1rem}
"""


def render_html(data: ReportData) -> str:
    head = (
        '<!DOCTYPE html>\n<html lang="fr"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Rapport d'utilisation de l'assistant SPIE</title>"
        f"<style>{_CSS}</style></head><body><main>"
        "<h1>Rapport d'utilisation de l'assistant SPIE</h1>"
        f"<p>Généré le {data.generated:%d/%m/%Y à %H:%M}. Une conversation = un visiteur "
        "(identifiant d'expéditeur) ayant envoyé au moins un message.</p>"
    )
    if data.empty:
        body = "<p><strong>Aucune donnée</strong> : aucune conversation enregistrée"
        body += " sur la période.</p>" if data.since else ".</p>"
        return head + body + "</main></body></html>\n"
    names = data.departement_names
    parts = [
        _summary_html(data),
        _per_day_html(data) if data.per_day else "",
        _counts_html("Sujets les plus demandés", "sujets", "Sujet", data.topics, topic_label),
        _fallback_html(data),
        _counts_html(
            "Résultats du test d'éligibilité",
            "eligibilite",
            "Résultat",
            data.eligibility,
            lambda key: ELIGIBILITY_LABELS.get(key, key),
        ),
        _counts_html(
            "Départements demandés",
            "departements",
            "Département",
            data.departements,
            lambda code: f"{code} – {names[code]}" if code in names else code,
        ),
    ]
    return head + "".join(parts) + "</main></body></html>\n"


def write_report(
    out: Path = DEFAULT_OUT, db_url: str | None = None, days: int | None = None
) -> ReportData:
    data = compute_report(db_url, days)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_html(data), encoding="utf-8")
    return data


# --- command line -------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    data = write_report(args.out, args.db_url, args.days)
    print(
        f"Rapport écrit : {args.out} ({data.conversations} conversations, "
        f"{data.user_messages} messages, {data.fallback_count} non compris)"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("report", help="rapport HTML d'utilisation (tracker store)")
    parser.add_argument("--db-url", default=None, help="défaut : TRACKER_DB_URL ou var/tracker.db")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--days", type=int, default=None, help="seulement les N derniers jours")
    parser.set_defaults(func=_run)
