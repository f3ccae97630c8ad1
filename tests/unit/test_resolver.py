"""The place resolver, checked against the ORIGINAL reference files in ../shared/data.

The whole La Poste file and every commune are resolved (so the derivation is checked too); the
rates are printed (run with -s to see them).
"""

from __future__ import annotations

import csv
import json
import statistics
import time
from collections import defaultdict
from functools import cache

import pytest

from bot import PROJECT_DIR
from bot.places.resolver import PlaceResolver, Resolution, get_resolver, name_key
from bot.text import strip_accents

pytest_plugins = ["tests.conftest_db"]

SHARED = PROJECT_DIR.parent / "shared" / "data"


@cache
def shared_communes() -> list[dict]:
    path = SHARED / "geo" / "communes.json"
    assert path.is_file(), f"reference data missing: {path} (clone ../shared beside the repo)"
    return json.loads(path.read_text(encoding="utf-8"))


@cache
def shared_departements() -> list[dict[str, str]]:
    with (SHARED / "geo" / "departements.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def in_scope() -> set[str]:
    return {row["DEP"] for row in shared_departements()}


def codes(resolution: Resolution) -> list[str]:
    return [candidate.dep_code for candidate in resolution.candidates]


def readings(resolution: Resolution) -> set[str]:
    """Départements of the candidates and of the alternative readings (homonym communes)."""
    return set(codes(resolution)) | {alt.dep_code for alt in resolution.alternatives}


# --- départements -----------------------------------------------------------------------------


def test_every_departement_by_name(resolver: PlaceResolver) -> None:
    failures = []
    for row in shared_departements():
        for mention in (
            row["LIBELLE"],
            row["NCC"],
            f"la {row['LIBELLE']}",
            strip_accents(row["LIBELLE"]),
        ):
            result = resolver.resolve(mention)
            if (result.kind, codes(result)) != ("departement", [row["DEP"]]):
                failures.append((mention, result.kind, codes(result)))
    assert failures == []


def test_every_departement_by_number(resolver: PlaceResolver) -> None:
    failures = []
    for row in shared_departements():
        code = row["DEP"]
        for mention in (code, f"le {code}", f"dans le {code}", f"département {code}"):
            if codes(resolver.resolve(mention)) != [code]:
                failures.append(mention)
        if codes(resolver.find_in_text(f"je suis dans le {code} et je cherche")) != [code]:
            failures.append(f"sentence {code}")
    assert failures == []


def test_every_departement_by_its_prefecture(resolver: PlaceResolver) -> None:
    commune_names = {
        c["code"]: c["nom"] for c in shared_communes() if c["type"] == "commune-actuelle"
    }
    missing, not_first = [], []
    for row in shared_departements():
        name = commune_names[row["CHEFLIEU"]]
        result = resolver.resolve(name)
        if row["DEP"] not in codes(result):
            missing.append(name)
        elif codes(result)[0] != row["DEP"]:
            not_first.append(name)
    print(f"\npréfectures: {101 - len(missing)}/101 found, not first: {not_first}")
    assert missing == []
    # Every chef-lieu is the most populous of its homonyms, so it comes first everywhere.
    assert not_first == []


def test_homonym_prefectures_are_ambiguous_but_first(resolver: PlaceResolver) -> None:
    moulins = resolver.resolve("Moulins")
    assert moulins.kind == "ambiguous" and codes(moulins)[0] == "03"
    assert {"02", "03"} <= set(codes(moulins))
    saint_denis = resolver.resolve("Saint-Denis")
    assert saint_denis.kind == "ambiguous"
    assert codes(saint_denis)[:2] == ["974", "93"]  # ordered by population
    populations = [candidate.population for candidate in saint_denis.candidates]
    assert populations == sorted(populations, reverse=True)
    assert codes(resolver.resolve("Valence"))[0] == "26"


# --- postal codes: the whole La Poste file ----------------------------------------------------


def test_every_postal_code_of_the_original_file(resolver: PlaceResolver) -> None:
    dep_of = {c["code"]: c["departement"] for c in shared_communes()}
    expected: dict[str, set[str]] = defaultdict(set)
    with (SHARED / "geo" / "codes_postaux_laposte.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            insee = row["Code_commune_INSEE"]
            expected[row["Code_postal"]].add(dep_of.get(insee, insee[:2]))
    scope = in_scope()
    wrong, ambiguous, outside = [], [], []
    for postal_code, deps in sorted(expected.items()):
        deps = deps & scope
        for result in (
            resolver.resolve(postal_code),
            resolver.find_in_text(f"code postal {postal_code}"),
        ):
            if not deps:
                ok = result.kind == "unknown" and result.reason == "outside"
            else:
                kind = "departement" if len(deps) == 1 else "ambiguous"
                ok = (
                    result.kind == kind
                    and set(codes(result)) == deps
                    and len(codes(result)) == len(deps)
                )
            if not ok:
                wrong.append((postal_code, deps, result.kind, codes(result)))
        if len(deps) > 1:
            ambiguous.append(postal_code)
        if not deps:
            outside.append(postal_code)
    rate = 100 * (len(expected) - len(wrong)) / len(expected)
    print(
        f"\npostal codes: {len(expected)} codes, {rate:.2f} % resolved exactly, "
        f"{len(ambiguous)} ambiguous (several départements): {ambiguous}, "
        f"{len(outside)} outside the 101 départements (COM, Monaco)"
    )
    assert wrong == []
    assert len(ambiguous) == 16
    assert codes(resolver.resolve("94390")) == ["91"]
    assert set(codes(resolver.resolve("01200"))) == {"01", "74"}


# --- every commune ----------------------------------------------------------------------------


def one_letter_typo(name: str) -> str | None:
    """Deterministic typo: the letter nearest the middle is replaced by its rot13 letter."""
    folded = strip_accents(name).lower()
    letters = [i for i, char in enumerate(folded) if "a" <= char <= "z"]
    if len(letters) < 6:
        return None
    index = letters[len(letters) // 2]
    swapped = chr((ord(folded[index]) - ord("a") + 13) % 26 + ord("a"))
    return folded[:index] + swapped + folded[index + 1 :]


def test_every_commune_name_accents_and_typos(resolver: PlaceResolver) -> None:
    scope = in_scope()
    scoped_names = {name_key(c["nom"]) for c in shared_communes() if c["departement"] in scope}
    exact_miss, plain_miss, typo_miss = [], [], []
    typo_total = typo_unique = outside_wrong = 0
    started = time.perf_counter()
    for commune in shared_communes():
        name, dep = commune["nom"], commune["departement"]
        if dep not in scope:  # collectivités d'outre-mer: unknown unless an in-scope homonym
            result = resolver.resolve(name)
            if not (result.reason == "outside" or name_key(name) in scoped_names or result.fuzzy):
                outside_wrong += 1
            continue
        if dep not in readings(resolver.resolve(name)):
            exact_miss.append(name)
        plain = strip_accents(name)
        if plain != name and dep not in readings(resolver.resolve(plain)):
            plain_miss.append(name)
        typo = one_letter_typo(name)
        if typo is None:
            continue
        typo_total += 1
        result = resolver.resolve(typo)
        if dep in readings(result):
            typo_unique += codes(result) == [dep]
        else:
            typo_miss.append((name, typo))
    elapsed = time.perf_counter() - started
    typo_rate = 100 * (typo_total - len(typo_miss)) / typo_total
    print(
        f"\ncommunes: exact misses {len(exact_miss)}, without accents misses {len(plain_miss)}; "
        f"one-letter typos (≥ 6 letters): {typo_rate:.2f} % of {typo_total} resolve to a set "
        f"holding the département ({100 * typo_unique / typo_total:.1f} % to it alone); "
        f"misses e.g. {typo_miss[:8]}; {elapsed:.1f} s"
    )
    assert exact_miss == []
    assert plain_miss == []
    assert outside_wrong == 0
    assert typo_rate >= 99.0


# --- the examples of the brief ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("mention", "kind", "expected"),
    [
        ("Allier", "departement", ["03"]),
        ("63000", "departement", ["63"]),
        ("le 63", "departement", ["63"]),
        ("dans le 13", "departement", ["13"]),
        ("2A", "departement", ["2A"]),
        ("2 a", "departement", ["2A"]),
        ("2b", "departement", ["2B"]),
        ("20", "ambiguous", ["2A", "2B"]),
        ("St Etienne", "departement", ["42"]),
        ("Saint-Étienne", "departement", ["42"]),
        ("Île de France", "region", ["75", "77", "78", "91", "92", "93", "94", "95"]),
        ("Bretagne", "region", ["22", "29", "35", "56"]),
        ("Corse", "region", ["2A", "2B"]),
        ("Paris", "departement", ["75"]),
        ("Mamoudzou", "departement", ["976"]),
        ("puy de dome", "departement", ["63"]),
        ("Clermont-Ferand", "departement", ["63"]),
        ("Guadeloupe", "departement", ["971"]),
        ("La Réunion", "departement", ["974"]),
        ("Réunion", "departement", ["974"]),
        ("Paris 15e", "departement", ["75"]),
        ("Lyon 3e", "departement", ["69"]),
        ("Marseille 13e arrondissement", "departement", ["13"]),
        ("13780", "ambiguous", ["13", "83"]),
        ("01200", "ambiguous", ["01", "74"]),
        ("94390", "departement", ["91"]),
        ("Seine St Denis", "departement", ["93"]),
        ("PACA", "region", ["04", "05", "06", "13", "83", "84"]),
        ("Le Mans", "departement", ["72"]),
        ("Évry", "ambiguous", ["91", "89"]),
        ("Bouche du Rhone", "departement", ["13"]),
    ],
)
def test_mentions(resolver: PlaceResolver, mention: str, kind: str, expected: list[str]) -> None:
    result = resolver.resolve(mention)
    assert (result.kind, codes(result)) == (kind, expected)


def test_a_departement_name_wins_over_homonym_communes(resolver: PlaceResolver) -> None:
    vienne = resolver.resolve("Vienne")
    assert (vienne.kind, codes(vienne)) == ("departement", ["86"])
    assert [alt.dep_code for alt in vienne.alternatives] == ["38"]  # the commune Vienne, Isère
    allier = resolver.resolve("Allier")
    assert [alt.dep_code for alt in allier.alternatives] == ["65"]


def test_typos_are_flagged_and_unclear_typos_stay_ambiguous(resolver: PlaceResolver) -> None:
    assert resolver.resolve("Clermont-Ferand").fuzzy
    assert not resolver.resolve("Clermont-Ferrand").fuzzy
    assert resolver.resolve("Moulns").kind == "ambiguous"  # Moulins or Moulis
    assert resolver.resolve("Xyzzyx").kind == "unknown"


@pytest.mark.parametrize(
    ("mention", "reason"),
    [
        ("", "empty"),
        ("  ", "empty"),
        ("975", "outside"),
        ("98000", "outside"),
        ("Nouméa", "outside"),
        ("12345", "unknown_postal_code"),
        ("99", "unknown_number"),
        ("bonjour", "no_place"),
    ],
)
def test_unknown_mentions_say_why(resolver: PlaceResolver, mention: str, reason: str) -> None:
    result = resolver.resolve(mention)
    assert (result.kind, result.reason) == ("unknown", reason)


# --- sentences --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sentence", "kind", "expected"),
    [
        ("qui contacter dans l'Allier ?", "departement", ["03"]),
        ("je suis à Moulins", "ambiguous", ["03", "35", "02", "79"]),
        ("code postal 63000", "departement", ["63"]),
        ("on est dans le 2A", "departement", ["2A"]),
        ("DDETS de la Drôme", "departement", ["26"]),
        ("contact DREETS Bretagne", "region", ["22", "29", "35", "56"]),
        ("je suis à Moulins dans l'Allier", "departement", ["03"]),
        ("Saint-Denis (93)", "departement", ["93"]),
        ("je suis à clermont ferand", "departement", ["63"]),
        ("j'habite à st etienne", "departement", ["42"]),
        ("département 974", "departement", ["974"]),
        ("contact DDETS 974", "departement", ["974"]),
        ("mon code postal est 01200", "ambiguous", ["01", "74"]),
        ("qui contacter à Paris 15e ?", "departement", ["75"]),
        ("je suis en Corse", "region", ["2A", "2B"]),
        ("le département du Puy-de-Dôme (63)", "departement", ["63"]),
        ("dans l'alier", "departement", ["03"]),
        ("Je suis dans le Nord", "departement", ["59"]),
        ("ddets de la somme", "departement", ["80"]),
        ("je vis à La Réunion", "departement", ["974"]),
        ("Bretagne, Rennes", "departement", ["35"]),
        (
            "la DREETS Auvergne-Rhône-Alpes",
            "region",
            ["01", "03", "07", "15", "26", "38", "42", "43", "63", "69", "73", "74"],
        ),
    ],
)
def test_sentences(resolver: PlaceResolver, sentence: str, kind: str, expected: list[str]) -> None:
    result = resolver.find_in_text(sentence)
    assert (result.kind, codes(result)) == (kind, expected)


@pytest.mark.parametrize(
    "sentence",
    [
        "Quelle est la date limite ?",
        "jusqu'au 11 octobre ?",
        "le 20 novembre",
        "il y a 13 personnes",
        "le projet coûte 10000 euros",
        "Qui peut candidater ?",
        "Comment déposer un projet ?",
        "Merci beaucoup",
        "C'est quoi le SPIE ?",
        "Le conseil départemental doit-il être dans le groupement ?",
        "Pôle emploi fait-il partie du groupement ?",
        "La sélection est prévue en décembre 2021",
        "les missions locales et Cap emploi",
        "Vers quelle date ?",
        "on se voit vers midi",
        "la réunion de lancement",
        "en somme c'est fini",
        "c'est trop cher",
        "un lot de dossiers",
        "les centres sociaux",
        "'; DROP TABLE communes; --",
    ],
)
def test_sentences_without_place(resolver: PlaceResolver, sentence: str) -> None:
    result = resolver.find_in_text(sentence)
    assert result.kind == "unknown", (result.matched, codes(result))


# --- service ----------------------------------------------------------------------------------


def test_resolver_is_built_once_per_store(sqlite_url: str) -> None:
    assert get_resolver(sqlite_url) is get_resolver(sqlite_url)


def test_latency_smoke(resolver: PlaceResolver) -> None:
    """A loose guard (the real figures come from bench/resolver_bench.py)."""
    queries = ["Allier", "63000", "le 63", "Clermont-Ferand", "qui contacter dans l'Allier ?"] * 200
    timings = []
    for query in queries:
        started = time.perf_counter()
        resolver.find_in_text(query)
        resolver.resolve(query)
        timings.append(time.perf_counter() - started)
    assert statistics.quantiles(timings, n=20)[-1] < 0.020


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Ygrande : à qui s'adresser ?", ["03"]),
        ("Tulle — qui contacter pour l'AMI ?", ["19"]),
        ("Ygrande fait-elle partie d'un territoire SPIE ?", ["03"]),
        ("Bourganeuf est-il déjà retenu ?", ["23"]),
        ("Bourganeuf c'est déjà dans le SPIE ?", ["23"]),  # the topic, then « c'est »
        ("Tulle, c'est quel département ?", ["19"]),
    ],
)
def test_a_commune_heading_the_message_is_a_place(
    resolver: PlaceResolver, sentence: str, expected: list[str]
) -> None:
    """The first word is capitalised anyway, but a name followed by « : », « — » or an
    inverted verb (« est-il ») heads the message like a label."""
    assert codes(resolver.find_in_text(sentence)) == expected


