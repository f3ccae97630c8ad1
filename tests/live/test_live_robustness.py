"""Bad input at the REST channel of a running server: never a 500, never a crash, bounded time.
(The socket.io channel's fuzz test is in tests/live/test_socketio_channel.py and uses these strategies.)"""

from __future__ import annotations

import json
import time
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.supervisor import post_json
from tests.servers import Assistant, texts

pytestmark = pytest.mark.server

TURN_BOUND_SECONDS = 10.0
ok_sender = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=40)
any_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
messages = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(max_codepoint=0x1F), max_size=50),  # control characters
    st.sampled_from(
        [
            "",
            " ",
            "\x00\x01\x02",
            "<script>alert(1)</script>",
            "'; DROP TABLE events; --",
            "{{7*7}}",
            "${jndi:ldap://x}",
            "A" * 100_000,
            "é" * 20_000,
            "/restart",
            "/faq",
            '/ask_contact{"place": "\'; DROP TABLE communes; --"}',
            "/nonexistent_intent",
            "\u202e\u200b\ufeff",
            "🙂" * 500,
            "Qui peut candidater ?\n" * 200,
        ]
    ),
    any_json,
)
senders = st.one_of(
    ok_sender, st.text(max_size=300), st.integers(), st.none(), st.just("x" * 5000), any_json
)
bodies = st.one_of(
    st.fixed_dictionaries({"sender": senders, "message": messages}),
    st.fixed_dictionaries({"message": messages}),
    st.dictionaries(st.text(max_size=10), any_json, max_size=5),
    any_json,
)


def nested(depth: int, opening: str = "[", closing: str = "]") -> str:
    return opening * depth + closing * depth


# Measured before: HTTP 500 for a deep bare list and for deep metadata (RecursionError).
deep_bodies = st.one_of(
    st.integers(1, 30_000).map(lambda depth: nested(depth).encode()),
    st.integers(1, 20_000).map(
        lambda depth: f'{{"sender": "a", "message": "hi", "metadata": {nested(depth)}}}'.encode()
    ),
    st.integers(1, 5_000).map(
        lambda depth: (
            '{"sender": "a", "message": "hi", "metadata": '
            + '{"a": ' * depth
            + "1"
            + "}" * depth
            + "}"
        ).encode()
    ),
    st.integers(1, 5_000).map(
        lambda depth: f'{{"sender": "a", "message": {nested(depth)}}}'.encode()
    ),
)
raw_bodies = st.one_of(
    bodies.map(lambda b: json.dumps(b).encode()),
    deep_bodies,
    st.binary(max_size=200),
    st.sampled_from(
        [b"", b"{", b"[]", b'"s"', b"null", b"\xff\xfe\x00", b'{"sender": "a", "message": "x"']
    ),
)


@settings(
    max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True
)
@given(body=raw_bodies)
def test_any_body_gets_a_clean_answer(assistant: Assistant, body: bytes):
    started = time.monotonic()
    status, payload = post_json(assistant.webhook, body, timeout=TURN_BOUND_SECONDS + 5)
    elapsed = time.monotonic() - started
    assert status in (200, 400, 413), (status, payload, body[:200])
    assert elapsed < TURN_BOUND_SECONDS, (elapsed, body[:200])
    if status != 200:
        assert isinstance(payload, dict) and payload["error"]
    else:
        assert isinstance(payload, list) and payload, "every accepted turn gets an answer"


def test_server_still_answers_after_the_fuzzing(assistant: Assistant):
    assert "conseil départemental" in texts(assistant.say("after-fuzz", "Qui peut candidater ?"))


def test_very_long_message_is_cut_with_a_french_note(assistant: Assistant):
    started = time.monotonic()
    replies = assistant.say(f"long-{uuid.uuid4().hex[:8]}", "Qui peut candidater ? " + "x" * 60_000)
    assert time.monotonic() - started < 5
    assert "1000 premiers caractères" in texts(replies)


def test_a_body_over_64_kib_is_refused_by_the_server_in_french(assistant: Assistant):
    """Sanic's default limit was 100 MB: the whole body was read before the channel looked at it."""
    status, payload = post_json(assistant.webhook, {"sender": "big", "message": "x" * 70_000})
    assert status == 413
    assert payload == {
        "error": "La requête est trop volumineuse (au plus 64 Kio). Envoyez une question plus courte."
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b'{"sender":"a","message":"hi","metadata":' + nested(20_000).encode() + b"}", "imbriqué"),
        (nested(20_000).encode(), "imbriqué"),
        (b'{"sender":"a","message":"hi","metadata":{"a":"' + b"x" * 3000 + b'"}}', "metadata"),
        (b'{"sender":"a\\n","message":"hi"}', "sender"),
        (b'{"sender":"a","message":"hi","message_id":"' + b"m" * 65 + b'"}', "message_id"),
    ],
    ids=["deep-metadata", "deep-bare", "big-metadata", "sender-newline", "long-message-id"],
)
def test_nested_or_oversized_fields_get_400_in_french(assistant: Assistant, body: bytes, error):
    status, payload = post_json(assistant.webhook, body)
    assert status == 400, payload
    assert error in payload["error"]


@pytest.mark.parametrize(
    "body", [b"[]", b'"s"', b"not json", b'{"message": "hi"}', b'{"sender": 1}']
)
def test_invalid_bodies_get_400_in_french(assistant: Assistant, body: bytes):
    status, payload = post_json(assistant.webhook, body)
    assert status == 400
    assert "JSON" in payload["error"] or "sender" in payload["error"]


def test_empty_message_gets_a_french_reply(assistant: Assistant):
    assert "message est vide" in texts(assistant.say("empty-1", "   "))


def test_markup_is_returned_as_plain_text_only(assistant: Assistant):
    replies = assistant.say("markup-1", "<img src=x onerror=alert(1)>")
    assert all("<img" not in reply.get("text", "") for reply in replies)
