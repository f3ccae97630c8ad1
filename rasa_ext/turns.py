"""Idempotent turns: the same (conversation, message id) is played once.

A client that did not get an answer in time (network cut, timeout, HTTP 5xx, 429) sends the same
message again with the same `message_id`. Without a record, Rasa would play it twice (a repeated
« oui » in the self-test would answer the next question). With it:
- the first request claims the id, plays the turn and records its answer (`RECORD_SECONDS`);
- a repeat while the first is in flight waits for that answer; a later repeat gets it at once;
- a turn that failed or timed out is not recorded (Rasa did not save it): the repeat plays it.

One server: records in memory. Several servers (`REDIS_URL` set): records in Redis, shared.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

from redis.exceptions import RedisError

from bot.config import settings

logger = logging.getLogger(__name__)

RECORD_SECONDS = 3600
MAX_MEMORY_RECORDS = 20_000  # about a few KB each: bounded memory whatever clients send

Replies = list[dict[str, Any]]


def pending_seconds() -> float:
    """A claim whose server died is forgotten after this: longer than any turn."""
    return settings().turn_timeout_seconds + 15


Play = Callable[[], Awaitable[tuple[Replies, bool]]]
MISSING, PENDING = "missing", "pending"


class TurnRecords(ABC):
    """How a repeated message id is answered; backends store the records."""

    poll_seconds = 0.05
    store_errors: tuple[type[Exception], ...] = ()

    async def play_once(
        self, sender: str, message_id: str | None, play: Play, busy: Replies
    ) -> Replies:
        """`play()` gives (replies, completed). `busy` answers a repeat whose first run outlives
        pending_seconds() (it cannot, unless its server died)."""
        if message_id is None:
            return (await play())[0]
        key = f"turn:{sender}:{message_id}"
        try:
            outcome = await self._claim_or_wait(key)
        except self.store_errors as error:
            logger.error("Turn records unreachable, turn played unrecorded: %s", error)
            return (await play())[0]
        if outcome is None:
            return busy
        if isinstance(outcome, list):
            logger.info(
                "Repeated message %s (conversation %s): answer replayed", message_id, sender
            )
            return outcome
        return await self._play_claimed(key, play)

    async def _claim_or_wait(self, key: str) -> bool | Replies | None:
        """True once this caller holds the key; the recorded replies of a finished first run;
        None if the first run is still in flight after pending_seconds()."""
        deadline = time.monotonic() + pending_seconds()
        while time.monotonic() < deadline:
            if await self.claim(key):
                return True
            state = await self.state(key)
            while state == PENDING and time.monotonic() < deadline:
                await asyncio.sleep(self.poll_seconds)
                state = await self.state(key)
            if isinstance(state, list):
                return state
            # MISSING: the first run failed (or its record expired): claim it again.
        return None

    async def _play_claimed(self, key: str, play: Play) -> Replies:
        try:
            replies, completed = await play()
        except BaseException:
            await self._forget(key)
            raise
        try:
            await (self.record(key, replies) if completed else self.release(key))
        except self.store_errors as error:  # the turn was played: answer it anyway
            logger.error("Turn record not saved: %s", error)
        return replies

    async def _forget(self, key: str) -> None:
        try:
            await self.release(key)
        except self.store_errors as error:
            logger.error("Turn record not released: %s", error)

    @abstractmethod
    async def claim(self, key: str) -> bool:
        """Mark the key in flight if nobody holds it; True when this caller holds it now."""

    @abstractmethod
    async def state(self, key: str) -> str | Replies:
        """MISSING, PENDING or the recorded replies."""

    @abstractmethod
    async def record(self, key: str, replies: Replies) -> None: ...

    @abstractmethod
    async def release(self, key: str) -> None: ...


class MemoryTurnRecords(TurnRecords):
    """One server: a bounded dict of key → (expiry, replies or None while in flight)."""

    def __init__(self, max_records: int = MAX_MEMORY_RECORDS) -> None:
        self.max_records = max_records
        self._records: OrderedDict[str, tuple[float, Replies | None]] = OrderedDict()

    async def claim(self, key: str) -> bool:
        if await self.state(key) != MISSING:
            return False
        self._records[key] = (time.monotonic() + pending_seconds(), None)
        self._evict()
        return True

    async def state(self, key: str) -> str | Replies:
        entry = self._records.get(key)
        if entry is None:
            return MISSING
        expiry, replies = entry
        if expiry < time.monotonic():
            del self._records[key]
            return MISSING
        return PENDING if replies is None else replies

    async def record(self, key: str, replies: Replies) -> None:
        self._records[key] = (time.monotonic() + RECORD_SECONDS, replies)
        self._records.move_to_end(key)

    async def release(self, key: str) -> None:
        self._records.pop(key, None)

    def _evict(self) -> None:
        while len(self._records) > self.max_records:
            self._records.popitem(last=False)  # the oldest first


class RedisTurnRecords(TurnRecords):
    """Several servers: records in Redis (`SET NX` claims), so a repeat reaching another server
    is answered the same way. If Redis fails, the turn is played without a record (the lock
    store fails then too, and says so)."""

    poll_seconds = 0.1
    store_errors = (RedisError,)
    PENDING_MARK = b"\x00pending"

    def __init__(self, url: str, prefix: str = "") -> None:
        from redis.asyncio import Redis

        from rasa_ext.stores import redis_options

        options = redis_options(url)
        self.prefix = prefix
        # The same database as the lock store.
        self.redis = Redis(ssl=options.pop("tls"), **options)

    async def claim(self, key: str) -> bool:
        return bool(
            await self.redis.set(
                self.prefix + key, self.PENDING_MARK, nx=True, ex=int(pending_seconds())
            )
        )

    async def state(self, key: str) -> str | Replies:
        value = await self.redis.get(self.prefix + key)
        if value is None:
            return MISSING
        return PENDING if value == self.PENDING_MARK else json.loads(value)

    async def record(self, key: str, replies: Replies) -> None:
        await self.redis.set(self.prefix + key, json.dumps(replies), ex=RECORD_SECONDS)

    async def release(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)


_records: TurnRecords | None = None


def turn_records() -> TurnRecords:
    """The process's records, chosen once from the environment (shared by every channel)."""
    global _records
    if _records is None:
        url = settings().redis_url.get_secret_value()
        prefix = settings().redis_key_prefix  # "<prefix>:" like the lock store's keys
        _records = (
            RedisTurnRecords(url, f"{prefix}:" if prefix else "") if url else MemoryTurnRecords()
        )
    return _records
