"""Unit tests of what the NLU components use: message focus, subjects, places in text."""

from __future__ import annotations

import pytest

from bot.places.resolver import PlaceResolver, is_place_message, mask_non_places
from bot.places.store import place_data_from_files
from bot.understanding.message_focus import focus
from bot.understanding.subjects import load_subjects

_RESOLVER: list[PlaceResolver] = []


def get_resolver() -> PlaceResolver:
    """The resolver as the NLU builds it: from the data files, no database."""
    if not _RESOLVER:
        _RESOLVER.append(PlaceResolver(place_data_from_files()))
    return _RESOLVER[0]


# --- long messages ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "question"),
    [
        (
            "Bonjour,\nJe suis chargée de mission au CCAS d'une petite ville.\n"
            "Jusqu'à quand pouvait-on déposer ?\nCordialement,\nJeanne Martin",
            "Jusqu'à quand pouvait-on déposer ?",
        ),
        (
            "je travaille dans une association à Lyon, qui dois-je appeler ?",
            "qui dois-je appeler ?",
        ),
        (
            "Bonjour Madame, quels partenaires faut-il réunir ?",
            "quels partenaires faut-il réunir ?",
        ),
        # What the person does not want names a subject too: the rest is the question.
        (
            "pas la peine de me donner un contact, seulement les partenaires",
            "seulement les partenaires",
        ),
        (
            "Je n'ai plus envie de faire le quiz ; dites-moi plutôt quand ça ferme",
            "dites-moi plutôt quand ça ferme",
        ),
        ("On ne veut pas de numéro, on voudrait les dates", "on voudrait les dates"),
        (
            "Je ne demande pas qui appeler : j'aimerais savoir si l'Ain est retenu",
            "j'aimerais savoir si l'Ain est retenu",
        ),
        # A question that points back keeps the sentence it points to.
        (
            "Bonjour,\nNotre CCAS voudrait porter le projet. Est-ce envisageable sans le "
            "département ?\nMerci",
            "Notre CCAS voudrait porter le projet. Est-ce envisageable sans le département ?",
        ),
        # The dots of an address end no sentence.
        (
            "Bonjour, j'ai écrit à contact@exemple.gouv.fr sans réponse. Qui d'autre joindre ?",
            "j'ai écrit à contact@exemple.gouv.fr sans réponse. Qui d'autre joindre ?",
        ),
        # Greeting, thanks and signature: the thanks.
        (
            "Bonjour,\n\nMerci pour toutes ces précisions, c'est très utile.\n\nBien à vous,\nPaul",
            "Merci pour toutes ces précisions, c'est très utile.",
        ),
        # A question whose subject is before it keeps the sentences before (two at most).
        (
            "Bonjour,\nOn nous dit que le Cher serait déjà dans le SPIE, d'autres disent que non. "
            "Vous pouvez m'indiquer ce qu'il en est ?\nMerci,\nLéa",
            "On nous dit que le Cher serait déjà dans le SPIE, d'autres disent que non. Vous "
            "pouvez m'indiquer ce qu'il en est ?",
        ),
        (
            "Notre CCAS est cité partout avec le RSA. On parle aussi du SPIE. J'ai honte de "
            "demander. C'est quoi au juste, de quoi s'agit-il ?",
            "On parle aussi du SPIE. J'ai honte de demander. C'est quoi au juste, de quoi "
            "s'agit-il ?",
        ),
        (
            "Bonjour, le dossier est bouclé depuis hier. Nous devons le transmettre à qui ?",
            "le dossier est bouclé depuis hier. Nous devons le transmettre à qui ?",
        ),
        # Thanks before a question open the message; they are not its closing.
        (
            "Bonjour,\nMerci pour vos réponses. Sur quelle page lire le texte entier ?\nBien à "
            "vous,\nIris",
            "Sur quelle page lire le texte entier ?",
        ),
        # Thanks for something named: the thanks, not what they are for.
        (
            "Bonjour,\nJe tenais à vous remercier : vos explications sur les dates m'ont bien "
            "aidée.\nCordialement,\nAnaïs",
            "Je tenais à vous remercier",
        ),
        # A sentence that only refuses asks nothing; « pas X, mais Y » asks for Y.
        (
            "Inutile de me redonner la date limite. Qui contacter dans l'Ain ?",
            "Qui contacter dans l'Ain ?",
        ),
        (
            "Je ne cherche pas les partenaires, mais ce qu'est le SPIE",
            "mais ce qu'est le SPIE",
        ),
        # An announced question after a long story: what follows the announcement.
        (
            "Je reprends le dossier d'une collègue partie, le comité s'est réuni deux fois, on "
            "hésite encore, bref ma question est la suivante : faut-il la CAF ?",
            "faut-il la CAF ?",
        ),
    ],
)
def test_focus_keeps_the_question(message: str, question: str):
    found = focus(message)
    assert found is not None and found.text == question


