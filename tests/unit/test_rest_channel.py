"""Unit tests of the hardened REST channel's input handling (the live server is tested elsewhere)."""

import asyncio
import json
import uuid

import pytest

from bot.config import settings
from bot.text import clean_user_text, fold
from rasa_ext.channel_guards import (
    MAX_JSON_DEPTH,
    UNAVAILABLE,
    BadRequest,
    Incoming,
    answer,
    describe_failure,
    harden_app,
    message_text,
    origin_allowed,
    parse_body,
)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'"text"',
        b"42",
        b"null",
        b'{"message": "hi"}',
        b'{"sender": 5}',
        b'{"sender": ""}',
        b'{"sender": "' + b"x" * 129 + b'"}',
        b'{"sender": "a b"}',
        b"\xff\xfe",
    ],
)
def test_bad_bodies_are_refused_with_a_french_reason(body):
    with pytest.raises(BadRequest) as error:
        parse_body(body)
    assert any(word in str(error.value) for word in ("JSON", "sender"))


def test_good_body():
    assert parse_body(b'{"sender": "abc-1", "message": "Bonjour", "metadata": {"a": 1}}') == (
        Incoming("abc-1", "Bonjour", None, {"a": 1})
    )
    assert parse_body(b'{"sender": "abc", "message": "x", "metadata": [1]}').metadata is None
    body = b'{"sender": "abc", "message": "x", "message_id": "9f1c-2_A"}'
    assert parse_body(body).message_id == "9f1c-2_A"


@pytest.mark.parametrize(
    ("message", "expected"),
    [("hi", "hi"), (3, "3"), (2.5, "2.5"), (True, ""), (None, ""), ([1], ""), ({"a": 1}, "")],
)
def test_message_text(message, expected):
    assert message_text(message) == expected


def test_clean_user_text_cuts_and_strips_control_characters():
    assert clean_user_text("  a\x00b\tc\n ", 100) == ("a b c", False)
    text, cut = clean_user_text("é" * 5000, 1000)
    assert cut and len(text) == 1000


def test_fold():
    assert fold("  L’Île-de-France ") == "l'ile-de-france"
    assert fold("Cœur") == "coeur"


def test_a_wrapped_redis_error_is_logged_as_the_lock_store():
    from rasa.core.lock_store import LockError
    from redis.exceptions import ConnectionError as RedisConnectionError

    try:
        try:
            raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")
        except RedisConnectionError as cause:
            raise LockError("could not acquire lock") from cause
    except LockError as error:
        line = describe_failure(error)
    assert line.startswith("lock store (Redis) unreachable")
    assert "Connection refused" in line


def test_a_database_error_is_logged_as_the_tracker_store():
    from sqlalchemy.exc import OperationalError

    error = OperationalError("SELECT 1", {}, Exception("connection refused"))
    assert describe_failure(error).startswith("tracker store (SQL database) unreachable")


def test_clean_user_text_keeps_line_breaks_of_an_e_mail():
    text = "Bonjour,\r\n\r\n  Qui peut candidater ?\n\nCordialement,\nMarie  "
    assert clean_user_text(text, 1000) == (
        "Bonjour,\nQui peut candidater ?\nCordialement,\nMarie",
        False,
    )


def test_a_second_question_is_offered_as_a_button():
    from rasa_ext.channel_guards import other_questions_offer

    offer = other_questions_offer("s", "Qui peut candidater ? Et quelle était la date limite ?")
    assert offer and offer[0]["buttons"] == [
        {"title": "Et quelle était la date limite ?", "payload": "Et quelle était la date limite ?"}
    ]
    assert other_questions_offer("s", "Qui peut candidater ?") == []


@pytest.mark.parametrize("sender", ["abc\n", "abc\r\n", "\nabc", "a\u2028"])
def test_the_sender_pattern_is_anchored(sender):
    with pytest.raises(BadRequest, match="sender"):
        parse_body(json.dumps({"sender": sender, "message": "x"}).encode())


@pytest.mark.parametrize(
    "message_id", ["", "x" * 65, "a b", "é", "a\n", "a/b", 12, ["m"], {"id": "m"}, True]
)
def test_an_invalid_message_id_is_refused_in_french(message_id):
    body = {"sender": "s", "message": "x", "message_id": message_id}
    with pytest.raises(BadRequest, match="« message_id » doit faire de 1 à 64 caractères"):
        parse_body(json.dumps(body).encode())


