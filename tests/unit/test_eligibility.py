"""Exhaustive tests of the self-test rules and of the free-text answer parsers."""

import datetime as dt
import itertools

import pytest

from bot.eligibility import rules as el

RULES = el.load_rules()
STRUCTURES = ("conseil_departemental", "acteur_insertion_emploi", "autre")
YES_NO = ("yes", "no", "not_yet")
EXPECTATIONS = (
    "exp_beneficiaries",
    "exp_public_knowledge",
    "exp_spie_principles",
    "exp_implementation",
)


def expected_unmet(answers: dict) -> set[str]:
    """The rules of the call, written independently of the data file."""
    unmet = set()
    structure = answers["structure_type"]
    if structure not in ("conseil_departemental", "acteur_insertion_emploi"):
        unmet.add("porteur")
    if structure != "conseil_departemental":
        if answers.get("cd_agreement") != "yes":
            unmet.add("accord_cd")
        if answers.get("group_has_cd") != "yes":
            unmet.add("groupement_cd")
    if answers["group_has_pe"] != "yes":
        unmet.add("groupement_pe")
    names = dict(
        zip(
            EXPECTATIONS,
            ("beneficiaires", "connaissance_public", "principes_spie", "mise_en_oeuvre"),
            strict=True,
        )
    )
    unmet |= {names[slot] for slot in EXPECTATIONS if answers[slot] != "yes"}
    return unmet


def all_answer_combinations():
    for structure in STRUCTURES:
        asked_cd = structure != "conseil_departemental"
        cd_values = YES_NO if asked_cd else (None,)
        for cd_agreement, group_cd in itertools.product(cd_values, cd_values):
            for pe, *expectations in itertools.product(YES_NO, *(YES_NO,) * 4):
                answers = {
                    "structure_type": structure,
                    "group_has_pe": pe,
                    "other_partners": [],
                    "departement": "03",
                    **dict(zip(EXPECTATIONS, expectations, strict=True)),
                }
                if asked_cd:
                    answers |= {"cd_agreement": cd_agreement, "group_has_cd": group_cd}
                yield answers


def test_every_combination_of_answers():
    count = 0
    for answers in all_answer_combinations():
        verdict = el.evaluate(answers, RULES)
        unmet = {c.id for c in verdict.unmet}
        assert unmet == expected_unmet(answers), answers
        assert verdict.eligible == (not unmet)
        pending = {c.id for c in verdict.pending}
        assert pending <= unmet
        count += 1
    # 1 × 3^5 for the conseil départemental, 2 × 3^2 × 3^5 for the others
    assert count == 3**5 + 2 * 9 * 3**5


def test_not_yet_is_reported_as_pending():
    answers = next(
        a for a in all_answer_combinations() if a["structure_type"] == "conseil_departemental"
    )
    answers |= {
        "group_has_pe": "yes",
        **dict.fromkeys(EXPECTATIONS, "yes"),
        "exp_implementation": "not_yet",
    }
    verdict = el.evaluate(answers, RULES)
    assert [c.id for c in verdict.pending] == ["mise_en_oeuvre"]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({}, ["structure_type", "group_has_pe", "other_partners", *EXPECTATIONS, "departement"]),
        (
            {"structure_type": "conseil_departemental"},
            ["structure_type", "group_has_pe", "other_partners", *EXPECTATIONS, "departement"],
        ),
        (
            {"structure_type": "acteur_insertion_emploi"},
            [
                "structure_type",
                "cd_agreement",
                "group_has_cd",
                "group_has_pe",
                "other_partners",
                *EXPECTATIONS,
                "departement",
            ],
        ),
        (
            {"structure_type": "autre"},
            [
                "structure_type",
                "cd_agreement",
                "group_has_cd",
                "group_has_pe",
                "other_partners",
                *EXPECTATIONS,
                "departement",
            ],
        ),
    ],
)
def test_conditional_questions(answers, expected):
    assert el.required_slots(answers, RULES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Oui", "yes"),
        ("ouais", "yes"),
        ("Bien sûr !", "yes"),
        ("tout à fait", "yes"),
        ("oui c'est le cas", "yes"),
        ("OK", "yes"),
        ("Non", "no"),
        ("nan", "no"),
        ("pas du tout", "no"),
        ("Pas encore", "not_yet"),
        ("c'est en préparation", "not_yet"),
        ("dans quelques semaines", "not_yet"),
        ("je sais plus", "dont_know"),
        ("trou de mémoire", "dont_know"),
        ("c'est en cours", "not_yet"),
        ("pas pour l'instant", "not_yet"),
        ("je ne sais pas", "dont_know"),
        ("jsp", "dont_know"),
        ("Je sais pas trop", "dont_know"),
        ("?", "dont_know"),
        ("ça veut dire quoi ?", "dont_know"),
        ("banane", None),
        ("", None),
        ("<b>oui</b>", "yes"),
    ],
)
def test_parse_yes_no(text, expected):
    assert el.parse_yes_no(text, RULES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Le conseil départemental", "conseil_departemental"),
        ("CD", "conseil_departemental"),
        ("c'est le departement", "conseil_departemental"),
        ("Un autre acteur de l'insertion ou de l'emploi", "acteur_insertion_emploi"),
        ("une asso", "acteur_insertion_emploi"),
        ("on est une mission locale", "acteur_insertion_emploi"),
        ("le CCAS", "acteur_insertion_emploi"),
        ("Une autre structure", "autre"),
        ("une entreprise", "autre"),
        ("nous sommes un OF", "acteur_insertion_emploi"),
        ("une entreprise adaptée", "acteur_insertion_emploi"),
        ("je ne sais pas", "dont_know"),
        ("qwerty", None),
    ],
)
def test_parse_structure(text, expected):
    assert el.parse_structure(text, RULES) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("La CAF et la mission locale", ["missions_locales", "caf"]),
        ("ccas, cap emploi", ["cap_emploi", "ccas_cias"]),
        ("des associations et une entreprise", ["associations", "entreprises"]),
        ("Passer", []),
        ("aucun autre", []),
        ("non", []),
        ("xyz", None),
    ],
)
def test_parse_partners(text, expected):
    assert el.parse_partners(text, RULES) == expected


def eligible_answers():
    return {
        "structure_type": "conseil_departemental",
        "group_has_pe": "yes",
        **dict.fromkeys(EXPECTATIONS, "yes"),
    }


def test_verdict_text_when_eligible_after_the_deadline():
    text = el.format_verdict(el.evaluate(eligible_answers(), RULES), dt.date(2026, 11, 27))
    assert "correspond aux conditions énoncées" in text and "pas une décision" in text
    assert "appel est clos" in text and "11 octobre 2021" in text
    assert "Source :" in text


def test_verdict_text_names_each_unmet_condition_and_what_to_do():
    answers = eligible_answers() | {"group_has_pe": "no", "exp_spie_principles": "not_yet"}
    text = el.format_verdict(el.evaluate(answers, RULES), dt.date(2021, 9, 1))
    assert "ne correspond pas encore" in text and "Conseil :" in text
    assert "Pôle emploi (France Travail) dans le groupement" in text
    assert "Associez Pôle emploi" in text
    assert "principes du SPIE (pas encore)" in text
    assert "il vous reste" in text and "clos" not in text
