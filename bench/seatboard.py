"""What the crowd believes about free seats: the seat map every fan looks at, shared by the
load generator so that 20,000 fans do not each download 5,000 seats. A fan takes a random seat
from it; a conflict drops the seat; now and then somebody reloads the map."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Awaitable, Callable


class SeatBoard:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._seats: list[int] = []
        self._where: dict[int, int] = {}
        self._pending: set[int] = set()  # picked, the hold not answered yet
        self._lock = asyncio.Lock()
        self.refreshed_at = -math.inf
        self.refreshes = 0

    def __len__(self) -> int:
        return len(self._seats)

    def _remove(self, seat_id: int) -> None:
        i = self._where.pop(seat_id, None)
        if i is None:
            return
        last = self._seats.pop()
        if last != seat_id:
            self._seats[i] = last
            self._where[last] = i

    def pick(self) -> int | None:
        """A random seat believed free, now pending until `held`, `lost` or `release`."""
        if not self._seats:
            return None
        seat_id = self._seats[self._rng.randrange(len(self._seats))]
        self._remove(seat_id)
        self._pending.add(seat_id)
        return seat_id

    def held(self, seat_id: int) -> None:
        self._pending.discard(seat_id)

    def lost(self, seat_id: int) -> None:
        """Someone else has it."""
        self._pending.discard(seat_id)

    def release(self, seat_id: int) -> None:
        """The hold failed for another reason: the seat may still be free."""
        self._pending.discard(seat_id)
        if seat_id not in self._where:
            self._where[seat_id] = len(self._seats)
            self._seats.append(seat_id)

    async def reload(
        self, fetch: Callable[[], Awaitable[list[int] | None]], min_interval: float
    ) -> None:
        """Reload the map with `fetch` (the seat listing), unless another fan did it less than
        `min_interval` seconds ago: then just wait for theirs."""
        async with self._lock:
            if time.monotonic() - self.refreshed_at < min_interval:
                return
            free = await fetch()
            if free is None:
                return
            self._seats = [s for s in free if s not in self._pending]
            self._where = {s: i for i, s in enumerate(self._seats)}
            self.refreshed_at = time.monotonic()
            self.refreshes += 1
