"""An operator cancels a schedule: it stops selling at once, its live holds end, and every
confirmed booking is cancelled and refunded in full, exactly once, however often the cancel is
sent and wherever a cancel that died half-way is picked up again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.booking import show_cancellation
from boxoffice.db import Database
from boxoffice.tables import payment, point_history, reservation, seat
from tests import api, booking, sold
from tests.conftest import ClientFactory


@pytest.fixture(autouse=True)
async def audited(db: Database) -> AsyncIterator[None]:
    yield
    await booking.assert_audit_passes(db)


async def _cancel(client: httpx.AsyncClient, schedule_id: int) -> httpx.Response:
    return await client.post(f"/admin/schedules/{schedule_id}/cancel", headers=api.ADMIN)


async def _statuses(db: Database, table: Any, schedule_id: int) -> dict[str, int]:
    """How many reservations (or their payments) of the schedule are in each status."""
    query = select(table.c.status, func.count())
    if table is payment:
        query = query.join(reservation, reservation.c.id == payment.c.reservation_id)
    query = query.where(reservation.c.schedule_id == schedule_id).group_by(table.c.status)
    async with db.reading() as conn:
        return {status: count for status, count in (await conn.execute(query)).all()}


async def _refunds_by_user(db: Database) -> dict[int, int]:
    async with db.reading() as conn:
        rows = await conn.execute(
            select(point_history.c.user_id, func.count())
            .where(point_history.c.type == "REFUND")
            .group_by(point_history.c.user_id)
        )
        return {user_id: count for user_id, count in rows.all()}


async def test_cancelling_a_schedule_ends_its_holds_and_refunds_every_booking(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client(**booking.OPEN_DOORS)
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=6, price=10_000)
    other_date = await api.create_schedule(client, concert["id"], seat_count=2, price=10_000)
    seats = await booking.seat_ids(db, schedule["id"])
    fans = [await api.sign_up(client) for _ in range(3)]
    for fan, balance in zip(fans, (20_000, 25_000, 5_000), strict=True):
        assert (await api.charge(client, fan, balance)).status_code == 200
    headers = [await booking.admitted(client, fan, concert["id"]) for fan in fans]
    elsewhere_seat = (await booking.seat_ids(db, other_date["id"]))[0]
    # Each fan holds all their seats before paying: the last payment ends their admission.
    holds = [
        [await booking.held(client, headers[0], seat_id) for seat_id in seats[:2]],
        [await booking.held(client, headers[1], seat_id) for seat_id in (seats[2], elsewhere_seat)],
    ]
    for number, fan_holds in enumerate(holds):
        for hold in fan_holds:
            await booking.paid(client, headers[number], hold["id"])
    elsewhere = holds[1][1]
    unpaid = await booking.held(client, headers[2], seats[3])
    short = await booking.pay(client, headers[2], unpaid["id"])
    assert booking.code(short) == "INSUFFICIENT_BALANCE"

    response = await _cancel(client, schedule["id"])

    assert response.status_code == 200, response.text
    assert response.json() == {**schedule, "status": "CANCELLED"}
    assert (await client.get(f"/schedules/{schedule['id']}")).json()["status"] == "CANCELLED"
    assert await _statuses(db, reservation, schedule["id"]) == {"CANCELLED": 4}
    assert await _statuses(db, payment, schedule["id"]) == {"CANCELLED": 3, "FAILED": 1}
    # Every buyer has their money back; the booking of another date stands.
    assert [await booking.balance_of(db, fan["id"]) for fan in fans] == [20_000, 15_000, 5_000]
    assert await _refunds_by_user(db) == {fans[0]["id"]: 2, fans[1]["id"]: 1}
    mine = await client.get(f"/reservations/{elsewhere['id']}", headers=fans[1]["headers"])
    assert mine.json()["status"] == "CONFIRMED"
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 6
    # Nothing more is sold for it.
    late = await booking.hold(client, headers[2], seats[4])
    assert booking.outcome(late) == (409, "SCHEDULE_CLOSED")
    ticket = await client.get(f"/reservations/{elsewhere['id']}/ticket", headers=headers[1])
    assert ticket.status_code == 200


async def test_cancelling_again_changes_nothing(make_client: ClientFactory, db: Database) -> None:
    client = await make_client()
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=5, price=7_000)
    buyers = await booking.create_users(db, 5, balance=7_000)
    await sold.sell_seats(db, schedule["id"], [b["id"] for b in buyers])

    answers = [await _cancel(client, schedule["id"]) for _ in range(3)]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json() == answers[0].json() for a in answers)
    assert await _refunds_by_user(db) == {b["id"]: 1 for b in buyers}
    assert [await booking.balance_of(db, b["id"]) for b in buyers] == [7_000] * 5


async def test_cancelling_needs_the_admin_key_and_a_schedule(client: httpx.AsyncClient) -> None:
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=1)
    refused = await client.post(f"/admin/schedules/{schedule['id']}/cancel")
    assert booking.outcome(refused) == (401, "ADMIN_KEY_INVALID")
    assert (await client.get(f"/schedules/{schedule['id']}")).json()["status"] == "ON_SALE"
    assert booking.outcome(await _cancel(client, 424242)) == (404, "SCHEDULE_NOT_FOUND")
    assert (await _cancel(client, 0)).status_code == 422


async def _died_after_one_batch(db: Database, schedule_id: int, batch: int) -> None:
    """What a process leaves behind when it dies after the first batch of a cancel: the
    schedule CANCELLED, one batch refunded, the rest still sold."""
    await show_cancellation.start(db, schedule_id)
    await show_cancellation.finish(db, schedule_id, batch_size=batch, max_batches=1)


async def test_a_cancel_that_died_half_way_is_finished_by_the_next_call(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client()
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=25, price=3_000)
    buyers = await booking.create_users(db, 25, balance=3_000)
    await sold.sell_seats(db, schedule["id"], [b["id"] for b in buyers])

    await _died_after_one_batch(db, schedule["id"], batch=10)
    assert await _statuses(db, reservation, schedule["id"]) == {"CANCELLED": 10, "CONFIRMED": 15}
    assert (await client.get(f"/schedules/{schedule['id']}")).json()["status"] == "CANCELLED"

    assert (await _cancel(client, schedule["id"])).status_code == 200

    assert await _statuses(db, reservation, schedule["id"]) == {"CANCELLED": 25}
    assert await _refunds_by_user(db) == {b["id"]: 1 for b in buyers}


async def test_a_cancel_that_died_half_way_is_finished_by_the_sweeper(
    make_client: ClientFactory, db: Database
) -> None:
    concert_maker = await make_client(sweep_interval_seconds=3600)
    concert = await api.create_concert(concert_maker)
    schedule = await api.create_schedule(concert_maker, concert["id"], seat_count=30, price=3_000)
    buyers = await booking.create_users(db, 30, balance=3_000)
    await sold.sell_seats(db, schedule["id"], [b["id"] for b in buyers])
    await _died_after_one_batch(db, schedule["id"], batch=10)

    # Another process starts; its sweeper finds the unfinished cancellation.
    await make_client(sweep_interval_seconds=0.1, cancel_batch_size=7)
    deadline = time.monotonic() + 10
    while await _statuses(db, reservation, schedule["id"]) != {"CANCELLED": 30}:
        assert time.monotonic() < deadline, await _statuses(db, reservation, schedule["id"])
        await asyncio.sleep(0.1)

    assert await _refunds_by_user(db) == {b["id"]: 1 for b in buyers}
    async with db.reading() as conn:
        taken = (
            await conn.execute(
                select(func.count()).where(
                    seat.c.schedule_id == schedule["id"], seat.c.status == "UNAVAILABLE"
                )
            )
        ).scalar_one()
    assert taken == 0
