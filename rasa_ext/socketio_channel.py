"""socket.io channel with the REST channel's guarantees (`rasa_ext/channel_guards.py`).

Rasa 3.6's `socketio` channel lets the client choose its conversation id unchecked and, with
`session_persistence`, join any conversation's room (and hear its answers); it passes frames of
up to 1 MB to NLU, checks no Origin, has no turn timeout and stays silent when a turn fails.
This one keeps its events (`session_request` → `session_confirm`, `user_uttered` → `bot_uttered`,
the same message format) and adds:
- connection refused (`connect_error`: message and `data.error` in French) for a browser page whose Origin is not
  in `ALLOWED_ORIGINS`; frames over `MAX_REQUEST_BYTES` close the connection;
- the session id validated like REST's sender, then bound to the socket: another id later is
  refused, and answers go to this socket only (no shared rooms);
- the message checked, cut, timed and answered like REST's, `message_id` included;
- a refusal is a `bot_uttered` event `{"text": <French>, "error": <French>}`, which any Rasa
  socket.io widget shows as a bot message.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.core.channels.channel
from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError

from bot.config import settings
from rasa_ext.channel_guards import (
    ORIGIN_REFUSED,
    BadRequest,
    HardenedBlueprint,
    answer,
    incoming_from,
    origin_allowed,
    valid_conversation_id,
)

logger = logging.getLogger(__name__)

NOT_AN_OBJECT = 'Le message doit être un objet : {"message": …, "session_id": …}.'
OTHER_SESSION = (
    "Cette connexion est déjà liée à une autre conversation. "
    "Ouvrez une nouvelle connexion pour changer de conversation."
)
NO_SESSION = "Demandez d'abord une session (événement « session_request »)."
AUTH_REFUSED = "Jeton d'authentification absent ou invalide."


class HardenedSocketBlueprint(HardenedBlueprint, SocketBlueprint):
    """Rasa's socket.io blueprint, registered with the server's limits."""


class SafeSocketIOInput(SocketIOInput):
    """The `socketio` channel with the guarantees above."""

    @classmethod
    def name(cls) -> str:
        return "socketio"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        # CORS headers come from Rasa's --cors (Sanic-CORS); the Origin check is in `connect`,
        # so that a refused page gets a French reason.
        sio = AsyncServer(
            async_mode="sanic",
            cors_allowed_origins=[],
            max_http_buffer_size=settings().max_request_bytes,
        )
        blueprint = HardenedSocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio

        @blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            if not origin_allowed(environ.get("HTTP_ORIGIN")):
                logger.warning("socket.io connection refused: origin not in ALLOWED_ORIGINS")
                raise ConnectionRefusedError(ORIGIN_REFUSED, {"error": ORIGIN_REFUSED})
            if self.jwt_key and not self._valid_token(auth):
                raise ConnectionRefusedError(AUTH_REFUSED, {"error": AUTH_REFUSED})
            return True

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: str, data: Any = None) -> None:
            requested = data.get("session_id") if isinstance(data, dict) else None
            try:
                session_id = await self._bind(sid, requested or uuid.uuid4().hex)
            except BadRequest as error:
                await self._refuse(sid, error)
                return
            await sio.emit("session_confirm", session_id, room=sid, namespace=self.namespace)

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: str, data: Any = None) -> None:
            try:
                if not isinstance(data, dict):
                    raise BadRequest(NOT_AN_OBJECT)
                sender = await self._sender(sid, data.get("session_id"))
                incoming = incoming_from(data, sender, "session_id")
            except BadRequest as error:
                await self._refuse(sid, error)
                return
            for reply in await answer(on_new_message, self.name(), incoming):
                await self._emit(sid, socketio_message(reply))

        return blueprint

    def _valid_token(self, auth: dict | None) -> bool:
        token = auth.get("token") if isinstance(auth, dict) else None
        return bool(
            token
            and rasa.core.channels.channel.decode_bearer_token(
                token, self.jwt_key, self.jwt_algorithm
            )
        )

    async def _bind(self, sid: str, session_id: Any) -> str:
        """Bind a valid conversation id to this socket, once."""
        session_id = valid_conversation_id(session_id, "session_id")
        async with self.sio.session(sid, namespace=self.namespace) as session:
            bound = session.setdefault("session_id", session_id)
        if bound != session_id:
            raise BadRequest(OTHER_SESSION)
        return session_id

    async def _sender(self, sid: str, session_id: Any) -> str:
        """The conversation a message belongs to: the socket's bound session (with
        `session_persistence`), else the socket itself, as in Rasa."""
        if not self.session_persistence:
            return sid
        bound = (await self.sio.get_session(sid, namespace=self.namespace)).get("session_id")
        if bound is None:
            if not session_id:
                raise BadRequest(NO_SESSION)
            return await self._bind(sid, session_id)
        if session_id and session_id != bound:
            raise BadRequest(OTHER_SESSION)
        return bound

    async def _refuse(self, sid: str, error: BadRequest) -> None:
        await self._emit(sid, {"text": str(error), "error": str(error)})

    async def _emit(self, sid: str, message: dict[str, Any]) -> None:
        """To this socket only: a room named after the session would let anyone who knows
        (or guesses) the id hear the conversation."""
        await self.sio.emit(self.bot_message_evt, message, room=sid, namespace=self.namespace)


def socketio_message(reply: dict[str, Any]) -> dict[str, Any]:
    """A collected bot message (Rasa's REST format) in Rasa's socket.io format."""
    message: dict[str, Any] = {}
    if "text" in reply:
        message["text"] = reply["text"]
    if reply.get("buttons"):
        message["quick_replies"] = [
            {"content_type": "text", "title": button["title"], "payload": button["payload"]}
            for button in reply["buttons"]
        ]
    if "image" in reply:
        message["attachment"] = {"type": "image", "payload": {"src": reply["image"]}}
    if "attachment" in reply:
        message["attachment"] = reply["attachment"]
    if "elements" in reply:
        message["attachment"] = {
            "type": "template",
            "payload": {"template_type": "generic", "elements": reply["elements"]},
        }
    if "custom" in reply:
        message["custom"] = reply["custom"]
    return message
