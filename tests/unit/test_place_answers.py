"""The place-dependent answers (contact card, SPIE status, département question), without Rasa."""

from __future__ import annotations

import json

import pytest

from bot.places import answers as pa
from bot.places.resolver import clear_resolver_cache

pytest_plugins = ["tests.conftest_db"]


@pytest.fixture(autouse=True)
def built_store(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", sqlite_url)


def payload_place(button: dict[str, str]) -> str:
    """The département of an `/intent{"place": "…"}` button payload."""
    return json.loads("{" + button["payload"].split("{", 1)[1])["place"]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("qui contacter dans l'Allier ?", "03"),
        ("code postal 63000", "63"),
        ("on est dans le 2A", "2A"),
        ("DDETS de la Drôme", "26"),
        ("Paris", "75"),
        ("Mamoudzou", "976"),
        ("qui contacter à Clermont-Ferand ?", "63"),
    ],
)
def test_contact_card_for_a_place(text: str, code: str):
    reply = pa.contact_reply(text, None, None)
    assert reply.code == code
    assert "https://lannuaire.service-public.gouv.fr" in reply.message
    assert "@" not in reply.message  # no e-mail unless staff imported a verified one


def test_typo_is_confirmed():
    assert (
        "J'ai compris : Clermont-Ferrand" in pa.contact_reply("Clermont-Ferand", None, None).message
    )


def test_no_place_asks_for_one_unless_known():
    assert pa.contact_reply("qui contacter ?", None, None).message == pa.ASK_PLACE
    known = pa.contact_reply("qui contacter ?", None, "15")
    assert known.code == "15" and "Cantal" in known.message


def test_unknown_place_is_reported_with_a_second_chance():
    reply = pa.contact_reply("Atlantide", None, None, place_expected=True)
    assert "Atlantide" in reply.message and pa.ASK_PLACE in reply.message and reply.code is None


@pytest.mark.parametrize(
    ("text", "codes"), [("01200", {"01", "74"}), ("Saint-Denis", {"93", "974"})]
)
def test_ambiguous_places_are_asked_back_with_buttons(text: str, codes: set[str]):
    reply = pa.contact_reply(f"qui contacter pour {text}", None, None)
    assert reply.code is None and "plusieurs départements" in reply.message
    assert codes <= {payload_place(b) for b in reply.buttons}
    assert all(b["payload"].startswith("/ask_contact{") for b in reply.buttons)


def test_homonym_communes_are_ordered_by_population():
    reply = pa.contact_reply("je suis à Saint-Denis", None, None)
    assert [payload_place(b) for b in reply.buttons[:2]] == ["974", "93"]


def test_region_offers_its_departements():
    reply = pa.contact_reply("contact DREETS Bretagne", None, None)
    assert "bretagne.dreets.gouv.fr" in reply.message
    assert {payload_place(b) for b in reply.buttons} == {"22", "29", "35", "56"}


def test_territory_status():
    assert "1er AMI" in pa.territory_status_reply("l'Allier est-il retenu ?", None, None).message
    assert (
        pa.territory_status_reply("quels territoires ?", None, None).message == pa.spie_overview()
    )


def test_departement_answer_of_the_self_test():
    assert pa.departement_from_text("Clermont-Ferrand").code == "63"
    ambiguous = pa.departement_from_text("Moulins")
    assert ambiguous.code is None
    assert '/inform_place{"place": "03"}' in [b["payload"] for b in ambiguous.buttons]
    assert "Moulins — Allier (03)" in [b["title"] for b in ambiguous.buttons]
    assert pa.departement_from_text("Allier (03)").code == "03"


def test_store_down_gives_the_annuaire_link(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://root@127.0.0.1:1/nothing")
    clear_resolver_cache()
    for reply in (
        pa.contact_reply("qui contacter dans l'Allier", None, None),
        pa.territory_status_reply("l'Allier est il retenu", None, None),
        pa.departement_from_text("Allier"),
    ):
        assert reply.message == pa.STORE_DOWN
    clear_resolver_cache()


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("et dans le 96 ?", "« 96 » n'est pas un numéro de département"),
        ("département 00, contact ?", "« 00 » n'est pas un numéro de département"),
        (
            "Qui contacter pour le département de la Haute-Armorique ?",
            "Je ne connais pas de département « Haute-Armorique » : ce n'est pas l'un des 101 "
            "départements",
        ),
        (
            "et dans le Haut-Cantal-Atlantique ?",
            "« Haut-Cantal-Atlantique » n'est pas l'un des 101 départements, ni une commune",
        ),
    ],
)
def test_a_departement_that_does_not_exist_is_said_so_even_when_one_is_known(text: str, said: str):
    """The NLU passes what it read as a place (rasa_ext/places.py); the département already
    known must not answer for it (« et dans le 96 ? » after the Morbihan gave the Morbihan)."""
    from bot.places.resolver import get_resolver

    _, spans = get_resolver().scan_text(text)
    mention = " | ".join(text[span.start : span.end] for span in spans)
    for reply in (
        pa.contact_reply("", mention, "56"),
        pa.territory_status_reply("", mention, "56"),
    ):
        assert said in reply.message and reply.code is None
