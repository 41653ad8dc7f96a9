"""An operator's cancellation of a whole schedule. The schedule stops selling at once (it reads
CANCELLED, and holds and payments check that in their own transactions); then its live holds
end and every confirmed booking is refunded in full (`refunds.refund_booking`), in batches of one
transaction each, so that a show of any size never makes one long transaction.

Safe to repeat and to run in several processes at once: a batch locks the users and then the
reservations it ends, reads their status again under those locks, and ends only what is still
live, so each booking is refunded exactly once, whoever gets to it. A process that dies between
two batches leaves the schedule CANCELLED with some bookings not yet refunded: the next cancel
of it finishes the work, and so does the sweeper of every process, which looks for cancelled
schedules that still have live reservations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice import sales_metrics
from boxoffice.booking import repository
from boxoffice.booking.refunds import refund_booking
from boxoffice.booking.schemas import ReservationToEnd
from boxoffice.catalog import service as catalog
from boxoffice.catalog.schemas import ScheduleOut
from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.errors import ScheduleNotFound
from boxoffice.liveness import status_at
from boxoffice.statuses import ReservationStatus

# Cancelled schedules the sweeper takes up per run, and batches it spends on each: it has other
# jobs too, and picks the rest up on its next run.
SWEEP_SCHEDULES = 10
SWEEP_BATCHES = 5


@dataclass
class Ended:
    """What a cancellation's batches have done so far."""

    holds: int = 0
    refunds: int = 0
    refunded: int = 0  # won
    finished: bool = False


async def cancel_schedule(db: Database, schedule_id: int, batch_size: int) -> ScheduleOut:
    """Cancel the schedule (once: a second cancel finds it cancelled) and finish its work."""
    await start(db, schedule_id)
    await finish(db, schedule_id, batch_size)
    return await catalog.get_schedule(db, schedule_id)


async def start(db: Database, schedule_id: int) -> None:
    """Mark the schedule cancelled. The schedule row is locked FOR UPDATE first: that waits for
    every hold still inserting into it (they read it under FOR KEY SHARE), and every hold after
    it finds it cancelled, so the batches that follow see every hold there will ever be."""
    async with db.unit_of_work() as work:
        found = await repository.lock_schedule(work.conn, schedule_id)
        if found is None:
            raise ScheduleNotFound(f"Schedule {schedule_id} does not exist.")
        if found.cancelled_at is None:
            await repository.mark_schedule_cancelled(work.conn, schedule_id, utcnow())
        await work.commit()


async def finish(
    db: Database,
    schedule_id: int,
    batch_size: int,
    max_batches: int | None = None,
    skip_busy: bool = False,
) -> Ended:
    """End the cancelled schedule's live reservations, a batch at a time, until none is left
    (or `max_batches` have run). With `skip_busy` (the sweeper), reservations whose users
    another transaction holds are left for later instead of waited for."""
    ended = Ended()
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        if not await _end_batch(db, schedule_id, batch_size, skip_busy, ended):
            ended.finished = True
            break
    if ended.refunds:
        sales_metrics.count_refunds("show_cancelled", ended.refunds, ended.refunded)
    return ended


async def _end_batch(
    db: Database, schedule_id: int, batch_size: int, skip_busy: bool, ended: Ended
) -> bool:
    """One transaction's worth; False when nothing was left to end (or, with `skip_busy`,
    nothing could be taken now)."""
    async with db.unit_of_work() as work:
        conn = work.conn
        candidates = await repository.live_reservations_of_schedule(conn, schedule_id, batch_size)
        if not candidates:
            return False
        owners = sorted({candidate.user_id for candidate in candidates})
        locked = set(await repository.lock_users(conn, owners, skip_busy=skip_busy))
        if not locked:
            return False
        taken = [candidate.id for candidate in candidates if candidate.user_id in locked]
        # The locks may have kept us waiting: what is still live is judged now.
        now = utcnow()
        for found in await repository.lock_live_reservations(conn, taken):
            await _end(conn, found, now, ended)
        await work.commit()
    return True


async def _end(conn: AsyncConnection, found: ReservationToEnd, now: datetime, ended: Ended) -> None:
    """Refund a confirmed booking; let a hold go (as EXPIRED if its time had run out)."""
    status = status_at(found.status, found.expires_at, now)
    if status == ReservationStatus.CONFIRMED:
        ended.refunded += await refund_booking(conn, found.id, found.user_id, found.seat_id, now)
        ended.refunds += 1
        return
    ended_as = (
        ReservationStatus.CANCELLED
        if status == ReservationStatus.TEMPORARY
        else ReservationStatus.EXPIRED
    )
    await repository.set_status(conn, found.id, found.status, ended_as, now)
    await repository.free_seats(conn, [found.seat_id], now)
    ended.holds += 1


async def finish_cancelled_schedules(db: Database, batch_size: int) -> int:
    """The sweeper's job: carry on the cancellations left unfinished. Returns how many
    bookings it refunded."""
    async with db.reading() as conn:
        unfinished = await repository.cancelled_schedules_with_live_reservations(
            conn, SWEEP_SCHEDULES
        )
    refunded = 0
    for schedule_id in unfinished:
        ended = await finish(db, schedule_id, batch_size, SWEEP_BATCHES, skip_busy=True)
        refunded += ended.refunds
    return refunded
