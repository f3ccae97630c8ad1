"""Derive the compact data files of `bot/data/geo/` and `bot/data/services/` (dev time only).

Reads the reference material in `../shared/data` (beside the repository) and writes small CSV
files that are committed with the project; the bot never reads `../shared` at run time.

    python scripts/derive_data.py [--shared ../shared/data]

Sources and licences: see `bot/data/ATTRIBUTION.md`.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parents[1]
DEFAULT_SHARED = REPO_DIR.parent / "shared" / "data"
GEO_OUT = REPO_DIR / "bot" / "data" / "geo"
SERVICES_OUT = REPO_DIR / "bot" / "data" / "services"

# INSEE "TYPECOM" codes: shorter than the Etalab type names and official.
COMMUNE_TYPES = {
    "commune-actuelle": "COM",
    "commune-deleguee": "COMD",
    "commune-associee": "COMA",
    "arrondissement-municipal": "ARM",
}

# SPIE territories that are not a single département (codes of spie_territoires.csv).
MULTI_DEPARTEMENT_TERRITORIES = {
    "53R": ("22", "29", "35", "56"),  # Région Bretagne with its four départements
    "6AE": ("67", "68"),  # Collectivité européenne d'Alsace replaced both conseils départementaux
    "69M": ("69",),  # Métropole de Lyon: only part of the Rhône's territory
}
PARTIAL_TERRITORIES = {"69M"}

OVERSEAS_KINDS = {"DEETS", "DGCOPOP"}


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle, delimiter=delimiter))


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        for row in rows:
            writer.writerow(row)
            count += 1
    print(f"{path.relative_to(REPO_DIR)}: {count} rows, {path.stat().st_size:,} bytes")
    return count


def departement_of_insee(insee: str) -> str:
    """Département of an INSEE commune code when the commune list does not know it (Monaco…)."""
    return insee[:3] if insee.startswith("97") or insee.startswith("98") else insee[:2]


def derive_geo(shared: Path) -> None:
    geo = shared / "geo"
    communes = json.loads((geo / "communes.json").read_text(encoding="utf-8"))
    commune_by_code = {c["code"]: c for c in communes if c["type"] == "commune-actuelle"}
    dep_of_commune = {c["code"]: c["departement"] for c in communes}

    regions = read_csv(geo / "regions.csv")
    write_csv(
        GEO_OUT / "regions.csv",
        ("code", "name", "tncc", "chef_lieu", "prefecture_dep"),
        (
            (r["REG"], r["LIBELLE"], r["TNCC"], r["CHEFLIEU"], dep_of_commune[r["CHEFLIEU"]])
            for r in regions
        ),
    )

    population = defaultdict(int)
    for commune in communes:
        if commune["type"] == "commune-actuelle":
            population[commune["departement"]] += commune.get("population", 0)
    departements = read_csv(geo / "departements.csv")
    write_csv(
        GEO_OUT / "departements.csv",
        ("code", "name", "region", "tncc", "chef_lieu", "prefecture", "population"),
        (
            (
                d["DEP"],
                d["LIBELLE"],
                d["REG"],
                d["TNCC"],
                d["CHEFLIEU"],
                commune_by_code[d["CHEFLIEU"]]["nom"],
                population[d["DEP"]],
            )
            for d in departements
        ),
    )

    write_csv(
        GEO_OUT / "communes.csv",
        ("code", "name", "dep", "region", "type", "population", "postal_codes", "parent"),
        (
            (
                c["code"],
                c["nom"],
                c["departement"],
                c["region"],
                COMMUNE_TYPES[c["type"]],
                c.get("population", ""),
                " ".join(c.get("codesPostaux", ())),
                c.get("chefLieu") or c.get("commune") or "",
            )
            for c in communes
        ),
    )

    # One row per (postal code, INSEE code): La Poste repeats a pair once per "ligne 5" locality.
    seen: set[tuple[str, str]] = set()
    postal_rows = []
    laposte = read_csv(geo / "codes_postaux_laposte.csv", delimiter=";")
    for row in laposte:
        key = (row["Code_postal"], row["Code_commune_INSEE"])
        if key in seen:
            continue
        seen.add(key)
        insee = row["Code_commune_INSEE"]
        dep = dep_of_commune.get(insee) or departement_of_insee(insee)
        postal_rows.append((key[0], insee, dep, row["Nom_de_la_commune"]))
    postal_rows.sort()
    write_csv(GEO_OUT / "postal_codes.csv", ("postal_code", "insee", "dep", "name"), postal_rows)


def evidence_status(evidence: str) -> str:
    """`regional_site_evidence` → verified / likely / unverified (weak evidence is unverified)."""
    word = evidence.strip().split(" ", 1)[0].lower()
    if word == "verified":
        return "verified"
    if word == "likely":
        return "likely"
    return "unverified"


def de_phrase(name: str, tncc: str) -> str:
    """The "de" form of a name ("de l'Allier", "du Rhône") from its INSEE article code (TNCC)."""
    prefix = {"0": "de ", "1": "d'", "2": "du ", "3": "de la ", "4": "des ", "5": "de l'"}
    return prefix.get(tncc, "de ") + name


def departement_service(row: dict[str, str], tncc: str) -> tuple[str, str, str]:
    """(kind, name, status) of the departmental State service."""
    raw_kind = row["dept_state_service"]
    note = row["dept_note"]
    if raw_kind.startswith("DRIEETS"):
        name = f"DRIEETS – unité départementale {de_phrase(row['dep_name'], tncc)}"
        return "DRIEETS UD", name, "verified"  # décret 2020-1545: no DDETS in 75/92/93/94
    if raw_kind in OVERSEAS_KINDS:
        return raw_kind, f"{raw_kind} {row['region_name']}", "verified"
    # DDETS vs DDETSPP comes from an unofficial 2022 list: probable, not checked one by one.
    status = "likely" if "unofficial" in note else "verified"
    return raw_kind, f"{raw_kind} {de_phrase(row['dep_name'], tncc)}", status


def derive_services(shared: Path) -> None:
    services = read_csv(shared / "services" / "departements_services.csv")
    tncc = {row[0]: row[3] for row in _csv_rows(GEO_OUT / "departements.csv")}
    compiled = "departements_services.csv (décret 2020-1545, pages publiques, liste 2022)"

    service_rows: list[tuple[str, ...]] = []
    regions_done: set[str] = set()
    for row in services:
        kind, name, status = departement_service(row, tncc[row["dep_code"]])
        service_rows.append(
            ("departement", row["dep_code"], kind, name, "", status, "", compiled, row["dept_note"])
        )
        if row["region_code"] in regions_done:
            continue
        regions_done.add(row["region_code"])
        regional_kind = row["regional_state_service"]
        website = row["regional_site"] if row["regional_site"].startswith("https://") else ""
        service_rows.append(
            (
                "region",
                row["region_code"],
                regional_kind,
                f"{regional_kind} {row['region_name']}",
                website,
                "verified",  # DREETS / DRIEETS / DEETS / DGCOPOP: décret 2020-1545 and the seed
                evidence_status(row["regional_site_evidence"]) if website else "",
                compiled,
                row["regional_site_evidence"],
            )
        )
    write_csv(
        SERVICES_OUT / "services.csv",
        (
            "scope",
            "code",
            "kind",
            "name",
            "website",
            "status",
            "website_status",
            "source",
            "note",
        ),
        service_rows,
    )
    write_csv(
        SERVICES_OUT / "prefectures.csv",
        ("dep", "website"),
        ((row["dep_code"], row["prefecture_site"]) for row in services),
    )
    derive_spie_territories(shared, {row["dep_code"]: row["dep_name"] for row in services})


def derive_spie_territories(shared: Path, dep_names: dict[str, str]) -> None:
    rows = []
    for row in read_csv(shared / "services" / "spie_territoires.csv"):
        code = row["territory_code"]
        deps = MULTI_DEPARTEMENT_TERRITORIES.get(code, (code,))
        whole = code not in PARTIAL_TERRITORIES and (
            code in MULTI_DEPARTEMENT_TERRITORIES or row["territory_name"] == dep_names.get(code)
        )
        rows.append(
            (
                code,
                row["territory_name"],
                row["wave"],
                row["status"],
                " ".join(deps),
                "whole" if whole else "part",
                row["source"],
                row["note"],
            )
        )
    write_csv(
        SERVICES_OUT / "spie_territories.csv",
        ("code", "name", "wave", "status", "deps", "coverage", "source", "note"),
        rows,
    )


def _csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))[1:]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=DEFAULT_SHARED)
    args = parser.parse_args(argv)
    if not (args.shared / "geo" / "communes.json").is_file():
        print(f"reference data not found in {args.shared}", file=sys.stderr)
        return 1
    derive_geo(args.shared)
    derive_services(args.shared)
    return 0


if __name__ == "__main__":
    sys.exit(main())
