"""Contact cards (who to contact for a département or a région) and `bot contacts import|export`.

The cards only say what the store holds: kinds and websites from the compiled services file (with
how firmly each is known) and the addresses, phone numbers and e-mails staff imported. Nothing is
made up: without an imported value the card points to the Annuaire de l'administration.

Staff CSV format (`bot contacts import FILE.csv`, `bot contacts export [FILE]`)
-------------------------------------------------------------------------------
UTF-8 (an Excel BOM is fine), a header row, comma- or semicolon-separated, one row per service
(the example is fictitious: an example.org address and a number of the range ARCEP keeps for
fiction, 04 65 71 xx xx)::

    scope,code,address,phone,email,website
    departement,03,"1 rue de l'Exemple, 03000 Ville-Exemple",04 65 71 00 00,contact@example.org,
    region,84,,,,https://auvergne-rhone-alpes.dreets.gouv.fr

- `scope`: `departement` (the DDETS, DDETSPP, DRIEETS unité départementale, DEETS or DGCOPOP of a
  département) or `region` (the DREETS, DRIEETS, DEETS or DGCOPOP of a région). Required.
- `code`: département code (`03`, `2A`, `974`; `3` is read as `03`) or région code (`84`). Required.
- `address` (one line, at most 200 characters), `phone` (French number: `04 65 71 00 00`, dots or
  dashes allowed, or `+33 4 70 00 00 00`, `+262 262 …`, `+590 …`, `+594 …`, `+596 …`; stored as
  `04 65 71 00 00`), `email`, `website` (`https://` only): optional columns.
- An empty cell leaves the value as it is; `-` removes a value imported before.
- A `name` column (written by `export`) is ignored.

Every line is checked (the service exists, e-mail and phone well formed, https website); when one
line is wrong, every wrong line is reported by its number and nothing is applied. Otherwise the
whole file is applied in one transaction; imported values are marked verified with the source
`import <file> <date>`. Importing the same file again changes nothing.
"""

from __future__ import annotations

import argparse
import csv
import io
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from bot.knowledge.facts import fill_facts, load_call
from bot.places.store import (
    CONTACT_FIELDS,
    ContactUpdate,
    DepartementRow,
    PrefectureRow,
    RegionRow,
    Scope,
    ServiceRow,
    SpieTerritoryRow,
    Store,
    StoreUnavailable,
)

ANNUAIRE_URL = "https://lannuaire.service-public.gouv.fr"
SINGLE_SERVICE_KINDS = frozenset({"DEETS", "DGCOPOP"})  # overseas: one service for both levels
SOURCE_NOTE = "Source : services de l'État (décret 2020-1545), liste compilée par l'équipe."

DEPARTEMENT_KIND_LABELS = {
    "DDETS": "DDETS",
    "DDETSPP": "DDETSPP",
    "DRIEETS UD": "unité départementale de la DRIEETS",
}


# --- cards ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactCard:
    departement: DepartementRow
    region: RegionRow
    departement_service: ServiceRow
    region_service: ServiceRow
    prefecture: PrefectureRow
    region_prefecture: PrefectureRow  # the commissaire à la lutte contre la pauvreté sits there
    annuaire_url: str = ANNUAIRE_URL

    @property
    def single_service(self) -> bool:
        """Overseas, one DEETS (DGCOPOP in Guyane) acts at both levels."""
        return self.departement_service.kind in SINGLE_SERVICE_KINDS


@dataclass(frozen=True)
class RegionCard:
    region: RegionRow
    service: ServiceRow
    region_prefecture: PrefectureRow
    departements: tuple[DepartementRow, ...]
    annuaire_url: str = ANNUAIRE_URL


def contact_card(dep_code: str, store: Store | None = None) -> ContactCard:
    """The card of a département; `LookupError` for an unknown code, `StoreUnavailable`.

    The reference rows come from memory; the values staff imported for the two services are
    the one read of the database."""
    store = store or Store()
    departement = store.departement(dep_code)
    if departement is None:
        raise LookupError(f"unknown département {dep_code!r}")
    region = _required(store.region(departement.region_code), departement.region_code)
    services = store.services([("departement", dep_code), ("region", region.code)])
    departement_service, region_service = _required_pair(services, dep_code)
    return ContactCard(
        departement=departement,
        region=region,
        departement_service=departement_service,
        region_service=region_service,
        prefecture=_required(store.prefecture(dep_code), dep_code),
        region_prefecture=_required(store.prefecture(region.prefecture_dep), region.code),
    )


