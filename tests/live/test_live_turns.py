"""Idempotent turns on a running server: a message re-sent with the same `message_id` (the widget's
retry after a timeout, a 5xx or a 429) is answered from the record, never played twice. The turns
are counted in the tracker store the server writes."""

from __future__ import annotations

import asyncio
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from scripts.supervisor import post_json
from tests.servers import Assistant, texts
from tests.socket_client import SocketClient

pytestmark = pytest.mark.server

QUESTION_5 = "5. Le projet reflète-t-il une bonne connaissance du public visé ?"
QUESTION_6 = "6. Le projet s'inscrit-il dans les principes du SPIE ?"


def new_sender() -> str:
    return f"turns-{uuid.uuid4().hex[:12]}"


def send(assistant: Assistant, sender: str, message: str, message_id: str) -> list[dict[str, Any]]:
    body = {"sender": sender, "message": message, "message_id": message_id}
    status, replies = post_json(assistant.webhook, body, timeout=60)
    assert status == 200, replies
    return replies


def test_a_repeated_oui_does_not_answer_the_next_question(assistant: Assistant):
    sender = new_sender()
    for index, answer in enumerate(
        ["suis-je éligible ?", "Le conseil départemental", "Oui", "la CAF et la mission locale"]
    ):
        send(assistant, sender, answer, f"setup-{index}")
    played = assistant.user_turns(sender)

    first = send(assistant, sender, "Oui", "oui-question-4")
    assert QUESTION_5 in texts(first)
    repeat = send(assistant, sender, "Oui", "oui-question-4")
    assert repeat == first  # the recorded answer: question 5 again, not question 6
    assert assistant.user_turns(sender) == played + 1

    # The conversation is where the first « Oui » left it: the next answer answers question 5.
    assert QUESTION_6 in texts(send(assistant, sender, "Oui", "oui-question-5"))
    assert assistant.user_turns(sender) == played + 2


def test_a_repeat_in_flight_waits_for_the_first_answer(assistant: Assistant):
    sender = new_sender()
    with ThreadPoolExecutor(max_workers=3) as pool:
        answers = list(
            pool.map(
                lambda _: send(assistant, sender, "c'est quand la date limite ?", "same-id"),
                range(3),
            )
        )
    assert "11 octobre 2021" in texts(answers[0])
    assert answers[1] == answers[0] and answers[2] == answers[0]
    assert assistant.user_turns(sender) == 1


def test_messages_without_id_are_played_as_before(assistant: Assistant):
    sender = new_sender()
    assistant.say(sender, "Qui peut candidater ?")
    assistant.say(sender, "Qui peut candidater ?")
    assert assistant.user_turns(sender) == 2


def test_a_socketio_repeat_is_answered_from_the_record(assistant: Assistant):
    session_id = new_sender()

    async def twice() -> tuple[list, list]:
        client = await SocketClient(assistant.url).connect()
        try:
            assert await client.session(session_id) == session_id
            data = {"message": "Qui peut candidater ?", "session_id": session_id}
            first = await client.say(dict(data, message_id="socket-1"))
            return first, await client.say(dict(data, message_id="socket-1"))
        finally:
            await client.close()

    first, repeat = asyncio.run(twice())
    assert "conseil départemental" in texts(first)
    assert repeat == first
    assert assistant.user_turns(session_id) == 1
