"""How the processes of one deployment share the seat-change feed.

One process at a time leads: it reads the change log and publishes what it read; every process
(the leader too) receives the messages and hands them to its streams. The log is read once per
change, not once per process. Three media carry the messages: Redis pub/sub when Redis is
configured, PostgreSQL LISTEN/NOTIFY otherwise, and on SQLite (one machine) nothing at all:
every process leads for itself and polls the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol


class Bus(Protocol):
    async def lead(self) -> bool:
        """Whether this process leads now; tries to become the leader when nobody does."""

    async def publish(self, message: str) -> None:
        """Send a message to every process, this one included, in order."""

    def messages(self) -> AsyncIterator[str]:
        """The messages published by any process, in order, for as long as the process runs.
        After a lost connection some may be missing: the feed notices the gap and reads it
        from the log."""

    async def close(self) -> None: ...


class LocalBus:
    """Every process is its own leader and its own only listener."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str] = asyncio.Queue()

    async def lead(self) -> bool:
        return True

    async def publish(self, message: str) -> None:
        self._queue.put_nowait(message)

    async def messages(self) -> AsyncIterator[str]:
        while True:
            yield await self._queue.get()

    async def close(self) -> None:
        return None
