"""The socket.io channel of a running server (rasa_ext/socketio_channel.py) gives REST's guarantees:
a real python-socketio client (long polling) and raw WebSocket frames (aiohttp)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
import uuid
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import config
from rasa_ext.channel_guards import ORIGIN_REFUSED, UNAVAILABLE
from rasa_ext.socketio_channel import NO_SESSION, OTHER_SESSION
from scripts.supervisor import post_json
from tests.conftest import ALLOWED_TEST_ORIGIN
from tests.live.test_live_robustness import TURN_BOUND_SECONDS, any_json, messages, nested
from tests.servers import Assistant, texts
from tests.socket_client import SocketClient

pytestmark = pytest.mark.server
MAX_REQUEST_BYTES = config.settings().max_request_bytes


def new_session() -> str:
    return f"sio-{uuid.uuid4().hex[:12]}"


def run(scenario) -> Any:  # a coroutine
    return asyncio.run(asyncio.wait_for(scenario, timeout=120))


async def connected(assistant: Assistant, session_id: str | None = None) -> SocketClient:
    client = await SocketClient(assistant.url).connect()
    if session_id:
        assert await client.session(session_id) == session_id
    return client


def test_a_question_gets_the_same_answer_as_over_rest(assistant: Assistant):
    session_id = new_session()

    async def scenario() -> list[dict]:
        client = await connected(assistant, session_id)
        try:
            return await client.say({"message": "Qui peut candidater ?", "session_id": session_id})
        finally:
            await client.close()

    messages = run(scenario())
    assert "conseil départemental" in texts(messages)
    assert "Faire le test d'éligibilité" in [
        reply["title"] for message in messages for reply in message.get("quick_replies", [])
    ]
    assert assistant.user_turns(session_id) == 1


def test_a_long_message_is_cut_with_the_french_note(assistant: Assistant):
    session_id = new_session()

    async def scenario() -> list[dict]:
        client = await connected(assistant, session_id)
        try:
            message = "Qui peut candidater ? " + "x" * 20_000
            return await client.say({"message": message, "session_id": session_id})
        finally:
            await client.close()

    answer = texts(run(scenario()))
    assert "conseil départemental" in answer
    assert "je n'en ai lu que les 1000 premiers caractères" in answer


@pytest.mark.parametrize("session_id", ["a b", "abc\n", "x" * 129, "<script>", 42, ["s"]], ids=repr)
def test_an_invalid_session_id_is_refused_in_french(assistant: Assistant, session_id: Any):
    async def scenario() -> Any:
        client = await connected(assistant)
        try:
            return await client.session(session_id)
        finally:
            await client.close()

    refusal = run(scenario())
    assert isinstance(refusal, list), refusal
    assert "« session_id »" in refusal[0]["error"] and refusal[0]["text"] == refusal[0]["error"]


def test_the_session_is_bound_to_the_socket(assistant: Assistant):
    """Stock Rasa lets a client speak in any conversation and join its room (hearing its answers)."""
    mine, theirs = new_session(), new_session()

    async def scenario() -> tuple[Any, list, list, bool]:
        owner = await connected(assistant, theirs)
        intruder = await connected(assistant, mine)
        try:
            rebind = await intruder.session(theirs)
            speak = await intruder.say({"message": "Qui peut candidater ?", "session_id": theirs})
            # A second socket opened on the same conversation does not hear the first one's answers.
            listener = await connected(assistant, theirs)
            await owner.say({"message": "Qui peut candidater ?", "session_id": theirs})
            await asyncio.sleep(1)
            overheard = not listener.messages.empty()
            await listener.close()
            return (
                rebind,
                speak,
                await owner.say({"message": "merci", "session_id": theirs}),
                overheard,
            )
        finally:
            await owner.close()
            await intruder.close()

    rebind, speak, owner_reply, overheard = run(scenario())
    assert rebind[0]["error"] == OTHER_SESSION
    assert speak[0]["error"] == OTHER_SESSION
    assert not overheard
    assert owner_reply and "error" not in owner_reply[0]
    assert assistant.user_turns(theirs) == 2  # only the owner's two messages were played


def test_a_message_before_any_session_is_refused(assistant: Assistant):
    async def scenario() -> list[dict]:
        client = await connected(assistant)
        try:
            return await client.say({"message": "Qui peut candidater ?"})
        finally:
            await client.close()

    assert run(scenario())[0]["error"] == NO_SESSION


@pytest.mark.parametrize(
    ("origin", "allowed"),
    [
        (ALLOWED_TEST_ORIGIN, True),
        ("https://evil.example", False),
        (ALLOWED_TEST_ORIGIN + ".evil.example", False),  # a prefix is not the origin
        ("http" + ALLOWED_TEST_ORIGIN.removeprefix("https"), False),
    ],
)
def test_the_origin_is_checked_against_allowed_origins(
    assistant: Assistant, origin: str, allowed: bool
):
    async def scenario() -> dict | None:
        client = SocketClient(assistant.url, origin=origin)
        refusals: list[dict] = []
        client.sio.on("connect_error", refusals.append)
        try:
            await client.connect()
        except Exception:  # socketio.exceptions.ConnectionError, reason below
            return refusals[0]
        await client.close()
        return None

    refusal = run(scenario())
    if allowed:
        assert refusal is None
    else:
        assert refusal == {"message": ORIGIN_REFUSED, "data": {"error": ORIGIN_REFUSED}}


async def raw_websocket_turn(assistant: Assistant, message: str) -> tuple[list[str], int | None]:
    """Engine.IO v4 over a WebSocket by hand (what a browser uses): the frames received, and
    the close code if the server closed the connection."""
    url = assistant.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    received: list[str] = []
    async with aiohttp.ClientSession() as session:
        async with session.ws_connect(url, timeout=10, max_msg_size=0) as ws:
            await ws.receive(timeout=10)  # engine.io open packet
            await ws.send_str("40")
            await ws.receive(timeout=10)  # socket.io connected
            await ws.send_str('42["session_request", {"session_id": "raw-ws"}]')
            await ws.receive(timeout=10)
            payload = {"message": message, "session_id": "raw-ws"}
            await ws.send_str("42" + json.dumps(["user_uttered", payload]))
            while True:
                frame = await ws.receive(timeout=40)
                if frame.type != aiohttp.WSMsgType.TEXT:
                    return received, ws.close_code
                received.append(frame.data)
                if frame.data.startswith('42["bot_uttered"'):
                    return received, None


def test_a_websocket_frame_over_the_limit_closes_the_connection(assistant: Assistant):
    """Sanic's WebSocket limit was 1 MB: such frames reached NLU. Now 64 KiB (MAX_REQUEST_BYTES)."""
    small, small_close = run(raw_websocket_turn(assistant, "Qui peut candidater ?"))
    event, message = json.loads(small[-1].removeprefix("42"))
    assert small_close is None and event == "bot_uttered"
    assert "conseil départemental" in message["text"]
    big, big_close = run(raw_websocket_turn(assistant, "x" * 100_000))
    assert big_close == 1009  # "message too big"
    assert not any(frame.startswith('42["bot_uttered"') for frame in big)


