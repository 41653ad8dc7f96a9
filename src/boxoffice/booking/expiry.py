"""The sweeps of what has run out: expired holds, which readers already treat as expired (see
`boxoffice.liveness`) and the sweep marks so, putting their seats back on sale; and the record
of admissions that payments ended, once those admissions would have run out anyway."""

from __future__ import annotations

from datetime import timedelta

from boxoffice import sales_metrics
from boxoffice.booking import repository
from boxoffice.clock import utcnow
from boxoffice.db import Database

SWEEP_BATCH = 500
FORGET_BATCH = 5000
# Kept this long past the longest admission: room for a TTL setting lowered while older
# admissions still run, and for clocks that differ between processes.
KEPT_PAST_ADMISSION = timedelta(hours=1)


async def sweep_expired_holds(db: Database) -> int:
    """Safe in every process at once: each sweeper locks the holds it takes and skips those
    another one has."""
    now = utcnow()
    async with db.unit_of_work() as work:
        expired = await repository.pick_expired_holds(work.conn, now, SWEEP_BATCH)
        if not expired:
            return 0
        await repository.mark_expired(work.conn, [hold.id for hold in expired], now)
        await repository.free_seats(work.conn, [hold.seat_id for hold in expired], now)
        await work.commit()
    sales_metrics.count_expiries(len(expired))
    return len(expired)


async def forget_ended_admissions(db: Database, admission_seconds: float) -> int:
    """A hold checks a token against `admission_end` only while the waiting room may still call
    it ACTIVE, which is never longer than an admission lasts from its start, and so from the
    payment that ended it."""
    before = utcnow() - timedelta(seconds=admission_seconds) - KEPT_PAST_ADMISSION
    async with db.transaction() as conn:
        return await repository.forget_ended_admissions(conn, before, FORGET_BATCH)
