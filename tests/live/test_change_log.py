"""The seat-change log: written by the database itself, read in commit order even when a
change with a lower id commits after one with a higher id, and pruned."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
from sqlalchemy import update

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.live import changelog
from boxoffice.live.bus import LocalBus
from boxoffice.live.changelog import Horizon, PostgresHorizon, SeatChange
from boxoffice.live.feed import SeatFeed
from boxoffice.tables import seat
from tests import api, booking


async def _take(db: Database, seat_id: int) -> None:
    async with db.transaction() as conn:
        await conn.execute(update(seat).where(seat.c.id == seat_id).values(status="UNAVAILABLE"))


async def test_a_change_that_commits_late_is_delivered_before_later_ones(
    client: httpx.AsyncClient, db: Database
) -> None:
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=3)
    first_seat, second_seat, third_seat = await booking.seat_ids(db, schedule["id"])
    delivered: list[SeatChange] = []
    horizon = Horizon() if db.is_sqlite else PostgresHorizon()
    feed = SeatFeed(db, LocalBus(), horizon, delivered.extend, lambda: None)
    await feed.start()
    try:
        # A transaction writes a change (drawing its id) and stays open.
        async with db.transaction() as slow:
            await slow.execute(
                update(seat).where(seat.c.id == first_seat).values(status="UNAVAILABLE")
            )
            if not db.is_sqlite:
                # Meanwhile another commits a change with a higher id. (SQLite has one writer
                # at a time: there, the other would simply wait.)
                await _take(db, second_seat)
            await asyncio.sleep(0.5)
            assert delivered == [], "a change was delivered before an earlier one committed"
        if db.is_sqlite:
            await _take(db, second_seat)
        await _take(db, third_seat)
        for _ in range(50):
            if len(delivered) == 3:
                break
            await asyncio.sleep(0.05)
        assert [(c.seat_id, c.status) for c in delivered] == [
            (first_seat, "UNAVAILABLE"),
            (second_seat, "UNAVAILABLE"),
            (third_seat, "UNAVAILABLE"),
        ]
        assert [c.id for c in delivered] == sorted(c.id for c in delivered)
        assert {c.schedule_id for c in delivered} == {schedule["id"]}
    finally:
        await feed.stop()


async def test_only_status_changes_are_logged_and_old_ones_are_pruned(
    client: httpx.AsyncClient, db: Database
) -> None:
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=2)
    seat_ids = await booking.seat_ids(db, schedule["id"])
    async with db.transaction() as conn:
        # The same status again, and other columns: no change of status, nothing logged.
        await conn.execute(update(seat).where(seat.c.id == seat_ids[0]).values(status="AVAILABLE"))
        await conn.execute(update(seat).where(seat.c.id == seat_ids[0]).values(price=5))
    await _take(db, seat_ids[1])
    async with db.reading() as conn:
        logged = await changelog.read(conn, 0, 2**62)
        assert [(c.seat_id, c.status) for c in logged] == [(seat_ids[1], "UNAVAILABLE")]
        assert await changelog.oldest_kept(conn) == logged[0].id

    assert await changelog.prune(db, utcnow() - timedelta(minutes=1)) == 0
    assert await changelog.prune(db, utcnow() + timedelta(seconds=5)) == 1
    async with db.reading() as conn:
        assert await changelog.oldest_kept(conn) is None


async def test_a_new_leader_ahead_of_its_own_horizon_waits_instead_of_restarting_the_log(
    client: httpx.AsyncClient, db: Database
) -> None:
    # A process that applied changes another leader published, and then takes over, may have
    # applied more than its own horizon has seen settle. That is no restart of the log: it
    # publishes nothing until its horizon passes that point, then carries on from there.
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=4)
    seat_ids = await booking.seat_ids(db, schedule["id"])
    bus = LocalBus()
    horizon = Horizon() if db.is_sqlite else PostgresHorizon()
    feed = SeatFeed(db, bus, horizon, lambda _: None, lambda: None)
    async with db.reading() as conn:
        head = await horizon.head(conn)
    for seat_id in seat_ids[:2]:
        await _take(db, seat_id)
    feed.position = head + 3
    await feed._publish_new()
    assert bus._queue.empty()

    for seat_id in seat_ids[2:]:
        await _take(db, seat_id)
    for _ in range(50):
        await feed._publish_new()
        if not bus._queue.empty():
            break
        await asyncio.sleep(0.05)
    message = json.loads(bus._queue.get_nowait())
    assert "r" not in message
    assert (message["a"], message["u"]) == (head + 3, head + 4)
    assert [row[2] for row in message["c"]] == [seat_ids[3]]
