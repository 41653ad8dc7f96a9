"""The seat-change feed of one process: every committed change, once, in log order.

The leading process (see `bus`) reads the log up to its settled horizon and publishes what it
read as messages `{"a": after, "u": upto, "c": [[id, schedule_id, seat_id, status], ...]}`: the
changes with `after < id <= upto`. Every process applies the messages in order. A process whose
position is behind a message's `after` (it missed messages, or a new leader started from
further on) reads the gap from the log itself, so nothing is skipped and nothing is applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from boxoffice.db import Database
from boxoffice.live import changelog
from boxoffice.live.bus import Bus
from boxoffice.live.changelog import Horizon, SeatChange

log = logging.getLogger("boxoffice.live")

# How often the leader looks for new changes, and how often another process asks to lead.
POLL_SECONDS = 0.05
FOLLOWER_POLL_SECONDS = 0.5
# Changes per message: a NOTIFY payload must stay under 8000 bytes.
CHUNK = 100

Deliver = Callable[[list[SeatChange]], None]


class SeatFeed:
    def __init__(
        self, db: Database, bus: Bus, horizon: Horizon, deliver: Deliver, reset: Callable[[], None]
    ) -> None:
        self._db = db
        self._bus = bus
        self._horizon = horizon
        self._deliver = deliver
        self._reset = reset
        # Every change with an id up to here has been delivered.
        self.position = 0
        self._published: int | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Start following from the log's settled head; later calls do nothing."""
        async with self._starting:
            if self._tasks:
                return
            async with self._db.reading() as conn:
                self.position = await self._horizon.head(conn)
            self._tasks = [
                asyncio.create_task(self._follow(), name="boxoffice-seat-feed-follow"),
                asyncio.create_task(self._lead(), name="boxoffice-seat-feed-lead"),
            ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self._bus.close()

    async def _lead(self) -> None:
        while True:
            leading = False
            try:
                leading = await self._bus.lead()
                if leading:
                    await self._publish_new()
                else:
                    self._published = None
            except Exception as error:
                log.warning("seat feed could not read or publish changes: %r", error)
                self._published = None
            await asyncio.sleep(POLL_SECONDS if leading else FOLLOWER_POLL_SECONDS)

    async def _publish_new(self) -> None:
        if self._published is None:
            # A new leader carries on from what it has applied itself.
            self._published = self.position
        async with self._db.reading() as conn:
            upto = await self._horizon.settled(conn)
            if self._horizon.restarted:
                await self._bus.publish(json.dumps({"r": 1, "u": upto}))
                self._published = upto
                return
            # A leader that has just taken over may have applied more than its own horizon
            # has seen settle yet: it waits until the horizon passes what it has applied.
            while self._published < upto:
                changes = await changelog.read(conn, self._published, upto)
                if not changes:
                    # Nothing in the range: keep `after` where the processes are.
                    return
                full = len(changes) == changelog.READ_BATCH
                reached = changes[-1].id if full else upto
                await self._publish_chunks(changes, reached)
                self._published = reached

    async def _publish_chunks(self, changes: list[SeatChange], reached: int) -> None:
        after = self._published
        for start in range(0, len(changes), CHUNK):
            chunk = changes[start : start + CHUNK]
            upto = reached if start + CHUNK >= len(changes) else chunk[-1].id
            rows = [[c.id, c.schedule_id, c.seat_id, c.status] for c in chunk]
            await self._bus.publish(json.dumps({"a": after, "u": upto, "c": rows}))
            after = upto

    async def _follow(self) -> None:
        async for raw in self._bus.messages():
            try:
                await self._apply(json.loads(raw))
            except Exception as error:
                log.warning("seat feed could not apply a message: %r", error)

    async def _apply(self, message: dict[str, Any]) -> None:
        upto = int(message["u"])
        if message.get("r"):
            self.position = upto
            self._reset()
            return
        if upto <= self.position:
            return
        after = int(message["a"])
        if after > self.position:
            await self._catch_up(after)
        changes = [SeatChange(*row) for row in message["c"] if row[0] > self.position]
        if changes:
            self._deliver(changes)
        self.position = upto

    async def _catch_up(self, upto: int) -> None:
        """Deliver the changes up to `upto` from the log, which the leader found settled."""
        async with self._db.reading() as conn:
            while self.position < upto:
                changes = await changelog.read(conn, self.position, upto)
                if changes:
                    self._deliver(changes)
                full = len(changes) == changelog.READ_BATCH
                self.position = changes[-1].id if full else upto
