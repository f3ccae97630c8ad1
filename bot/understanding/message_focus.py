"""The part of a long message that carries the question.

People write to the assistant as they write e-mails: a greeting, who they are (« je suis chargée
de mission dans une association à Saint-Étienne »), the question, thanks and a signature. The
introduction must not decide the topic (« association » made « Qui peut candidater ? » win over
« qui contacter ? »). `focus` keeps the sentences that ask something; the NLU then classifies
those, while the places are still read in the whole message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.text import fold

# Sentences end at . ! ? … or a line break; "?" stays with its sentence.
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*", re.UNICODE)
_GREETING = re.compile(
    r"^(?:(?:bonjour|bonsoir|hello|salut|coucou|bjr|slt|cher|chere|chers|madame|monsieur|mesdames"
    r"|messieurs|mme|mr|m|a tous|a toutes|a vous|tout le monde)\b[\s,;:!.-]*)+"
)
_CLOSING = re.compile(
    r"^(?:bien )?(?:cordialement|cdlt|cdt|bien a vous|sinceres salutations|salutations|merci"
    r"|en vous remerciant|dans l attente|bonne journee|belle journee|bonne soiree|a bientot"
    r"|je reste a (?:votre|ta) disposition|--)"
)
_IDENTITY = re.compile(
    r"^(?:je suis|je m appelle|moi c est|nous sommes|on est|je travaille|nous travaillons"
    r"|j interviens|nous intervenons|je represente|je me permets|je vous ecris|je vous contacte"
    r"|ici|mon association|notre association|ma structure|notre structure|mon organisme"
    r"|notre organisme|notre collectivite|ma collectivite)\b"
)
_ASKING = re.compile(
    r"\b(?:est ce|puis je|peut on|pouvons nous|pourriez|pourrais|pouvez|peux tu|comment|quand|qui"
    r"|quel|quels|quelle|quelles|ou|combien|pourquoi|savoir|voudrais|aimerais|souhaite|souhaiterais"
    r"|cherche|besoin|faut il|faut|dois je|doit on|y a t il|existe t il|c est quoi|qu est ce)\b"
)
_SIGNATURE_WORDS = 4
MIN_FOCUS_WORDS = 3
MIN_SELF_CONTAINED_WORDS = 5  # a question shorter than this keeps the sentence before it  # a last line of a few capitalised words is a name or a title


@dataclass(frozen=True)
class Focus:
    text: str  # what the classifiers should read
    other_questions: tuple[str, ...] = ()  # further questions of the same message


def sentences(text: str) -> list[tuple[int, str]]:
    """The sentences of `text` with their start offsets."""
    found = []
    for match in _SENTENCE.finditer(text):
        sentence = match.group()
        if sentence.strip(" \t,;:-"):
            start = match.start() + len(sentence) - len(sentence.lstrip())
            found.append((start, sentence.strip()))
    return found


def _key(sentence: str) -> str:
    return " ".join(re.findall(r"[a-z0-9?]+", fold(sentence).replace("'", " ")))


def _is_question(sentence: str) -> bool:
    return "?" in sentence or bool(_ASKING.search(_key(sentence)))


def _is_closing(sentence: str) -> bool:
    return bool(_CLOSING.match(_key(sentence))) and not _is_question(sentence)


def _is_name_line(sentence: str) -> bool:
    words = sentence.split()
    return len(words) <= _SIGNATURE_WORDS and all(w[:1].isupper() for w in words if w.isalpha())


def signature_start(text: str) -> int | None:
    """Where the closing formula and signature begin (« Cordialement, Marie »), if anywhere.

    A last line of a few capitalised words after other sentences is a signature too.
    """
    parts = sentences(text)
    for start, sentence in parts:
        if _is_closing(sentence):
            return start
    if len(parts) > 1 and "?" not in parts[-1][1] and _is_name_line(parts[-1][1]):
        return parts[-1][0]
    return None


def _without_greeting(sentence: str) -> str:
    """« Bonjour Madame, qui peut candidater ? » → « qui peut candidater ? »."""
    match = _GREETING.match(fold(sentence))
    if not match or match.end() == 0:
        return sentence
    return sentence[match.end() :].strip()  # fold keeps the length of plain Latin text


def _without_introduction(sentence: str) -> str:
    """« Je suis une association à Lyon, qui contacter ? » → « qui contacter ? »."""
    if not _IDENTITY.match(_key(sentence)):
        return sentence
    for separator in (",", " et ", ";", ":"):
        head, found, tail = sentence.partition(separator)
        if found and tail.strip() and _is_question(tail):
            return tail.strip()
    return "" if not _is_question(sentence) else sentence


_REFUSAL = re.compile(r"\b(?:pas|plus|jamais|ni|aucun|aucune)\b")
_ONLY = re.compile(r"\b(?:juste|simplement|seulement|uniquement|plutot)\b")
_CLAUSE_BREAK = re.compile(r"[,;:]|\bmais\b")


def _without_refusal(sentence: str) -> str:
    """« pas besoin de contact, juste la date » → « juste la date »: what the person does not
    want names a subject too (the contact, the test), and must not decide the answer."""
    key = fold(sentence)
    if len(key) != len(sentence):  # fold keeps the length of plain Latin text only
        return sentence
    for match in _CLAUSE_BREAK.finditer(key):
        head, tail = key[: match.start()], key[match.end() :]
        if _REFUSAL.search(head) and _ONLY.search(tail):
            return sentence[match.end() :].strip()
    return sentence


def focus(text: str) -> Focus | None:
    """The question part of `text`, or None when the whole message is the question."""
    end = signature_start(text)
    kept: list[str] = []
    for _, sentence in sentences(text[:end] if end is not None else text):
        sentence = _without_refusal(_without_introduction(_without_greeting(sentence)))
        if sentence.strip(" ,;:-"):
            kept.append(sentence)
    if not kept:
        return None
    questions = [sentence for sentence in kept if _is_question(sentence)]
    if questions:
        # The question decides; a very short one (« Comment faire ? ») keeps the sentence before.
        first = kept.index(questions[0])
        short = len(questions[0].split()) < MIN_SELF_CONTAINED_WORDS and first > 0
        focused = " ".join(kept[first - 1 : first + 1]) if short else questions[0]
        others = tuple(q for q in questions[1:] if "?" in q)
    else:
        focused, others = " ".join(kept), ()
    if focused.strip() == text.strip():
        return None
    if len(focused.split()) < MIN_FOCUS_WORDS and not _is_question(focused):
        return None  # « salut ça va » is small talk as a whole, not « ça va »
    return Focus(focused, others)


_FOLLOW_UP = re.compile(
    r"^(?:et|mais|donc|pareil|idem|meme)\b|\baussi\b"
    r"|\b(?:redonner|redonnez|repeter|repetez|redire|redites)\b"  # say it again
)


def is_follow_up(text: str) -> bool:
    """« et les CCAS aussi ? », « et le deuxième ? », « même la CAF ? », « donc c'est fini ? »: a
    question that leans on the one before."""
    return bool(_FOLLOW_UP.search(fold(text).replace("'", " ")))


_GOODBYE = re.compile(
    r"\b(?:au revoir|bye|bonne (?:journee|soiree|fin de journee)|a bientot|adieu)\b"
)


def says_goodbye(text: str) -> bool:
    """« Non, rien d'autre. Au revoir. »: the person takes leave."""
    return bool(_GOODBYE.search(fold(text).replace("'", " ")))