def region_card(region_code: str, store: Store | None = None) -> RegionCard:
    store = store or Store()
    region = store.region(region_code)
    if region is None:
        raise LookupError(f"unknown région {region_code!r}")
    return RegionCard(
        region=region,
        service=_required(store.service("region", region_code), region_code),
        region_prefecture=_required(store.prefecture(region.prefecture_dep), region_code),
        departements=tuple(store.departements(region_code)),
    )


RowT = TypeVar("RowT")


def _required(row: RowT | None, code: str) -> RowT:
    if row is None:
        raise LookupError(f"incomplete store: nothing for {code!r} (run `bot db build --force`)")
    return row


def _required_pair(services: list[ServiceRow], code: str) -> tuple[ServiceRow, ServiceRow]:
    if len(services) != 2:
        raise LookupError(f"incomplete store: services of {code!r} (run `bot db build --force`)")
    return services[0], services[1]


def format_contact_card(card: ContactCard) -> str:
    dep = card.departement
    lines = [f"{dep.name} ({dep.code}) — vos interlocuteurs de l'État pour le SPIE :"]
    if card.single_service:
        lines += _service_lines(card.region_service, card.departement_service, card.prefecture)
    else:
        lines += _service_lines(card.departement_service, None, card.prefecture)
        lines += _service_lines(card.region_service, None, card.prefecture)
    lines.append(_commissaire_line(card.region_prefecture))
    lines.append(f"Coordonnées à jour : {card.annuaire_url}")
    lines.append(_source_line(card.departement_service, card.region_service))
    return "\n".join(lines)


def format_region_card(card: RegionCard) -> str:
    lines = [f"{card.region.name} — interlocuteurs régionaux de l'État pour le SPIE :"]
    lines += _service_lines(card.service, None, card.region_prefecture)
    lines.append(_commissaire_line(card.region_prefecture))
    if len(card.departements) > 1:
        names = ", ".join(f"{dep.name} ({dep.code})" for dep in card.departements)
        lines.append(f"Départements : {names}. Indiquez le vôtre pour le service départemental.")
    lines.append(f"Coordonnées à jour : {card.annuaire_url}")
    lines.append(_source_line(card.service))
    return "\n".join(lines)


def _service_lines(
    service: ServiceRow, twin: ServiceRow | None, prefecture: PrefectureRow
) -> list[str]:
    """One bullet for a service, then the contact details staff imported (verified only)."""
    label = service.name
    if twin is not None:
        label += " (services régional et départemental)"
    elif service.status != "verified":
        label += f" ({_status_words(service.status, 'intitulé')})"
    if service.website:
        where = service.website
        if service.website_status != "verified":
            where += f" ({_status_words(service.website_status, 'site')})"
    else:
        where = f"voir le site de la préfecture, {prefecture.website}"
    lines = [f"• {label} : {where}"]
    for row in (service, twin):
        if row is not None:
            lines += _imported_lines(row)
    return lines


def _imported_lines(service: ServiceRow) -> list[str]:
    details = [
        ("Adresse", service.address),
        ("Tél.", service.phone),
        ("Courriel", service.email),
    ]
    return [f"  {label} : {value}" for label, value in details if value]


def _status_words(status: str, thing: str) -> str:
    if status == "likely":
        return f"{thing} probable, non vérifié"
    return f"{thing} non vérifié"


def _commissaire_line(region_prefecture: PrefectureRow) -> str:
    return (
        "• Commissaire à la lutte contre la pauvreté : auprès du préfet de région, "
        f"{region_prefecture.website}"
    )


def _source_line(*services: ServiceRow) -> str:
    imported = sorted({s.contact_source for s in services if s.contact_source})
    if imported:
        return f"{SOURCE_NOTE} Coordonnées vérifiées par l'équipe ({'; '.join(imported)})."
    return SOURCE_NOTE


