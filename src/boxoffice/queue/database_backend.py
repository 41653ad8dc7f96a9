"""The waiting room in the database: the embedded default when no Redis is configured.

Every change to a line (join, leave, finish, admission) happens in one transaction holding the
line's row lock, so arrival numbers are handed out in commit order and admission can never
overshoot the limit or skip anyone, however many processes share the database. Reading a
status takes no lock: one statement whose position count runs over a partial index.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database, Record
from boxoffice.queue import repository
from boxoffice.queue.backend import (
    EXPIRED_TOKEN_MEMORY,
    Ticket,
    TicketStatus,
    concert_of_token,
    eta_seconds,
    new_token,
)
from boxoffice.queue.rate import AdmissionRate
from boxoffice.queue.repository import Line

FORGET_BATCH = 1000
# Forgetting old tickets is housekeeping: once a minute per process is plenty.
FORGET_EVERY_SECONDS = 60.0


class DatabaseWaitingRoom:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._max_active = settings.queue_max_active
        self._active_for = timedelta(seconds=settings.queue_active_ttl_seconds)
        self._next_forget = 0.0

    async def join(self, concert_id: int, user_id: int) -> tuple[Ticket, bool]:
        now = utcnow()
        async with self._db.transaction() as conn:
            line = await repository.lock_line(self._db, conn, concert_id)
            await self._settle(conn, line, now)
            existing = await repository.live_ticket_of(conn, concert_id, user_id)
            if existing is not None:
                token, created = existing.token, False
            else:
                token, created = new_token(concert_id), True
                await self._enqueue(conn, line, token, user_id, now)
            await repository.save_line(conn, line)
            row = await repository.ticket_with_position(conn, token)
        assert row is not None
        return _ticket(row, now), created

    async def _enqueue(
        self, conn: AsyncConnection, line: Line, token: str, user_id: int, now: datetime
    ) -> None:
        line.next_seq += 1
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
            seq=line.next_seq,
            status="ACTIVE" if admit_now else "WAITING",
            active_until=now + self._active_for if admit_now else None,
            created_at=now,
        )

    async def look_up(self, token: str) -> Ticket | None:
        if concert_of_token(token) is None:
            return None
        now = utcnow()
        async with self._db.reading() as conn:
            row = await repository.ticket_with_position(conn, token)
        if row is None:
            return None
        ticket = _ticket(row, now)
        if ticket.status == "EXPIRED" and _expired_at(row) < now - EXPIRED_TOKEN_MEMORY:
            return None
        return ticket

    async def leave(self, token: str) -> None:
        concert_id = concert_of_token(token)
        if concert_id is None:
            return
        now = utcnow()
        async with self._db.transaction() as conn:
            line = await repository.lock_line(self._db, conn, concert_id)
            row = await repository.find_ticket(conn, token)
            if row is not None:
                await self._release(conn, line, row, now)
            await self._settle(conn, line, now)
            await repository.save_line(conn, line)

    async def finish(self, concert_id: int, user_id: int) -> None:
        now = utcnow()
        async with self._db.transaction() as conn:
            line = await repository.lock_line(self._db, conn, concert_id)
            row = await repository.live_ticket_of(conn, concert_id, user_id)
            if row is not None and row.status == "ACTIVE":
                await self._release(conn, line, row, now)
            await self._settle(conn, line, now)
            await repository.save_line(conn, line)

    async def _release(self, conn: AsyncConnection, line: Line, row: Record, now: datetime) -> None:
        if row.status == "WAITING":
            line.waiting_count -= 1
        elif row.status == "ACTIVE" and row.active_until > now:
            line.active_count -= 1
        else:
            # Already expired, or overdue: the settling that follows counts it.
            return
        await repository.expire_ticket(conn, row.token, now)

    async def tick(self) -> None:
        now = utcnow()
        async with self._db.reading() as conn:
            due = await repository.lines_to_settle(conn, self._max_active, now)
        for concert_id in due:
            async with self._db.transaction() as conn:
                line = await repository.try_lock_line(conn, concert_id)
                if line is not None:
                    await self._settle(conn, line, utcnow())
                    await repository.save_line(conn, line)
        if time.monotonic() >= self._next_forget:
            self._next_forget = time.monotonic() + FORGET_EVERY_SECONDS
            async with self._db.transaction() as conn:
                await repository.forget_expired(conn, now - EXPIRED_TOKEN_MEMORY, FORGET_BATCH)

    async def ping(self) -> None:
        await self._db.ping()

    async def _settle(self, conn: AsyncConnection, line: Line, now: datetime) -> None:
        """Expire admissions whose time is up, then admit from the head of the line into
        every free place."""
        if line.active_count:
            line.active_count -= await repository.expire_overdue(conn, line.concert_id, now)
        free = self._max_active - line.active_count
        if free <= 0 or line.waiting_count == 0:
            return
        admitted = await repository.admit_head(conn, line.concert_id, free, now + self._active_for)
        line.active_count += admitted
        line.waiting_count -= admitted
        _record_admissions(line, admitted, now)


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


def _expired_at(row: Record) -> datetime:
    moment: datetime = row.expired_at or row.active_until
    return moment


def _ticket(row: Record, now: datetime) -> Ticket:
    status: TicketStatus = row.status
    if status == "ACTIVE" and row.active_until <= now:
        status = "EXPIRED"
    position = row.position if status == "WAITING" else None
    rate = _rate_of(row.rate_window_start, row.rate_window_count, row.rate_per_second, now)
    return Ticket(
        token=row.token,
        concert_id=row.concert_id,
        user_id=row.user_id,
        status=status,
        position=position,
        eta_seconds=None if position is None else eta_seconds(position, rate.per_second()),
        active_until=row.active_until if status == "ACTIVE" else None,
    )
