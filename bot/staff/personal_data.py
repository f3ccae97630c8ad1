"""Personal data in a user's message: found before the message is written anywhere staff commit.

`bot review` writes user messages into the training data (`data/nlu/`) and into the review files
(`review/`); both are committed, so an e-mail address, a phone number or a name must never reach
them. `find_personal_data` says what a text contains; `mask_personal_data` replaces each piece
with « … » (the review files keep a readable text, the training data gets only what staff confirm).
"""

from __future__ import annotations

import functools
import re

from bot.understanding.message_focus import signature_start

MASK = "…"
_NAME = r"[A-ZÀ-ÖØ-Þ][\w'’-]+|[a-zà-öø-ÿ][\w'’-]+"
_PATTERNS: dict[str, re.Pattern[str]] = {
    "adresse e-mail": re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # 06 12 34 56 78, 06.12.34.56.78, +33 6 12 34 56 78, 0033612345678
    "numéro de téléphone": re.compile(r"(?<!\d)(?:\+33|0033|0)\s?[1-9](?:[\s.-]?\d{2}){4}(?!\d)"),
    # A social security number, an IBAN, a SIRET: any long run of digits.
    "long numéro": re.compile(r"(?<!\d)\d(?:[\s.]?\d){8,}(?!\d)"),
    # « je m'appelle Marie Dupont », « mon nom est Dupont », « moi c'est Marie »
    "nom": re.compile(
        r"(?i:\b(?:je\s+m['’]\s*appelle|je\s+me\s+nomme|mon\s+(?:nom|prénom|prenom)\s+(?:est|c['’]est)"
        rf")\s+)(?:{_NAME})(?:\s+[A-ZÀ-ÖØ-Þ][\w'’-]+)*"
        r"|(?i:\bmoi\s+c['’]est\s+)[A-ZÀ-ÖØ-Þ][\w'’-]+(?:\s+[A-ZÀ-ÖØ-Þ][\w'’-]+)*"
    ),
    # « Madame Durand », « M. Martin », « Mme Petit »
    "nom après une civilité": re.compile(
        r"\b(?:Madame|Monsieur|Mademoiselle|Mme|Mlle|M\.)\s+[A-ZÀ-ÖØ-Þ][\w'’-]+(?:\s+[A-ZÀ-ÖØ-Þ][\w'’-]+)*"
    ),
}
_LEAD_WORDS = re.compile(
    r"(?i)^(?:je\s+m['’]\s*appelle|je\s+me\s+nomme|mon\s+(?:nom|prénom|prenom)\s+(?:est|c['’]est)"
    r"|moi\s+c['’]est)\s+"
)


def find_personal_data(text: str) -> list[str]:
    """The kinds of personal data in `text` (« adresse e-mail », « nom »…), in a stable order."""
    kinds = [kind for kind, pattern in _PATTERNS.items() if pattern.search(text)]
    if "numéro de téléphone" in kinds and "long numéro" in kinds:  # the same digits, said once
        kinds.remove("long numéro")
    if _signed(text):
        kinds.append("signature")
    return kinds


def _signed(text: str) -> bool:
    """A closing formula followed by a name (« Cordialement, Marie »), not a bare « merci »."""
    start = signature_start(text)
    if start is None:
        return False
    words = re.findall(r"[\w'’-]+", text[start:])
    return any(word[:1].isupper() for word in words[1:])


def mask_personal_data(text: str) -> str:
    """`text` with every piece of personal data replaced by « … » (the lead words of a name kept:
    « je m'appelle … »), and the signature removed."""
    if _signed(text):
        text = text[: signature_start(text)].rstrip(" ,;\n")
    for kind, pattern in _PATTERNS.items():
        text = pattern.sub(functools.partial(_masked_match, kind), text)
    return text


def _masked_match(kind: str, match: re.Match[str]) -> str:
    return _masked(kind, match.group(0))


def _masked(kind: str, found: str) -> str:
    if kind == "nom":
        lead = _LEAD_WORDS.match(found)
        return f"{lead.group(0) if lead else ''}{MASK}"
    if kind == "nom après une civilité":
        return f"{found.split()[0]} {MASK}"
    return MASK