# --- SPIE territories -------------------------------------------------------------------------


def spie_status(dep_code: str, store: Store | None = None) -> list[SpieTerritoryRow]:
    """SPIE territories covering all or part of the département (several waves possible)."""
    return (store or Store()).spie_territories(dep_code)


def format_spie_status(dep_code: str, store: Store | None = None) -> str:
    store = store or Store()
    departement = store.departement(dep_code)
    if departement is None:
        raise LookupError(f"unknown département {dep_code!r}")
    rows = store.spie_territories(dep_code)
    head = f"{departement.name} ({dep_code})"
    partial_note = _partial_list_note(store.spie_territories())
    if not rows:
        text = (
            f"{head} : ce département ne figure pas parmi les territoires du SPIE que nous connaissons "
            + fill_facts(
                "({experiments} territoires de l'expérimentation lancée en {experiments_since}, "
                "{first_call_territories} territoires du 1er AMI en {first_call_announced})."
            )
        )
        if partial_note:
            text += f" {partial_note} Renseignez-vous auprès {_services_of(dep_code, store)}."
        return text
    lines = [f"{head} — déjà dans le SPIE :"]
    lines += [f"• {_territory_words(row, departement)}" for row in rows]
    if partial_note and any(row.status == "partial" for row in rows):
        lines.append(partial_note)
    sources = sorted({part for row in rows for part in _short_sources(row.source)})
    lines.append(f"Source : {', '.join(sources)}.")
    return "\n".join(lines)


def _services_of(dep_code: str, store: Store) -> str:
    """« de la DDETSPP du Lot-et-Garonne ou de la DREETS Nouvelle-Aquitaine »: the services of the
    département's card (the data decide the names: DDETSPP, UD of the DRIEETS, DEETS…; all are
    directions, hence « la »). Names are reference data: nothing is read from the database."""
    departement = _required(store.departement(dep_code), dep_code)
    services = store.reference().services
    own = _required(services.get(("departement", dep_code)), dep_code)
    if own.kind in SINGLE_SERVICE_KINDS:
        return f"de la {own.name}"
    region = _required(services.get(("region", departement.region_code)), dep_code)
    return f"de la {own.name} ou de la {region.name}"


def _territory_words(row: SpieTerritoryRow, departement: DepartementRow) -> str:
    wave = fill_facts(load_call().wave_labels.get(row.wave, row.wave))
    if row.code == "53R":
        who = "la Région Bretagne, avec les quatre départements bretons"
    elif len(row.deps) > 1:
        who = f"{row.name} ({', '.join(row.deps)})"
    elif row.coverage == "part":
        who = f"{_with_the(row.name)} (pas tout le département)"
    elif row.name != departement.name:
        who = f"{row.name} (le département)"
    else:
        who = "le département"
    text = f"{who} : {wave}"
    if row.status == "partial":
        text += " (d'après une liste partielle)"
    return text


def _with_the(name: str) -> str:
    """Institutions take an article ("la Métropole de Lyon"), towns do not ("Bastia")."""
    first = name.split(" ", 1)[0].lower()
    if first in ("métropole", "communauté", "collectivité", "région"):
        return f"la {name}"
    if first == "pays":
        return f"le {name}"
    return name


def _partial_list_note(rows: Iterable[SpieTerritoryRow]) -> str:
    held = {(row.code, row.name) for row in rows if row.wave == "ami_2_2021"}
    partial = any(row.status == "partial" for row in rows if row.wave == "ami_2_2021")
    if not held and not partial:
        return ""
    retained = load_call().territories_retained
    return (
        "Attention : la liste du 2e AMI que nous détenons est partielle "
        f"(environ {retained - len(held)} des {retained} territoires retenus y manquent)."
    )


def _short_sources(source: str) -> list[str]:
    """The site travail-emploi.gouv.fr and, when cited, ASH (Actualités sociales hebdo.)."""
    return ["travail-emploi.gouv.fr"] + (["ASH"] if "ASH" in source else [])


# --- import / export --------------------------------------------------------------------------

