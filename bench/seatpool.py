"""Straight-to-the-database helpers of the steady scenarios: seat ids, the live holds left to
pay, and putting a pool of seats back on sale between measurements."""

from __future__ import annotations

import asyncpg

from bench.stack import DATABASE_URL


async def seat_ids(schedule_ids: list[int]) -> list[int]:
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        rows = await conn.fetch(
            "SELECT id FROM seat WHERE schedule_id = ANY($1::bigint[]) AND status = 'AVAILABLE' "
            "ORDER BY id",
            schedule_ids,
        )
    finally:
        await conn.close()
    return [row["id"] for row in rows]


async def live_holds(schedule_id: int) -> list[tuple[int, int]]:
    """(reservation id, user id) of every TEMPORARY hold in the schedule."""
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        rows = await conn.fetch(
            "SELECT id, user_id FROM reservation WHERE schedule_id = $1 "
            "AND status = 'TEMPORARY' ORDER BY id",
            schedule_id,
        )
    finally:
        await conn.close()
    return [(row["id"], row["user_id"]) for row in rows]


async def put_back_on_sale(schedule_ids: list[int]) -> None:
    """Forget the holds of these schedules and free their seats, so that the next measurement
    starts from the same state. Only for pools nobody pays in: no money is involved."""
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        async with conn.transaction():
            await conn.execute(
                "DELETE FROM reservation WHERE schedule_id = ANY($1::bigint[])", schedule_ids
            )
            await conn.execute(
                "UPDATE seat SET status = 'AVAILABLE', updated_at = now() "
                "WHERE schedule_id = ANY($1::bigint[]) AND status = 'UNAVAILABLE'",
                schedule_ids,
            )
        await conn.execute("VACUUM (ANALYZE) reservation, seat")
    finally:
        await conn.close()


async def analyze() -> None:
    conn = await asyncpg.connect(DATABASE_URL)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