def hanging_listener(port: int, stop: threading.Event) -> threading.Thread:
    """Accepts the action server's connections and never answers: every custom action hangs."""

    def serve() -> None:
        with socket.socket() as server:
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", port))
            server.listen()
            server.settimeout(0.2)
            held = []
            while not stop.is_set():
                try:
                    held.append(server.accept()[0])
                except TimeoutError:
                    continue
            for connection in held:
                connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return thread


def test_a_hanging_turn_gets_the_french_fallback_on_both_channels(assistant: Assistant):
    """The action server accepts and never answers: after TURN_TIMEOUT_SECONDS (20 s) both
    channels answer the French fallback instead of silence."""
    TURN_TIMEOUT_SECONDS = config.settings().turn_timeout_seconds

    session_id, sender = new_session(), new_session()

    async def both() -> tuple[list, tuple[int, Any]]:
        client = await connected(assistant, session_id)
        try:
            rest = asyncio.to_thread(
                post_json,
                assistant.webhook,
                {"sender": sender, "message": "c'est quand la date limite ?"},
                60,
            )
            socket_turn = client.say(
                {"message": "c'est quand la date limite ?", "session_id": session_id}, timeout=60
            )
            return tuple(await asyncio.gather(socket_turn, rest))
        finally:
            await client.close()

    stop = threading.Event()
    assistant.actions.stop()
    listener = hanging_listener(assistant.actions_port, stop)
    try:
        started = time.monotonic()
        socket_messages, (status, rest_replies) = run(both())
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        listener.join()
        assistant.actions.start()
    assert TURN_TIMEOUT_SECONDS - 1 < elapsed < TURN_TIMEOUT_SECONDS + 15
    assert [message["text"] for message in socket_messages] == [UNAVAILABLE]
    assert status == 200 and texts(rest_replies) == UNAVAILABLE
    assert "lannuaire.service-public.gouv.fr" in UNAVAILABLE


