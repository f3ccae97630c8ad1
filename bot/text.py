"""Text normalisation shared by the resolver, the rules and the actions."""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "´": "'"})
_SPACES = re.compile(r"\s+")
_LINE_SPACES = re.compile(r"[^\S\n]+")  # white space but line breaks
_LINE_BREAKS = re.compile(r"\s*\n\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def fold(text: str) -> str:
    """Lower case, no accents, straight apostrophes, single spaces: the key used for matching."""
    text = strip_accents(text.translate(_APOSTROPHES)).lower()
    text = text.replace("œ", "oe").replace("æ", "ae")
    return _SPACES.sub(" ", text).strip()


def clean_user_text(text: str, max_chars: int) -> tuple[str, bool]:
    """Remove control characters and collapse spaces (line breaks kept); cut at `max_chars`.

    Returns the cleaned text and whether it was cut.
    """
    # Line breaks are kept (one at a time): they separate a greeting, a question and a signature.
    text = _LINE_BREAKS.sub("\n", _LINE_SPACES.sub(" ", _CONTROL.sub(" ", text))).strip()
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars].rstrip(), True


_CODE_CHARACTERS = set("{}[]();<>=*$#|\\`^~")
_CODE_SHARE = 0.08
_CODE_WORDS = re.compile(
    r"(?i)\b(?:select\s.+\sfrom|drop\s+table|insert\s+into|delete\s+from|union\s+select"
    r"|function\s*\(|console\.log|<\s*script|import\s+\w+|def\s+\w+\s*\(|echo\s+\$"
    r"|\b[a-z_]+\((?:['\"]|\)))|^\s*[\[{].*[\]}]\s*$"
    # a lone programming value, a shell command with an option or a path (not « cd 03 »)
    r"|^\s*(?:null|undefined|nan|none|nil|true|false)\s*$"
    r"|^\s*(?:ls|rm|sudo|grep|curl|wget|chmod|mkdir|cat)\s+(?:-{1,2}\w|/|~)"
)


# A web or an e-mail address: never a place (bot/places/resolver.py), never split into sentences
# at its dots (bot/understanding/message_focus.py), nothing to classify when alone.
LINK = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+|(?:https?://|www\.)\S+"
LINK_PATTERN = re.compile(LINK, re.IGNORECASE)
# A link or an address alone, a lone letter (« k »): nothing to classify either.
_ONLY_LINK = re.compile(rf"^\s*(?:{LINK})\s*$", re.IGNORECASE)
_LONE_LETTER = re.compile(r"^\W*[^\W\d_]\W*$")


def is_noise(text: str) -> bool:
    """No words at all (emoji, punctuation), code, a link alone or a lone letter: not a
    question to classify."""
    if not any(char.isalnum() for char in text):
        return True
    if _ONLY_LINK.match(text) or _LONE_LETTER.match(text):
        return True
    symbols = sum(char in _CODE_CHARACTERS for char in text)
    return symbols >= max(3, _CODE_SHARE * len(text)) or bool(_CODE_WORDS.search(text))
