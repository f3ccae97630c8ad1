"""Idempotent turns (rasa_ext/turns.py): one play per (conversation, message id), in memory and in
Redis (the cluster's store; Redis runs on 127.0.0.1:6379 in the test environment)."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from rasa_ext import turns
from rasa_ext.turns import MemoryTurnRecords, RedisTurnRecords, TurnRecords

BUSY = [{"text": "busy"}]


class CountingTurn:
    """A fake turn: counts its plays, takes `seconds`, completes or not."""

    def __init__(self, seconds: float = 0.0, completed: bool = True) -> None:
        self.plays = 0
        self.seconds = seconds
        self.completed = completed

    async def __call__(self) -> tuple[list[dict], bool]:
        self.plays += 1
        await asyncio.sleep(self.seconds)
        return [{"text": f"réponse {self.plays}"}], self.completed


def redis_records() -> RedisTurnRecords:
    return RedisTurnRecords("redis://127.0.0.1:6379/1", prefix=f"test-{uuid.uuid4().hex}:")


BACKENDS = {"memory": MemoryTurnRecords, "redis": redis_records}


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def make_records(request):
    return BACKENDS[request.param]


def test_a_repeated_message_id_is_answered_from_the_record(make_records):
    async def scenario() -> tuple[list, list, list, int]:
        records: TurnRecords = make_records()
        turn = CountingTurn()
        first = await records.play_once("conv-1", "m1", turn, BUSY)
        again = await records.play_once("conv-1", "m1", turn, BUSY)
        other = await records.play_once("conv-1", "m2", turn, BUSY)
        return first, again, other, turn.plays

    first, again, other, plays = asyncio.run(scenario())
    assert first == again == [{"text": "réponse 1"}]
    assert other == [{"text": "réponse 2"}]
    assert plays == 2


def test_the_same_id_in_another_conversation_is_another_message(make_records):
    async def scenario() -> int:
        records, turn = make_records(), CountingTurn()
        await records.play_once("conv-a", "m1", turn, BUSY)
        await records.play_once("conv-b", "m1", turn, BUSY)
        return turn.plays

    assert asyncio.run(scenario()) == 2


def test_a_repeat_in_flight_waits_for_the_first_answer(make_records):
    async def scenario() -> tuple[list, list, int]:
        records, turn = make_records(), CountingTurn(seconds=0.5)
        first, repeat = await asyncio.gather(
            records.play_once("conv-1", "m1", turn, BUSY),
            records.play_once("conv-1", "m1", turn, BUSY),
        )
        return first, repeat, turn.plays

    first, repeat, plays = asyncio.run(scenario())
    assert plays == 1
    assert first == repeat == [{"text": "réponse 1"}]


def test_a_failed_turn_is_played_again_on_retry(make_records):
    """Rasa saved nothing of a turn that failed or timed out: the retry must really run."""

    async def scenario() -> tuple[list, list, int]:
        records, turn = make_records(), CountingTurn(completed=False)
        first = await records.play_once("conv-1", "m1", turn, BUSY)
        turn.completed = True
        retry = await records.play_once("conv-1", "m1", turn, BUSY)
        return first, retry, turn.plays

    first, retry, plays = asyncio.run(scenario())
    assert plays == 2
    assert retry == [{"text": "réponse 2"}]


def test_messages_without_id_are_always_played(make_records):
    async def scenario() -> int:
        records, turn = make_records(), CountingTurn()
        await records.play_once("conv-1", None, turn, BUSY)
        await records.play_once("conv-1", None, turn, BUSY)
        return turn.plays

    assert asyncio.run(scenario()) == 2


def test_records_expire(monkeypatch):
    monkeypatch.setattr(turns, "RECORD_SECONDS", -1)

    async def scenario() -> int:
        records, turn = MemoryTurnRecords(), CountingTurn()
        await records.play_once("conv-1", "m1", turn, BUSY)
        await records.play_once("conv-1", "m1", turn, BUSY)
        return turn.plays

    assert asyncio.run(scenario()) == 2


def test_memory_records_are_bounded():
    async def scenario() -> int:
        records, turn = MemoryTurnRecords(max_records=3), CountingTurn()
        for index in range(10):
            await records.play_once("conv-1", f"m{index}", turn, BUSY)
        return len(records._records)

    assert asyncio.run(scenario()) == 3


def test_redis_down_plays_the_turn_unrecorded():
    async def scenario() -> tuple[list, int]:
        records, turn = RedisTurnRecords("redis://127.0.0.1:1/1"), CountingTurn()
        replies = await records.play_once("conv-1", "m1", turn, BUSY)
        return replies, turn.plays

    assert asyncio.run(scenario()) == ([{"text": "réponse 1"}], 1)
