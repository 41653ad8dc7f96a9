"""The waiting room in the database: the embedded default when no Redis is configured.

Every change to a line (join, leave, finish, opening, admission) happens in one transaction
holding the line's row lock, so arrival numbers are handed out in commit order and admission can
never overshoot the limit or skip anyone, however many processes share the database. A status
request is one statement that takes no line lock: it records that someone asked and counts the
position over a partial index.

Order in line is `seq`: places taken before the sale opens get a negative `seq` drawn at random
(see `backend.DRAW_BITS`), so they stand in random order ahead of the positive arrival numbers
handed out after the opening. The line opens, once, when a transaction holding its lock finds
the opening passed and clears `queue_line.opens_at`; from then on every join goes to the end.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database, Record
from boxoffice.errors import SaleAlreadyOpen
from boxoffice.queue import repository
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
from boxoffice.queue.repository import Line
from boxoffice.statuses import TicketStatus

FORGET_BATCH = 1000
# Forgetting old tickets is housekeeping: once a minute per process is plenty.
FORGET_EVERY_SECONDS = 60.0
# Two pre-queue places drawing the same key collide on the unique (concert, seq): draw again.
JOIN_ATTEMPTS = 3


class DatabaseWaitingRoom:
    def __init__(self, db: Database, settings: Settings, draw: Draw = CRYPTOGRAPHIC_DRAW) -> None:
        self._db = db
        self._max_active = settings.queue_max_active
        self._active_for = timedelta(seconds=settings.queue_active_ttl_seconds)
        self._idle_for = timedelta(seconds=settings.queue_idle_seconds)
        self._draw = draw
        self._next_forget = 0.0

    async def join(
        self, concert_id: int, user_id: int, opens_at: datetime | None
    ) -> tuple[Ticket, bool]:
        for attempt in range(JOIN_ATTEMPTS):
            try:
                return await self._join_once(concert_id, user_id, opens_at)
            except IntegrityError:
                if attempt == JOIN_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    async def _join_once(
        self, concert_id: int, user_id: int, opens_at: datetime | None
    ) -> tuple[Ticket, bool]:
        now = utcnow()
        async with self._db.transaction() as conn:
            line = await repository.lock_line(self._db, conn, concert_id, _upcoming(opens_at, now))
            await self._settle(conn, line, now)
            existing = await repository.live_ticket_of(conn, concert_id, user_id)
            if existing is not None and self._left_idle(existing, now):
                await self._release(conn, line, existing, now)
                existing = None
            if existing is not None:
                token, created = existing.token, False
            else:
                token, created = new_token(concert_id), True
                await self._enqueue(conn, line, token, user_id, now)
            await repository.save_line(conn, line)
            # Joining again counts as asking about the place.
            row = await repository.ticket_status(conn, token, now, self._idle_before(now))
        assert row is not None
        return self._ticket(row, now), created

    async def _enqueue(
        self, conn: AsyncConnection, line: Line, token: str, user_id: int, now: datetime
    ) -> None:
        if line.opens_at is not None:
            # Before the opening: a random place in the pre-queue, ahead of all later arrivals.
            seq = -1 - self._draw(DRAW_BITS)
            admit_now = False
        else:
            line.next_seq += 1
            seq = line.next_seq
            admit_now = line.waiting_count == 0 and line.active_count < self._max_active
        if admit_now:
            line.active_count += 1
        else:
            line.waiting_count += 1
        await repository.insert_ticket(
            conn,
            token=token,
            concert_id=line.concert_id,
            user_id=user_id,
            seq=seq,
            status=TicketStatus.ACTIVE if admit_now else TicketStatus.WAITING,
            active_until=now + self._active_for if admit_now else None,
            created_at=now,
            seen_at=now,
        )

    async def look_up(self, token: str, keep_alive: bool = False) -> Ticket | None:
        if concert_of_token(token) is None:
            return None
        now = utcnow()
        idle_before = self._idle_before(now)
        if keep_alive:
            async with self._db.single_statement() as conn:
                row = await repository.ticket_status(conn, token, now, idle_before)
        else:
            async with self._db.reading() as conn:
                row = await repository.ticket_status(conn, token, None, idle_before)
        if row is None:
            return None
        ticket = self._ticket(row, now)
        if (
            ticket.status == TicketStatus.EXPIRED
            and self._expired_at(row) < now - EXPIRED_TOKEN_MEMORY
        ):
            return None
        return ticket

    async def leave(self, token: str) -> None:
        concert_id = concert_of_token(token)
        if concert_id is None:
            return
        now = utcnow()
        async with self._db.transaction() as conn:
            line = await repository.lock_existing_line(conn, concert_id)
            if line is None:
                return
            row = await repository.find_ticket(conn, token)
            if row is not None:
                await self._release(conn, line, row, now)
            await self._settle(conn, line, now)
            await repository.save_line(conn, line)

    async def give_up_places(self, user_id: int) -> None:
        async with self._db.reading() as conn:
            concerts = await repository.concerts_with_live_ticket(conn, user_id)
        for concert_id in concerts:
            await self._give_up(concert_id, user_id, repository.LIVE)

    async def finish(self, concert_id: int, user_id: int) -> None:
        await self._give_up(concert_id, user_id, (TicketStatus.ACTIVE,))

    async def _give_up(
        self, concert_id: int, user_id: int, statuses: tuple[TicketStatus, ...]
    ) -> None:
        """Release the user's live place in the concert's line if its status is one of
        `statuses`, and admit whoever that lets in."""
        now = utcnow()
        async with self._db.transaction() as conn:
            line = await repository.lock_existing_line(conn, concert_id)
            if line is None:
                return
            row = await repository.live_ticket_of(conn, concert_id, user_id)
            if row is not None and row.status in statuses:
                await self._release(conn, line, row, now)
            await self._settle(conn, line, now)
            await repository.save_line(conn, line)

    async def reschedule(self, concert_id: int, opens_at: datetime | None) -> None:
        now = utcnow()
        upcoming = _upcoming(opens_at, now)
        async with self._db.transaction() as conn:
            if upcoming is None:
                line = await repository.lock_existing_line(conn, concert_id)
                if line is None:
                    return  # no line yet: it will be created open
            else:
                line = await repository.lock_line(self._db, conn, concert_id, upcoming)
            if line.opens_at is None or line.opens_at <= now:
                if upcoming is not None:
                    raise SaleAlreadyOpen(
                        f"The sale of concert {concert_id} has opened; it cannot open later."
                    )
                return
            line.opens_at = upcoming
            await self._settle(conn, line, now)
            await repository.save_line(conn, line)

    async def stats(self, concert_id: int) -> LineStats:
        now = utcnow()
        async with self._db.reading() as conn:
            waiting, active, oldest, line = await repository.line_figures(
                conn, concert_id, now, self._idle_before(now)
            )
        rate = None
        if line is not None:
            figures = _rate_of(
                line.rate_window_start, line.rate_window_count, line.rate_per_second, now
            )
            rate = figures.per_second()
        return LineStats(
            waiting=waiting,
            active=active,
            admitted_per_minute=round((rate or 0.0) * 60, 1),
            oldest_wait_seconds=None if oldest is None else int((now - oldest).total_seconds()),
        )

    async def busiest_lines(self, limit: int) -> list[tuple[int, LineStats]]:
        async with self._db.reading() as conn:
            concert_ids = await repository.occupied_lines(conn, limit)
        return busiest(
            [(concert_id, await self.stats(concert_id)) for concert_id in concert_ids], limit
        )

    async def _release(self, conn: AsyncConnection, line: Line, row: Record, now: datetime) -> None:
        if row.status == TicketStatus.WAITING:
            line.waiting_count -= 1
        elif row.status == TicketStatus.ACTIVE and row.active_until > now:
            line.active_count -= 1
        else:
            # Already expired, or overdue: the settling that follows counts it.
            return
        await repository.expire_ticket(conn, row.token, now)

    async def tick(self) -> None:
        now = utcnow()
        async with self._db.reading() as conn:
            due = await repository.lines_to_settle(
                conn, self._max_active, now, self._idle_before(now)
            )
        for concert_id in due:
            async with self._db.transaction() as conn:
                line = await repository.try_lock_line(conn, concert_id)
                if line is not None:
                    await self._settle(conn, line, utcnow(), sweep_idle=True)
                    await repository.save_line(conn, line)
        if time.monotonic() >= self._next_forget:
            self._next_forget = time.monotonic() + FORGET_EVERY_SECONDS
            async with self._db.transaction() as conn:
                await repository.forget_expired(conn, now - EXPIRED_TOKEN_MEMORY, FORGET_BATCH)

    async def ping(self) -> None:
        await self._db.ping()

    async def _settle(
        self, conn: AsyncConnection, line: Line, now: datetime, sweep_idle: bool = False
    ) -> None:
        """Give up idle places (in the background sweep: it reads every waiting place), open
        the line once its opening has come, expire admissions whose time is up, then admit
        from the head of the line into every free place."""
        idle_before = self._idle_before(now)
        if sweep_idle and line.waiting_count:
            line.waiting_count -= await repository.expire_idle(
                conn, line.concert_id, idle_before, now
            )
        if line.opens_at is not None:
            if now < line.opens_at:
                return
            line.opens_at = None
        if line.active_count:
            line.active_count -= await repository.expire_overdue(conn, line.concert_id, now)
        free = self._max_active - line.active_count
        if free <= 0 or line.waiting_count == 0:
            return
        admitted = await repository.admit_head(
            conn, line.concert_id, free, now + self._active_for, idle_before
        )
        line.active_count += admitted
        line.waiting_count -= admitted
        _record_admissions(line, admitted, now)

    def _left_idle(self, row: Record, now: datetime) -> bool:
        return bool(row.status == TicketStatus.WAITING and row.seen_at < self._idle_before(now))

    def _idle_before(self, now: datetime) -> datetime:
        return now - self._idle_for

    def _expired_at(self, row: Record) -> datetime:
        if row.expired_at is not None:
            moment: datetime = row.expired_at
        elif row.status == TicketStatus.WAITING:
            moment = row.seen_at + self._idle_for
        else:
            moment = row.active_until
        return moment

    def _ticket(self, row: Record, now: datetime) -> Ticket:
        status = TicketStatus(row.status)
        if status == TicketStatus.ACTIVE and row.active_until <= now:
            status = TicketStatus.EXPIRED
        if self._left_idle(row, now):
            status = TicketStatus.EXPIRED  # left idle: the next sweep gives the place up
        opens_at = row.opens_at if status == TicketStatus.WAITING else None
        before_opening = opens_at is not None and opens_at > now
        position = row.position if status == TicketStatus.WAITING and not before_opening else None
        rate = _rate_of(row.rate_window_start, row.rate_window_count, row.rate_per_second, now)
        return Ticket(
            token=row.token,
            concert_id=row.concert_id,
            user_id=row.user_id,
            status=status,
            position=position,
            eta_seconds=None if position is None else eta_seconds(position, rate.per_second()),
            active_until=row.active_until if status == TicketStatus.ACTIVE else None,
            opens_at=opens_at if before_opening else None,
        )


def _upcoming(opens_at: datetime | None, now: datetime) -> datetime | None:
    """The opening if it is still ahead, else None (the sale is open)."""
    return opens_at if opens_at is not None and opens_at > now else None


def _record_admissions(line: Line, count: int, now: datetime) -> None:
    rate = _rate_of(line.rate_window_start, line.rate_window_count, line.rate_per_second, now)
    after = rate.after_admitting(count)
    if after.window_age_seconds == 0.0:
        line.rate_window_start = now
    line.rate_window_count = after.window_count
    line.rate_per_second = after.last_rate


def _rate_of(
    window_start: datetime | None, window_count: int, last_rate: float | None, now: datetime
) -> AdmissionRate:
    age = None if window_start is None else (now - window_start).total_seconds()
    return AdmissionRate(age, window_count, last_rate)
