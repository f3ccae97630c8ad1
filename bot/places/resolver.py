"""Free text → départements: postal codes, département numbers, names of places, typos.

`PlaceResolver` indexes every région, département and commune of the store in memory (built
once, then shared: `get_resolver()`); a query costs a few dictionary look-ups, plus a
deletion-neighbourhood search when a name has a typo.

- `resolve(mention)` reads a clean mention ("Allier", "le 63", "63000", "2 a", "St Etienne").
- `find_in_text(text)` reads a whole sentence ("qui contacter dans l'Allier ?").

Rules worth knowing:
- A postal code gives the départements of its communes (La Poste file), never its first digits:
  01200 → Ain and Haute-Savoie (ambiguous), 94390 → Essonne.
- A commune name found in several départements is ambiguous; candidates are ordered by
  population (largest first), one per département.
- A name that is exactly a département or région name wins over homonym communes (Paris → 75,
  Vienne → 86, Bretagne → région); the communes are kept in `alternatives`.
- A typo is corrected only when the corrected name is within one edit (two for long names, and
  then only when no other name comes close); several names equally close → ambiguous.
- In sentences, one-word names that are also ordinary words ("Vers", "Orange", "la Somme",
  "la réunion") need a place context: a capital letter, "à …", "dans le …", a service name…
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import yaml
from rapidfuzz import process
from rapidfuzz.distance import OSA

from bot import DATA_DIR
from bot.places.store import CommuneRow, PlaceData, Store
from bot.text import LINK, fold

OUTSIDE_FILE = DATA_DIR / "geo" / "outside.yml"
T = TypeVar("T")


def load_outside_territories() -> list[dict[str, Any]]:
    """Territories outside the 101 départements (collectivités d'outre-mer, Monaco…)."""
    return yaml.safe_load(OUTSIDE_FILE.read_text(encoding="utf-8")) or []


Kind = Literal["departement", "region", "ambiguous", "unknown"]
Why = Literal["postal_code", "number", "name", "commune", "region"]
Level = Literal["departement", "region", "group", "outside", "commune"]


@dataclass(frozen=True)
class PlaceCandidate:
    dep_code: str
    dep_name: str
    label: str  # "Allier (03)"
    why: Why
    population: int  # of the commune(s) that matched, else of the département
    evidence: str  # the text recognised: "63000", "Moulins", "le 63"
    communes: tuple[str, ...] = ()  # communes behind a postal code or a commune name


@dataclass(frozen=True)
class PlaceSpan:
    """Where a place was read in a text (character offsets) and how it was read."""

    start: int
    end: int
    evidence: str


@dataclass(frozen=True)
class Resolution:
    kind: Kind
    candidates: tuple[PlaceCandidate, ...] = ()
    region_code: str | None = None  # set when kind == "region"
    region_name: str | None = None
    matched: str = ""  # the recognised part(s) of the text
    fuzzy: bool = False  # a typo was corrected: confirm with the user
    reason: str = ""  # when unknown: empty, no_place, outside, unknown_postal_code, unknown_number
    alternatives: tuple[PlaceCandidate, ...] = ()  # other readings (commune Vienne, Isère…)

    @property
    def dep_code(self) -> str | None:
        return self.candidates[0].dep_code if self.kind == "departement" else None


# --- vocabulary -------------------------------------------------------------------------------

ARTICLES = frozenset({"le", "la", "les", "l"})
STOP_WORDS = frozenset(
    """
    a au aux avec c ca ce ces cet cette chez d dans de des du elle en est et il ils j je l la le
    les leur lui m ma me mes moi mon n ne nos notre nous on ou par pas pour qu que quel quelle
    quelles quels qui quoi s sa se ses si son sur t ta te tes toi ton tu un une vers vos votre
    vous y bonjour bonsoir merci svp stp oui non bien tres plus moins aussi alors donc mais
    suis es sommes etes sont etais etait ai as avons avez ont cherche cherchons voudrais veux
    souhaite habite habitons travaille travaillons situe situee pres cote
    """.split()
)
GENERIC_WORDS = frozenset(
    """
    contact contacts contacter joindre interlocuteur interlocuteurs coordonnees adresse telephone
    mail email courriel site ddets ddetspp dreets drieets deets dgcopop ud unite departementale
    direction departement departements dep dept dpt region regions regional regionale prefecture
    prefet prefete sous commissaire pauvrete service services etat spie ami appel projet projets
    candidature dossier ville commune communes code postal cp numero territoire territoires
    secteur zone
    """.split()
)
IGNORED_WORDS = STOP_WORDS | GENERIC_WORDS
# « Ussel plus précisément », « Riom plutôt »: a place given again, more exactly.
QUALIFIERS = frozenset({"precisement", "exactement", "plutot", "pardon"})
# Words around a place in a message that only gives a place: « on est basés à X », « CCAS de X »,
# « et pour l'Isère ? ». A message made of places and these words is an answer "here I am".
PLACE_MESSAGE_WORDS = IGNORED_WORDS | frozenset(
    """
    base basee bases basees implante implantee implantes implantees installe installee installes
    installees localise localisee situes situees sis domicilie domiciliee originaire habitant
    habitante ici la bas coin perso personnellement quid sinon plutot precisement exactement
    association asso assos mission locale ml ccas cias mairie cd conseil departemental citoyen
    citoyens structure
    organisme collectivite agglo agglomeration communaute communes intercommunalite epci
    metropole ville village canton plie siae centre social cap emploi bureau antenne siege
    agence equipe dans vers sur pres alentours environs autour region commune et ah euh pareil
    idem aussi meme chose
    """.split()
)
# Words that make a sentence about a State service or about the territories of the SPIE: then
# "la somme" is the Somme, « l allier ils sont deja dedans ? » the Allier.
SERVICE_WORDS = frozenset(
    """
    ddets ddetspp dreets drieets deets dgcopop prefecture departement retenu retenus retenue
    retenues dedans selectionne selectionnes selectionnee laureat laureats
    """.split()
)
# Structures named after their commune: « au CCAS de Tulle » is Tulle, though « tulle » is also a
# fabric (an ordinary word after « de » is otherwise not read as a small commune).
STRUCTURE_WORDS = frozenset(
    "ccas cias mairie ville commune plie locale agglo agglomeration metropole epci".split()
)
# Département / région names that are also ordinary French words.
COMMON_WORD_NAMES = frozenset(
    {
        "allier",
        "aube",
        "centre",
        "cher",
        "corse",
        "creuse",
        "landes",
        "lorraine",
        "lot",
        "manche",
        "nord",
        "reunion",
        "somme",
        "var",
        "vienne",
    }
)
# A one-word commune name in a sentence needs one of these words just before it (or a capital).
COMMUNE_CONTEXT = frozenset({"a", "de", "d", "du", "sur", "pres", "vers", "habite", "mairie"})
# « Murat est-il… », « Sichamps fait-elle partie… »: a verb with its subject pronoun after it.
INVERTED_VERB = re.compile(r"[^\W\d_]+-(?:t-)?(?:il|elle|ils|elles)\b")
# « le département de la Haute-Armorique »: capitalised words given as a département's name.
UNKNOWN_DEPARTEMENT_NAME = re.compile(
    r"\bd[ée]partement (?:de la |de l['’]|du |des |de |d['’])"
    r"(?P<name>[A-ZÉÈÊÎÔ][^\W\d_]+(?:[- ](?:(?:et|sur|de|du|la)[- ])?[A-ZÉÈÊÎÔ][^\W\d_]+)*)"
)
# A run of words joined by hyphens, as one name: « Bas-Gers-Maritime », « Ville-sur-Tarn ».
HYPHENATED_NAME = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)+")
# « Riom c'est déjà dans le SPIE ? », « Tulle, c'est quel département ? »: the topic, then « c'est ».
TOPIC_THEN_COMMENT = re.compile(r",?\s*(?:c['’]\s?est|c est|ce sont)\b", re.IGNORECASE)
TOWN_POPULATION = 10_000  # a lone word naming a town this large is the town, even in lower case
NAMED_COMMUNE_POPULATION = 2_000  # … and a commune this large when written with a capital
WEAK_COMMUNE_CONTEXT = frozenset({"de", "d", "du", "sur", "vers"})
# « à Vienne »: a commune is meant as much as the département (Vienne, Isère).
COMMUNE_ONLY_CONTEXT = frozenset({"a", "au", "mairie", "ville", "commune"})
# Words before a name that say a département or a région is meant, not a homonym commune.
DEPARTEMENT_CONTEXT = frozenset(
    {
        "dans",
        "ds",
        "en",
        "du",
        "departement",
        "dep",
        "dept",
        "dpt",
        "region",
        "ddets",
        "ddetspp",
        "dreets",
        "prefecture",
        "conseil",
        "departemental",
    }
)
NUMBER_CONTEXT = frozenset(
    {"le", "du", "dans", "ds", "en", "departement", "dep", "dept", "dpt", "numero", "num", "no"}
)
MONTHS = frozenset(
    """
    janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre janv
    fev fevr avr juil sept oct nov dec
    """.split()
)
UNITS = frozenset(
    """
    euro euros eur k m md habitants hab personnes beneficiaires ans an jours jour mois semaines
    heures h min minutes pourcent pct territoires projets places postes salaries km fois
    """.split()
)
TOKEN_SYNONYMS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes", "mt": "mont"}

