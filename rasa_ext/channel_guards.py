"""What every public channel (REST, socket.io) guarantees, in one place.

- the request: size (`MAX_REQUEST_BYTES`, enforced by Sanic and engine.io before any parsing),
  JSON nesting, conversation id, message id, `metadata` size: refused with a French sentence;
- the message: cut at `MAX_MESSAGE_CHARS` with a French note, empty → a French reply, no NLU;
- the turn: `TURN_TIMEOUT_SECONDS` at most, a French reply with the general contact route when it
  fails or says nothing, played once per (conversation, message id) (`rasa_ext/turns.py`);
- browsers: Origin compared exactly with `ALLOWED_ORIGINS` (socket.io; REST uses Rasa's `--cors`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import allowed_origins as configured_origins
from bot.config import max_message_chars, settings
from bot.text import clean_user_text
from bot.understanding.message_focus import focus
from rasa_ext.turns import turn_records

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128
SENDER_PATTERN = re.compile(r"[\w.:@-]+")  # always used with fullmatch (no trailing newline)
MESSAGE_ID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")
MAX_JSON_DEPTH = 8  # the body itself is 1 level; metadata gets the rest
MAX_METADATA_CHARS = 2000  # metadata is stored with every event of the tracker
ANNUAIRE_URL = "https://lannuaire.service-public.gouv.fr"

MAX_OTHER_QUESTIONS = 3
OTHER_QUESTIONS = "Vous posiez aussi une autre question : choisissez-la pour que j'y réponde."
EMPTY_MESSAGE = "Votre message est vide. Posez-moi une question sur l'AMI SPIE, par exemple « Qui peut candidater ? »."
TOO_LONG_NOTE = (
    "Votre message était très long : je n'en ai lu que les {limit} premiers caractères. "
    "Pour une réponse précise, posez une question courte."
)
UNAVAILABLE = (
    "Je ne peux pas vous répondre pour le moment : un service est momentanément indisponible. "
    "Réessayez dans quelques instants. Pour joindre les services de l'État de votre département : "
    f"{ANNUAIRE_URL}"
)
BODY_TOO_LARGE = (
    "La requête est trop volumineuse (au plus {limit} Kio). Envoyez une question plus courte."
)
TOO_DEEP = f"Le corps de la requête est trop imbriqué (au plus {MAX_JSON_DEPTH} niveaux)."
ORIGIN_REFUSED = (
    "Ce site n'est pas autorisé à utiliser l'assistant. "
    "Son administrateur doit ajouter son origine à ALLOWED_ORIGINS."
)


class BadRequest(ValueError):
    """The request cannot be processed; the message is shown to the client (French)."""


@dataclass(frozen=True)
class Incoming:
    """A validated user message, whatever the channel."""

    sender: str
    message: Any
    message_id: str | None = None
    metadata: dict[str, Any] | None = None


def parse_body(raw: bytes) -> Incoming:
    """The REST body `{"sender", "message", "message_id"?, "metadata"?}`, or BadRequest."""
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest("Le corps de la requête doit être un objet JSON valide.") from error
    except RecursionError as error:  # deeper than Python's parser goes: never a 500
        raise BadRequest(TOO_DEEP) from error
    if not isinstance(body, dict):
        raise BadRequest(
            'Le corps de la requête doit être un objet JSON : {"sender": …, "message": …}.'
        )
    return incoming_from(body, body.get("sender"), "sender")


def incoming_from(data: dict[str, Any], conversation_id: Any, field: str) -> Incoming:
    """Validate a decoded message (REST body or socket.io `user_uttered` data)."""
    if json_depth(data) > MAX_JSON_DEPTH:
        raise BadRequest(TOO_DEEP)
    return Incoming(
        sender=valid_conversation_id(conversation_id, field),
        message=data.get("message"),
        message_id=valid_message_id(data.get("message_id")),
        metadata=valid_metadata(data.get("metadata")),
    )


def valid_conversation_id(value: Any, field: str = "sender") -> str:
    if not isinstance(value, str) or not value.strip():
        raise BadRequest(f"Le champ « {field} » (identifiant de conversation) est obligatoire.")
    if len(value) > MAX_SENDER_CHARS or not SENDER_PATTERN.fullmatch(value):
        raise BadRequest(
            f"Le champ « {field} » doit faire au plus {MAX_SENDER_CHARS} caractères "
            "(lettres, chiffres, « _ », « - », « . », « : », « @ »)."
        )
    return value


def valid_message_id(value: Any) -> str | None:
    """The client's id of this message (optional): the same id again is not played twice."""
    if value is None:
        return None
    if not isinstance(value, str) or not MESSAGE_ID_PATTERN.fullmatch(value):
        raise BadRequest(
            "Le champ « message_id » doit faire de 1 à 64 caractères "
            "(lettres sans accent, chiffres, « _ », « - »)."
        )
    return value


def valid_metadata(value: Any) -> dict[str, Any] | None:
    """Metadata is kept only when it is a small object (it is stored with the conversation)."""
    if isinstance(value, str):  # socket.io clients may send it as JSON text (Rasa decodes it)
        try:
            value = json.loads(value)
        except ValueError:
            return None  # not an object: ignored, like any other non-object metadata
        except RecursionError as error:
            raise BadRequest(TOO_DEEP) from error
        if json_depth(value) > MAX_JSON_DEPTH:
            raise BadRequest(TOO_DEEP)
    if value is None:
        return None
    if len(json.dumps(value, ensure_ascii=False)) > MAX_METADATA_CHARS:
        raise BadRequest(
            f"Le champ « metadata » est trop volumineux (au plus {MAX_METADATA_CHARS} caractères)."
        )
    return value if isinstance(value, dict) else None


