"""The feed's messages over PostgreSQL LISTEN/NOTIFY; the leader holds a session advisory lock,
which PostgreSQL releases by itself when the leader's connection goes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

log = logging.getLogger("boxoffice.live")

CHANNEL = "boxoffice_seat_changes"
# An arbitrary constant that names the leader's lock among the database's advisory locks.
LEADER_LOCK = 0x0B0C_5EA7_FEED
RECONNECT_SECONDS = 0.5


class PostgresBus:
    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._conn: Any = None
        self._leading = False
        self._inbox: asyncio.Queue[str | None] = asyncio.Queue()
        self._connecting = asyncio.Lock()

    async def _connection(self) -> Any:
        async with self._connecting:
            if self._conn is None or self._conn.is_closed():
                self._leading = False
                conn = await asyncpg.connect(self._dsn, timeout=5)
                await conn.add_listener(CHANNEL, self._received)
                conn.add_termination_listener(self._lost)
                self._conn = conn
            return self._conn

    def _received(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._inbox.put_nowait(payload)

    def _lost(self, _conn: Any) -> None:
        self._leading = False
        # Wake the listener so that it connects again.
        self._inbox.put_nowait(None)

    async def lead(self) -> bool:
        conn = await self._connection()
        if not self._leading:
            self._leading = bool(
                await conn.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK)
            )
        return self._leading

    async def publish(self, message: str) -> None:
        conn = await self._connection()
        await conn.execute("SELECT pg_notify($1, $2)", CHANNEL, message)

    async def messages(self) -> AsyncIterator[str]:
        while True:
            try:
                await self._connection()
            except (OSError, asyncpg.PostgresError) as error:
                log.warning("seat feed cannot reach PostgreSQL (%s); trying again", error)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            message = await self._inbox.get()
            if message is not None:
                yield message

    async def close(self) -> None:
        if self._conn is not None and not self._conn.is_closed():
            await self._conn.close(timeout=2)
        self._conn = None