@pytest.mark.parametrize(
    "message",
    [
        "Qui peut candidater ?",
        "Bonjour",
        "merci, au revoir",
        "salut ça va",
        "je suis à Ygrande",
        "Nous ne sommes pas une association, mais une entreprise d'insertion : on peut en être ?",
        "https://auvergne-rhone-alpes.dreets.gouv.fr/",  # one link, not four sentences
        # the wanted part points back to the refused one: the whole sentence says what is asked
        "Je ne veux pas les dates de dépôt, seulement celles de la sélection",
    ],
)
def test_short_messages_are_read_whole(message: str):
    assert focus(message) is None


def test_a_second_question_is_kept_apart():
    found = focus("Bonjour. Qui peut porter le projet ? Et quelle est la date limite ?")
    assert found is not None
    assert found.text == "Qui peut porter le projet ?"
    assert found.other_questions == ("Et quelle est la date limite ?",)


# --- subjects the sources do not cover ----------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "chosen", "subject"),
    [
        ("Existe-t-il une enveloppe pour chaque territoire ?", "faq/expectations", "money"),
        ("Le cofinancement est-il obligatoire ?", "faq/partners", "money"),
        ("Combien touche un projet retenu ?", "faq/territory_count", "money"),  # « touche »
        ("Combien d'euros par projet ?", "faq/territory_count", "money"),
        ("Y a-t-il un modèle de dossier à télécharger ?", "faq/how_to_submit", "templates"),
        ("Qui fait partie du jury ?", "faq/partners", "selection"),
        ("Combien de territoires seront financés ?", "faq/territory_count", None),
        ("Qui peut candidater ?", "faq/who_can_apply", None),
        ("la Collectivité européenne d'Alsace", "answer", None),
        # Strong words win over the chosen answer's own: weighting is never in the sources.
        ("Comment est faite la notation des attendus ?", "faq/expectations", "selection"),
        ("les dépenses d'investissement sont-elles éligibles ?", "check_eligibility", "money"),
        ("on récupère la TVA ?", "faq/who_can_apply", "money"),
        ("si la mission locale sort du groupement en 2022 ?", "faq/partners", "group_changes"),
        ("faudra-t-il recruter un coordinateur à temps plein ?", "faq/expectations", "staffing"),
        ("qui sont les membres du jury ?", "faq/who_can_apply", "selection"),
        ("les partenaires touchent-ils une aide financière ?", "faq/partners", "money"),
        ("un seuil de population est-il fixé pour candidater ?", "faq/who_can_apply", "limits"),
        ("peut-on redéposer tel quel le même dossier ?", "faq/who_can_apply", "reapplying"),
        ("la liste paraîtra-t-elle au Journal officiel ?", "faq/more_info", "selection"),
        # Whom to contact is answered whatever the subject.
        ("budget de 20 000 €, je m'adresse à qui ?", "ask_contact", None),
        ("Notre projet coûte 50 000 €, à qui je l'envoie ?", "faq/how_to_submit", None),
        # A closing purpose clause says why one asks, not what: the period is in the sources.
        (
            "Sur quelle période les projets seront-ils menés, pour préparer notre budget.",
            "ask_dates",
            None,
        ),
    ],
)
def test_unanswered_subjects(message: str, chosen: str, subject: str | None):
    found = load_subjects().unanswered_subject(message, chosen)
    assert (found.key if found else None) == subject


def test_every_unanswered_subject_has_a_label_for_the_answer():
    for subject in load_subjects().unanswered:
        assert subject.label and subject.cues