SCOPES: dict[str, Scope] = {"departement": "departement", "region": "region"}
KEY_COLUMNS = ("scope", "code")
IGNORED_COLUMNS = ("name",)
# France and the DOM: +262 La Réunion and Mayotte (Mayotte's numbers are +262 269…/639…; +269
# is the Comoros), +590 Guadeloupe, +594 Guyane, +596 Martinique.
PHONE_PREFIXES = ("33", "262", "590", "594", "596")
EMAIL = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
REMOVE = "-"


@dataclass(frozen=True)
class ImportReport:
    errors: tuple[str, ...]  # "ligne 4 : …", in French, one per bad line
    rows: int
    changed: int

    @property
    def accepted(self) -> bool:
        return not self.errors


def import_contacts(path: Path, store: Store | None = None) -> ImportReport:
    """Check every line of `path`; apply all of them in one transaction, or none."""
    store = store or Store()
    text = path.read_text(encoding="utf-8-sig")
    updates, errors, rows = parse_contacts_csv(text, store)
    if errors:
        return ImportReport(tuple(errors), rows, 0)
    source = f"import {path.name} {date.today().isoformat()}"
    changed = store.apply_contact_updates(updates, source)
    return ImportReport((), rows, changed)


def parse_contacts_csv(text: str, store: Store) -> tuple[list[ContactUpdate], list[str], int]:
    """(updates, errors by line, number of data rows)."""
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    header = [column.strip().lower() for column in next(reader, [])]
    header_errors = _header_errors(header)
    if header_errors:
        return [], [f"ligne 1 : {' ; '.join(header_errors)}"], 0
    known = _known_codes(store)
    updates: list[ContactUpdate] = []
    errors: list[str] = []
    seen: dict[tuple[str, str], int] = {}
    rows = 0
    line = reader.line_num
    for cells in reader:
        first_line, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        rows += 1
        row_updates, problems = _parse_row(header, cells, known, seen, first_line)
        if problems:
            errors.append(f"ligne {first_line} : {' ; '.join(problems)}")
        updates += row_updates
    if rows == 0 and not errors:
        errors.append("ligne 2 : le fichier ne contient aucune ligne de données")
    return updates, errors, rows


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _header_errors(header: Sequence[str]) -> list[str]:
    allowed = (*KEY_COLUMNS, *CONTACT_FIELDS, *IGNORED_COLUMNS)
    errors = [f"colonne « {name} » absente" for name in KEY_COLUMNS if name not in header]
    errors += [f"colonne « {name} » inconnue" for name in header if name not in allowed]
    duplicates = {name for name in header if header.count(name) > 1}
    errors += [f"colonne « {name} » en double" for name in sorted(duplicates)]
    return errors


def _known_codes(store: Store) -> dict[str, set[str]]:
    return {
        "departement": {row.code for row in store.departements()},
        "region": {row.code for row in store.regions()},
    }


def _parse_row(
    header: Sequence[str],
    cells: Sequence[str],
    known: dict[str, set[str]],
    seen: dict[tuple[str, str], int],
    line: int,
) -> tuple[list[ContactUpdate], list[str]]:
    if len(cells) != len(header):
        return [], [f"{len(cells)} colonnes au lieu de {len(header)}"]
    values = {name: cell.strip() for name, cell in zip(header, cells, strict=True)}
    problems = []
    scope = SCOPES.get(_plain(values["scope"]))
    code = _normal_code(values["code"])
    if scope is None:
        problems.append(f"portée « {values['scope']} » inconnue (departement ou region)")
    elif code not in known[scope]:
        kind = "département" if scope == "departement" else "région"
        problems.append(f"code de {kind} « {values['code']} » inconnu")
    elif (scope, code) in seen:
        problems.append(f"{scope} {code} déjà présent ligne {seen[(scope, code)]}")
    else:
        seen[(scope, code)] = line
    updates = []
    for field in CONTACT_FIELDS:
        raw = values.get(field, "")
        if not raw:
            continue
        value, problem = ("", "") if raw == REMOVE else VALIDATORS[field](raw)
        if problem:
            problems.append(problem)
        elif scope is not None:
            updates.append(ContactUpdate(scope, code, field, value))  # "" removes
    return updates, problems


