"""Unit tests of the hardened REST channel's input handling (the live server is tested elsewhere)."""

import pytest

from bot.text import clean_user_text, fold
from rasa_ext.rest_channel import BadRequest, describe_failure, message_text, parse_body


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
        "abc-1",
        "Bonjour",
        {"a": 1},
    )
    assert parse_body(b'{"sender": "abc", "message": "x", "metadata": [1]}')[2] is None


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
    assert clean_user_text(text, 1000) == ("Bonjour,\nQui peut candidater ?\nCordialement,\nMarie", False)


def test_a_second_question_is_offered_as_a_button():
    from rasa_ext.rest_channel import other_questions_offer

    offer = other_questions_offer("s", "Qui peut candidater ? Et quelle était la date limite ?")
    assert offer and offer[0]["buttons"] == [
        {"title": "Et quelle était la date limite ?", "payload": "Et quelle était la date limite ?"}
    ]
    assert other_questions_offer("s", "Qui peut candidater ?") == []