# Current regions have their INSEE names; these are common short names.
REGION_ALIASES = {
    "paca": "93",
    "region sud": "93",
    "idf": "11",
    "aura": "84",
    "centre": "24",
    "bfc": "27",
}
# Former regions (before 2016) and the Alsace: people still use them.
GROUP_ALIASES = {
    "alsace": ("67", "68"),
    "aquitaine": ("24", "33", "40", "47", "64"),
    "auvergne": ("03", "15", "43", "63"),
    "basse normandie": ("14", "50", "61"),
    "bourgogne": ("21", "58", "71", "89"),
    "champagne ardenne": ("08", "10", "51", "52"),
    "franche comte": ("25", "39", "70", "90"),
    "haute normandie": ("27", "76"),
    "languedoc roussillon": ("11", "30", "34", "48", "66"),
    "limousin": ("19", "23", "87"),
    "lorraine": ("54", "55", "57", "88"),
    "midi pyrenees": ("09", "12", "31", "32", "46", "65", "81", "82"),
    "nord pas de calais": ("59", "62"),
    "picardie": ("02", "60", "80"),
    "poitou charentes": ("16", "17", "79", "86"),
    "rhone alpes": ("01", "07", "26", "38", "42", "69", "73", "74"),
}
# Short names of communes nouvelles that people keep using: alias → INSEE code.
COMMUNE_ALIASES = {"Évry": "91228"}
LEVEL_PRIORITY: dict[str, int] = {
    "departement": 0,
    "region": 1,
    "group": 2,
    "outside": 3,  # a collectivité d'outre-mer named exactly wins over its homonym communes
    "commune": 4,
}
MAX_NAME_TOKENS = 9  # "Saint-Remy-en-Bouzemont-Saint-Genest-et-Isson"
MAX_FUZZY_TOKENS = 4
MIN_FUZZY_LETTERS = 5  # in sentences
MIN_FUZZY_LETTERS_MENTION = 4  # in clean mentions ("Lile")
MIN_FUZZY2_LETTERS = 10  # two edits only for long names


# --- what is never a place ----------------------------------------------------------------------

# Numbers and names inside these are not places: "04 73 12 34 56" is not the Alpes-de-Haute-
# Provence, "11/10/2021" not the Aude, "marie@cd03.fr" not a commune Marie. They are blanked out
# (same length, so the offsets of the rest are kept) before a sentence is scanned.
NOT_PLACES = re.compile(
    LINK  # e-mail address or URL (bot/text.py)
    + r"""
    | \b[\w-]+(?:\.[\w-]+)*\.(?:fr|com|org|net|eu|gouv)\b\S*  # bare domain name
    | (?:\+|\b00)\d{2,3}[\s.-]?\(?0?\)?\d(?:[\s.-]?\d{2}){4}\b  # international phone number
    | \b0\d(?:[\s.-]?\d{2}){4}\b                            # French phone number
    | \b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b                # date 11/10, 11.10.2021
    | \b\d{1,2}\s?h\s?\d{2}\b                                # time 14h30
    | \b\d{1,3}(?:[\s.\u202f\u00a0]\d{3})+(?:,\d+)?\s?(?:€|euros?\b|k€)  # amount 50 000 €
    """,
    re.VERBOSE | re.IGNORECASE,
)


def is_place_message(text: str, spans: Sequence[PlaceSpan]) -> bool:
    """Whether `text` only gives places (« je suis à Ygrande », « et pour le 33 ? »)."""
    if not spans:
        return False
    rest = list(text)
    for span in spans:
        rest[span.start : span.end] = " " * (span.end - span.start)
    words = tokenize(mask_non_places("".join(rest)))
    return all(word.norm in PLACE_MESSAGE_WORDS for word in words)