@pytest.mark.parametrize(
    "raw",
    [
        b'{"sender": "a", "message": "hi", "metadata": ' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b"[" * 50_000 + b"]" * 50_000,
        b'{"sender": "a", "message": "hi", "metadata": ' + b"[" * 500 + b"]" * 500 + b"}",
        b'{"sender": "a", "message": ' + b'{"a": ' * 20 + b"1" + b"}" * 20 + b"}",
    ],
    ids=["deep-metadata", "deep-bare", "metadata-500", "message-20"],
)
def test_deeply_nested_bodies_are_refused_in_french(raw):
    """Measured before: HTTP 500 for the first two (RecursionError), stored metadata for the others."""
    with pytest.raises(BadRequest, match="trop imbriqué"):
        parse_body(raw)


def test_nesting_up_to_the_limit_is_accepted():
    metadata = {"a": 1}
    for _ in range(MAX_JSON_DEPTH - 2):
        metadata = {"k": metadata}
    body = {"sender": "s", "message": "x", "metadata": metadata}
    assert parse_body(json.dumps(body).encode()).metadata == metadata


def test_large_metadata_is_refused_in_french():
    body = {"sender": "s", "message": "x", "metadata": {"blob": "x" * 5000}}
    with pytest.raises(BadRequest, match="« metadata » est trop volumineux"):
        parse_body(json.dumps(body).encode())


@pytest.mark.parametrize(
    ("allowed", "origin", "expected"),
    [
        ("https://site.example", "https://site.example", True),
        ("https://site.example", "https://site.example.evil.fr", False),
        ("https://site.example", "https://evil.fr/https://site.example", False),
        ("https://site.example", "http://site.example", False),
        ("https://a.example https://b.example", "https://b.example", True),
        ("https://site.example", None, True),  # not a browser page: nothing cross-site
        ("", "https://site.example", False),  # nothing configured: no page may connect
        ("*", "https://any.example", True),
        ("https://site.example *", "https://any.example", True),
    ],
)
def test_origins_are_compared_exactly(monkeypatch, allowed, origin, expected):
    monkeypatch.setenv("ALLOWED_ORIGINS", allowed)
    assert origin_allowed(origin) is expected


class FakeRasa:
    """Rasa's on_new_message: answers after `seconds`, counting the turns it plays."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds
        self.turns = 0

    async def __call__(self, message) -> None:
        self.turns += 1
        await asyncio.sleep(self.seconds)
        await message.output_channel.send_text_message(message.sender_id, f"tour {self.turns}")


def test_a_turn_over_the_timeout_gets_the_french_fallback(monkeypatch):
    monkeypatch.setenv("TURN_TIMEOUT_SECONDS", "0.2")
    incoming = Incoming(f"s-{uuid.uuid4().hex}", "Qui peut candidater ?")
    replies = asyncio.run(answer(FakeRasa(seconds=5), "rest", incoming))
    assert [reply["text"] for reply in replies] == [UNAVAILABLE]


def test_a_repeated_message_id_is_not_played_twice():
    rasa = FakeRasa()
    incoming = Incoming(f"s-{uuid.uuid4().hex}", "Qui peut candidater ?", "m-1")

    async def twice() -> tuple[list, list]:
        return await answer(rasa, "rest", incoming), await answer(rasa, "rest", incoming)

    first, again = asyncio.run(twice())
    assert rasa.turns == 1
    assert first == again == [{"recipient_id": incoming.sender, "text": "tour 1"}]


def test_the_server_limits_are_set_with_a_french_413():
    from sanic import Sanic
    from sanic.exceptions import PayloadTooLarge

    app = Sanic(f"t{uuid.uuid4().hex}")
    harden_app(app)
    assert app.config.REQUEST_MAX_SIZE == settings().max_request_bytes == 64 * 1024
    assert app.config.WEBSOCKET_MAX_SIZE == settings().max_request_bytes
    reply = app.error_handler.lookup(PayloadTooLarge(""), None)(None, PayloadTooLarge(""))
    assert reply.status == 413
    assert json.loads(reply.body) == {
        "error": "La requête est trop volumineuse (au plus 64 Kio). Envoyez une question plus courte."
    }


def test_metadata_sent_as_json_text_is_decoded_with_the_same_limits():
    """Rasa's socket.io widgets may send metadata as JSON text."""
    from rasa_ext.channel_guards import valid_metadata

    assert valid_metadata('{"page": "/accueil"}') == {"page": "/accueil"}
    assert valid_metadata("pas du JSON") is None
    assert valid_metadata("[1, 2]") is None
    with pytest.raises(BadRequest, match="trop imbriqué"):
        valid_metadata("[" * 50_000 + "]" * 50_000)
    with pytest.raises(BadRequest, match="trop volumineux"):
        valid_metadata(json.dumps({"blob": "x" * 3000}))