def json_depth(value: Any) -> int:
    """Nesting depth of decoded JSON (a scalar is 0), without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            depth += 1
            deepest = max(deepest, depth)
            if depth > MAX_JSON_DEPTH:
                return depth  # enough to refuse; do not walk the rest
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth) for child in children)
    return deepest


def message_text(message: Any) -> str:
    """The message as text: numbers become text, other types count as empty."""
    if isinstance(message, str):
        return message
    if isinstance(message, (int, float)) and not isinstance(message, bool):
        return str(message)
    return ""


def bot_message(sender: str, text: str) -> dict[str, Any]:
    return {"recipient_id": sender, "text": text}


def other_questions_offer(sender: str, text: str) -> list[dict[str, Any]]:
    """A message with several questions was answered on its first: offer the others as buttons
    (each sends the person's own question back, so it is read like a typed message)."""
    found = focus(text)
    if found is None or not found.other_questions:
        return []
    buttons = [
        {"title": question if len(question) <= 80 else question[:79] + "…", "payload": question}
        for question in found.other_questions[:MAX_OTHER_QUESTIONS]
    ]
    return [{"recipient_id": sender, "text": OTHER_QUESTIONS, "buttons": buttons}]


def describe_failure(error: Exception) -> str:
    """A log line for staff that names the failing service (never the message text).

    Rasa wraps the engines' errors (a Redis ConnectionError becomes a LockError), so the whole
    chain of causes is looked at.
    """
    chain = causes(error)
    modules = [type(cause).__module__ or "" for cause in chain]
    if any(m.startswith("redis") for m in modules):
        return f"lock store (Redis) unreachable: {type(chain[-1]).__name__}: {chain[-1]}"
    if any(m.startswith(("sqlalchemy", "psycopg2", "sqlite3")) for m in modules):
        return f"tracker store (SQL database) unreachable: {type(chain[-1]).__name__}"
    return type(error).__name__


def causes(error: BaseException) -> list[BaseException]:
    """The error followed by its causes (explicit or implicit), innermost last."""
    chain = [error]
    while len(chain) < 10:
        cause = chain[-1].__cause__ or chain[-1].__context__
        if cause is None or cause in chain:
            break
        chain.append(cause)
    return chain


OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


async def answer(on_new_message: OnNewMessage, channel: str, incoming: Incoming) -> list[dict]:
    """The bot messages answering one user message (collected, in Rasa's REST format).

    A message id seen before gets the recorded answer without playing the turn again.
    """
    text, was_cut = clean_user_text(message_text(incoming.message), max_message_chars())
    sender = incoming.sender
    if not text:
        return [bot_message(sender, EMPTY_MESSAGE)]

    async def play() -> tuple[list[dict], bool]:
        replies, completed = await play_turn(on_new_message, channel, incoming, text)
        replies.extend(other_questions_offer(sender, text))
        if was_cut:
            replies.append(bot_message(sender, TOO_LONG_NOTE.format(limit=max_message_chars())))
        return replies, completed

    return await turn_records().play_once(
        sender, incoming.message_id, play, busy=[bot_message(sender, UNAVAILABLE)]
    )


async def play_turn(
    on_new_message: OnNewMessage, channel: str, incoming: Incoming, text: str
) -> tuple[list[dict], bool]:
    """Run one turn within TURN_TIMEOUT_SECONDS: its messages, and whether it completed
    (a turn that failed or timed out was not saved by Rasa, so it may be played again)."""
    sender = incoming.sender
    collector = CollectingOutputChannel()
    message = UserMessage(
        text, collector, sender, input_channel=channel, metadata=incoming.metadata
    )
    completed = False
    try:
        timeout = settings().turn_timeout_seconds
        await asyncio.wait_for(on_new_message(message), timeout=timeout)
        completed = True
    except asyncio.TimeoutError:
        logger.error("Turn timed out after %s s (conversation %s)", timeout, sender)
    except Exception as error:  # any failure must still get an answer
        logger.error("Turn failed (conversation %s): %s", sender, describe_failure(error))
    if not collector.messages:
        return [bot_message(sender, UNAVAILABLE)], completed
    return list(collector.messages), completed


def allowed_origins() -> set[str]:
    """`ALLOWED_ORIGINS` (bot/config.py; the demo pages' by default): exact origins; `*`
    (explicit) allows any."""
    return set(configured_origins())


def origin_allowed(origin: str | None) -> bool:
    """Requests without Origin (not from a browser page) are not cross-site; others must match
    one listed origin exactly (no pattern, no prefix)."""
    if not origin:
        return True
    allowed = allowed_origins()
    return "*" in allowed or origin in allowed


def harden_app(app: Sanic) -> None:
    """Limits of the server itself, set once whichever channel registers first."""
    if getattr(app.ctx, "spie_hardened", False):
        return
    app.ctx.spie_hardened = True
    app.config.REQUEST_MAX_SIZE = app.config.WEBSOCKET_MAX_SIZE = settings().max_request_bytes
    app.error_handler.add(PayloadTooLarge, body_too_large)


def body_too_large(_: Request, __: Exception) -> HTTPResponse:
    return response.json(
        {"error": BODY_TOO_LARGE.format(limit=settings().max_request_bytes // 1024)}, status=413
    )


class HardenedBlueprint(Blueprint):
    """A channel's blueprint that sets the server's limits when it is registered."""

    def register(self, app: Sanic, options: dict[str, Any]) -> None:
        harden_app(app)
        super().register(app, options)
