"""Answers that depend on a place: the contact card, "is this territory already in the SPIE?",
and the département question of the self-test. Plain Python: the actions only relay the reply.

Every function takes the user's text (and the `place` entity when NLU found one) and returns a
`PlaceReply`: the French message, quick replies, and the département when one was resolved.
Ambiguous places are asked back with buttons (largest population first), never guessed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.contacts import cards as contacts
from bot.knowledge.facts import fill_facts
from bot.places.resolver import PlaceCandidate, Resolution, get_resolver
from bot.places.store import StoreUnavailable

logger = logging.getLogger(__name__)

ANNUAIRE_URL = "https://lannuaire.service-public.gouv.fr"
MAX_CHOICES = 6
OTHER_READINGS = "Vous parliez d'une commune de ce nom ? Choisissez-la ci-dessous."
NO_PLACE = ("", "no_place", "empty")
MENTION_SEPARATOR = " | "  # several place mentions of one message, as the actions pass them  # reasons of a resolution that found no place at all
ASK_PLACE = "Pour quel département ? Indiquez son nom ou son numéro, une commune ou un code postal."
STORE_DOWN = (
    "Je ne peux pas consulter l'annuaire des services pour le moment. Vous trouverez les "
    f"coordonnées à jour des services de l'État de votre département sur {ANNUAIRE_URL}"
)


@dataclass(frozen=True)
class PlaceReply:
    message: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    code: str | None = None  # the département, when one was resolved


def _intent_payload(intent: str, dep_code: str) -> str:
    return f"/{intent}{json.dumps({'place': dep_code})}"


def _choice_title(candidate: PlaceCandidate) -> str:
    communes = ", ".join(candidate.communes[:2])
    return f"{communes} — {candidate.label}" if communes else candidate.label


def _choices(
    candidates: tuple[PlaceCandidate, ...], payload_for: Callable[[PlaceCandidate], str]
) -> list[dict[str, str]]:
    return [
        {"title": _choice_title(c), "payload": payload_for(c)} for c in candidates[:MAX_CHOICES]
    ]


def _resolve(text: str, mention: str | None) -> Resolution:
    """The place mentions the NLU found (joined by MENTION_SEPARATOR), else the whole message."""
    resolver = get_resolver()
    if mention:
        resolution = resolver.resolve_all(mention.split(MENTION_SEPARATOR))
        if resolution.kind != "unknown" or resolution.reason not in NO_PLACE or not text:
            return resolution  # found, or known not to be a département (outside…)
    return resolver.find_in_text(text)


def _ambiguous_message(resolution: Resolution) -> str:
    where = f"« {resolution.matched} »" if resolution.matched else "Ce lieu"
    return f"{where} correspond à plusieurs départements. Lequel est le vôtre ?"


def _unknown_message(resolution: Resolution, text: str) -> str:
    """The place was not found: say what was not understood, and ask again."""
    if resolution.reason in ("", "no_place") and text.strip():
        shown = text.strip() if len(text.strip()) <= 60 else text.strip()[:57] + "…"
        return f"Je n'ai pas trouvé de lieu correspondant à « {shown} ». {ASK_PLACE}"
    if resolution.reason == "unknown_postal_code":
        return f"Je ne connais pas le code postal « {resolution.matched} ». {ASK_PLACE}"
    if resolution.reason == "unknown_number":
        return f"« {resolution.matched} » n'est pas un numéro de département. {ASK_PLACE}"
    if resolution.reason == "unknown_departement":
        return (
            f"Je ne connais pas de département « {resolution.matched} » : ce n'est pas l'un des "
            f"{get_resolver().departement_count} départements. {ASK_PLACE}"
        )
    if resolution.reason == "unknown_name":
        return (
            f"« {resolution.matched} » n'est pas l'un des {get_resolver().departement_count} "
            f"départements, ni une commune que je connais. {ASK_PLACE}"
        )
    if resolution.reason == "outside":
        where = f"« {resolution.matched} »" if resolution.matched else "Ce lieu"
        return (
            f"{where} n'est pas l'un des {get_resolver().departement_count} départements : je "
            "n'ai pas de contact pour ce "
            f"territoire. Les services de l'État qui y sont présents figurent dans l'Annuaire de "
            f"l'administration : {ANNUAIRE_URL}."
            + (
                " Si vous parliez d'une commune du même nom, choisissez-la ci-dessous."
                if resolution.alternatives
                else f" {ASK_PLACE}"
            )
        )
    return f"Je n'ai pas trouvé ce lieu. {ASK_PLACE}"


def _fuzzy_note(resolution: Resolution) -> str:
    if resolution.fuzzy and resolution.candidates:
        return f"(J'ai compris : {_choice_title(resolution.candidates[0])}.)\n"
    return ""


def _with_other_readings(
    message: str, resolution: Resolution, intent: str
) -> tuple[str, list[dict[str, str]]]:
    """A département named like communes elsewhere (« Allier », « Vienne »): the département's
    answer, and the communes offered in case one of them was meant."""
    if not resolution.alternatives:
        return message, []
    others = _choices(resolution.alternatives, lambda c: _intent_payload(intent, c.dep_code))
    return f"{message}\n{OTHER_READINGS}", others


# --- Whom to contact ------------------------------------------------------------------------------


def contact_for_departement(dep_code: str, *, with_spie_status: bool = False) -> PlaceReply:
    try:
        message = contacts.format_contact_card(contacts.contact_card(dep_code))
        if with_spie_status:
            message = f"{contacts.format_spie_status(dep_code)}\n\n{message}"
    except StoreUnavailable:
        logger.error("Contact store unavailable (département %s)", dep_code)
        return PlaceReply(STORE_DOWN, code=dep_code)
    return PlaceReply(message, code=dep_code)


def contact_reply(
    text: str, mention: str | None, known_dep: str | None, *, place_expected: bool = False
) -> PlaceReply:
    """The contact card for the place in the message, else for the known département.

    `place_expected`: the message is an answer to "which place?" (so an unknown word is reported).
    """
    try:
        resolution = _resolve(text, mention)
        if resolution.kind == "departement":
            reply = contact_for_departement(resolution.candidates[0].dep_code)
            message, buttons = _with_other_readings(
                _fuzzy_note(resolution) + reply.message, resolution, "ask_contact"
            )
            return PlaceReply(message, buttons, code=reply.code)
        if resolution.kind == "region":
            return _region_reply(resolution)
        if resolution.kind == "ambiguous":
            return PlaceReply(
                _ambiguous_message(resolution),
                _choices(
                    resolution.candidates, lambda c: _intent_payload("ask_contact", c.dep_code)
                ),
            )
    except StoreUnavailable:
        logger.error("Place store unavailable")
        return PlaceReply(STORE_DOWN)
    no_place = resolution.reason in NO_PLACE and not (place_expected or mention)
    if no_place and known_dep:
        return contact_for_departement(known_dep)
    if no_place:
        return PlaceReply(ASK_PLACE)
    return PlaceReply(
        _unknown_message(resolution, mention or text),
        _choices(resolution.alternatives, lambda c: _intent_payload("ask_contact", c.dep_code)),
    )


def _region_reply(resolution: Resolution) -> PlaceReply:
    card = contacts.region_card(resolution.region_code or "")
    buttons = _choices(resolution.candidates, lambda c: _intent_payload("ask_contact", c.dep_code))
    message = contacts.format_region_card(card) + "\nChoisissez un département pour son contact :"
    return PlaceReply(message, buttons)


# --- Is this territory already in the SPIE? -----------------------------------------------------


def spie_overview() -> str:
    """The territories of the SPIE in numbers (from bot/data/call.yml), and how to check one."""
    return fill_facts(
        "Le SPIE a commencé par {experiments} territoires d'expérimentation en {experiments_since} ; "
        "{first_call_territories} territoires ont été retenus par le premier AMI "
        "({first_call_announced}) et {territories_retained} par le deuxième. Pour vérifier un "
        "territoire, indiquez son "
        "département (nom, numéro, commune ou code postal).\n"
        "Source : travail-emploi.gouv.fr (pages du SPIE)."
    )


def territory_status_reply(text: str, mention: str | None, known_dep: str | None) -> PlaceReply:
    try:
        resolution = _resolve(text, mention)
        if resolution.kind == "departement":
            code = resolution.candidates[0].dep_code
            message, buttons = _with_other_readings(
                _fuzzy_note(resolution) + contacts.format_spie_status(code),
                resolution,
                "ask_territory_status",
            )
            return PlaceReply(message, buttons, code=code)
        if resolution.kind in ("ambiguous", "region"):
            payload = lambda c: _intent_payload("ask_territory_status", c.dep_code)  # noqa: E731
            question = (
                _ambiguous_message(resolution)
                if resolution.kind == "ambiguous"
                else f"{resolution.region_name} : quel département ?"
            )
            return PlaceReply(question, _choices(resolution.candidates, payload))
        if resolution.reason in NO_PLACE and known_dep:
            return PlaceReply(contacts.format_spie_status(known_dep), code=known_dep)
    except StoreUnavailable:
        logger.error("Place store unavailable")
        return PlaceReply(STORE_DOWN)
    if resolution.reason in NO_PLACE:
        return PlaceReply(spie_overview())
    return PlaceReply(_unknown_message(resolution, text))


# --- The département question of the self-test -------------------------------------------------


def departement_from_text(text: str) -> PlaceReply:
    """One département from the answer, or a question back (buttons send /inform_place{…})."""
    try:
        resolution = get_resolver().find_in_text(text)
    except StoreUnavailable:
        logger.error("Place store unavailable")
        return PlaceReply(STORE_DOWN)
    if resolution.kind == "departement":
        return PlaceReply("", code=resolution.candidates[0].dep_code)
    if resolution.kind in ("ambiguous", "region"):
        question = (
            _ambiguous_message(resolution)
            if resolution.kind == "ambiguous"
            else f"{resolution.region_name} compte plusieurs départements : lequel ?"
        )
        choices = _choices(
            resolution.candidates, lambda c: _intent_payload("inform_place", c.dep_code)
        )
        return PlaceReply(question, choices)
    return PlaceReply(_unknown_message(resolution, text))