def _plain(text: str) -> str:
    return text.lower().replace("é", "e").replace("É", "e")


def _normal_code(code: str) -> str:
    code = code.strip().upper()
    return code.zfill(2) if code.isdigit() and len(code) == 1 else code  # Excel drops the 0


def _valid_address(raw: str) -> tuple[str, str]:
    if CONTROL.search(raw) or len(raw) > 200:
        return "", "adresse invalide (une seule ligne, 200 caractères au plus)"
    return " ".join(raw.split()), ""


def _valid_phone(raw: str) -> tuple[str, str]:
    compact = re.sub(r"[\s.\-]", "", raw).replace("(0)", "")
    national = ""
    if re.fullmatch(r"0[1-9]\d{8}", compact):
        national = compact
    elif compact.startswith("+"):
        for prefix in PHONE_PREFIXES:
            rest = compact[1 + len(prefix) :]
            if compact[1:].startswith(prefix) and re.fullmatch(r"\d{9}", rest):
                national = "0" + rest
                break
    if not national:
        return "", f"téléphone « {raw} » invalide (ex. 01 23 45 67 89 ou +33 1 23 45 67 89)"
    return " ".join(national[i : i + 2] for i in range(0, 10, 2)), ""


def _valid_email(raw: str) -> tuple[str, str]:
    if len(raw) > 254 or not EMAIL.fullmatch(raw):
        return "", f"courriel « {raw} » invalide"
    return raw, ""


def _valid_website(raw: str) -> tuple[str, str]:
    parts = urlsplit(raw)
    host = parts.hostname or ""
    if (
        parts.scheme != "https"
        or "." not in host
        or parts.username
        or any(char.isspace() for char in raw)
        or len(raw) > 200
    ):
        return "", f"site « {raw} » invalide (adresse https:// attendue)"
    return raw, ""


VALIDATORS = {
    "address": _valid_address,
    "phone": _valid_phone,
    "email": _valid_email,
    "website": _valid_website,
}


def export_contacts(store: Store | None = None) -> str:
    """The staff CSV of every service: verified values only, so that re-importing changes nothing."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("scope", "code", "name", *CONTACT_FIELDS))
    for service in (store or Store()).services():
        website = service.website if service.website_status == "verified" else ""
        contact = (service.address, service.phone, service.email, website)
        writer.writerow((service.scope, service.code, service.name, *contact))
    return out.getvalue()


# --- command line -----------------------------------------------------------------------------


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("contacts", help="Coordonnées des services de l'État.")
    commands = parser.add_subparsers(dest="contacts_command", required=True)
    importer = commands.add_parser("import", help="Importe un CSV de coordonnées vérifiées.")
    importer.add_argument("file", type=Path)
    importer.set_defaults(func=_cli_import)
    exporter = commands.add_parser("export", help="Écrit les coordonnées au format d'import.")
    exporter.add_argument("file", type=Path, nargs="?", help="fichier (sortie standard sinon)")
    exporter.set_defaults(func=_cli_export)


def _cli_import(args: argparse.Namespace) -> int:
    try:
        report = import_contacts(args.file)
    except (OSError, UnicodeDecodeError) as error:
        print(f"Lecture impossible de {args.file} : {error}", file=sys.stderr)
        return 2
    except StoreUnavailable as error:
        print(f"Base indisponible : {error}", file=sys.stderr)
        return 2
    if not report.accepted:
        print(f"Fichier refusé, rien n'a été modifié ({len(report.errors)} ligne(s) en erreur) :")
        for line in report.errors:
            print(f"  {line}")
        return 1
    print(
        f"Import de {args.file.name} : {report.changed} valeur(s) modifiée(s), {report.rows} ligne(s)."
    )
    return 0


def _cli_export(args: argparse.Namespace) -> int:
    try:
        text = export_contacts()
    except StoreUnavailable as error:
        print(f"Base indisponible : {error}", file=sys.stderr)
        return 2
    if args.file is None:
        sys.stdout.write(text)
    else:
        args.file.write_text(text, encoding="utf-8")
        print(f"{text.count(chr(10)) - 1} service(s) écrits dans {args.file}")
    return 0