FUZZ_SESSION = "sio-fuzz"
message_ids = st.one_of(st.none(), st.text(max_size=80), st.uuids().map(str), any_json)
socket_data = st.one_of(
    st.fixed_dictionaries(
        {"message": messages, "session_id": st.just(FUZZ_SESSION)},
        optional={"message_id": message_ids, "metadata": any_json | st.text(max_size=100)},
    ),
    st.fixed_dictionaries({"message": messages, "session_id": st.text(max_size=200) | any_json}),
    st.integers(1, 3_000).map(
        lambda depth: {"message": "hi", "session_id": FUZZ_SESSION, "metadata": nested(depth)}
    ),
    st.integers(1, 200).map(lambda depth: {"message": "hi", "metadata": json.loads(nested(depth))}),
    any_json,
).filter(  # larger frames close the connection (test_a_websocket_frame_over_the_limit_…)
    lambda data: len(json.dumps(data)) < MAX_REQUEST_BYTES - 1024
)


@pytest.fixture(scope="module")
def fuzz_client(assistant: Assistant):
    """One connection for the whole fuzz run, as a page would keep it."""
    loop = asyncio.new_event_loop()
    client = loop.run_until_complete(connected_on(assistant, FUZZ_SESSION))
    yield loop, client
    loop.run_until_complete(client.close())
    leftovers = asyncio.all_tasks(loop)  # the client's long poll: not worth waiting for
    for task in leftovers:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    loop.close()


async def connected_on(assistant: Assistant, session_id: str) -> SocketClient:
    return await connected(assistant, session_id)


@settings(
    max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
@given(data=socket_data)
def test_any_socketio_message_gets_a_french_answer(fuzz_client, data: Any):
    """Every event gets an answer or a French refusal, in bounded time, on a connection that
    stays open (the server never drops it nor goes silent)."""
    loop, client = fuzz_client
    started = time.monotonic()
    replies = loop.run_until_complete(client.say(data, timeout=TURN_BOUND_SECONDS, quiet=0.05))
    assert time.monotonic() - started < TURN_BOUND_SECONDS
    assert replies and all(reply.get("text") or reply.get("quick_replies") for reply in replies)
    assert not client.disconnected.is_set()


def test_the_socket_still_answers_after_the_fuzzing(fuzz_client):
    loop, client = fuzz_client
    data = {"message": "Qui peut candidater ?", "session_id": FUZZ_SESSION}
    assert "conseil départemental" in texts(loop.run_until_complete(client.say(data)))
