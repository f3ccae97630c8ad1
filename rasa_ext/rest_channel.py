"""REST channel that refuses bad input cleanly instead of failing.

Stock Rasa 3.6 answers HTTP 500 when the body is not a JSON object and passes messages of any
length to NLU (a 20,000-character message holds a server for seconds). This channel keeps the
same URL and answer format (`POST /webhooks/rest/webhook`, `{"sender", "message"}` in, a list of
bot messages out) and adds what `rasa_ext/channel_guards.py` guarantees for every channel:
- 413 for a body over `MAX_REQUEST_BYTES`, 400 with a French error for a body that is not a JSON
  object, too deeply nested, with a missing or invalid sender or `message_id`, or too much
  `metadata`;
- a French reply, without calling NLU, for an empty message;
- messages longer than `MAX_MESSAGE_CHARS` (default 1000) cut, with a French note in the reply;
- a French reply with the general contact route when the turn fails or produces no answer
  (action server or database down, time-out) instead of silence;
- the same `message_id` again answered from the record, not played twice (`rasa_ext/turns.py`);
- no message text in the logs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from rasa_ext.channel_guards import (
    UNAVAILABLE,
    BadRequest,
    HardenedBlueprint,
    answer,
    parse_body,
)

# Where the cluster's settings and tests look for them (their home is channel_guards).
__all__ = ["UNAVAILABLE", "SafeRestInput"]


class SafeRestInput(RestInput):
    """The `rest` channel with input validation (see module docstring)."""

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = HardenedBlueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                incoming = parse_body(request.body)
            except BadRequest as error:
                return response.json({"error": str(error)}, status=400)
            return response.json(await answer(on_new_message, self.name(), incoming))

        return webhook
