"""Cancelling a schedule under load, through several server processes on one PostgreSQL: two
cancels at once, a cancel racing holds and payments, and a process killed half-way through a
cancel. Every confirmed buyer is refunded exactly once, and the audit is clean."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.db import Database
from boxoffice.tables import payment, point_history, reservation
from tests import api, booking, sold
from tests.servers import Server, clients_for, running_servers

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

PRICE = 10_000
# Small batches, so that a cancel of a few hundred bookings takes many transactions.
SERVER_SETTINGS: dict[str, Any] = {
    **booking.OPEN_DOORS,
    "hold_limit": 10,
    "cancel_batch_size": 10,
    "sweep_interval_seconds": 0.2,
    "db_pool_size": 5,
}


@pytest.fixture(scope="module")
def servers(postgres_url: str) -> Iterator[list[Server]]:
    with running_servers(postgres_url, count=2, **SERVER_SETTINGS) as bases:
        yield bases


async def _cancel(client: httpx.AsyncClient, schedule_id: int) -> httpx.Response:
    return await client.post(f"/admin/schedules/{schedule_id}/cancel", headers=api.ADMIN)


async def _refund_entries(db: Database) -> int:
    async with db.reading() as conn:
        count: int = (
            await conn.execute(select(func.count()).where(point_history.c.type == "REFUND"))
        ).scalar_one()
        return count


async def _live_on(db: Database, schedule_id: int) -> int:
    async with db.reading() as conn:
        count: int = (
            await conn.execute(
                select(func.count()).where(
                    reservation.c.schedule_id == schedule_id,
                    reservation.c.status.in_(["TEMPORARY", "CONFIRMED"]),
                )
            )
        ).scalar_one()
        return count


async def _refunds_left(db: Database, schedule_id: int) -> int:
    """Counts down to zero: minus the live reservations left on the schedule."""
    return -await _live_on(db, schedule_id)


async def _wait_for(count: Callable[[], Awaitable[int]], at_least: int, within: float = 10) -> None:
    """Poll `count` until it reaches `at_least`."""
    deadline = time.monotonic() + within
    while (seen := await count()) < at_least:
        assert time.monotonic() < deadline, f"{seen} < {at_least} after {within} s"
        await asyncio.sleep(0.01)


async def _assert_every_buyer_refunded_once(
    db: Database, buyers: list[dict[str, Any]], schedule_id: int, balance: int
) -> None:
    """Each buyer's balance is back where it started, and the schedule's money went back by
    exactly one REFUND entry per cancelled payment."""
    assert await _live_on(db, schedule_id) == 0
    for buyer in buyers:
        assert await booking.balance_of(db, buyer["id"]) == balance, buyer
    async with db.reading() as conn:
        rows = await conn.execute(
            select(payment.c.status, func.count())
            .join(reservation, reservation.c.id == payment.c.reservation_id)
            .where(reservation.c.schedule_id == schedule_id)
            .group_by(payment.c.status)
        )
        by_status: dict[str, int] = {status: count for status, count in rows.all()}
    assert "SUCCESS" not in by_status
    assert await _refund_entries(db) == by_status.get("CANCELLED", 0)
    await booking.assert_audit_passes(db)


async def test_two_cancels_from_two_processes_refund_each_buyer_once(
    servers: list[Server], db: Database
) -> None:
    buyers = await booking.create_users(db, 200, balance=PRICE)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        schedule = await api.create_schedule(clients[0], concert["id"], seat_count=200, price=PRICE)
        await sold.sell_seats(db, schedule["id"], [b["id"] for b in buyers])

        answers = await asyncio.gather(
            _cancel(clients[0], schedule["id"]), _cancel(clients[1], schedule["id"])
        )

    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "CANCELLED"
    assert await _refund_entries(db) == 200
    await _assert_every_buyer_refunded_once(db, buyers, schedule["id"], PRICE)


async def _shop_until_closed(
    clients: list[httpx.AsyncClient],
    user: dict[str, Any],
    concert_id: int,
    seats: list[int],
    closed: asyncio.Event,
    seen: list[tuple[int, str | None]],
) -> None:
    """Hold and pay at random until the schedule has been closed for a moment, joining the line
    again whenever a payment has ended the admission."""
    rng = random.Random()
    headers = await booking.admitted(clients[0], user, concert_id)
    deadline: float | None = None
    while deadline is None or time.monotonic() < deadline:
        if closed.is_set() and deadline is None:
            deadline = time.monotonic() + 0.3
        held = await booking.hold(rng.choice(clients), headers, rng.choice(seats))
        seen.append(booking.outcome(held))
        if booking.code(held) == "QUEUE_TOKEN_INVALID":
            headers = await booking.admitted(rng.choice(clients), user, concert_id)
        elif held.status_code == 201:
            paid = await booking.pay(rng.choice(clients), headers, held.json()["id"])
            seen.append(booking.outcome(paid))


async def test_a_cancel_racing_holds_and_payments_refunds_every_buyer_once(
    servers: list[Server], db: Database
) -> None:
    shoppers = await booking.create_users(db, 20, balance=10 * PRICE)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        schedule = await api.create_schedule(clients[0], concert["id"], seat_count=300, price=PRICE)
        seats = await booking.seat_ids(db, schedule["id"])
        # Half the seats are sold already, so the cancel has batches to work through.
        already = await booking.create_users(db, 150, balance=PRICE)
        await sold.sell_seats(db, schedule["id"], [b["id"] for b in already])
        closed = asyncio.Event()
        seen: list[tuple[int, str | None]] = []
        shopping = asyncio.gather(
            *(
                _shop_until_closed(clients, user, concert["id"], seats[150:], closed, seen)
                for user in shoppers
            )
        )
        # The cancel goes once shopping is under way, however slow the machine: after the
        # first hold, and a moment for others to be in flight.
        for _ in range(300):
            if (201, None) in seen:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.2)

        answer = await _cancel(clients[1], schedule["id"])
        closed.set()
        await shopping

    assert answer.status_code == 200, answer.text
    assert (201, None) in seen and (409, "SCHEDULE_CLOSED") in seen
    assert all(status < 500 for status, _ in seen), seen
    await _assert_every_buyer_refunded_once(db, already, schedule["id"], PRICE)
    await _assert_every_buyer_refunded_once(db, shoppers, schedule["id"], 10 * PRICE)


async def test_a_process_killed_half_way_through_a_cancel_is_finished_by_another(
    database_url: str, db: Database
) -> None:
    buyers = await booking.create_users(db, 600, balance=PRICE)
    with running_servers(database_url, count=2, **SERVER_SETTINGS) as (doomed, survivor):
        async with clients_for([doomed, survivor]) as (to_doomed, to_survivor):
            concert = await api.create_concert(to_survivor)
            schedule = await api.create_schedule(
                to_survivor, concert["id"], seat_count=600, price=PRICE
            )
            await sold.sell_seats(db, schedule["id"], [b["id"] for b in buyers])

            cancelling = asyncio.create_task(_cancel(to_doomed, schedule["id"]))
            await _wait_for(lambda: _refund_entries(db), at_least=30)
            os.kill(doomed.process.pid, signal.SIGKILL)
            with pytest.raises(httpx.HTTPError):
                await cancelling
            refunded_at_the_kill = await _refund_entries(db)
            assert refunded_at_the_kill < 600

            # The survivor's sweeper finishes the work; a cancel sent again finds it done.
            await _wait_for(lambda: _refunds_left(db, schedule["id"]), at_least=0, within=20)
            again = await _cancel(to_survivor, schedule["id"])
            assert again.status_code == 200, again.text

    assert await _refund_entries(db) == 600
    await _assert_every_buyer_refunded_once(db, buyers, schedule["id"], PRICE)
