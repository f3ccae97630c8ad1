"""Contact cards, SPIE status and `bot contacts import|export`, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.cli import main as cli_main
from bot.contacts.cards import (
    ANNUAIRE_URL,
    contact_card,
    export_contacts,
    format_contact_card,
    format_region_card,
    format_spie_status,
    import_contacts,
    region_card,
    spie_status,
)
from bot.places.store import Store

pytest_plugins = ["tests.conftest_db"]

PHONE = re.compile(r"(?:\+\d{2,3}|\b0\d)(?:[\s.]?\d{2}){4}\b")
GOOD_CSV = """scope,code,address,phone,email,website
departement,03,"Cité administrative, 03000 Moulins",04.70.00.00.01,ddetspp@allier.example.gouv.fr,
region,84,,+33 4 72 00 00 02,,https://auvergne-rhone-alpes.dreets.gouv.fr
departement,974,,+262 262 00 00 03,,
departement,2a,,,contact@corse.example.gouv.fr,
"""
BAD_CSV = """scope,code,address,phone,email,website
departement,03,,04 70 00 00 01,,
departement,99,,,,
region,84,,12 34,pas-un-courriel,http://auvergne-rhone-alpes.dreets.gouv.fr
province,03,,,,
departement,26,,,,https://www.drome.gouv.fr
departement,26,,,,https://www.drome.gouv.fr
departement,63,,,,
"""


def write(tmp_path: Path, text: str, name: str = "contacts.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def all_cards(store: Store) -> list[str]:
    return [format_contact_card(contact_card(dep.code, store)) for dep in store.departements()]


# --- cards ------------------------------------------------------------------------------------


def test_ddets_card(store: Store) -> None:
    text = format_contact_card(contact_card("26", store))
    assert "Drôme (26)" in text
    assert "DDETS de la Drôme (intitulé probable, non vérifié)" in text
    assert "https://www.drome.gouv.fr" in text
    assert "DREETS Auvergne-Rhône-Alpes : https://auvergne-rhone-alpes.dreets.gouv.fr\n" in text
    # The commissaire à la lutte contre la pauvreté sits at the préfecture de région (Lyon).
    assert "préfet de région, https://www.rhone.gouv.fr" in text
    assert ANNUAIRE_URL in text
    assert "Source :" in text


def test_ddetspp_card(store: Store) -> None:
    card = contact_card("03", store)
    assert card.departement_service.kind == "DDETSPP"
    assert "DDETSPP de l'Allier" in format_contact_card(card)


def test_drieets_unite_departementale_card(store: Store) -> None:
    card = contact_card("75", store)
    text = format_contact_card(card)
    assert card.departement_service.kind == "DRIEETS UD"
    assert "DRIEETS – unité départementale de Paris :" in text  # verified: no "probable"
    assert "DRIEETS Île-de-France : https://idf.drieets.gouv.fr" in text
    assert "DDETS" not in text


@pytest.mark.parametrize(
    ("code", "site"), [("971", "guadeloupe"), ("974", "reunion"), ("976", "mayotte")]
)
def test_deets_cards(store: Store, code: str, site: str) -> None:
    card = contact_card(code, store)
    text = format_contact_card(card)
    assert card.single_service and card.departement_service.kind == "DEETS"
    assert "(services régional et départemental)" in text
    assert f"https://{site}.deets.gouv.fr" in text
    assert text.count("DEETS") == 1 and "DREETS" not in text


def test_deets_websites_say_how_firmly_they_are_known(store: Store) -> None:
    assert "https://reunion.deets.gouv.fr\n" in format_contact_card(contact_card("974", store))
    assert "(site non vérifié)" in format_contact_card(contact_card("971", store))  # weak evidence
    assert "(site non vérifié)" in format_contact_card(contact_card("976", store))


def test_dgcopop_card(store: Store) -> None:
    text = format_contact_card(contact_card("973", store))
    assert "DGCOPOP Guyane (services régional et départemental)" in text
    assert "voir le site de la préfecture, https://www.guyane.gouv.fr" in text


def test_likely_and_unverified_rows_say_so(store: Store) -> None:
    nord = format_contact_card(contact_card("59", store))
    assert "https://hauts-de-france.dreets.gouv.fr (site probable, non vérifié)" in nord
    corse = format_contact_card(contact_card("2A", store))
    assert "https://corse.dreets.gouv.fr (site non vérifié)" in corse


def test_region_card(store: Store) -> None:
    text = format_region_card(region_card("53", store))
    assert "DREETS Bretagne : https://bretagne.dreets.gouv.fr" in text
    assert (
        "Finistère (29)" in text and "préfet de région, https://www.ille-et-vilaine.gouv.fr" in text
    )
    assert "(site probable, non vérifié)" in format_region_card(region_card("32", store))


def test_cards_are_short(store: Store) -> None:
    for text in all_cards(store):
        assert len(text.splitlines()) <= 7 and len(text) < 700, text


def test_no_phone_or_email_unless_stored(store: Store) -> None:
    for text in all_cards(store):
        assert not PHONE.search(text), text
        assert "@" not in text and "Tél." not in text and "Courriel" not in text


def test_imported_contacts_appear_on_the_card(store: Store, tmp_path: Path) -> None:
    assert import_contacts(write(tmp_path, GOOD_CSV), store).accepted
    text = format_contact_card(contact_card("03", store))
    assert "Tél. : 04 70 00 00 01" in text
    assert "Courriel : ddetspp@allier.example.gouv.fr" in text
    assert "Adresse : Cité administrative, 03000 Moulins" in text
    assert "import contacts.csv" in text
    assert "Tél. : 02 62 00 00 03" in format_contact_card(contact_card("974", store))
    others = [
        text for text in all_cards(store) if "Allier (03)" not in text and "(974)" not in text
    ]
    assert not any(PHONE.search(text) for text in others if "Auvergne" not in text)


def test_unknown_codes_raise_lookup_error(store: Store) -> None:
    with pytest.raises(LookupError):
        contact_card("99", store)
    with pytest.raises(LookupError):
        region_card("99", store)


# --- SPIE status ------------------------------------------------------------------------------


def test_spie_status_of_a_departement_of_the_first_ami(store: Store) -> None:
    assert [row.wave for row in spie_status("03", store)] == ["ami_1_avril_2021"]
    text = format_spie_status("03", store)
    assert "Allier (03) — déjà dans le SPIE" in text and "1er AMI, avril 2021" in text


def test_spie_status_of_partial_territories(store: Store) -> None:
    lyon = format_spie_status("69", store)
    assert "la Métropole de Lyon (pas tout le département)" in lyon
    assert "expérimentation depuis mars 2020" in lyon
    bretagne = format_spie_status("29", store)
    assert "Région Bretagne" in bretagne
    ajaccio = format_spie_status("2A", store)
    assert "Pays Ajaccien (pas tout le département)" in ajaccio
    assert "la liste du 2e AMI que nous détenons est partielle" in ajaccio


def test_spie_status_of_an_absent_departement_is_cautious(store: Store) -> None:
    text = format_spie_status("09", store)
    assert "ne figure pas parmi les territoires du SPIE que nous connaissons" in text
    assert "la liste du 2e AMI que nous détenons est partielle" in text
    assert "environ 11 des 34" in text


def test_spie_status_lists_every_wave(store: Store) -> None:
    text = format_spie_status("67", store)
    assert "expérimentation depuis mars 2020" in text
    assert "Collectivité européenne d'Alsace (67, 68) : 1er AMI, avril 2021" in text


# --- import / export --------------------------------------------------------------------------


def test_import_a_good_file(store: Store, tmp_path: Path) -> None:
    report = import_contacts(write(tmp_path, GOOD_CSV), store)
    assert report.accepted and report.rows == 4
    assert report.changed == 6  # the DREETS website was already verified: unchanged
    allier = store.service("departement", "03")
    assert allier.phone == "04 70 00 00 01"
    assert allier.contact_source.startswith("import contacts.csv ")
    assert store.service("region", "84").phone == "04 72 00 00 02"
    assert store.service("departement", "2A").email == "contact@corse.example.gouv.fr"


def test_reimport_is_idempotent(store: Store, tmp_path: Path) -> None:
    path = write(tmp_path, GOOD_CSV)
    import_contacts(path, store)
    before = store.services()
    report = import_contacts(path, store)
    assert report.accepted and report.changed == 0
    assert store.services() == before


def test_a_file_with_bad_rows_is_rejected_whole(store: Store, tmp_path: Path) -> None:
    before = store.services()
    report = import_contacts(write(tmp_path, BAD_CSV), store)
    assert not report.accepted and report.changed == 0
    assert [error.split(" : ", 1)[0] for error in report.errors] == [
        "ligne 3",
        "ligne 4",
        "ligne 5",
        "ligne 7",
    ]
    assert "code de département « 99 » inconnu" in report.errors[0]
    assert "téléphone « 12 34 » invalide" in report.errors[1]
    assert "courriel « pas-un-courriel » invalide" in report.errors[1]
    assert "adresse https:// attendue" in report.errors[1]
    assert "portée « province » inconnue" in report.errors[2]
    assert "déjà présent ligne 6" in report.errors[3]
    assert store.services() == before  # line 2 was good, but nothing was applied


def test_bad_header_is_reported(store: Store, tmp_path: Path) -> None:
    report = import_contacts(write(tmp_path, "scope,telephone\nregion,84\n"), store)
    assert report.errors == ("ligne 1 : colonne « code » absente ; colonne « telephone » inconnue",)


def test_semicolons_excel_bom_and_lost_zeros_are_accepted(store: Store, tmp_path: Path) -> None:
    text = "\ufeffscope;code;phone\nDépartement;3;04 70 00 00 09\nrégion;84;-\n"
    report = import_contacts(write(tmp_path, text), store)
    assert report.accepted, report.errors
    assert store.service("departement", "03").phone == "04 70 00 00 09"


def test_a_dash_removes_an_imported_value(store: Store, tmp_path: Path) -> None:
    import_contacts(write(tmp_path, GOOD_CSV), store)
    report = import_contacts(
        write(tmp_path, "scope,code,phone\ndepartement,03,-\n", "remove.csv"), store
    )
    assert report.changed == 1
    assert store.service("departement", "03").phone == ""


@pytest.mark.parametrize(
    ("phone", "stored"),
    [
        ("01 23 45 67 89", "01 23 45 67 89"),
        ("+33 1 23 45 67 89", "01 23 45 67 89"),
        ("+33 (0)1 23 45 67 89", "01 23 45 67 89"),
        ("05-94-00-00-00", "05 94 00 00 00"),
        ("+590 590 12 34 56", "05 90 12 34 56"),
        ("+262 269 61 00 00", "02 69 61 00 00"),  # Mayotte
    ],
)
def test_phone_formats(store: Store, tmp_path: Path, phone: str, stored: str) -> None:
    report = import_contacts(write(tmp_path, f"scope,code,phone\nregion,84,{phone}\n"), store)
    assert report.accepted, report.errors
    assert store.service("region", "84").phone == stored


@pytest.mark.parametrize(
    "phone",
    # +269 is the Comoros, not Mayotte (+262).
    [
        "1 23 45 67 89",
        "00 23 45 67 89",
        "+44 20 7946 0958",
        "01 23 45 67",
        "abc",
        "+269 269 61 00 00",
    ],
)
def test_bad_phones(store: Store, tmp_path: Path, phone: str) -> None:
    report = import_contacts(write(tmp_path, f"scope,code,phone\nregion,84,{phone}\n"), store)
    assert not report.accepted


def test_export_round_trip(store: Store, tmp_path: Path) -> None:
    import_contacts(write(tmp_path, GOOD_CSV), store)
    exported = export_contacts(store)
    lines = exported.splitlines()
    assert lines[0] == "scope,code,name,address,phone,email,website"
    assert len(lines) == 1 + 119
    assert (
        'departement,03,DDETSPP de l\'Allier,"Cité administrative, 03000 Moulins",04 70 00 00 01,'
        in exported
    )
    assert "hauts-de-france" not in exported  # only verified websites are exported
    before = store.services()
    report = import_contacts(write(tmp_path, exported, "export.csv"), store)
    assert report.accepted and report.changed == 0
    assert store.services() == before
    assert export_contacts(store) == exported


# --- command line -----------------------------------------------------------------------------


def test_cli_import_and_export(
    store: Store,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", store.url)
    assert cli_main(["contacts", "import", str(write(tmp_path, GOOD_CSV))]) == 0
    assert "6 valeur(s) modifiée(s)" in capsys.readouterr().out
    assert cli_main(["contacts", "import", str(write(tmp_path, BAD_CSV, "bad.csv"))]) == 1
    out = capsys.readouterr().out
    assert "Fichier refusé, rien n'a été modifié" in out and "ligne 7 :" in out
    assert cli_main(["contacts", "export"]) == 0
    assert capsys.readouterr().out.startswith("scope,code,name,")
    target = tmp_path / "out.csv"
    assert cli_main(["contacts", "export", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == export_contacts(store)


SERVICE_KINDS = re.compile(r"\b(DDETSPP|DDETS|DREETS|DRIEETS|DEETS|DGCOPOP)\b")


def test_every_place_reply_names_only_the_services_of_its_territory(store: Store) -> None:
    """No generic « DDETS ou DREETS » beside a card that names a DDETSPP or a DRIEETS unit."""
    for dep in store.departements():
        card = contact_card(dep.code, store)
        own = set(
            SERVICE_KINDS.findall(f"{card.departement_service.name} {card.region_service.name}")
        )
        for reply in (format_contact_card(card), format_spie_status(dep.code, store)):
            named = set(SERVICE_KINDS.findall(reply))
            assert named <= own, (dep.code, named - own, reply)
    for region in store.regions():
        card = region_card(region.code, store)
        named = set(SERVICE_KINDS.findall(format_region_card(card)))
        assert named <= set(SERVICE_KINDS.findall(card.service.name)), (region.code, named)


def test_a_contact_card_with_the_spie_status_is_one_read_of_the_database(store: Store) -> None:
    """Reference rows are read once and kept in memory; only staff-imported values are read."""
    store.reference()
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        statements.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", record)
    try:
        card = format_contact_card(contact_card("03", store))
        status = format_spie_status("03", store)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", record)
    assert "Allier" in card and "Allier (03)" in status
    assert len(statements) == 1 and "spie_service_updates" in statements[0]
