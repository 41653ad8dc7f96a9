"""The seat-change log (`seat_change`, filled by a trigger): reading it in commit order.

An id is drawn when a change is written, not when its transaction commits, so on PostgreSQL a
change with a lower id can become visible after one with a higher id. A reader that moved its
cursor past the higher one would skip the lower one for good. `Horizon` says how far the log is
settled: no change with an id at or below it can still appear. Readers never read past it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.db import Database, skip_locked
from boxoffice.tables import seat_change

log = logging.getLogger("boxoffice.live")

# How long a change is kept for clients that reconnect; an older Last-Event-ID gets a snapshot.
RETENTION = timedelta(minutes=15)
READ_BATCH = 5000
PRUNE_BATCH = 5000
# A transaction that has been open this long is assumed not to be writing seat changes, so that
# one forgotten session cannot freeze every live seat map. Holds and payments take milliseconds.
STALL_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class SeatChange:
    id: int
    schedule_id: int
    seat_id: int
    status: str


async def read(
    conn: AsyncConnection,
    after: int,
    upto: int,
    schedule_id: int | None = None,
    limit: int = READ_BATCH,
) -> list[SeatChange]:
    """Changes with `after < id <= upto`, oldest first."""
    query = select(
        seat_change.c.id, seat_change.c.schedule_id, seat_change.c.seat_id, seat_change.c.status
    ).where(seat_change.c.id > after, seat_change.c.id <= upto)
    if schedule_id is not None:
        query = query.where(seat_change.c.schedule_id == schedule_id)
    rows = await conn.execute(query.order_by(seat_change.c.id).limit(limit))
    return [SeatChange(*row) for row in rows]


async def oldest_kept(conn: AsyncConnection) -> int | None:
    """The lowest id still in the log: every change after it is still there (pruning only ever
    removes the oldest ones)."""
    oldest: int | None = (await conn.execute(select(func.min(seat_change.c.id)))).scalar()
    return oldest


async def prune(db: Database, older_than: datetime) -> int:
    """Forget changes written before `older_than`, oldest first. Safe in every process at once."""
    async with db.transaction() as conn:
        picked = (
            await conn.execute(
                skip_locked(
                    select(seat_change.c.id)
                    .where(seat_change.c.created_at < older_than)
                    .order_by(seat_change.c.id)
                    .limit(PRUNE_BATCH)
                )
            )
        ).scalars()
        ids = list(picked)
        if ids:
            await conn.execute(delete(seat_change).where(seat_change.c.id.in_(ids)))
        return len(ids)


class Horizon:
    """SQLite has one writer at a time, which draws ids and commits in the same order: the
    highest id handed out by a committed transaction is settled at once."""

    # Set when the log's ids have started again from the beginning (see PostgresHorizon).
    restarted = False

    async def settled(self, conn: AsyncConnection) -> int:
        seq = await conn.exec_driver_sql(
            "SELECT seq FROM sqlite_sequence WHERE name = 'seat_change'"
        )
        return int(seq.scalar() or 0)

    async def head(self, conn: AsyncConnection) -> int:
        """The settled head now, waiting for the writers open at this moment if need be."""
        return await self.settled(conn)


@dataclass(frozen=True, slots=True)
class _Mark:
    last_id: int
    writers: frozenset[str]
    at: float


class PostgresHorizon(Horizon):
    """A mark is the sequence's last id, then the writing transactions of this database open at
    that moment. Every change with an id up to the mark was drawn by a transaction that had
    already started writing, so once none of those transactions is still open, the mark is
    settled. Each call takes a new mark and reports the newest settled one."""

    def __init__(self) -> None:
        self._marks: deque[_Mark] = deque()
        self._horizon = 0
        self._newest_seen = 0

    async def settled(self, conn: AsyncConnection) -> int:
        # The sequence first, the open transactions second: that order is what makes a mark true.
        last_id = int(
            (
                await conn.exec_driver_sql(
                    "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM seat_change_id_seq"
                )
            ).scalar_one()
        )
        writers = frozenset(
            (
                await conn.exec_driver_sql(
                    "SELECT backend_xid::text FROM pg_stat_activity "
                    "WHERE datname = current_database() AND backend_xid IS NOT NULL "
                    "AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )
        # The sequence only goes back when the log was emptied and its ids restarted (a
        # restore, a test's TRUNCATE).
        self.restarted = last_id < self._newest_seen
        self._newest_seen = last_id
        if self.restarted:
            self._marks.clear()
            self._horizon = 0
        now = time.monotonic()
        self._marks.append(_Mark(last_id, writers, now))
        settled = []
        for mark in self._marks:
            still_open = mark.writers & writers
            if still_open and now - mark.at > STALL_SECONDS:
                log.warning("seat changes up to id %s settled by time-out", mark.last_id)
            if not still_open or now - mark.at > STALL_SECONDS:
                settled.append(mark)
                self._horizon = max(self._horizon, mark.last_id)
        self._marks = deque(
            m for m in self._marks if m not in settled and m.last_id > self._horizon
        )
        return self._horizon

    async def head(self, conn: AsyncConnection) -> int:
        # Start from the sequence as it is: nothing before it matters to a process starting now.
        self._marks.clear()
        self._horizon = 0
        self._newest_seen = 0
        await self.settled(conn)
        target = max((mark.last_id for mark in self._marks), default=self._horizon)
        while self._horizon < target:
            await asyncio.sleep(0.01)
            await self.settled(conn)
        return self._horizon
