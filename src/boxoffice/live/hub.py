"""The live seat maps of one process: the feed, the maps it keeps current, and the streams."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import datetime

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.live import changelog, sse
from boxoffice.live.bus import Bus, LocalBus
from boxoffice.live.changelog import Horizon, PostgresHorizon, SeatChange
from boxoffice.live.feed import SeatFeed
from boxoffice.live.redis_bus import RedisBus
from boxoffice.live.seatmaps import SeatMap, load_seats
from boxoffice.redis_connection import RedisClient

log = logging.getLogger("boxoffice.live")


def _bus(db: Database, redis: RedisClient | None, prefix: str) -> Bus:
    if redis is not None:
        database = db.url.render_as_string(hide_password=True)
        return RedisBus(redis, prefix + hashlib.sha256(database.encode()).hexdigest()[:16])
    if not db.is_sqlite:
        # Imported here: a process on SQLite never loads the PostgreSQL driver.
        from boxoffice.live.postgres_bus import PostgresBus

        return PostgresBus(db.url.set(drivername="postgresql").render_as_string(False))
    return LocalBus()


class LiveSeats:
    def __init__(self, db: Database, redis: RedisClient | None, redis_prefix: str = "") -> None:
        self._db = db
        horizon = Horizon() if db.is_sqlite else PostgresHorizon()
        self.feed = SeatFeed(db, _bus(db, redis, redis_prefix), horizon, self._deliver, self._reset)
        self._maps: dict[int, SeatMap] = {}

    async def close(self) -> None:
        for seat_map in self._maps.values():
            seat_map.close()
        self._maps.clear()
        await self.feed.stop()

    async def open_map(self, schedule_id: int) -> SeatMap:
        """The schedule's map, loaded and following the feed."""
        await self.feed.start()
        seat_map = self._maps.get(schedule_id)
        if seat_map is None:
            # Registered before loading, so that changes arriving meanwhile are kept for it.
            seat_map = SeatMap(schedule_id, self.feed.position)
            self._maps[schedule_id] = seat_map
            try:
                seat_map.load(await load_seats(self._db, schedule_id))
            except BaseException as error:
                seat_map.failed = error
                seat_map.ready.set()
                self._maps.pop(schedule_id, None)
                raise
        await seat_map.ready.wait()
        if seat_map.failed is not None:
            raise seat_map.failed
        return seat_map

    async def stream(
        self, schedule_id: int, last_event_id: str | None, until: datetime | None = None
    ) -> AsyncIterator[bytes]:
        """The seat stream: a snapshot (or, with `last_event_id`, what was missed), then every
        change of the schedule's seats, until `until` if given."""
        seat_map = await self.open_map(schedule_id)
        subscriber = seat_map.subscribe()
        deadline = _loop_deadline(until)
        try:
            yield sse.RETRY + await self._first(seat_map, last_event_id)
            while not subscriber.closed:
                if not await _woken_before(subscriber.wake, deadline):
                    break
                if subscriber.closed:
                    break
                yield subscriber.take()
        finally:
            seat_map.subscribers.discard(subscriber)
            if not seat_map.subscribers and self._maps.get(schedule_id) is seat_map:
                del self._maps[schedule_id]

    async def _first(self, seat_map: SeatMap, last_event_id: str | None) -> bytes:
        """What a stream starts with. Taken as of the map's version when the stream subscribed;
        everything after it reaches the stream as it happens."""
        version = seat_map.version
        snapshot = seat_map.snapshot()
        last_seen = _event_id(last_event_id)
        if last_seen is None or last_seen > version:
            return snapshot
        remembered = seat_map.recent_after(last_seen)
        if remembered is not None:
            return remembered
        async with self._db.reading() as conn:
            oldest = await changelog.oldest_kept(conn)
            if oldest is None or last_seen < oldest:
                return snapshot
            missed = await changelog.read(
                conn, last_seen, version, seat_map.schedule_id, limit=changelog.READ_BATCH
            )
        if len(missed) == changelog.READ_BATCH:
            return snapshot
        return seat_map.replay(missed)

    def _deliver(self, changes: list[SeatChange]) -> None:
        by_schedule: dict[int, list[SeatChange]] = defaultdict(list)
        for change in changes:
            if change.schedule_id in self._maps:
                by_schedule[change.schedule_id].append(change)
        for schedule_id, of_schedule in by_schedule.items():
            self._maps[schedule_id].apply(of_schedule)

    def _reset(self) -> None:
        """The log started again (a restore): every stream ends, and its client reconnects."""
        log.warning("the seat-change log restarted; closing every seat stream")
        for seat_map in self._maps.values():
            seat_map.close()
        self._maps.clear()


def _loop_deadline(until: datetime | None) -> float | None:
    if until is None:
        return None
    return asyncio.get_running_loop().time() + (until - utcnow()).total_seconds()


async def _woken_before(wake: asyncio.Event, deadline: float | None) -> bool:
    """Whether `wake` was set before the deadline. Only the wait is timed: a timeout around
    the generator's yields would cancel whatever the stream's consumer is doing."""
    if deadline is None:
        await wake.wait()
        return True
    try:
        async with asyncio.timeout_at(deadline):
            await wake.wait()
    except TimeoutError:
        return False
    return True


def _event_id(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit() or len(value.strip()) > 18:
        return None
    return int(value.strip())
