"""A real python-socketio client speaking to the assistant's socket.io channel (tests, fuzz)."""

from __future__ import annotations

import asyncio
from typing import Any

import socketio

QUIET_SECONDS = 0.4  # a turn's messages are emitted together, once the turn is over


class SocketClient:
    """One socket.io connection: collects `bot_uttered` messages and `session_confirm`."""

    def __init__(self, url: str, origin: str | None = None) -> None:
        self.url = url
        self.headers = {"Origin": origin} if origin else {}
        self.sio = socketio.AsyncClient(reconnection=False)
        self.messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.confirmed: asyncio.Queue[str] = asyncio.Queue()
        self.disconnected = asyncio.Event()
        self.sio.on("bot_uttered", self.messages.put_nowait)
        self.sio.on("session_confirm", self.confirmed.put_nowait)
        self.sio.on("disconnect", self.disconnected.set)

    async def connect(self) -> SocketClient:
        # Long polling: engine.io 4.15's WebSocket client needs aiohttp >= 3.10 (Rasa pins 3.9);
        # WebSocket frames are tested with aiohttp's own client (test_socketio_channel.py).
        await self.sio.connect(self.url, headers=self.headers, transports=["polling"])
        return self

    async def close(self) -> None:
        await self.sio.disconnect()

    async def session(self, session_id: str | None) -> str | list[dict[str, Any]]:
        """The confirmed session id, or the refusal messages."""
        await self.sio.emit("session_request", {"session_id": session_id})
        confirm = asyncio.ensure_future(self.confirmed.get())
        refusal = asyncio.ensure_future(self.replies())
        done, pending = await asyncio.wait(
            {confirm, refusal}, timeout=30, return_when=asyncio.FIRST_COMPLETED
        )
        for task in pending:
            task.cancel()
        return done.pop().result()

    async def say(
        self, data: Any, timeout: float = 40, quiet: float = QUIET_SECONDS
    ) -> list[dict[str, Any]]:
        await self.sio.emit("user_uttered", data)
        return await self.replies(timeout, quiet)

    async def replies(
        self, timeout: float = 40, quiet: float = QUIET_SECONDS
    ) -> list[dict[str, Any]]:
        """The messages of one turn: the first within `timeout`, the rest until quiet."""
        messages = [await asyncio.wait_for(self.messages.get(), timeout)]
        while True:
            try:
                messages.append(await asyncio.wait_for(self.messages.get(), quiet))
            except asyncio.TimeoutError:
                return messages


def socket_texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(message.get("text", "") for message in messages)
