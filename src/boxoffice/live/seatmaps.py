"""Seat maps kept in memory, one per schedule that has open streams in this process.

A map is loaded once from the database and then follows the seat-change feed. Every stream of
the schedule gets the same encoded bytes: a change is encoded once, however many are watching.
A map remembers its recent changes, so a client that reconnects is usually answered from memory.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from sqlalchemy import select

from boxoffice.db import Database
from boxoffice.live import sse
from boxoffice.live.changelog import SeatChange
from boxoffice.tables import seat

# Changes a map remembers for reconnecting clients.
RECENT = 5000
# Chunks a stream may have waiting before it is closed as too slow; the client then reconnects
# with Last-Event-ID and is caught up.
MAX_PENDING = 2000


class Subscriber:
    """One open stream's share of a map: the chunks it has not sent yet."""

    __slots__ = ("chunks", "closed", "wake")

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.closed = False
        self.wake = asyncio.Event()

    def push(self, chunk: bytes) -> None:
        if len(self.chunks) >= MAX_PENDING:
            self.close()
            return
        self.chunks.append(chunk)
        self.wake.set()

    def close(self) -> None:
        self.closed = True
        self.chunks.clear()
        self.wake.set()

    def take(self) -> bytes:
        taken = b"".join(self.chunks)
        self.chunks.clear()
        self.wake.clear()
        return taken


@dataclass(slots=True)
class Seat:
    seat_number: str
    price: int
    status: str


class SeatMap:
    def __init__(self, schedule_id: int, version: int) -> None:
        self.schedule_id = schedule_id
        # Every change of this schedule up to `version` is applied.
        self.version = version
        self.seats: dict[int, Seat] = {}
        self.subscribers: set[Subscriber] = set()
        self.ready = asyncio.Event()
        self.failed: BaseException | None = None
        # Changes remembered for resuming: ids above `floor`.
        self.floor = version
        self._recent: deque[tuple[int, bytes]] = deque()
        self._early: list[SeatChange] = []
        self._snapshot: tuple[int, bytes] | None = None

    def load(self, seats: dict[int, Seat]) -> None:
        self.seats = seats
        early, self._early = self._early, []
        self.ready.set()
        if early:
            self.apply(early)

    def apply(self, changes: list[SeatChange]) -> None:
        """Apply changes of this schedule, in order, and pass them to every subscriber."""
        if not self.ready.is_set():
            self._early.extend(changes)
            return
        parts = []
        for change in changes:
            found = self.seats.get(change.seat_id)
            if found is None:
                continue
            # Every change is passed on, even one that matches the state loaded: a client that
            # resumes from an earlier point needs it.
            found.status = change.status
            encoded = sse.event("seat", self._seat_event(change.seat_id, found), change.id)
            self._recent.append((change.id, encoded))
            parts.append(encoded)
            self.version = change.id
        while len(self._recent) > RECENT:
            self.floor = self._recent.popleft()[0]
        if parts:
            chunk = b"".join(parts)
            for subscriber in self.subscribers:
                subscriber.push(chunk)

    @staticmethod
    def _seat_event(seat_id: int, found: Seat) -> dict[str, object]:
        return {"id": seat_id, "seat_number": found.seat_number, "status": found.status}

    def snapshot(self) -> bytes:
        """The `snapshot` event of the map as it is, encoded once per version."""
        if self._snapshot is None or self._snapshot[0] != self.version:
            body = {
                "schedule_id": self.schedule_id,
                "items": [
                    {
                        "id": seat_id,
                        "seat_number": found.seat_number,
                        "price": found.price,
                        "status": found.status,
                    }
                    for seat_id, found in self.seats.items()
                ],
            }
            self._snapshot = (self.version, sse.event("snapshot", body, self.version))
        return self._snapshot[1]

    def recent_after(self, last_seen: int) -> bytes | None:
        """The remembered changes after `last_seen`, or None when memory does not reach back
        that far."""
        if last_seen < self.floor:
            return None
        return b"".join(encoded for change_id, encoded in self._recent if change_id > last_seen)

    def replay(self, changes: list[SeatChange]) -> bytes:
        """Encode changes read from the log for one client, with the seat numbers known here."""
        parts = []
        for change in changes:
            found = self.seats.get(change.seat_id)
            if found is not None:
                data = {"id": change.seat_id, "seat_number": found.seat_number}
                parts.append(sse.event("seat", {**data, "status": change.status}, change.id))
        return b"".join(parts)

    def subscribe(self) -> Subscriber:
        subscriber = Subscriber()
        self.subscribers.add(subscriber)
        return subscriber

    def close(self) -> None:
        for subscriber in self.subscribers:
            subscriber.close()


async def load_seats(db: Database, schedule_id: int) -> dict[int, Seat]:
    """The schedule's seats with the status their rows hold. The stream follows that status, so
    a hold that expires shows as AVAILABLE once the sweeper frees its seat (within a second)."""
    async with db.reading() as conn:
        rows = await conn.execute(
            select(seat.c.id, seat.c.seat_number, seat.c.price, seat.c.status)
            .where(seat.c.schedule_id == schedule_id)
            .order_by(seat.c.id)
        )
        return {row.id: Seat(row.seat_number, int(row.price), row.status) for row in rows}
