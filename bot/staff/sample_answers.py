"""Sample answers of the custom actions, for the FAQ sheet reviewed by content staff.

Each entry: action name -> function returning (the situation, the answer exactly as sent).
"""

from __future__ import annotations

from collections.abc import Callable

import yaml

from bot import PROJECT_DIR
from bot.eligibility import rules as eligibility
from bot.knowledge.facts import dates_answer, fill_facts, today
from bot.knowledge.topics import UNCLEAR_MESSAGE, closest_topics
from bot.places.answers import contact_reply, territory_status_reply


def _greeting() -> tuple[str, str]:
    domain = yaml.safe_load((PROJECT_DIR / "domain.yml").read_text(encoding="utf-8"))
    text = domain["responses"]["utter_greet"][0]["text"]
    return f"« Bonjour » (date du jour : {today():%d/%m/%Y})", fill_facts(text)


def _dates() -> tuple[str, str]:
    return f"« Quelle est la date limite ? » (date du jour : {today():%d/%m/%Y})", dates_answer()


def _contact() -> tuple[str, str]:
    question = "Qui contacter dans l'Allier ?"
    return f"« {question} »", contact_reply(question, None, None).message


def _territory() -> tuple[str, str]:
    question = "L'Allier est-il déjà retenu ?"
    return f"« {question} »", territory_status_reply(question, None, None).message


def _unclear() -> tuple[str, str]:
    titles = " | ".join(topic.title for topic in closest_topics(["faq/who_can_apply", "ask_dates"]))
    return "un message incompris", f"{UNCLEAR_MESSAGE}\n[boutons : {titles}]"


def _result() -> tuple[str, str]:
    answers = {
        "structure_type": "conseil_departemental",
        "group_has_pe": "yes",
        "exp_beneficiaries": "yes",
        "exp_public_knowledge": "yes",
        "exp_spie_principles": "not_yet",
        "exp_implementation": "yes",
    }
    verdict = eligibility.evaluate(answers)
    return "fin du test (conseil départemental, principes du SPIE « pas encore »)", (
        eligibility.format_verdict(verdict, today())
    )


def _reset() -> tuple[str, str]:
    return "début ou reprise du test", "(aucun message : efface les réponses du test précédent)"


SAMPLES: dict[str, Callable[[], tuple[str, str]]] = {
    "action_greet": _greeting,
    "action_answer_dates": _dates,
    "action_contact": _contact,
    "action_territory_status": _territory,
    "action_suggest_topics": _unclear,
    "action_eligibility_result": _result,
    "action_reset_eligibility": _reset,
}
