"""The assistant's settings: one home for every variable and its default.

Read from the environment, then from `.env` at the project's top (copy `.env.example`); the
environment wins. An empty variable means its default, as in the shell scripts. Each call of
`settings()` reads them again, so that a changed environment (tests, `bot` commands) is seen.
The README's settings table is checked against this class (tests/test_config.py).
"""

from __future__ import annotations

import datetime as dt
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
    rasa_public_url: str = Field(
        "",
        description="adresse du serveur Rasa vue par les navigateurs (défaut : http://127.0.0.1:RASA_PORT)",
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
    conversation_retention_days: int = Field(90, description="durée de conservation (jours)")
    spie_today: dt.date | None = Field(None, description="date du jour forcée (AAAA-MM-JJ)")

    class Config:
        env_file = PROJECT_DIR / ".env"
        env_file_encoding = "utf-8"

    @validator("*", pre=True)
    def empty_means_default(cls, value: Any, field: Any) -> Any:
        return field.default if value == "" else value


def settings() -> Settings:
    # parse_obj runs BaseSettings.__init__ (environment, .env) and tells the type checker that
    # every field has its default (pydantic 1's mypy plugin crashes current mypy).
    return Settings.parse_obj({})


def database_url() -> str:
    """Contacts and places store (SQLite file by default, PostgreSQL in production)."""
    return settings().database_url


def tracker_db_url() -> str:
    """Conversation (tracker) store."""
    return settings().tracker_db_url


def max_message_chars() -> int:
    return settings().max_message_chars
