"""The waiting room in Redis, for ticket drops. Each operation on a line is one call of the Lua
script in `line.lua` (one round trip, atomic); the layout of the keys is described there."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.errors import SaleAlreadyOpen
from boxoffice.queue.backend import (
    CRYPTOGRAPHIC_DRAW,
    DRAW_BITS,
    EXPIRED_TOKEN_MEMORY,
    Draw,
    LineStats,
    Ticket,
    busiest,
    concert_of_token,
    eta_seconds,
    new_token,
)
from boxoffice.queue.rate import AdmissionRate
from boxoffice.redis_connection import RedisClient
from boxoffice.statuses import TicketStatus

# A line nobody has joined for this long is forgotten, keys and all.
IDLE_LINE = timedelta(hours=12)
# The script, after a line that names the ticket statuses for it.
_STATUS_NAMES = ", ".join(f"{status.name} = '{status}'" for status in TicketStatus)
LINE_SCRIPT = f"local STATUS = {{{_STATUS_NAMES}}}\n" + (
    resources.files("boxoffice.queue").joinpath("line.lua").read_text()
)
LINE_KEYS = ("seq", "waiting", "active", "line", "seen", "arrived")


def line_prefix(concert_id: int) -> str:
    """The start of every key of one concert's line (after the deployment's prefix); the
    braces are the Redis Cluster hash tag that keeps them in one slot."""
    return f"queue:{{{concert_id}}}:"


class RedisWaitingRoom:
    def __init__(
        self, redis: RedisClient, settings: Settings, draw: Draw = CRYPTOGRAPHIC_DRAW
    ) -> None:
        self._redis = redis
        prefix = self._prefix = settings.redis_prefix
        self._lines = f"{prefix}queue:lines"
        self._max_active = settings.queue_max_active
        self._active_ms = round(settings.queue_active_ttl_seconds * 1000)
        self._idle_ms = round(settings.queue_idle_seconds * 1000)
        self._draw = draw
        self._script = redis.register_script(LINE_SCRIPT)

    def key(self, concert_id: int, name: str) -> str:
        """The full name of one key of a line."""
        return f"{self._prefix}{line_prefix(concert_id)}{name}"

    async def _run(
        self, concert_id: int, own_keys: list[str], action: str, *args: str | int
    ) -> tuple[Any, datetime]:
        now = utcnow()
        keep_ms = _ms(IDLE_LINE) + self._active_ms
        reply = await self._script(
            keys=[*(self.key(concert_id, name) for name in LINE_KEYS), *own_keys],
            args=[
                _epoch_ms(now),
                self._max_active,
                self._active_ms,
                _ms(EXPIRED_TOKEN_MEMORY),
                keep_ms,
                self._idle_ms,
                action,
                *args,
            ],
        )
        return reply, now

    async def join(
        self, concert_id: int, user_id: int, opens_at: datetime | None
    ) -> tuple[Ticket, bool]:
        token = new_token(concert_id)
        # The place this join takes if it lands before the opening: a uniform fraction in [0, 1).
        draw = repr(self._draw(DRAW_BITS) / 2**DRAW_BITS)
        own = [self.key(concert_id, f"u:{user_id}"), self.key(concert_id, f"t:{token}")]
        upcoming = "" if opens_at is None else str(_epoch_ms(opens_at))
        (created, token_out, fields), now = await self._run(
            concert_id, own, "join", user_id, token, upcoming, draw
        )
        await self._redis.zadd(self._lines, {str(concert_id): time.time()})
        return _ticket(_text(token_out), concert_id, fields, now), bool(created)

    async def look_up(self, token: str, keep_alive: bool = False) -> Ticket | None:
        concert_id = concert_of_token(token)
        if concert_id is None:
            return None
        own = [self.key(concert_id, f"t:{token}")]
        fields, now = await self._run(
            concert_id, own, "describe", token, "1" if keep_alive else "0"
        )
        return None if fields is None else _ticket(token, concert_id, fields, now)

    async def leave(self, token: str) -> None:
        concert_id = concert_of_token(token)
        if concert_id is not None:
            await self._run(concert_id, [self.key(concert_id, f"t:{token}")], "leave", token)

    async def give_up_places(self, user_id: int) -> None:
        # The lines joined lately are the only ones that can hold a place: one call each.
        for concert_id in await self._known():
            await self._run(concert_id, [self.key(concert_id, f"u:{user_id}")], "give_up")

    async def finish(self, concert_id: int, user_id: int) -> None:
        await self._run(concert_id, [self.key(concert_id, f"u:{user_id}")], "finish")

    async def reschedule(self, concert_id: int, opens_at: datetime | None) -> None:
        now = utcnow()
        upcoming = "" if opens_at is None or opens_at <= now else str(_epoch_ms(opens_at))
        answer, _ = await self._run(concert_id, [], "reschedule", upcoming)
        if _text(answer) == "opened":
            raise SaleAlreadyOpen(
                f"The sale of concert {concert_id} has opened; it cannot open later."
            )
        if upcoming:
            await self._redis.zadd(self._lines, {str(concert_id): time.time()})

    async def stats(self, concert_id: int) -> LineStats:
        (waiting, active, oldest, start, count, last_rate), now = await self._run(
            concert_id, [], "stats"
        )
        rate = _rate(start, count, last_rate, now).per_second()
        return LineStats(
            waiting=int(waiting),
            active=int(active),
            admitted_per_minute=round((rate or 0.0) * 60, 1),
            oldest_wait_seconds=(
                None if oldest is None else int((_epoch_ms(now) - float(oldest)) / 1000)
            ),
        )

    async def busiest_lines(self, limit: int) -> list[tuple[int, LineStats]]:
        # Every line joined lately, as the tick visits them: one script call each.
        lines = [(concert_id, await self.stats(concert_id)) for concert_id in await self._known()]
        return busiest(lines, limit)

    async def tick(self) -> None:
        idle_since = time.time() - IDLE_LINE.total_seconds()
        await self._redis.zremrangebyscore(self._lines, "-inf", idle_since)
        for concert_id in await self._known():
            await self._run(concert_id, [], "settle")

    async def _known(self) -> list[int]:
        """The concerts whose lines were joined or rescheduled within `IDLE_LINE`."""
        members = await self._redis.zrange(self._lines, 0, -1)
        return [int(_text(member)) for member in members]  # type: ignore[arg-type]

    async def ping(self) -> None:
        await self._redis.ping()


def _rate(start: Any, count: Any, last_rate: Any, now: datetime) -> AdmissionRate:
    return AdmissionRate(
        window_age_seconds=None if start is None else (_epoch_ms(now) - int(start)) / 1000,
        window_count=int(count or 0),
        last_rate=None if last_rate is None else float(last_rate),
    )


def _ticket(token: str, concert_id: int, fields: list[Any], now: datetime) -> Ticket:
    user, status, until, _expired, position, start, count, last_rate, opens = fields
    state = _text(status)
    before_opening = state == TicketStatus.WAITING and opens is not None
    waiting = state == TicketStatus.WAITING and (position is not None or before_opening)
    place = int(position) if waiting and not before_opening else None
    rate = _rate(start, count, last_rate, now)
    return Ticket(
        token=token,
        concert_id=concert_id,
        user_id=int(user),
        status=(
            TicketStatus.ACTIVE
            if state == TicketStatus.ACTIVE
            else TicketStatus.WAITING
            if waiting
            else TicketStatus.EXPIRED
        ),
        position=place,
        eta_seconds=None if place is None else eta_seconds(place, rate.per_second()),
        active_until=_from_ms(until) if state == TicketStatus.ACTIVE else None,
        opens_at=_from_ms(opens) if before_opening else None,
    )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _ms(span: timedelta) -> int:
    return round(span.total_seconds() * 1000)


def _epoch_ms(moment: datetime) -> int:
    return round(moment.timestamp() * 1000)


def _from_ms(value: bytes | str) -> datetime:
    return datetime.fromtimestamp(float(_text(value)) / 1000, tz=UTC)
