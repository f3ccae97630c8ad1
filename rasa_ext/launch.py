"""`python -m rasa_ext.launch run …`: `rasa run` with the HTTP API's token kept out of sight.

When `RASA_API_TOKEN` is set, the launcher turns Rasa's HTTP API on with that token read from the
environment, so that it never appears on a command line (`ps`, /proc/<pid>/cmdline show only the
launcher's arguments), and the API accepts the token only in a header,
`Authorization: Bearer <token>`: Rasa's own check (rasa.server.requires_auth) reads it from
`?token=`, which proxies and access logs write down. Without the variable, plain `rasa`.
"""

from __future__ import annotations

import hmac
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

from bot.config import settings

API_TOKEN_VARIABLE = "RASA_API_TOKEN"
UNAUTHORIZED = "Accès refusé : en-tête « Authorization: Bearer <jeton> » absent ou jeton invalide."


def bearer_token(headers: Any) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if any."""
    scheme, _, token = (headers.get("Authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def header_auth(app: Any, token: str | None = None) -> Callable[[Callable], Callable]:
    """Replaces rasa.server.requires_auth: the token in the header only, compared in constant time."""
    from sanic import response

    def decorator(handler: Callable) -> Callable:
        @wraps(handler)
        async def decorated(request: Any, *args: Any, **kwargs: Any) -> Any:
            provided = bearer_token(request.headers)
            if not token or not provided or not hmac.compare_digest(provided, token):
                return response.json({"error": UNAUTHORIZED}, status=401)
            result = handler(request, *args, **kwargs)
            return await result if hasattr(result, "__await__") else result

        return decorated

    return decorator


def rasa_arguments(arguments: list[str], token: str | None) -> list[str]:
    """Rasa's arguments, the API turned on with the token when there is one (in memory only)."""
    if token and arguments[:1] == ["run"] and arguments[1:2] != ["actions"]:
        return [*arguments, "--enable-api", "--auth-token", token]
    return arguments


def main() -> None:
    token = settings().rasa_api_token.get_secret_value() or None
    if token:
        import rasa.server

        rasa.server.requires_auth = header_auth  # before rasa.server.create_app reads it
    sys.argv = ["rasa", *rasa_arguments(sys.argv[1:], token)]
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
