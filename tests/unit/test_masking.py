"""Secrets never reach a log line or a printed message (bot/masking.py, used everywhere)."""

from __future__ import annotations

import logging
import os
import subprocess

import pytest
from rasa.shared.core.domain import Domain

from bot.masking import MASK, MaskingFilter, mask_secrets
from bot.places.store import safe_url
from rasa_ext.stores import UrlSQLTrackerStore, _redis_lock_store
from scripts.cluster.topology import Cluster, ClusterError, check_redis
from scripts.supervisor import ROOT, free_port

PASSWORD = "Pa55-w0rd_x"
TOKEN = "api-token-9c1e7f"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        (
            f"postgresql://spie:{PASSWORD}@db.example:5432/spie",
            f"postgresql://spie:{MASK}@db.example:5432/spie",
        ),
        (f"redis://:{PASSWORD}@cache:6379/1", f"redis://:{MASK}@cache:6379/1"),
        (f"rediss://default:{PASSWORD}@cache/0", f"rediss://default:{MASK}@cache/0"),
        (
            f"Redis injoignable (redis://u:{PASSWORD}@h:1/1) : refus",
            f"Redis injoignable (redis://u:{MASK}@h:1/1) : refus",
        ),
        (f"GET /status?token={TOKEN}&x=1", f"GET /status?token={MASK}&x=1"),
        ("sqlite:////var/spie/tracker.db", "sqlite:////var/spie/tracker.db"),
        ("postgresql://root@127.0.0.1:5432/spie", "postgresql://root@127.0.0.1:5432/spie"),
        ("Rendez-vous à 10:30 @ Moulins", "Rendez-vous à 10:30 @ Moulins"),
    ],
)
def test_mask_secrets(text: str, masked: str):
    assert mask_secrets(text) == masked


def test_the_api_token_is_masked_wherever_it_appears(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RASA_API_TOKEN", TOKEN)
    assert mask_secrets(f"Authorization: Bearer {TOKEN}") == f"Authorization: Bearer {MASK}"


def test_log_records_are_masked_with_their_arguments_and_tracebacks():
    logger = logging.getLogger("test_masking")
    records: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(MaskingFilter())
    logger.addHandler(handler)
    try:
        logger.warning("Lock store: %s", f"redis://:{PASSWORD}@cache:6379/1")
        try:
            raise ConnectionError(f"cannot reach postgresql://spie:{PASSWORD}@db/spie")
        except ConnectionError:
            logger.exception("échec")
    finally:
        logger.removeHandler(handler)
    assert records[0] == f"Lock store: redis://:{MASK}@cache:6379/1"
    assert "ConnectionError: cannot reach" in records[1]
    assert all(PASSWORD not in record for record in records)


def test_the_tracker_store_logs_its_url_masked(tmp_path, caplog, monkeypatch):
    monkeypatch.setenv("PURGE_INTERVAL_HOURS", "0")
    with caplog.at_level(logging.INFO, logger="rasa_ext.stores"):
        UrlSQLTrackerStore(Domain.empty(), url=f"sqlite:///{tmp_path / 't.db'}?password={PASSWORD}")
    assert "Tracker store: sqlite:///" in caplog.text and PASSWORD not in caplog.text
    with pytest.raises(ValueError) as error:
        _redis_lock_store(f"http://:{PASSWORD}@cache:6379/1")
    assert "REDIS_URL invalide" in str(error.value) and PASSWORD not in str(error.value)


def test_store_and_cluster_messages_hide_passwords(tmp_path):
    assert safe_url(f"postgresql://spie:{PASSWORD}@db/spie") == f"postgresql://spie:{MASK}@db/spie"
    cluster = Cluster(
        tmp_path,
        tracker_db_url=f"postgresql://spie:{PASSWORD}@127.0.0.1:5432/spie",
        database_url=f"postgresql://spie:{PASSWORD}@127.0.0.1:5432/lieux",
        redis_url=f"redis://:{PASSWORD}@127.0.0.1:6379/1",
        port=free_port(),
    )
    summary = cluster.summary()
    assert f"verrous : redis://:{MASK}@127.0.0.1:6379/1" in summary
    assert f"conversations : postgresql://spie:{MASK}@127.0.0.1:5432/spie" in summary
    assert PASSWORD not in summary
    with pytest.raises(ClusterError) as error:
        check_redis(f"redis://:{PASSWORD}@127.0.0.1:{free_port()}/1")  # nothing listens there
    assert "Redis injoignable" in str(error.value) and PASSWORD not in str(error.value)


def test_make_run_start_up_error_hides_the_database_password():
    """scripts/common.sh (make run, make shell) when the places store cannot be built."""
    env = dict(os.environ, DATABASE_URL=f"postgresql://spie:{PASSWORD}@127.0.0.1:1/spie")
    result = subprocess.run(
        ["bash", "-c", "source scripts/common.sh && ensure_database"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert f"DATABASE_URL=postgresql://spie:{MASK}@127.0.0.1:1/spie" in output
    assert PASSWORD not in output