def mask_non_places(text: str) -> str:
    """`text` with e-mail addresses, URLs, phone numbers, dates, times and amounts blanked."""
    return NOT_PLACES.sub(lambda match: " " * len(match.group()), text)


# --- tokens -----------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
_ORDINAL = re.compile(r"^(\d{1,2})(?:e|er|ere|eme|ieme|nd|nde)$")


@dataclass(frozen=True)
class _Token:
    norm: str  # folded; "st" → "saint"; "15e" → "15"
    raw: str
    start: int
    end: int
    capitalized: bool
    ordinal: bool


def tokenize(text: str) -> list[_Token]:
    tokens = []
    for match in _WORD.finditer(text):
        raw = match.group()
        norm, ordinal = _normal_word(fold(raw))
        # A capital hints at a name, but not in words written all in capitals ("DROP TABLE"),
        # nor at the start of a sentence or a line (« Chargé de mission à Montpellier »).
        sentence_start = text[: match.start()].rstrip(" \t,;:-«\"'(")[-1:] in (
            "",
            ".",
            "!",
            "?",
            "\n",
        )
        capitalized = (
            raw[:1].isupper() and not (len(raw) > 1 and raw.isupper()) and not sentence_start
        )
        tokens.append(_Token(norm, raw, match.start(), match.end(), capitalized, ordinal))
    return tokens


def _normal_word(word: str) -> tuple[str, bool]:
    """("saint", False) for "st"; ("15", True) for "15e"."""
    ordinal = _ORDINAL.match(word)
    if ordinal:
        return ordinal.group(1), True
    return TOKEN_SYNONYMS.get(word, word), False


def name_key(text: str) -> str:
    """The matching key of a place name: folded words separated by single spaces."""
    return " ".join(_normal_word(word)[0] for word in _WORD.findall(fold(text)))


def strip_article(key: str) -> str:
    first, _, rest = key.partition(" ")
    return rest if rest and first in ARTICLES else key


# --- index ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    level: Level
    codes: tuple[str, ...]  # départements (several for a région or a former région)
    name: str  # display name
    population: int
    region_code: str = ""


@dataclass
class _Hit:
    start: int
    end: int
    strength: int  # postal code / number 4, département name 3, région and commune 2, typo 1
    candidates: list[PlaceCandidate]
    level: Level | Literal["code"] = "code"
    region: tuple[str, str] | None = None
    alternatives: list[PlaceCandidate] = field(default_factory=list)
    fuzzy: bool = False
    evidence: str = ""
    reason: str = ""  # why a hit without candidates is unknown (outside, unknown_number…)


class _NeighbourIndex:
    """Keys within one edit (OSA) of a query, by deletion neighbourhoods.

    The hashes of every key and of its one-character deletions sit in a sorted numpy array
    (about 5 MB for 35,000 names instead of ~50 MB as a dict); hash collisions are harmless
    because candidates are checked with a real distance.
    """

    def __init__(self, keys: Sequence[str]) -> None:
        self.keys = list(keys)
        hashes: list[int] = []
        owners: list[int] = []
        for index, key in enumerate(self.keys):
            for variant in _deletion_variants(key):
                hashes.append(hash(variant))
                owners.append(index)
        hash_array = np.array(hashes, dtype=np.int64)
        order = np.argsort(hash_array, kind="stable")
        self._hashes = hash_array[order]
        self._owners = np.array(owners, dtype=np.int32)[order]
        self._buckets = self._bucket_keys()

    def _bucket_keys(self) -> dict[tuple[str, int], list[str]]:
        # By first and by last letter: any one or two edits keep one of the two.
        buckets: dict[tuple[str, int], list[str]] = defaultdict(list)
        for key in self.keys:
            buckets[(key[0], len(key))].append(key)
            buckets[(key[-1], -len(key))].append(key)
        return buckets

    def within_one(self, query: str) -> list[str]:
        variant_hashes = np.array([hash(v) for v in _deletion_variants(query)], dtype=np.int64)
        lows = np.searchsorted(self._hashes, variant_hashes, side="left")
        highs = np.searchsorted(self._hashes, variant_hashes, side="right")
        owners: set[int] = set()
        for low, high in zip(lows.tolist(), highs.tolist(), strict=True):
            owners.update(self._owners[low:high].tolist())
        keys = (self.keys[owner] for owner in owners)
        return sorted(key for key in keys if OSA.distance(query, key, score_cutoff=1) <= 1)

    def unique_within_two(self, query: str) -> str | None:
        """The only key at two edits, provided no other key is within three (a clear margin)."""
        found: dict[str, int] = {}
        for length in range(len(query) - 3, len(query) + 4):
            for bucket in (
                self._buckets.get((query[0], length)),
                self._buckets.get((query[-1], -length)),
            ):
                for key, distance, _ in process.extract(
                    query, bucket or (), scorer=OSA.distance, score_cutoff=3, limit=None
                ):
                    found[key] = distance
        close = [key for key, distance in found.items() if distance <= 2]
        return close[0] if len(close) == 1 and len(found) == 1 else None


def _deletion_variants(key: str) -> set[str]:
    return {key} | {key[:i] + key[i + 1 :] for i in range(len(key))}


# --- resolver ---------------------------------------------------------------------------------


