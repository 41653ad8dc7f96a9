"""The record of admissions that payments ended is forgotten once they would have run out."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update

from boxoffice.booking import expiry
from boxoffice.db import Database
from boxoffice.tables import admission_end
from tests import api, booking

PRICE = 10_000
ADMISSION_SECONDS = 600.0


async def _ended_by_paying(client: httpx.AsyncClient, db: Database, count: int) -> list[str]:
    """`count` fans each pay for their only hold, which ends their admission; their tokens."""
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=count, price=PRICE)
    seat_ids = await booking.seat_ids(db, schedule["id"])
    users = await booking.create_users(db, count, balance=PRICE)
    headers = await booking.admit_all([client], users, concert["id"])
    for seat_id, each in zip(seat_ids, headers, strict=True):
        hold = await booking.held(client, each, seat_id)
        assert (await booking.pay(client, each, hold["id"])).status_code == 201
    return [each["X-Queue-Token"] for each in headers]


async def _kept(db: Database) -> set[str]:
    async with db.reading() as conn:
        return set((await conn.execute(select(admission_end.c.token))).scalars())


async def test_an_ended_admission_is_forgotten_only_after_it_would_have_run_out(
    client: httpx.AsyncClient, db: Database
) -> None:
    old, recent = await _ended_by_paying(client, db, 2)
    assert await _kept(db) == {old, recent}
    # Still within what an admission could last: both are kept.
    assert await expiry.forget_ended_admissions(db, ADMISSION_SECONDS) == 0

    # One ended just past the longest admission and the margin kept after it.
    past = timedelta(seconds=ADMISSION_SECONDS + 1) + expiry.KEPT_PAST_ADMISSION
    async with db.transaction() as conn:
        mine = admission_end.c.token == old
        ended_at = (await conn.execute(select(admission_end.c.ended_at).where(mine))).scalar_one()
        await conn.execute(update(admission_end).where(mine).values(ended_at=ended_at - past))
    assert await expiry.forget_ended_admissions(db, ADMISSION_SECONDS) == 1
    assert await _kept(db) == {recent}
