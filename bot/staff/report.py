"""`bot report`: usage report for staff, read from Rasa's SQL tracker store.

Rasa 3.6 `SQLTrackerStore` keeps one row per event in table `events`
(id, sender_id, type_name, timestamp, intent_name, action_name, data = the event's JSON).
The report is one self-contained HTML file: inline PNG plots (matplotlib, Agg) plus data tables,
written by the template `bot/templates/report.html` (see `bot.staff.templating`).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from bot import PROJECT_DIR, config
from bot.conversations.tracker_db import EVENTS, has_events_table, tracker_engine
from bot.staff.templating import render

if TYPE_CHECKING:
    from bot.places.resolver import Resolution
    from bot.places.store import Store

log = logging.getLogger(__name__)

DEFAULT_OUT = PROJECT_DIR / "results" / "report.html"
FALLBACK_INTENT = "nlu_fallback"
ELIGIBILITY_SLOT = "eligibility_result"
DEPARTEMENT_SLOT = "departement"
ELIGIBILITY_LABELS = {"eligible": "Éligible", "not_eligible": "Non éligible"}

Labeller = Callable[[str], "str | None"]
# A free-text département answer (« Allier », « 03 », « Moulins ») -> its code, None if unsure.
PlaceCoder = Callable[[str], "str | None"]
# « Moulins » is the préfecture of the Allier (19,000 inhabitants) and three villages elsewhere: an
# ambiguous commune name counts for the département of the commune at least this many times as
# populous as the next one; otherwise (« Saint-Denis »: La Réunion or Seine-Saint-Denis) as written.
DOMINANT_COMMUNE_RATIO = 10


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


def read_events(db_url: str, since: datetime | None) -> Iterator[sa.engine.Row]:
    """User, bot and slot events in store order; nothing when the store has no table yet."""
    if _missing_sqlite_file(db_url):
        return
    engine = tracker_engine(db_url)
    try:
        if not has_events_table(engine):
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


def _built_store() -> Store | None:
    """The places store when its database is built and reachable (the report works without)."""
    if _missing_sqlite_file(config.database_url()):
        return None
    try:
        from bot.places.store import Store

        store = Store()
        return store if store.data_version() is not None else None
    except Exception as error:  # no store, unreachable
        log.info("no places store: %s", error)
        return None


def store_labeller() -> Labeller | None:
    """Département names from `bot.places.store` when its database is built (optional)."""
    store = _built_store()
    if store is None:
        return None
    try:
        names = {row.code: row.name for row in store.departements()}
    except Exception as error:  # unreadable: codes alone
        log.info("no département names: %s", error)
        return None
    return names.get


def departement_code(resolution: Resolution) -> str | None:
    """The département a place resolution designates, or None when it is not clear."""
    if resolution.kind == "departement":
        return resolution.dep_code
    candidates = resolution.candidates
    if (
        resolution.kind == "ambiguous"
        and len(candidates) >= 2
        and all(candidate.why == "commune" for candidate in candidates)
        and candidates[0].population >= DOMINANT_COMMUNE_RATIO * max(1, candidates[1].population)
    ):
        return candidates[0].dep_code
    return None


def store_place_coder() -> PlaceCoder | None:
    """The place resolver on `bot.places.store` when its database is built (optional, like the names)."""
    store = _built_store()
    if store is None:
        return None
    try:
        from bot.places.resolver import PlaceResolver

        resolver = PlaceResolver.from_store(store)
    except Exception as error:  # unreadable: answers counted as written
        log.info("no place resolver: %s", error)
        return None
    return lambda answer: departement_code(resolver.resolve(answer))


def departement_counts(answers: Counter[str], coder: PlaceCoder | None) -> Counter[str]:
    """Answers counted by département code: « Allier », « allier » and « 03 » are one line."""
    counts: Counter[str] = Counter()
    for answer, count in answers.items():
        code = None
        if coder is not None:
            try:
                code = coder(answer)
            except Exception as error:  # a nicety: never fail the report
                log.warning("département of %r unknown: %s", answer, error)
        counts[code or answer.strip()] += count
    return counts


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
    place_coder: PlaceCoder | None = None,
) -> ReportData:
    """All the figures of the report; `days` keeps only the last N days before `now`.

    Département answers go through the place resolver (`place_coder`, by default the one of
    `bot.places.store` when built) before counting."""
    zone = local_zone()
    now = (now or datetime.now(timezone.utc)).astimezone(zone)
    since = now - timedelta(days=days) if days else None
    tally = _Tally(zone)
    for row in read_events(db_url or config.tracker_db_url(), since):
        tally.add(row)
    answers = tally.slots[DEPARTEMENT_SLOT]
    coder = place_coder or (store_place_coder() if answers else None)
    departements = _ranked(departement_counts(answers, coder))
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


@dataclass(frozen=True)
class Chart:
    png: str  # base64
    alt: str  # what the chart shows, for screen readers


@dataclass(frozen=True)
class CountsSection:
    title: str
    anchor: str
    column: str
    rows: list[tuple[str, int]]  # (label, count), most frequent first; empty: no data
    chart: Chart | None


SOURCE = "conversations enregistrées par l'assistant (tracker store de Rasa, table events)"
COMMAND = "bot report"


def _summary_rows(data: ReportData) -> list[tuple[str, object]]:
    period = f"depuis le {data.since:%d/%m/%Y %H:%M}" if data.since else "toute la durée du store"
    return [
        ("Période", period),
        ("Conversations", data.conversations),
        ("Messages reçus", data.user_messages),
        ("Réponses envoyées", data.bot_messages),
        ("Messages non compris", data.fallback_count),
        ("Taux de messages non compris", percent(data.fallback_rate)),
    ]


def _per_day_chart(data: ReportData) -> Chart:
    busiest = max(data.per_day, key=lambda s: s.user_messages)
    alt = (
        f"Courbes des messages reçus et des conversations par jour, du "
        f"{data.per_day[0].day:%d/%m/%Y} au {data.per_day[-1].day:%d/%m/%Y} ; "
        f"maximum {busiest.user_messages} messages le {busiest.day:%d/%m/%Y}."
    )
    return Chart(plot_per_day(data.per_day), alt)


def _per_day_rows(data: ReportData) -> list[tuple[str, int, int, int]]:
    return [
        (s.day.strftime("%d/%m/%Y"), s.conversations, s.user_messages, s.bot_messages)
        for s in data.per_day
    ]


def _counts(
    title: str, anchor: str, column: str, counts: dict[str, int], label: Callable[[str], str]
) -> CountsSection:
    if not counts:
        return CountsSection(title, anchor, column, [], None)
    named = {label(key): count for key, count in counts.items()}
    top = ", ".join(f"{name} : {count}" for name, count in list(named.items())[:5])
    alt = f"Diagramme en barres « {title} ». Les plus fréquents : {top}."
    return CountsSection(
        title, anchor, column, list(named.items()), Chart(plot_bars(named, title), alt)
    )


def topic_label(topic: str) -> str:
    """`faq/who_can_apply` → `Qui peut candidater ? (faq/who_can_apply)`."""
    from bot.staff.faq_sheet import TITLES

    return f"{TITLES[topic]} ({topic})" if topic in TITLES else topic


def _sections(data: ReportData) -> dict[str, Any]:
    """What the template shows beside `data`: the tables' rows and the charts."""
    names = data.departement_names
    return {
        "summary_rows": _summary_rows(data),
        "per_day_chart": _per_day_chart(data) if data.per_day else None,
        "per_day_rows": _per_day_rows(data),
        "topics": _counts("Sujets les plus demandés", "sujets", "Sujet", data.topics, topic_label),
        "fallback_rate": percent(data.fallback_rate),
        "fallback_rows": [
            (m.when.strftime("%d/%m/%Y %H:%M"), m.text) for m in data.fallback_messages
        ],
        "eligibility": _counts(
            "Résultats du test d'éligibilité",
            "eligibilite",
            "Résultat",
            data.eligibility,
            lambda key: ELIGIBILITY_LABELS.get(key, key),
        ),
        "departements": _counts(
            "Départements demandés",
            "departements",
            "Département",
            data.departements,
            lambda code: f"{code} – {names[code]}" if code in names else code,
        ),
    }


def render_html(data: ReportData) -> str:
    return render(
        "report.html",
        title="Rapport d'utilisation de l'assistant SPIE",
        source=SOURCE,
        command=COMMAND,
        generated=data.generated,
        data=data,
        **({} if data.empty else _sections(data)),
    )


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


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("report", help="rapport HTML d'utilisation (tracker store)")
    parser.add_argument("--db-url", default=None, help="défaut : TRACKER_DB_URL ou var/tracker.db")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--days", type=int, default=None, help="seulement les N derniers jours")
    parser.set_defaults(func=_run)
