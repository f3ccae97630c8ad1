"""REST channel that refuses bad input cleanly instead of failing.

Stock Rasa 3.6 answers HTTP 500 when the body is not a JSON object and passes messages of any
length to NLU (a 20,000-character message holds a server for seconds). This channel keeps the
same URL and answer format (`POST /webhooks/rest/webhook`, `{"sender", "message"}` in, a list of
bot messages out) and adds:
- 400 with a French error for a body that is not a JSON object, or a missing or invalid sender;
- a French reply, without calling NLU, for an empty message;
- messages longer than `MAX_MESSAGE_CHARS` (default 1000) cut, with a French note in the reply;
- a French reply with the general contact route when the turn fails or produces no answer
  (action server or database down, time-out) instead of silence;
- no message text in the logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.config import max_message_chars
from bot.text import clean_user_text
from bot.understanding.message_focus import focus

logger = logging.getLogger(__name__)

MAX_SENDER_CHARS = 128
SENDER_PATTERN = re.compile(r"^[\w.:@-]+$")
TURN_TIMEOUT_SECONDS = float(os.environ.get("TURN_TIMEOUT_SECONDS") or 20)
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


class BadRequest(ValueError):
    """The request cannot be processed; the message is shown to the client (French)."""


def parse_body(raw: bytes) -> tuple[str, Any, dict[str, Any] | None]:
    """Sender, message and metadata of a request body, or BadRequest."""
    try:
        body = json.loads(raw or b"")
    except (ValueError, UnicodeDecodeError) as error:
        raise BadRequest("Le corps de la requête doit être un objet JSON valide.") from error
    if not isinstance(body, dict):
        raise BadRequest(
            'Le corps de la requête doit être un objet JSON : {"sender": …, "message": …}.'
        )
    sender = body.get("sender")
    if not isinstance(sender, str) or not sender.strip():
        raise BadRequest("Le champ « sender » (identifiant de conversation) est obligatoire.")
    if len(sender) > MAX_SENDER_CHARS or not SENDER_PATTERN.match(sender):
        raise BadRequest(
            f"Le champ « sender » doit faire au plus {MAX_SENDER_CHARS} caractères "
            "(lettres, chiffres, « _ », « - », « . », « : », « @ »)."
        )
    metadata = body.get("metadata")
    return sender, body.get("message"), metadata if isinstance(metadata, dict) else None


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


class SafeRestInput(RestInput):
    """The `rest` channel with input validation (see module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                sender, message, metadata = parse_body(request.body)
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            text, was_cut = clean_user_text(message_text(message), max_message_chars())
            if not text:
                return response.json([bot_message(sender, EMPTY_MESSAGE)])
            replies = await self._handle(on_new_message, text, sender, metadata)
            replies.extend(other_questions_offer(sender, text))
            if was_cut:
                replies.append(bot_message(sender, TOO_LONG_NOTE.format(limit=max_message_chars())))
            return response.json(replies)

        return webhook

    async def _handle(
        self,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        text: str,
        sender: str,
        metadata: dict[str, Any] | None,
    ) -> list[dict[str, Any]]:
        collector = CollectingOutputChannel()
        message = UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
        try:
            await asyncio.wait_for(on_new_message(message), timeout=TURN_TIMEOUT_SECONDS)
        except asyncio.TimeoutError:
            logger.error(
                "Turn timed out after %s s (conversation %s)", TURN_TIMEOUT_SECONDS, sender
            )
        except Exception as error:  # noqa: BLE001 - any failure must still get an answer
            logger.error("Turn failed (conversation %s): %s", sender, describe_failure(error))
        if not collector.messages:
            return [bot_message(sender, UNAVAILABLE)]
        return list(collector.messages)
