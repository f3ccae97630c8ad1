"""Facts and dates of the call (from bot/data/call.yml) and the date-aware deadline answer."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot import DATA_DIR
from bot.config import settings

CALL_FILE = DATA_DIR / "call.yml"
MONTHS = (
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
)  # fmt: skip


@dataclass(frozen=True)
class CallDates:
    launch: dt.date
    deadline: dt.date  # inclusive
    selection: str
    implementation: str


@dataclass(frozen=True)
class Call:
    name: str
    short_name: str
    source: str
    source_url: str
    dates: CallDates
    territories_planned: int  # announced when the call was launched
    territories_retained: int  # finally selected
    about_applying: tuple[str, ...]  # answers that get the closed-call line
    spie_history: Mapping[str, object]  # experiments, first AMI
    wave_labels: Mapping[str, str]  # wave id -> words, with {fact} placeholders
    france_travail_since: dt.date
    france_travail_law: str


@lru_cache(maxsize=4)
def load_call(path: Path = CALL_FILE) -> Call:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    dates = raw["dates"]
    return Call(
        name=raw["name"],
        short_name=raw["short_name"],
        source=raw["source"],
        source_url=raw["source_url"],
        dates=CallDates(
            launch=_as_date(dates["launch"]),
            deadline=_as_date(dates["deadline"]),
            selection=str(dates["selection"]),
            implementation=str(dates["implementation"]),
        ),
        territories_planned=int(raw["territories"]["planned"]),
        territories_retained=int(raw["territories"]["retained"]),
        about_applying=tuple(raw.get("about_applying") or ()),
        spie_history=dict(raw["spie_history"]),
        wave_labels=dict(raw["wave_labels"]),
        france_travail_since=_as_date(raw["france_travail"]["since"]),
        france_travail_law=str(raw["france_travail"]["law"]),
    )


def facts(call: Call | None = None) -> dict[str, str]:
    """Every fact an answer text may name, as it is written in French. Answer texts
    (domain.yml, the data files) name them as {placeholders}: one source for each fact."""
    call = call or load_call()
    d = call.dates
    return {
        "call_name": call.short_name,
        "launch": french_date(d.launch),
        "launch_month": f"{MONTHS[d.launch.month - 1]} {d.launch.year}",
        "deadline": french_date(d.deadline),
        "selection": d.selection,
        "implementation": d.implementation,
        "territories_planned": str(call.territories_planned),
        "territories_retained": str(call.territories_retained),
        **{key: str(value) for key, value in call.spie_history.items()},
        "france_travail_since": french_date(call.france_travail_since),
        "france_travail_year": str(call.france_travail_since.year),
        "france_travail_law": call.france_travail_law,
        "call_status": deadline_status(today(), call),  # open, closed… as of today
    }


FACT_PLACEHOLDER = re.compile(r"(?<!{){([a-z_]+)}(?!})")


def fill_facts(text: str, call: Call | None = None) -> str:
    """`text` with its {fact} placeholders filled (others, e.g. a payload's {{…}}, left alone)."""
    values = facts(call)
    return FACT_PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))


def today() -> dt.date:
    """Today's date; `SPIE_TODAY=YYYY-MM-DD` overrides it (demonstrations, conversation tests)."""
    return settings().spie_today or dt.date.today()


def french_date(day: dt.date) -> str:
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS[day.month - 1]} {day.year}"


def is_open(on: dt.date, call: Call | None = None) -> bool:
    call = call or load_call()
    return call.dates.launch <= on <= call.dates.deadline


def deadline_status(on: dt.date, call: Call | None = None) -> str:
    """One sentence comparing `on` with the call's dates."""
    call = call or load_call()
    launch, deadline = call.dates.launch, call.dates.deadline
    if on < launch:
        return f"L'appel n'est pas encore ouvert : il sera lancé le {french_date(launch)}."
    if on <= deadline:
        days_left = (deadline - on).days
        if days_left == 0:
            return "L'appel est ouvert : aujourd'hui est le dernier jour pour déposer votre projet."
        plural = "s" if days_left > 1 else ""
        return f"L'appel est ouvert : il vous reste {days_left} jour{plural} pour déposer votre projet."
    return (
        f"Cet appel est clos : la date limite était le {french_date(deadline)} inclus, "
        "il n'est plus possible d'y répondre."
    )


def dates_answer(on: dt.date | None = None, call: Call | None = None) -> str:
    """The calendar of the call with the deadline compared with `on` (today by default)."""
    call = call or load_call()
    on = on or today()
    d = call.dates
    return (
        f"{deadline_status(on, call)}\n"
        f"• Lancement : {french_date(d.launch)}\n"
        f"• Date limite de dépôt : {french_date(d.deadline)} inclus\n"
        f"• Sélection annoncée : {d.selection}\n"
        f"• Mise en œuvre prévue des projets : {d.implementation}\n"
        f"Source : {call.source}."
    )


def closed_call_note(
    answer: str, on: dt.date | None = None, call: Call | None = None
) -> str | None:
    """One line for an answer about applying (`answer`: faq/<key> or an action's name), once
    the call is closed; None otherwise."""
    call = call or load_call()
    on = on or today()
    if answer not in call.about_applying or on <= call.dates.deadline:
        return None
    return (
        f"À noter : {call.short_name} est clos (date limite : {french_date(call.dates.deadline)} "
        "inclus). Ces informations restent utiles pour comprendre le SPIE et pour échanger avec "
        "les services de l'État sur un projet."
    )
