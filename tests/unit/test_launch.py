"""rasa_ext/launch.py: the HTTP API's token from the environment, accepted only in a header."""

from __future__ import annotations

import asyncio
import json
from types import SimpleNamespace

from rasa_ext.launch import UNAUTHORIZED, bearer_token, header_auth, rasa_arguments

TOKEN = "s3cret-token-for-tests"


def call(headers: dict[str, str], args: dict[str, str] | None = None):
    """Calls a handler protected like Rasa's API routes, as Sanic would."""

    @header_auth(app=None, token=TOKEN)
    async def status(request, conversation_id="moi"):
        return f"données de {conversation_id}"

    request = SimpleNamespace(headers=headers, args=args or {})
    return asyncio.run(status(request, conversation_id="moi"))


def test_the_token_is_accepted_in_the_authorization_header_only():
    assert call({"Authorization": f"Bearer {TOKEN}"}) == "données de moi"
    for headers, args in [
        ({}, {"token": TOKEN}),  # Rasa's ?token= (written to access logs): refused
        ({"Authorization": f"Bearer {TOKEN}x"}, None),
        ({"Authorization": f"Basic {TOKEN}"}, None),
        ({"Authorization": "Bearer "}, None),
    ]:
        response = call(headers, args)
        assert response.status == 401
        assert json.loads(response.body) == {"error": UNAUTHORIZED}
    assert UNAUTHORIZED.startswith("Accès refusé")


def test_bearer_token_parsing():
    assert bearer_token({"Authorization": "bearer  abc "}) == "abc"
    assert bearer_token({"Authorization": "Token abc"}) is None
    assert bearer_token({}) is None


def test_the_api_is_on_only_with_a_token_and_only_for_rasa_run():
    args = ["run", "--model", "m.tar.gz"]
    assert rasa_arguments(args, None) == args
    assert rasa_arguments(args, TOKEN) == [*args, "--enable-api", "--auth-token", TOKEN]
    assert rasa_arguments(["run", "actions"], TOKEN) == ["run", "actions"]
    assert rasa_arguments(["shell"], TOKEN) == ["shell"]