class PlaceResolver:
    def __init__(self, data: PlaceData) -> None:
        self._departements = {row.code: row for row in data.departements}
        self._regions = {row.code: row for row in data.regions}
        self._region_deps: dict[str, tuple[str, ...]] = defaultdict(tuple)
        for row in sorted(data.departements, key=lambda row: row.code):
            self._region_deps[row.region_code] += (row.code,)
        self._commune_names = {row.code: row.name for row in data.communes}
        self._full: dict[str, list[_Target]] = defaultdict(list)
        self._bare: dict[str, list[_Target]] = defaultdict(list)
        self._index_departements_and_regions()
        self._index_communes(data.communes)
        self._postal = self._index_postal_codes(data)
        self._full, self._bare = dict(self._full), dict(self._bare)  # read-only from now on
        fuzzy_keys = {key for key in (*self._full, *self._bare) if len(key) >= MIN_FUZZY_LETTERS}
        self._neighbours = _NeighbourIndex(sorted(fuzzy_keys))
        self._longest_name_from = self._longest_names_by_first_word()

    def _longest_names_by_first_word(self) -> dict[str, int]:
        """First word of a name → most words of such a name (articles: any name, see `bare`)."""
        longest: dict[str, int] = defaultdict(int)
        for key in (*self._full, *self._bare):
            words = key.split(" ")
            longest[words[0]] = max(longest[words[0]], len(words))
        for article in ARTICLES:
            longest[article] = MAX_NAME_TOKENS
        return dict(longest)

    @classmethod
    def from_store(cls, store: Store | None = None) -> PlaceResolver:
        return cls((store or Store()).place_data())

    # building

    def _add(self, name: str, target: _Target) -> None:
        key = name_key(name)
        if target not in self._full[key]:
            self._full[key].append(target)
        bare = strip_article(key)
        if bare != key and target not in self._bare[bare]:
            self._bare[bare].append(target)

    def _index_departements_and_regions(self) -> None:
        for dep in self._departements.values():
            self._add(dep.name, _Target("departement", (dep.code,), dep.name, dep.population))
        for region in self._regions.values():
            for name in (region.name, *_aliases_of(REGION_ALIASES, region.code)):
                self._add(name, self._region_target(region.code))
        for name, codes in GROUP_ALIASES.items():
            population = sum(self._departements[code].population for code in codes)
            self._add(name, _Target("group", codes, name.title(), population))
        for territory in load_outside_territories():
            target = _Target("outside", (), territory["name"], 0)
            for name in (territory["name"], *territory.get("aliases", ())):
                self._add(name, target)

    def _region_target(self, region_code: str) -> _Target:
        deps = self._region_deps[region_code]
        if len(deps) == 1:  # overseas: the région is the département (Guadeloupe → 971)
            dep = self._departements[deps[0]]
            return _Target("departement", deps, dep.name, dep.population)
        region = self._regions[region_code]
        population = sum(self._departements[code].population for code in deps)
        return _Target("region", deps, region.name, population, region_code)

    def _index_communes(self, communes: Iterable[CommuneRow]) -> None:
        alias_of = {code: alias for alias, code in COMMUNE_ALIASES.items()}
        for commune in communes:
            target = _Target("commune", (commune.dep_code,), commune.name, commune.population or 0)
            self._add(commune.name, target)
            if commune.type == "ARM":  # "Paris 15e Arrondissement" is also "Paris 15e"
                self._add(re.sub(r"(?i)\s*arrondissement$", "", commune.name), target)
            if commune.type == "COM" and commune.code in alias_of:
                self._add(alias_of[commune.code], target)

    def _index_postal_codes(self, data: PlaceData) -> dict[str, dict[str, list[str]]]:
        """postal code → département → INSEE codes of its communes."""
        index: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        for row in data.postal_codes:
            index[row.postal_code][row.dep_code].append(row.insee)
        return index

    # public API

    def resolve(self, mention: str) -> Resolution:
        """A clean mention: a name, a number, a postal code ("Allier", "dans le 13", "63000")."""
        hit = self._mention_hit(mention)
        if hit is None:
            return self.find_in_text(mention)
        return (
            self._combine([hit])
            if hit.candidates or hit.reason
            else Resolution("unknown", reason="empty")
        )

    def resolve_all(self, mentions: Sequence[str]) -> Resolution:
        """Several mentions of one message (« Castres » and « 81 »), combined as in a sentence."""
        if len(mentions) == 1:
            return self.resolve(mentions[0])
        hits: list[_Hit] = []
        for mention in mentions:
            hit = self._mention_hit(mention)
            hits.extend([hit] if hit is not None else self._scan(mention).hits)
        return self._combine(hits)

    def _mention_hit(self, mention: str) -> _Hit | None:
        tokens = tokenize(mention)
        if not tokens:
            return _Hit(0, 0, 0, [])
        # Leading words such as "dans le", "département", "code postal" may be skipped.
        starts = [0]
        while starts[-1] + 1 < len(tokens) and tokens[starts[-1]].norm in IGNORED_WORDS:
            starts.append(starts[-1] + 1)
        for start in starts:
            skipped = {token.norm for token in tokens[:start]}
            # « dans la Vienne » → the département; « à Vienne » → also the commune; alone → the
            # département, the commune offered as another reading.
            context = (
                bool(skipped & DEPARTEMENT_CONTEXT)
                or tokens[start].norm in ARTICLES  # « (à) La Réunion », « l'Allier »
                or not (skipped & COMMUNE_ONLY_CONTEXT)
            )
            hit = self._exact_mention(tokens[start:], context)
            if hit is not None:
                return hit
        for start in starts:  # typos only when nothing is exact
            hit = self._typo_mention(tokens[start:])
            if hit is not None:
                return hit
        return None

    def find_in_text(
        self, text: str, is_common_word: Callable[[str], bool] | None = None
    ) -> Resolution:
        """A whole sentence: postal codes, numbers in context, then names, then typos."""
        return self.scan_text(text, is_common_word)[0]

    def scan_text(
        self, text: str, is_common_word: Callable[[str], bool] | None = None
    ) -> tuple[Resolution, list[PlaceSpan]]:
        """`find_in_text`, with the spans of `text` that were read as places.

        `is_common_word` (folded word → bool), when given, keeps ordinary words from being
        "corrected" into place names ("salut" is not a typo of Sault).
        """
        scan = self._scan(text, is_common_word)
        if not scan.tokens:
            return Resolution("unknown", reason="empty"), []
        tokens = scan.tokens
        spans = [
            PlaceSpan(
                tokens[self._span_start(scan, hit)].start, tokens[hit.end - 1].end, hit.evidence
            )
            for hit in sorted(scan.hits, key=lambda hit: hit.start)
            if hit.end > hit.start
        ]
        return self._combine(scan.hits, scan.unknown_reason), spans

    @staticmethod
    def _span_start(scan: _Scan, hit: _Hit) -> int:
        """A name's span starts at the word that says a département is meant (« dans la Vienne »),
        so that reading the span again alone gives the same answer."""
        if hit.level not in ("departement", "region"):
            return hit.start
        context = DEPARTEMENT_CONTEXT | COMMUNE_ONLY_CONTEXT
        if scan.prev(hit.start) in context:
            return hit.start - 1
        if scan.prev(hit.start) in ARTICLES | {"de", "d"} and scan.prev(hit.start, 2) in context:
            return hit.start - 2
        return hit.start

    def _scan(self, text: str, is_common_word: Callable[[str], bool] | None = None) -> _Scan:
        scan = _Scan(text, tokenize(mask_non_places(text)), is_common_word)
        if scan.tokens:
            self._scan_postal_codes(scan)
            self._scan_numbers(scan)
            self._scan_names(scan)
            self._scan_typos(scan)
            if not scan.hits:
                self._scan_unknown_departement(scan)
            if not scan.hits and scan.unknown_compound:
                self._report_unknown_compound(scan)
        return scan

    @property
    def departement_count(self) -> int:
        return len(self._departements)

    def _report_unknown_compound(self, scan: _Scan) -> None:
        """« et dans le Bas-Gers-Maritime ? »: said to be no known place, not read as the Gers
        (nor the département of the conversation kept)."""
        where = scan.text.find(scan.unknown_compound)
        inside = [
            i
            for i, t in enumerate(scan.tokens)
            if where <= t.start and t.end <= where + len(scan.unknown_compound)
        ]
        if inside:
            scan.unknown_reason = "unknown_name"
            scan.add(
                _Hit(
                    inside[0],
                    inside[-1] + 1,
                    0,
                    [],
                    reason=scan.unknown_reason,
                    evidence=scan.unknown_compound,
                )
            )

    def _scan_unknown_departement(self, scan: _Scan) -> None:
        """« le département de la Haute-Armorique »: a name given as a département's that no
        département, région or commune has is reported as such, not asked for again."""
        match = UNKNOWN_DEPARTEMENT_NAME.search(scan.text)
        if match is None:
            return
        # The span starts at « département » (read again alone, it says the same); the reply
        # quotes the name.
        start, end = match.start(), match.end("name")
        inside = [i for i, t in enumerate(scan.tokens) if start <= t.start and t.end <= end]
        if inside:
            first, last = inside[0], inside[-1] + 1
            name = match.group("name")
            scan.unknown_reason = "unknown_departement"
            scan.add(_Hit(first, last, 0, [], reason=scan.unknown_reason, evidence=name))

    def departement_label(self, dep_code: str) -> str:
        return f"{self._departements[dep_code].name} ({dep_code})"

    # clean mentions

    def _exact_mention(
        self, tokens: Sequence[_Token], departement_context: bool = False
    ) -> _Hit | None:
        """A postal code, a département number or an exact name, making up all of `tokens`."""
        norms = [token.norm for token in tokens]
        evidence = " ".join(token.raw for token in tokens)
        end = len(tokens)
        if len(norms) == 2 and norms[0].isdigit() and norms[1].isdigit():
            joined = self._postal_hit(norms[0] + norms[1], 0, end, evidence)  # "63 000"
            if joined is not None:
                return joined
        if len(norms) == 1 and norms[0].isdigit() and len(norms[0]) == 5:
            hit = self._postal_hit(norms[0], 0, end, evidence)
            return hit or _unknown_hit("unknown_postal_code")
        number = None if any(t.ordinal for t in tokens) else _departement_number(norms)
        if number is not None:
            return self._number_hit(number, 0, end, evidence)
        targets = self._exact_targets(" ".join(norms))
        if not targets:
            return None
        return self._name_hit(targets, 0, end, evidence, departement_context=departement_context)

    def _typo_mention(self, tokens: Sequence[_Token]) -> _Hit | None:
        key = " ".join(token.norm for token in tokens)
        if len(key.replace(" ", "")) < MIN_FUZZY_LETTERS_MENTION:
            return None
        near = self._near_keys(key, allow_two=True)
        evidence = " ".join(token.raw for token in tokens)
        return self._typo_hit(near, 0, len(tokens), evidence) if near else None

    # sentence scanning

    def _scan_postal_codes(self, scan: _Scan) -> None:
        for index, token in enumerate(scan.tokens):
            if not (token.norm.isdigit() and len(token.norm) == 5) or scan.followed_by_unit(index):
                continue
            hit = self._postal_hit(token.norm, index, index + 1, token.raw)
            if hit is None:
                scan.unknown_reason = "unknown_postal_code"
                continue
            scan.add(hit)

    def _scan_numbers(self, scan: _Scan) -> None:
        tokens = scan.tokens
        # « avant le 11 octobre ou encore le 11 ? »: a day the message writes as a date is that
        # date wherever it is repeated.
        days = {token.norm for index, token in enumerate(tokens) if scan.followed_by_month(index)}
        for index, token in enumerate(tokens):
            if scan.claimed[index] or token.ordinal or scan.followed_by_unit(index):
                continue
            if token.norm in days:
                continue
            norms = [token.norm]
            end = index + 1
            if token.norm == "2" and end < len(tokens) and tokens[end].norm in ("a", "b"):
                norms.append(tokens[end].norm)  # "le 2 A"
                end += 1
            number = _departement_number(norms)
            if number is None or not scan.number_context(index, end, number):
                continue
            evidence = scan.evidence(index, end)
            hit = self._number_hit(number, index, end, evidence)
            if not hit.candidates:
                scan.unknown_reason = hit.reason  # outside / unknown_number
            scan.add(hit)  # « et dans le 96 ? » names a place too: the reply says it is none

    def _scan_names(self, scan: _Scan) -> None:
        tokens = scan.tokens
        # Longest names first; a span can only be a name if some name starts with its first word.
        longest = [self._longest_name_from.get(token.norm, 0) for token in tokens]
        for length in range(min(MAX_NAME_TOKENS, len(tokens)), 0, -1):
            for start in range(len(tokens) - length + 1):
                end = start + length
                if length > longest[start] or scan.is_claimed(start, end):
                    continue
                if scan.only_ignored(start, end):
                    continue
                key = scan.key(start, end)
                targets = self._exact_targets(key)
                if not targets:
                    continue
                if scan.prev(start) in ("au", "aux") and key in self._full:
                    continue  # « au plaisir »: « au » only comes before « Le … » (au Mans)
                compound = scan.enclosing_compound(start, end)
                if compound:
                    scan.unknown_compound = compound
                    continue
                context = scan.departement_context(start, end)
                hit = self._name_hit(
                    targets, start, end, scan.evidence(start, end), departement_context=context
                )
                population = max((c.population for c in hit.candidates), default=0)
                if scan.name_context(start, end, hit.level, population):
                    scan.add(hit)

    def _scan_typos(self, scan: _Scan) -> None:
        if any(hit.level != "commune" for hit in scan.hits):
            return  # a postal code, a number or an exact département name was found
        tokens = scan.tokens
        for length in range(min(MAX_FUZZY_TOKENS, len(tokens)), 0, -1):
            for start in range(len(tokens) - length + 1):
                end = start + length
                if not scan.typo_span_allowed(start, end):
                    continue
                compound = scan.enclosing_compound(start, end)
                if compound:
                    scan.unknown_compound = compound
                    continue
                key = scan.key(start, end)
                if len(key.replace(" ", "")) < MIN_FUZZY_LETTERS or self._exact_targets(key):
                    continue  # exact names were judged (and maybe refused) by the name scan
                near = self._near_keys(key, allow_two=False)
                if near and scan.typo_context(start, end, near):
                    scan.replace_covered(
                        self._typo_hit(near, start, end, scan.evidence(start, end))
                    )

    # hits

    def _postal_hit(self, code: str, start: int, end: int, evidence: str) -> _Hit | None:
        by_dep = self._postal.get(code)
        if not by_dep:
            return None
        candidates = []
        for dep_code, insee_codes in by_dep.items():
            if dep_code not in self._departements:
                continue  # Monaco, collectivités d'outre-mer
            names = tuple(self._commune_names.get(insee, insee) for insee in insee_codes)
            candidates.append(self._candidate(dep_code, "postal_code", 0, evidence, names))
        if not candidates:  # a collectivité d'outre-mer or Monaco: said so, not ignored
            return _Hit(start, end, 4, [], "outside", evidence=evidence, reason="outside")
        return _Hit(start, end, 4, candidates, evidence=evidence)

    def _number_hit(self, codes: tuple[str, ...], start: int, end: int, evidence: str) -> _Hit:
        known = [code for code in codes if code in self._departements]
        if not known:  # 975, 977, 978, 98x: collectivités d'outre-mer, not départements
            reason = "outside" if len(codes[0]) == 3 else "unknown_number"
            return _Hit(start, end, 0, [], reason=reason, evidence=evidence)
        candidates = [self._candidate(code, "number", None, evidence) for code in known]
        return _Hit(start, end, 4, candidates, evidence=evidence)

    def _name_hit(
        self,
        targets: Sequence[_Target],
        start: int,
        end: int,
        evidence: str,
        fuzzy: bool = False,
        departement_context: bool = True,
    ) -> _Hit:
        """`departement_context`: the words before say a département or région is meant
        (« dans la Vienne »); without them, a homonym commune elsewhere is offered too
        (« Vienne » alone, « à Vienne »: the Vienne (86) or Vienne, Isère (38))."""
        best_level = min(LEVEL_PRIORITY[target.level] for target in targets)
        primary = [t for t in targets if LEVEL_PRIORITY[t.level] == best_level]
        level = primary[0].level
        if level == "outside":  # not a département: its homonym communes are other readings
            communes = [t for t in targets if t.level == "commune"]
            return _Hit(
                start,
                end,
                2 - int(fuzzy),
                [],
                "outside",
                alternatives=self._commune_candidates(communes, evidence),
                fuzzy=fuzzy,
                evidence=primary[0].name,
                reason="outside",
            )
        if level == "commune":
            candidates = self._commune_candidates(primary, evidence)
            if not candidates:
                return _unknown_hit("outside")
            strength = 1 if fuzzy else 2
            return _Hit(start, end, strength, candidates, "commune", fuzzy=fuzzy, evidence=evidence)
        why: Why = "region" if level == "region" else "name"
        candidates = _unique(
            self._candidate(code, why, None, evidence)
            for target in primary
            for code in target.codes
        )
        primary_codes = {candidate.dep_code for candidate in candidates}
        others = [t for t in targets if t.level == "commune" and t.codes[0] not in primary_codes]
        region = None
        if level == "region":
            region = (primary[0].region_code, primary[0].name)
        strength = {"departement": 3, "region": 2, "group": 2}[level] - (1 if fuzzy else 0)
        alternatives = self._commune_candidates(others, evidence)
        if alternatives and not departement_context:
            candidates, alternatives = candidates + alternatives, []
        return _Hit(start, end, strength, candidates, level, region, alternatives, fuzzy, evidence)

    def _commune_candidates(
        self, targets: Sequence[_Target], evidence: str
    ) -> list[PlaceCandidate]:
        by_dep: dict[str, list[_Target]] = defaultdict(list)
        for target in targets:
            if target.codes[0] in self._departements:
                by_dep[target.codes[0]].append(target)
        candidates = [
            self._candidate(
                dep_code,
                "commune",
                max(target.population for target in group),
                evidence,
                tuple(dict.fromkeys(target.name for target in group)),
            )
            for dep_code, group in by_dep.items()
        ]
        candidates.sort(key=lambda candidate: (-candidate.population, candidate.dep_code))
        return candidates

    def _near_keys(self, key: str, *, allow_two: bool) -> list[str]:
        """Names one edit away; else, for long names, the one name two edits away if unique."""
        near = self._neighbours.within_one(key)
        if not near and strip_article(key) != key:
            near = self._neighbours.within_one(strip_article(key))
        if not near and allow_two and len(key) >= MIN_FUZZY2_LETTERS:
            unique = self._neighbours.unique_within_two(key)
            near = [unique] if unique else []
        return near

    def _typo_hit(self, near: Sequence[str], start: int, end: int, evidence: str) -> _Hit:
        targets = _unique(t for k in near for t in (*self._full.get(k, ()), *self._bare.get(k, ())))
        return self._name_hit(targets, start, end, evidence, fuzzy=True)

    def _exact_targets(self, key: str) -> list[_Target]:
        """Exact name; else without its leading article ("la Drôme", "Mans" for Le Mans).

        "la Creuse" is both the commune La Creuse (70) and the département with its article:
        the département is added so that it wins and the commune becomes an alternative.
        """
        targets = self._full.get(key, [])
        bare = strip_article(key)
        if bare == key:
            return targets or self._bare.get(key, [])
        if targets:
            wider = [t for t in self._full.get(bare, ()) if t.level != "commune"]
            return targets + [t for t in wider if t not in targets]
        return self._full.get(bare) or self._bare.get(bare) or []

    def _candidate(
        self,
        dep_code: str,
        why: Why,
        population: int | None,
        evidence: str,
        communes: tuple[str, ...] = (),
    ) -> PlaceCandidate:
        dep = self._departements[dep_code]
        return PlaceCandidate(
            dep_code=dep_code,
            dep_name=dep.name,
            label=f"{dep.name} ({dep_code})",
            why=why,
            population=dep.population if population is None else population,
            evidence=evidence,
            communes=communes,
        )

    # combining

    def _combine(self, hits: Sequence[_Hit], reason: str = "") -> Resolution:
        useful = [hit for hit in hits if hit.candidates]
        if not useful:
            reasons = [hit.reason for hit in hits if hit.reason]
            return Resolution(
                "unknown",
                matched=" + ".join(hit.evidence for hit in hits if hit.evidence),
                reason=(reasons[0] if reasons else reason) or "no_place",
                alternatives=tuple(_unique(alt for hit in hits for alt in hit.alternatives)),
            )
        ordered = sorted(useful, key=lambda hit: (-hit.strength, hit.start))
        selected = list(ordered[0].candidates)
        for hit in ordered[1:]:
            selected = _narrow_or_extend(selected, hit.candidates)
        chosen = {candidate.dep_code for candidate in selected}
        alternatives = _unique(
            alt for hit in ordered for alt in hit.alternatives if alt.dep_code not in chosen
        )
        matched = " + ".join(hit.evidence for hit in sorted(useful, key=lambda hit: hit.start))
        fuzzy = any(hit.fuzzy for hit in useful)
        regions = {hit.region for hit in useful}
        if len(regions) == 1 and None not in regions:  # only mentions of one région
            code, name = ordered[0].region or ("", "")
            return Resolution(
                "region", tuple(selected), code, name, matched, fuzzy, "", tuple(alternatives)
            )
        kind: Kind = "departement" if len(selected) == 1 else "ambiguous"
        return Resolution(
            kind, tuple(selected), matched=matched, fuzzy=fuzzy, alternatives=tuple(alternatives)
        )


