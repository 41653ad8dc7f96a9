"""The sweep that settles expired holds. Readers already treat them as expired (see
`boxoffice.liveness`); the sweep marks them so and puts their seats back on sale."""

from __future__ import annotations

from boxoffice import sales_metrics
from boxoffice.booking import repository
from boxoffice.clock import utcnow
from boxoffice.db import Database

SWEEP_BATCH = 500


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