# --- places in text -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "mon numéro : 04 73 12 34 56",
        "rappelez-moi au +33 4 73 12 34 56",
        "écrivez à contact@insertion-63.fr",
        "voir https://www.exemple.fr/63000",
        "date limite le 11/10/2021",
        "un budget de 50 000 €",
        "c'est avant le 15 juillet ou le 15 ça passe encore ?",  # the repeated day is the date
    ],
)
def test_numbers_that_are_not_places(message: str):
    assert get_resolver().find_in_text(message).kind == "unknown"
    assert mask_non_places(message).strip() == "" or len(mask_non_places(message)) == len(message)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("je travaille a Bourg en Bresse", "01"),
        ("on est à Aix en Provence", "13"),
        ("val d oise", "95"),
        ("haute savoie", "74"),
        ("contact Seine-Maritime", "76"),
        # A common-word name: the Cher when the message asks about SPIE territories.
        ("le cher il est retenu ou pas", "18"),
        # A structure named after its commune: Tulle, though « tulle » is a fabric.
        ("la mairie de tulle nous oriente vers vous", "19"),
    ],
)
def test_names_of_several_words_are_read_whole(message: str, code: str):
    resolution = get_resolver().find_in_text(message)
    assert resolution.kind == "departement" and resolution.dep_code == code


@pytest.mark.parametrize(
    "message", ["Saint-Pierre-et-Miquelon", "je suis à Nouméa", "Polynésie française"]
)
def test_collectivites_d_outre_mer_are_outside(message: str):
    resolution = get_resolver().find_in_text(message)
    assert resolution.kind == "unknown" and resolution.reason == "outside"


def test_an_ordinary_word_is_not_a_misspelt_place():
    common = {"salut", "avant"}.__contains__
    assert get_resolver().find_in_text("salut", common).kind == "unknown"
    assert get_resolver().find_in_text("salut").kind != "unknown"  # Sault, without the guard
    # Nor are several ordinary words one edit away from a commune (« entre eux », Entre-Deux).
    common = {"entre", "eux", "ils", "se", "voient"}.__contains__
    assert get_resolver().find_in_text("ils se voient entre eux", common).kind == "unknown"


@pytest.mark.parametrize(
    ("message", "only_place"),
    [
        ("je suis à Ygrande", True),
        ("on est dans le 33", True),
        ("et pour l'Isère ?", True),
        ("CCAS de Saint Flour", True),
        ("et nous dans le Cantal, pareil ?", True),
        ("conseil citoyen de Roubaix", True),
        ("Qui peut candidater à Lyon ?", False),
    ],
)
def test_messages_that_only_give_a_place(message: str, only_place: bool):
    _, spans = get_resolver().scan_text(message)
    assert is_place_message(message, spans) is only_place


def test_every_commune_in_a_sentence_never_gets_another_departement_alone():
    """Every commune (and every département and région name) written with spaces for hyphens,
    without accents, alone and in a sentence: the reply names its département, or asks with it
    among the choices; a different département alone is an error, and there must be none.
    (Communes named like ordinary words — Vers, Son, Ville — may be left unread: not errors.)"""
    import csv

    from bot import DATA_DIR
    from bot.text import strip_accents

    resolver = get_resolver()
    geo = DATA_DIR / "geo"
    departements = {
        row["code"]: row["name"]
        for row in csv.DictReader((geo / "departements.csv").open(encoding="utf-8"))
    }
    names = [
        (row["name"], {row["dep"]})
        for row in csv.DictReader((geo / "communes.csv").open(encoding="utf-8"))
        if row["dep"] in departements
    ]
    names += [(name, {code}) for code, name in departements.items()]
    errors, unread, total = [], 0, 0
    for name, expected in names:
        for variant in {name.replace("-", " "), strip_accents(name)}:
            for text in (variant, f"je suis à {variant}, qui contacter ?"):
                resolution = resolver.find_in_text(text)
                offered = {c.dep_code for c in (*resolution.candidates, *resolution.alternatives)}
                total += 1
                if resolution.kind == "unknown":
                    unread += 1
                    continue
                if not expected & offered:
                    errors.append((text, sorted(offered)[:4], sorted(expected)))
    assert not errors, f"{len(errors)} wrong places, e.g. {errors[:10]}"
    assert unread / total < 0.001, f"{unread} of {total} not read"
