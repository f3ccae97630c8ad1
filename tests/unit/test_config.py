"""Settings: the environment, then `.env`, then the defaults written once in bot/config.py."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from bot import PROJECT_DIR
from bot.config import Settings, allowed_origins, settings


def test_defaults_when_nothing_is_set(monkeypatch: pytest.MonkeyPatch):
    for name in Settings.__fields__:
        monkeypatch.delenv(name.upper(), raising=False)
    config = Settings(_env_file=None)
    assert config.max_message_chars == 1000 and config.rasa_port == 5005
    assert config.database_url.startswith("sqlite:///") and config.spie_today is None


def test_dotenv_is_read_and_the_environment_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    dotenv = tmp_path / ".env"
    dotenv.write_text("MAX_MESSAGE_CHARS=500\nWEB_PORT=9090\n", encoding="utf-8")
    monkeypatch.delenv("MAX_MESSAGE_CHARS", raising=False)
    monkeypatch.setenv("WEB_PORT", "8181")
    config = Settings(_env_file=dotenv)
    assert config.max_message_chars == 500 and config.web_port == 8181


def test_an_empty_variable_means_the_default(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MAX_MESSAGE_CHARS", "")
    monkeypatch.setenv("SPIE_TODAY", "")
    config = settings()
    assert config.max_message_chars == 1000 and config.spie_today is None


def test_a_changed_environment_is_seen(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SPIE_TODAY", "2021-09-01")
    assert settings().spie_today == dt.date(2021, 9, 1)


def test_secrets_are_not_shown_in_the_settings(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@redis.internal:6379/1")
    monkeypatch.setenv("RASA_API_TOKEN", "t0ken")
    shown = repr(settings()) + str(settings())
    assert "s3cret" not in shown and "t0ken" not in shown
    assert settings().redis_url.get_secret_value().endswith("/1")


def readme_settings_table() -> dict[str, str]:
    """The rows of the README's settings table: variable → the row's text."""
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration (variables d'environnement)", 1)[1].split("\n## ", 1)[
        0
    ]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = line.split(" | ")
        if line.startswith("| `"):
            for name in re.findall(r"`([A-Z_]+)`", cells[0]):
                rows[name] = line
    return rows


def test_the_readme_table_lists_every_setting_with_its_default():
    rows = readme_settings_table()
    assert set(rows) == {name.upper() for name in Settings.__fields__}
    for name, field in Settings.__fields__.items():
        if isinstance(field.default, int | float) and not isinstance(field.default, bool):
            default = f"{field.default:g}"
            assert default in rows[name.upper()], f"{name.upper()}: README does not say {default}"


def test_the_default_origins_are_the_demo_pages(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("ALLOWED_ORIGINS", raising=False)
    monkeypatch.setenv("WEB_PORT", "8181")
    assert allowed_origins() == ["http://127.0.0.1:8181", "http://localhost:8181"]
    monkeypatch.setenv("ALLOWED_ORIGINS", "https://www.allier.fr  https://dreets.example")
    assert allowed_origins() == ["https://www.allier.fr", "https://dreets.example"]