# --- sentence scanning state ------------------------------------------------------------------


class _Scan:
    def __init__(
        self, text: str, tokens: list[_Token], is_common_word: Callable[[str], bool] | None
    ) -> None:
        self.is_common_word = is_common_word or (lambda word: False)
        self.text = text
        self.tokens = tokens
        self.claimed = [False] * len(tokens)
        self.hits: list[_Hit] = []
        self.unknown_reason = ""
        self.unknown_compound = ""  # « Bas-Gers-Maritime »: a name no place has, around a real one
        self.content = [
            i for i, token in enumerate(tokens) if token.norm not in IGNORED_WORDS | QUALIFIERS
        ]
        self.about_service = any(token.norm in SERVICE_WORDS for token in tokens)

    def key(self, start: int, end: int) -> str:
        return " ".join(token.norm for token in self.tokens[start:end])

    def evidence(self, start: int, end: int) -> str:
        return self.text[self.tokens[start].start : self.tokens[end - 1].end]

    def is_claimed(self, start: int, end: int) -> bool:
        return any(self.claimed[start:end])

    def only_ignored(self, start: int, end: int) -> bool:
        return all(token.norm in IGNORED_WORDS for token in self.tokens[start:end])

    def add(self, hit: _Hit) -> None:
        self.hits.append(hit)
        for index in range(hit.start, hit.end):
            self.claimed[index] = True

    def replace_covered(self, hit: _Hit) -> None:
        """A typo-corrected longer name replaces the shorter exact commune names it covers."""
        covered = [h for h in self.hits if hit.start <= h.start and h.end <= hit.end]
        self.hits = [h for h in self.hits if h not in covered]
        self.add(hit)

    def prev(self, index: int, back: int = 1) -> str:
        return self.tokens[index - back].norm if index - back >= 0 else ""

    def enclosing_compound(self, start: int, end: int) -> str:
        """The capitalised hyphenated name that holds the span and more (« Bas-Gers-Maritime »
        around « Gers »), or "". Known compound names (« Charente-Maritime ») were read whole
        before their parts, so such a name is none of the places it contains."""
        span_start, span_end = self.tokens[start].start, self.tokens[end - 1].end
        for match in HYPHENATED_NAME.finditer(self.text):
            if match.start() <= span_start and span_end <= match.end():
                longer = (match.start(), match.end()) != (span_start, span_end)
                return match.group() if longer and match.group()[:1].isupper() else ""
        return ""

    def followed_by_unit(self, index: int) -> bool:
        token = self.tokens[index]
        rest = self.text[token.end : token.end + 2].lstrip()
        if rest[:1] in ("€", "%", "$"):
            return True
        following = self.tokens[index + 1].norm if index + 1 < len(self.tokens) else ""
        return following in MONTHS or following in UNITS

    def followed_by_month(self, index: int) -> bool:
        return index + 1 < len(self.tokens) and self.tokens[index + 1].norm in MONTHS

    def only_content(self, start: int, end: int) -> bool:
        return all(start <= index < end for index in self.content)

    def number_context(self, start: int, end: int, codes: tuple[str, ...]) -> bool:
        """Numbers in context: "le 63", "dans le 13", "(63)", "département 974"; 2A, 974 anywhere."""
        norm = self.tokens[start].norm
        if norm in ("2a", "2b") or (len(norm) == 3 and codes[0].startswith("97")):
            return True
        if self.only_content(start, end) and (len(norm) >= 2 or len(self.tokens) == 1):
            return True  # « 63 » alone, « contact 63 »; but « c quoi 1 AMI » is not the Ain
        before = self.text[: self.tokens[start].start].rstrip()
        after = self.text[self.tokens[end - 1].end :].lstrip()
        if before.endswith("(") and after.startswith(")"):
            return True
        return self.prev(start) in NUMBER_CONTEXT

    def name_context(self, start: int, end: int, level: str, population: int = 0) -> bool:
        """Whether a name found in a sentence is meant as a place (see the module docstring)."""
        words = self.tokens[start:end]
        word_start = start
        if len(words) > 1 and words[0].norm in ARTICLES:
            words = words[1:]
            word_start += 1
        if len(words) > 1:
            return True
        if self.only_content(start, end):
            # « on y bosse »: a lone ordinary word in lower case is not a small commune's name;
            # written with a capital, even first (« Ussel », « Ussel plus précisément »), it is,
            # unless the commune is so small that a word is likelier (« Aucun », 250 people).
            written_as_name = words[0].capitalized or (
                words[0].raw[:1].isupper() and population >= NAMED_COMMUNE_POPULATION
            )
            return not (
                level == "commune"
                and population < TOWN_POPULATION
                and not written_as_name
                and self.is_common_word(words[0].norm)
            )
        word = words[0]
        capital = word.capitalized and word_start > 0
        if level == "commune":
            if word.norm in IGNORED_WORDS:
                return False
            if capital or self.heads_the_message(word_start, population >= TOWN_POPULATION):
                return True
            before = self.prev(start)
            if self.after_unaccented_a(start) and self.is_common_word(word.norm):
                # « il y en a eu combien », « a+ bonne journée »: the verb, not « à »; a town
                # this small written in lower case is not meant (« a tulle » still is Tulle)
                return population >= TOWN_POPULATION
            if before in ("de", "d") and self.prev(start, 2) in STRUCTURE_WORDS:
                return True  # « le CCAS de tulle »
            if before in WEAK_COMMUNE_CONTEXT and self.is_common_word(word.norm):
                return False  # « du quartier », « de charge »: ordinary words, not Le Quartier
            return before in COMMUNE_CONTEXT
        if word.norm not in COMMON_WORD_NAMES:
            return True
        return capital or self.about_service or self._strong_departement_context(start)

    def heads_the_message(self, index: int, town: bool = False) -> bool:
        """A capitalised first word that heads the message like a label, the subject of an
        inverted question or a topic: « Mamoudzou : quel service… », « Sichamps — le
        département… », « Murat est-il déjà… », « Riom c'est déjà dans le SPIE ? ». An ordinary
        word before a colon (« Objet : … ») is not a name, unless it names a town (« Valence — »)."""
        token = self.tokens[index]
        if index > 0 or not token.raw[:1].isupper():
            return False
        if index + 1 < len(self.tokens) and INVERTED_VERB.match(
            self.text[self.tokens[index + 1].start :]
        ):
            return True  # a surname in the dictionary (« Murat ») is a subject here all the same
        after = self.text[token.end :].lstrip(" \t")
        if after[:1] in (":", "—", "–") or TOPIC_THEN_COMMENT.match(after):
            return town or not self.is_common_word(token.norm)
        return False

    def after_unaccented_a(self, index: int) -> bool:
        """The word before is « a » written without its accent (« à » folds to « a » too)."""
        return index > 0 and self.tokens[index - 1].raw.lower() == "a"

    def departement_context(self, start: int, end: int | None = None) -> bool:
        """Whether a département or région name is meant rather than a homonym commune:
        « dans la Vienne », « du Var », « en Bretagne », « l'Allier », « Allier » alone; not
        « à Vienne » or « pour Vienne »."""
        before = [self.prev(start, back) for back in (1, 2)]
        if before[0] in DEPARTEMENT_CONTEXT or (
            before[0] in ARTICLES | {"de", "d"} and before[1] in DEPARTEMENT_CONTEXT
        ):
            return True
        if self.tokens[start].norm in ARTICLES:
            return True  # « l'Allier », « à La Réunion »: the homonym communes are offered
        if before[0] in COMMUNE_ONLY_CONTEXT:
            return False
        return end is not None and self.only_content(start, end)

    def _strong_departement_context(self, start: int) -> bool:
        before = self.prev(start)
        if before in ("du", "departement", "dep", "dept", "dpt"):
            return True
        return before in ARTICLES and self.prev(start, 2) == "dans"

    def typo_context(self, start: int, end: int, near: Sequence[str]) -> bool:
        """A one-word typo of a common-word name ("centres", "sommes") needs a strong context."""
        if end - start > 1 or not any(strip_article(k) in COMMON_WORD_NAMES for k in near):
            return True
        token = self.tokens[start]
        capital = token.capitalized and start > 0
        return capital or self.about_service or self._strong_departement_context(start)

    def typo_span_allowed(self, start: int, end: int) -> bool:
        tokens = self.tokens[start:end]
        if tokens[0].norm in IGNORED_WORDS or tokens[-1].norm in IGNORED_WORDS:
            return False
        if all(self.is_common_word(token.norm) for token in tokens):
            return False  # ordinary words (« entre eux »), not a misspelt name (Entre-Deux)
        if any(not token.norm.isalpha() for token in tokens):
            return False
        if all(self.claimed[start:end]):
            return False
        for hit in self.hits:  # may only extend an exact commune name, never cut one
            overlaps = hit.start < end and start < hit.end
            if overlaps and not (
                start <= hit.start and hit.end <= end and end - start > hit.end - hit.start
            ):
                return False
        if end - start > 1 or self.only_content(start, end):
            return True
        token = tokens[0]
        if (token.capitalized and start > 0) or self.prev(start) in COMMUNE_CONTEXT:
            return True
        return self.prev(start) in ARTICLES and self.prev(start, 2) in ("dans", "de", "a", "du")