ORDINARY = {"eu", "bonne", "soiree", "continuation", "objet", "tulle"}


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("il y a eu des retards pour la sélection ?", []),  # Eu (76)
        ("merci, a+ bonne continuation", []),  # Bonne (74)
        ("Objet : demande de contact", []),
        ("je suis a tulle", ["19"]),  # a town: « a » for « à » in texting
        ("on est à Bonne", ["74"]),
        ("le CCAS d'Eu", ["76"]),
    ],
)
def test_ordinary_words_after_the_verb_a_are_not_small_communes(
    resolver: PlaceResolver, sentence: str, expected: list[str]
) -> None:
    """« a » without its accent is mostly the verb: the small commune named like the ordinary
    word after it is not meant (the pipeline passes spaCy's vocabulary as `is_common_word`)."""
    result = resolver.find_in_text(sentence, lambda word: word in ORDINARY)
    assert codes(result) == expected


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Tulle — qui contacter ?", ["19"]),  # a town named like a fabric heads the message
        ("Objet — demande de contact", []),  # an ordinary word does not
        ("Tulle", ["19"]),  # written as a name: the commune, though also a word
        ("Tulle plus précisément", ["19"]),  # a place given again, more exactly
        ("Bonne", ["74"]),  # 3,000 people: a name when written with a capital
        ("Aucun", []),  # 250 people: the word is likelier
        ("aucun", []),
    ],
)
def test_a_name_written_with_a_capital_heads_or_makes_the_message(
    resolver: PlaceResolver, sentence: str, expected: list[str]
) -> None:
    common = {"tulle", "objet", "bonne", "aucun", "plus", "precisement", "demande"}
    assert codes(resolver.find_in_text(sentence, common.__contains__)) == expected


