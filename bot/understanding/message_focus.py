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

from bot.text import LINK_PATTERN, fold

# Sentences end at . ! ? … or a line break; "?" stays with its sentence.
_SENTENCE = re.compile(r"[^.!?…\n]+[.!?…]*", re.UNICODE)
_GREETING = re.compile(
    r"^(?:(?:bonjour|bonsoir|hello|salut|coucou|bjr|slt|cher|chere|chers|madame|monsieur|mesdames"
    r"|messieurs|mme|mr|m|a tous|a toutes|a vous|tout le monde)\b[\s,;:!.-]*)+"
)
_THANKS = re.compile(
    r"^(?:merci|je (?:voulais|tenais a|tiens a|souhaitais) (?:juste |simplement |seulement )?"
    r"(?:vous |te )?(?:dire merci|remercier)|un (?:grand|immense|enorme|gros) merci)"
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
# « Est-ce possible pour une structure… ? »: the question is about the sentence before it.
_POINTS_BACK = re.compile(
    r"^(?:est ce (?:possible|envisageable|faisable|autorise|permis|jouable)"
    r"|c est (?:possible|envisageable|faisable|autorise|permis|jouable)"
    r"|(?:cela|ceci|ca) (?:est il|est elle|serait il|est|serait) (?:possible|envisageable|faisable"
    r"|autorise|permis))\b"
)
# « Pouvez-vous me dire ce qu'il en est ? », « Est-ce la même structure ? », « à qui doit-on le
# transmettre ? »: a question whose subject is in the sentences before it.
_LEANS_ON_BEFORE = re.compile(
    r"\b(?:de quoi il s agit|de quoi s agit il|ce qu il en est|qu en est il|ce que c est"
    r"|(?:est ce|c est) (?:bien |vraiment )?(?:exact|vrai|juste|le cas)"
    r"|(?:est ce|c est) (?:bien )?(?:la|le|les) memes?"
    r"|(?:(?:on|je|nous|vous)(?: (?:dois|doit|devons|devez|peux|peut|pouvons|pouvez|vais|va"
    r"|allons|allez))?|doit on|dois je|devons nous|peut on|puis je|faut il|faut) (?:le|la|les|l) "
    r"(?:transmet|envoi|envoy|depos|adress|remet|rend|soumet)[a-z]*)\b"
)
LEAN_BACK_SENTENCES = 2  # how far back such a question looks for its subject
_ANNOUNCED = re.compile(
    r"\b(?:ma|notre|une|la) (?:question|demande)(?: est| serait)?(?: donc| tres| assez)?"
    r"(?: simple| la suivante| celle ci| courte| rapide)?\s*:"
)
_SIGNATURE_WORDS = 4
MIN_FOCUS_WORDS = 3
MIN_SELF_CONTAINED_WORDS = 5  # a question shorter than this keeps the sentence before it  # a last line of a few capitalised words is a name or a title


@dataclass(frozen=True)
class Focus:
    text: str  # what the classifiers should read
    other_questions: tuple[str, ...] = ()  # further questions of the same message


def sentences(text: str) -> list[tuple[int, str]]:
    """The sentences of `text` with their start offsets. The dots of a web or e-mail address
    end no sentence (« https://www.x.gouv.fr/ » is one piece, not four)."""
    shielded = LINK_PATTERN.sub(lambda link: "_" * len(link.group()), text)
    found = []
    for match in _SENTENCE.finditer(shielded):
        sentence = text[match.start() : match.end()]
        if sentence.strip(" \t,;:-"):
            start = match.start() + len(sentence) - len(sentence.lstrip())
            found.append((start, sentence.strip()))
    return found


def _key(sentence: str) -> str:
    return " ".join(re.findall(r"[a-z0-9?]+", fold(sentence).replace("'", " ")))


def is_question(sentence: str) -> bool:
    """A « ? » or a word that asks (« qui », « quand », « je voudrais savoir »)."""
    return "?" in sentence or bool(_ASKING.search(_key(sentence)))


def _is_closing(sentence: str) -> bool:
    key = _key(sentence)
    return bool(_CLOSING.match(key) or _THANKS.match(key)) and not is_question(sentence)


def _is_name_line(sentence: str) -> bool:
    words = sentence.split()
    return len(words) <= _SIGNATURE_WORDS and all(w[:1].isupper() for w in words if w.isalpha())


def signature_start(text: str) -> int | None:
    """Where the closing formula and signature begin (« Cordialement, Marie »), if anywhere.

    A last line of a few capitalised words after other sentences is a signature too.
    """
    parts = sentences(text)
    for index, (start, sentence) in enumerate(parts):
        # Thanks before a question (« Merci pour ces éléments. Où lire le texte ? ») open the
        # message; a closing has no question after it.
        if _is_closing(sentence) and not any("?" in later for _, later in parts[index + 1 :]):
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
        if found and tail.strip() and is_question(tail):
            return tail.strip()
    return "" if not is_question(sentence) else sentence


_REFUSAL = re.compile(r"\b(?:pas|plus|jamais|ni|aucun|aucune)\b")
_ONLY = re.compile(r"\b(?:juste|simplement|seulement|uniquement|plutot)\b")
# « …, je veux savoir ce que le projet doit contenir », « …, je voudrais faire le test »
_WANT = re.compile(
    r"^\s*(?:(?:je|on|nous) |j')(?:veux|veut|voulons|voudrais|voudrait|voudrions|cherche|cherchons"
    r"|souhaite|souhaitons|souhaiterais|souhaiterait|demande|demandons|aimerais|aimerait|aimerions)\b"
)
# « …, seulement de ceux qui sont obligatoires »: the wanted part leans on the refused one.
_BACK_REFERENCE = re.compile(r"\b(?:ceux|celles|celui|celle)\b")
_CLAUSE_BREAK = re.compile(r"[,;:]|\bmais\b")
_BUT = re.compile(r"^[\s,;:]*mais\b")  # « pas X, mais Y »: Y is what is wanted
# « Pas besoin de me redire qui peut candidater. Quels partenaires… ? »: a sentence that only
# says what is not wanted asks nothing.
_REFUSAL_SENTENCE = re.compile(
    r"^(?:pas besoin|inutile de|pas la peine|je n ai pas besoin|je ne (?:veux|demande|cherche)"
    r" pas|je ne vous demande pas|ne me (?:parlez|dites|redites|redonnez) pas)\b"
)


def _without_refusal(sentence: str) -> str:
    """« pas besoin de contact, juste la date » → « juste la date »: what the person does not
    want names a subject too (the contact, the test), and must not decide the answer. The whole
    sentence stays when the wanted part only points back (« pas les facultatifs, seulement ceux
    qui sont obligatoires »)."""
    key = fold(sentence)
    if len(key) != len(sentence):  # fold keeps the length of plain Latin text only
        return sentence
    for match in _CLAUSE_BREAK.finditer(key):
        head, tail = key[: match.start()], key[match.end() :]
        # « je ne veux pas savoir X, mais Y » (not « nous ne sommes pas X, mais Y »)
        but_wanted = _BUT.match(key[match.start() :]) and _REFUSAL_SENTENCE.match(_key(head))
        wanted = _ONLY.search(tail) or _WANT.match(tail) or but_wanted
        if _REFUSAL.search(head) and wanted and not _BACK_REFERENCE.search(tail):
            return sentence[match.end() :].strip()
    return sentence


def _announced_question(text: str) -> str:
    """« …, et du coup ma question est simple : qui est obligatoire ? » → what follows the
    announcement (a long story before it must not decide the subject); else `text`."""
    key = fold(text)
    if len(key) != len(text):
        return text
    announcements = list(_ANNOUNCED.finditer(key))
    if not announcements:
        return text
    question = text[announcements[-1].end() :].strip()  # the last one introduces the question
    return question or text


def _closing_thanks(text: str, end: int | None) -> Focus | None:
    """« Bonjour, merci pour ces éléments très clairs. Cordialement, Marion »: a greeting, thanks
    and a signature only; the thanks is the message (read with the greeting, it was unclear)."""
    if end is None:
        return None
    closing = sentences(text[end:])[:1]
    if closing and _THANKS.match(_key(closing[0][1])) and closing[0][1] != text.strip():
        # « Je voulais vous dire merci : vos réponses sur le calendrier… »: the thanks, not what
        # it thanks for.
        return Focus(closing[0][1].split(":")[0].strip())
    return None


def focus(text: str) -> Focus | None:
    """The question part of `text`, or None when the whole message is the question."""
    end = signature_start(text)
    kept: list[str] = []
    body = _announced_question(text[:end] if end is not None else text)
    for _, sentence in sentences(body):
        sentence = _without_refusal(_without_introduction(_without_greeting(sentence)))
        if sentence.strip(" ,;:-"):
            kept.append(sentence)
    if not kept:
        return _closing_thanks(text, end)
    questions = [sentence for sentence in kept if is_question(sentence)]
    asking = [q for q in questions if not _REFUSAL_SENTENCE.match(_key(q)) or "?" in q]
    questions = asking or questions
    if questions:
        # The question decides; a very short one (« Comment faire ? ») keeps the sentence before,
        # one whose subject is before it (« de quoi s'agit-il ? ») the two sentences before.
        first = kept.index(questions[0])
        key = _key(questions[0])
        back = 0
        if _LEANS_ON_BEFORE.search(key):
            back = LEAN_BACK_SENTENCES
        elif len(questions[0].split()) < MIN_SELF_CONTAINED_WORDS or _POINTS_BACK.match(key):
            back = 1
        focused = " ".join(kept[max(first - back, 0) : first + 1])
        others = tuple(q for q in questions[1:] if "?" in q)
    else:
        focused, others = " ".join(kept), ()
    if focused.strip() == text.strip():
        return None
    if len(focused.split()) < MIN_FOCUS_WORDS and not is_question(focused):
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