# --- helpers ----------------------------------------------------------------------------------


def _departement_number(norms: Sequence[str]) -> tuple[str, ...] | None:
    """Département codes written as numbers: "63", "1", "2A", "2 a", "20" (both Corsicas), "974"."""
    text = "".join(norms)
    if text in ("2a", "2b"):
        return (text.upper(),)
    if not text.isdigit() or len(norms) != 1 or len(text) > 3:
        return None
    value = int(text)
    if value == 20:
        return ("2A", "2B")
    if len(text) == 3 and value >= 971:
        return (str(value),)
    if 1 <= value <= 95 and len(text) <= 2:
        return (f"{value:02d}",)
    return ("",) if value or len(text) == 2 else None  # « 96 », « 00 »: no such département


def _unknown_hit(reason: str) -> _Hit:
    return _Hit(0, 0, 0, [], reason=reason)


def _narrow_or_extend(
    selected: list[PlaceCandidate], others: Sequence[PlaceCandidate]
) -> list[PlaceCandidate]:
    """Keep the départements two mentions agree on ("Moulins, Allier" → 03); else list both."""
    other_codes = {candidate.dep_code for candidate in others}
    narrowed = [candidate for candidate in selected if candidate.dep_code in other_codes]
    if narrowed:
        if len(others) < len(selected):  # the more specific mention explains the match
            kept = {candidate.dep_code for candidate in narrowed}
            return [candidate for candidate in others if candidate.dep_code in kept]
        return narrowed
    codes = {candidate.dep_code for candidate in selected}
    return selected + [candidate for candidate in others if candidate.dep_code not in codes]


def _aliases_of(aliases: dict[str, str], code: str) -> list[str]:
    return [alias for alias, alias_code in aliases.items() if alias_code == code]


def _unique(items: Iterable[T]) -> list[T]:
    seen: set[object] = set()
    result: list[T] = []
    for item in items:
        marker = item.dep_code if isinstance(item, PlaceCandidate) else item
        if marker not in seen:
            seen.add(marker)
            result.append(item)
    return result


# --- shared instance --------------------------------------------------------------------------

_resolvers: dict[str, PlaceResolver] = {}
_resolvers_lock = threading.Lock()


def get_resolver(url: str | None = None) -> PlaceResolver:
    """The resolver of the store at `url`, built on first use (raises `StoreUnavailable`)."""
    store = Store(url)
    with _resolvers_lock:
        resolver = _resolvers.get(store.url)
        if resolver is None:
            resolver = PlaceResolver.from_store(store)
            _resolvers[store.url] = resolver
        return resolver


def clear_resolver_cache() -> None:
    with _resolvers_lock:
        _resolvers.clear()
