"""Faults survived by a running assistant: restarts, action server down, database down, Redis down.

These tests stop and restart processes of the shared assistant; each leaves it running as found.
"""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from scripts.supervisor import free_port
from tests.servers import Assistant, texts

pytestmark = pytest.mark.server


def sender() -> str:
    return f"fault-{uuid.uuid4().hex[:10]}"


def closed_port() -> int:
    return free_port()  # nothing listens once the socket is closed


def test_server_restart_in_the_middle_of_the_test_loses_nothing(assistant: Assistant):
    user = sender()
    assistant.say(user, "suis-je éligible ?")
    assistant.say(user, "Le conseil départemental")
    assistant.rasa.stop()
    assistant.rasa.start()
    # The conversation goes on where it was: Pôle emploi answered, the partners (its 3rd question).
    answer = texts(assistant.say(user, "oui"))
    assert "3. Quels autres partenaires" in answer


def test_action_server_down_gives_a_french_message_then_recovers(assistant: Assistant):
    assistant.actions.stop()
    try:
        answer = texts(assistant.say(sender(), "c'est quand la date limite ?"))
        assert "momentanément indisponible" in answer
        assert "lannuaire.service-public.gouv.fr" in answer
    finally:
        assistant.actions.start()
    assert "11 octobre 2021" in texts(assistant.say(sender(), "c'est quand la date limite ?"))


def test_database_down_gives_the_annuaire_link_then_recovers(assistant: Assistant):
    broken_env = dict(assistant.env, DATABASE_URL=f"postgresql://root@127.0.0.1:{closed_port()}/x")
    broken = dataclasses.replace(assistant.actions, env=broken_env, popen=None)
    assistant.actions.stop()
    broken.start()
    try:
        answer = texts(assistant.say(sender(), "qui contacter dans l'Allier ?"))
        assert "lannuaire.service-public.gouv.fr" in answer
        assert "pour le moment" in answer
    finally:
        broken.stop()
        assistant.actions.start()
    assert "Allier" in texts(assistant.say(sender(), "qui contacter dans l'Allier ?"))


def test_redis_down_gives_a_clear_answer_and_log(tmp_path):
    """A server configured for Redis whose Redis is unreachable."""
    down = Assistant(tmp_path, env_overrides={"REDIS_URL": f"redis://127.0.0.1:{closed_port()}/1"})
    down.build_database()
    down.rasa.start()  # no action server needed: the lock is taken before any action
    try:
        answer = texts(down.say(sender(), "bonjour"))
        assert "momentanément indisponible" in answer
    finally:
        down.rasa.stop()
    log = (tmp_path / "rasa.log").read_text(errors="replace")
    assert "Redis" in log and "unreachable" in log


def test_logs_do_not_contain_message_text(assistant: Assistant):
    secret = f"Jean Dupont habite 12 rue des Lilas {uuid.uuid4().hex[:6]}"
    assistant.say(sender(), secret)
    for process in (assistant.rasa, assistant.actions):
        assert secret not in process.log_path.read_text(errors="replace")
