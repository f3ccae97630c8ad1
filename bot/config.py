"""The assistant's settings: one home for every variable and its default.

Read from the environment, then from `.env` at the project's top (copy `.env.example`); the
environment wins. An empty variable means its default, as in the shell scripts. `settings()`
reads them again whenever a variable or `.env` changed (tests, `bot` commands see the change);
otherwise it returns the same object, cheap enough to call on every log line.
The README's settings table is checked against this class (tests/unit/test_config.py).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from pydantic import BaseSettings, Field, SecretStr, validator

from bot import PROJECT_DIR

VAR_DIR = PROJECT_DIR / "var"


class Settings(BaseSettings):
    """Each field is the variable of the same name in upper case (`database_url`: DATABASE_URL)."""

    rasa_port: int = Field(5005, description="port du serveur Rasa")
    actions_port: int = Field(5055, description="port du serveur d'actions")
    web_port: int = Field(8080, description="port des pages de démonstration")
    web_host: str = Field("127.0.0.1", description="interface des pages de démonstration")
    rasa_host: str = Field("127.0.0.1", description="interface du serveur Rasa (make run)")
    actions_url: str = Field(
        "",
        description="adresse du serveur d'actions (défaut : http://127.0.0.1:ACTIONS_PORT/webhook)",
    )
    rasa_public_url: str = Field(
        "",
        description="adresse du serveur Rasa vue par les navigateurs (défaut : http://127.0.0.1:RASA_PORT)",
    )
    allowed_origins: str = Field(
        "", description="origines autorisées (CORS), séparées par des espaces (défaut : les démos)"
    )
    database_url: str = Field(
        f"sqlite:///{VAR_DIR / 'spie.db'}", description="base des lieux et contacts"
    )
    tracker_db_url: str = Field(
        f"sqlite:///{VAR_DIR / 'tracker.db'}", description="conversations (tracker store SQL)"
    )
    postgresql_schema: str = Field("", description="schéma PostgreSQL des conversations")
    redis_url: SecretStr = Field(SecretStr(""), description="verrous Redis (plusieurs serveurs)")
    redis_key_prefix: str = Field("", description="préfixe des clés Redis")
    rasa_api_token: SecretStr = Field(SecretStr(""), description="active l'API HTTP de Rasa")
    # Longest user message passed to the NLU; longer ones are cut (README, « Limites »).
    max_message_chars: int = Field(1000, description="longueur maximale d'un message")
    # Larger bodies and WebSocket frames are refused before they are read (Sanic's default: 100 MB).
    max_request_bytes: int = Field(64 * 1024, description="taille maximale d'une requête")
    turn_timeout_seconds: float = Field(20, description="durée maximale d'un tour (s)")
    conversation_retention_days: float = Field(90, description="durée de conservation (jours)")
    purge_interval_hours: float = Field(6, description="intervalle des purges (h), 0 : aucune")
    spie_today: dt.date | None = Field(None, description="date du jour forcée (AAAA-MM-JJ)")

    class Config:
        env_file = PROJECT_DIR / ".env"
        env_file_encoding = "utf-8"

    @validator("*", pre=True)
    def empty_means_default(cls, value: Any, field: Any) -> Any:
        return field.default if value == "" else value


_cache: dict[tuple[Any, ...], Settings] = {}


def allowed_origins(config: Settings | None = None) -> list[str]:
    """The origins allowed to call the assistant; by default the demo pages' own."""
    config = config or settings()
    if config.allowed_origins.strip():
        return config.allowed_origins.split()
    return [f"http://127.0.0.1:{config.web_port}", f"http://localhost:{config.web_port}"]


def rasa_public_url(config: Settings | None = None) -> str:
    """The Rasa server's address as browsers see it; by default the loopback one."""
    config = config or settings()
    return config.rasa_public_url or f"http://127.0.0.1:{config.rasa_port}"


def actions_url(config: Settings | None = None) -> str:
    """The action server's webhook, for endpoints.yml (`${ACTIONS_URL}`)."""
    config = config or settings()
    return config.actions_url or f"http://127.0.0.1:{config.actions_port}/webhook"


def settings() -> Settings:
    key = _sources_key()
    found = _cache.get(key)
    if found is None:
        _cache.clear()
        # parse_obj runs BaseSettings.__init__ (environment, .env) and tells the type checker
        # that every field has its default (pydantic 1's mypy plugin crashes current mypy).
        found = _cache[key] = Settings.parse_obj({})
    return found


def _sources_key() -> tuple[Any, ...]:
    """What the settings are read from: the variables, and `.env`'s modification time."""
    env_file = Path(str(Settings.__config__.env_file))
    try:
        stamp: float | None = env_file.stat().st_mtime_ns
    except OSError:
        stamp = None
    return (stamp, *(os.environ.get(name.upper()) for name in Settings.__fields__))


def database_url() -> str:
    """Contacts and places store (SQLite file by default, PostgreSQL in production)."""
    return settings().database_url


def tracker_db_url() -> str:
    """Conversation (tracker) store."""
    return settings().tracker_db_url


def max_message_chars() -> int:
    return settings().max_message_chars
