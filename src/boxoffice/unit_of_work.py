"""One owner per transaction. A unit of work opens a connection and a read-write transaction and
rolls everything back when it ends, unless its owner has called `commit()`: no error type,
attribute or flag decides whether work is kept, only the code that did it.

An answer that must be kept with the work (an idempotent request's stored response) is handed
to `commit()`: the recorder given when the unit of work was opened writes it in the same
transaction, just before the commit."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

# Writes the answer to a request inside the transaction that did its work.
Recorder = Callable[[AsyncConnection, Any], Awaitable[None]]


class UnitOfWork:
    def __init__(self, conn: AsyncConnection, recorder: Recorder | None = None) -> None:
        self.conn = conn
        self._recorder = recorder
        self.committed = False

    async def commit(self, answer: Any = None) -> None:
        """Keep the work; with `answer`, store it for replays in the same transaction."""
        if self._recorder is not None and answer is not None:
            await self._recorder(self.conn, answer)
        await self.conn.commit()
        self.committed = True
