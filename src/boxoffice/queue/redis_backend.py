"""The waiting room in Redis, for ticket drops. Each operation on a line is one call of the Lua
script in `line.lua` (one round trip, atomic); the layout of the keys is described there."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from redis.asyncio import Redis

from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.queue.backend import (
    EXPIRED_TOKEN_MEMORY,
    Ticket,
    concert_of_token,
    eta_seconds,
    new_token,
)
from boxoffice.queue.rate import AdmissionRate

LINES = "queue:lines"
# A line nobody has joined for this long is forgotten, keys and all.
IDLE_LINE = timedelta(hours=12)
LINE_SCRIPT = resources.files("boxoffice.queue").joinpath("line.lua").read_text()


def line_prefix(concert_id: int) -> str:
    return f"queue:{{{concert_id}}}:"


class RedisWaitingRoom:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self._redis = redis
        self._max_active = settings.queue_max_active
        self._active_ms = round(settings.queue_active_ttl_seconds * 1000)
        self._script = redis.register_script(LINE_SCRIPT)

    async def _run(self, concert_id: int, action: str, *args: str | int) -> Any:
        now = utcnow()
        keep_ms = _ms(IDLE_LINE) + self._active_ms
        reply = await self._script(
            keys=[],
            args=[
                line_prefix(concert_id),
                _epoch_ms(now),
                self._max_active,
                self._active_ms,
                _ms(EXPIRED_TOKEN_MEMORY),
                keep_ms,
                action,
                *args,
            ],
        )
        return reply, now

    async def join(self, concert_id: int, user_id: int) -> tuple[Ticket, bool]:
        (created, token, fields), now = await self._run(
            concert_id, "join", user_id, new_token(concert_id)
        )
        await self._redis.zadd(LINES, {str(concert_id): time.time()})
        return _ticket(_text(token), concert_id, fields, now), bool(created)

    async def look_up(self, token: str) -> Ticket | None:
        concert_id = concert_of_token(token)
        if concert_id is None:
            return None
        fields, now = await self._run(concert_id, "describe", token)
        return None if fields is None else _ticket(token, concert_id, fields, now)

    async def leave(self, token: str) -> None:
        concert_id = concert_of_token(token)
        if concert_id is not None:
            await self._run(concert_id, "leave", token)

    async def finish(self, concert_id: int, user_id: int) -> None:
        await self._run(concert_id, "finish", user_id)

    async def tick(self) -> None:
        idle_since = time.time() - IDLE_LINE.total_seconds()
        await self._redis.zremrangebyscore(LINES, "-inf", idle_since)
        for member in await self._redis.zrange(LINES, 0, -1):
            await self._run(int(_text(member)), "settle")  # type: ignore[arg-type]

    async def ping(self) -> None:
        await self._redis.ping()


def _ticket(token: str, concert_id: int, fields: list[Any], now: datetime) -> Ticket:
    user, status, until, _expired, position, start, count, last_rate = fields
    rate = AdmissionRate(
        window_age_seconds=None if start is None else (_epoch_ms(now) - int(start)) / 1000,
        window_count=int(count or 0),
        last_rate=None if last_rate is None else float(last_rate),
    )
    state = _text(status)
    waiting = state == "WAITING" and position is not None
    return Ticket(
        token=token,
        concert_id=concert_id,
        user_id=int(user),
        status="ACTIVE" if state == "ACTIVE" else "WAITING" if waiting else "EXPIRED",
        position=int(position) if waiting else None,
        eta_seconds=eta_seconds(int(position), rate.per_second()) if waiting else None,
        active_until=_from_ms(until) if state == "ACTIVE" else None,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(span: timedelta) -> int:
    return round(span.total_seconds() * 1000)


def _epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _from_ms(value: bytes | str) -> datetime:
    return datetime.fromtimestamp(float(_text(value)) / 1000, tz=UTC)
