"""Ending all of a user's live holds at once, inside a unit of work its caller owns: the
operator blocking the user. Paid bookings are left alone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from boxoffice.booking import repository


async def end_live_holds(conn: AsyncConnection, user_id: int, now: datetime) -> int:
    """Cancel the user's live holds and put their seats back on sale; how many there were.
    The caller holds the user's row lock, taken first as in every booking transaction, so no
    hold of theirs can start meanwhile. The seat rows' change reaches the free-seat counter and
    the live seat maps by itself (see `catalog.counters` and `live.changelog`)."""
    seat_ids = await repository.cancel_live_holds(conn, user_id, now)
    await repository.free_seats(conn, seat_ids, now)
    return len(seat_ids)
