"""`concert_schedule.available_seats`, kept exact without a hot row.

Updated in place by every hold, a sold-out show's schedule row would become one lock that every
hold of that show queues on. Instead every change of a seat's status appends a +1/-1 row to
`seat_count_delta` (an insert locks nothing that other holds need), from a trigger that migration
0003 puts on the seat table, and the sweeper folds those rows into the counter.
Readers add the pending rows of one schedule (an indexed sum over at most one sweep interval of
changes), so the figure they see is the number of AVAILABLE seat rows at that moment, not only
at rest. A seat whose hold has expired still counts as taken until the sweeper or a new hold
settles it.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import delete, select, update

from boxoffice.clock import utcnow
from boxoffice.db import Database, skip_locked
from boxoffice.tables import concert_schedule, seat_count_delta

FOLD_BATCH = 5000


async def fold(db: Database) -> int:
    """Move pending deltas into the counters; returns how many were folded. Several processes
    may run this at once: each takes rows the others have not locked, so none is counted twice."""
    async with db.unit_of_work() as work:
        conn = work.conn
        picked = (
            await conn.execute(
                skip_locked(
                    select(
                        seat_count_delta.c.id,
                        seat_count_delta.c.schedule_id,
                        seat_count_delta.c.delta,
                    )
                    .order_by(seat_count_delta.c.id)
                    .limit(FOLD_BATCH)
                )
            )
        ).all()
        if not picked:
            return 0
        await conn.execute(
            delete(seat_count_delta).where(seat_count_delta.c.id.in_([row.id for row in picked]))
        )
        totals: dict[int, int] = defaultdict(int)
        for row in picked:
            totals[row.schedule_id] += row.delta
        now = utcnow()
        for schedule_id in sorted(totals):
            if totals[schedule_id]:
                await conn.execute(
                    update(concert_schedule)
                    .where(concert_schedule.c.id == schedule_id)
                    .values(
                        available_seats=concert_schedule.c.available_seats + totals[schedule_id],
                        updated_at=now,
                    )
                )
        await work.commit()
        return len(picked)