@pytest.mark.parametrize(
    ("sentence", "reason", "span"),
    [
        ("et dans le 96 ?", "unknown_number", "96"),
        ("département 00, contact ?", "unknown_number", "00"),
        (
            "le département de la Haute-Armorique",
            "unknown_departement",
            "département de la Haute-Armorique",
        ),
        (
            "le département de la Syldavie et je voudrais un contact",
            "unknown_departement",
            "département de la Syldavie",  # « et » joins names, not the rest of the sentence
        ),
        # A hyphenated name around a real one is neither (« Gers », « Ouzoir » inside).
        ("et dans le Bas-Gers-Maritime ?", "unknown_name", "Bas-Gers-Maritime"),
        ("je suis à Grand-Ouzoir", "unknown_name", "Grand-Ouzoir"),
        ("on a 0 euro", "no_place", None),  # a zero is no département number
        ("le directeur du département Insertion", "no_place", None),  # no « de »: a service
    ],
)
def test_a_departement_that_does_not_exist_is_read_as_a_place(
    resolver: PlaceResolver, sentence: str, reason: str, span: str | None
) -> None:
    """Read as a place (so the reply says it is none), never as another département."""
    result, spans = resolver.scan_text(sentence)
    assert (result.kind, result.reason) == ("unknown", reason)
    assert [sentence[s.start : s.end] for s in spans] == ([span] if span else [])


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Charente-Maritime", ["17"]),
        ("asso à Aix-en-Provence", ["13"]),
        ("mairie de Saint-Flour", ["15"]),
        ("Lyon-7e", ["69"]),
        ("Bourg-en-Bresse", ["01"]),
        ("les Alpes-de-Haute-Provence", ["04"]),
    ],
)
def test_hyphenated_names_that_exist_are_still_read(
    resolver: PlaceResolver, sentence: str, expected: list[str]
) -> None:
    """Only a hyphenated name no place has is refused, not the real ones it looks like."""
    assert codes(resolver.find_in_text(sentence)) == expected
