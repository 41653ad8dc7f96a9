"""Closed means closed: a schedule starts in the future, carries its status, and from its start
time on (or once cancelled) takes no hold and no payment, whatever was held before."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from boxoffice.db import Database, for_update
from boxoffice.tables import concert_schedule, payment, point_history, users
from tests import api, booking
from tests.conftest import ClientFactory

SOON = timedelta(seconds=1.5)


def in_days(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


@pytest.fixture(autouse=True)
async def audited(db: Database) -> AsyncIterator[None]:
    yield
    await booking.assert_audit_passes(db)


async def _buyer(
    client: httpx.AsyncClient, concert_id: int, balance: int = 50_000
) -> tuple[dict[str, Any], dict[str, str]]:
    user = await api.sign_up(client)
    assert (await api.charge(client, user, balance)).status_code == 200
    return user, await booking.admitted(client, user, concert_id)


async def _schedule_status(client: httpx.AsyncClient, schedule_id: int) -> str:
    response = await client.get(f"/schedules/{schedule_id}")
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def _money_taken(db: Database, user_id: int) -> tuple[int, int, int]:
    """(balance, USE entries, payments) of one user."""
    async with db.reading() as conn:
        balance = (
            await conn.execute(select(users.c.balance).where(users.c.id == user_id))
        ).scalar_one()
        uses = (
            await conn.execute(
                select(func.count()).where(
                    point_history.c.user_id == user_id, point_history.c.type == "USE"
                )
            )
        ).scalar_one()
        payments = (
            await conn.execute(select(func.count()).where(payment.c.user_id == user_id))
        ).scalar_one()
    return int(balance), uses, payments


@pytest.mark.parametrize("ago", [timedelta(days=1), timedelta(seconds=1), timedelta(0)])
async def test_a_schedule_must_start_in_the_future(
    client: httpx.AsyncClient, ago: timedelta
) -> None:
    concert = await api.create_concert(client)
    response = await client.post(
        f"/admin/concerts/{concert['id']}/schedules",
        json={
            "start_time": (datetime.now(UTC) - ago).isoformat(),
            "seat_count": 3,
            "price": 1_000,
        },
        headers=api.ADMIN,
    )
    assert booking.outcome(response) == (422, "VALIDATION_ERROR"), response.text
    assert response.json()["errors"][0]["loc"] == ["body", "start_time"]
    listed = await client.get(f"/concerts/{concert['id']}/schedules")
    assert listed.json()["items"] == []


async def test_a_schedule_reads_on_its_own_with_its_status(client: httpx.AsyncClient) -> None:
    concert = await api.create_concert(client)
    created = await api.create_schedule(client, concert["id"], seat_count=4, price=5_000)
    assert created["status"] == "ON_SALE"

    read = await client.get(f"/schedules/{created['id']}")

    assert read.status_code == 200, read.text
    assert read.json() == created
    listed = await client.get(f"/concerts/{concert['id']}/schedules")
    assert listed.json()["items"] == [created]
    missing = await client.get("/schedules/424242")
    assert booking.outcome(missing) == (404, "SCHEDULE_NOT_FOUND")
    assert (await client.get("/schedules/1.0")).status_code == 422


async def test_from_its_start_a_schedule_takes_no_hold_and_no_payment(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client(**booking.OPEN_DOORS)
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=3, start_time=in_days(1))
    later = await api.create_schedule(client, concert["id"], seat_count=3, start_time=in_days(2))
    user, headers = await _buyer(client, concert["id"])
    seats = await booking.seat_ids(db, schedule["id"])
    held_before = await booking.held(client, headers, seats[0])
    money_before = await _money_taken(db, user["id"])

    await booking.move_start(db, schedule["id"])

    assert await _schedule_status(client, schedule["id"]) == "CLOSED"
    listed = await client.get(f"/concerts/{concert['id']}/schedules")
    assert [s["status"] for s in listed.json()["items"]] == ["CLOSED", "ON_SALE"]
    available = await client.get(f"/concerts/{concert['id']}/schedules?available=true")
    assert [s["id"] for s in available.json()["items"]] == [later["id"]]
    late_hold = await booking.hold(client, headers, seats[1])
    assert booking.outcome(late_hold) == (409, "SCHEDULE_CLOSED"), late_hold.text
    # What was held before the start cannot be paid after it either.
    late_payment = await booking.pay(client, headers, held_before["id"])
    assert booking.outcome(late_payment) == (409, "SCHEDULE_CLOSED"), late_payment.text
    assert await _money_taken(db, user["id"]) == money_before
    # Other dates of the concert still sell.
    await booking.held(client, headers, (await booking.seat_ids(db, later["id"]))[0])


async def test_a_cancelled_schedule_takes_no_hold_and_no_payment(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client(**booking.OPEN_DOORS)
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=3)
    user, headers = await _buyer(client, concert["id"])
    seats = await booking.seat_ids(db, schedule["id"])
    held_before = await booking.held(client, headers, seats[0])
    money_before = await _money_taken(db, user["id"])
    async with db.transaction() as conn:
        await conn.execute(
            update(concert_schedule)
            .where(concert_schedule.c.id == schedule["id"])
            .values(cancelled_at=datetime.now(UTC))
        )

    assert await _schedule_status(client, schedule["id"]) == "CANCELLED"
    available = await client.get(f"/concerts/{concert['id']}/schedules?available=true")
    assert available.json()["items"] == []
    assert booking.outcome(await booking.hold(client, headers, seats[1])) == (
        409,
        "SCHEDULE_CLOSED",
    )
    assert booking.outcome(await booking.pay(client, headers, held_before["id"])) == (
        409,
        "SCHEDULE_CLOSED",
    )
    assert await _money_taken(db, user["id"]) == money_before


async def _while_the_user_is_locked(
    db: Database, user_id: int, until: datetime, request: Coroutine[Any, Any, httpx.Response]
) -> httpx.Response:
    """Send `request` while a transaction holds the user's row lock (on SQLite: the write
    lock), and let go only once `until` has passed: whatever the request read before it queued
    for the lock, it must judge the show's start when it gets the lock."""
    async with db.unit_of_work() as work:
        await work.conn.execute(for_update(select(users.c.id).where(users.c.id == user_id)))
        sent = asyncio.create_task(request)
        await booking.sleep_until(until + timedelta(milliseconds=100))
        assert not sent.done()
    return await sent


@pytest.mark.parametrize("action", ["hold", "pay"])
async def test_a_request_queued_across_the_start_is_refused(
    make_client: ClientFactory, db: Database, action: str
) -> None:
    client = await make_client(**booking.OPEN_DOORS)
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=2)
    user, headers = await _buyer(client, concert["id"])
    seats = await booking.seat_ids(db, schedule["id"])
    held = await booking.held(client, headers, seats[0])
    money_before = await _money_taken(db, user["id"])
    starts = datetime.now(UTC) + SOON
    await booking.move_start(db, schedule["id"], starts)
    request = (
        booking.hold(client, headers, seats[1])
        if action == "hold"
        else booking.pay(client, headers, held["id"])
    )

    response = await _while_the_user_is_locked(db, user["id"], starts, request)

    assert booking.outcome(response) == (409, "SCHEDULE_CLOSED"), response.text
    assert await _money_taken(db, user["id"]) == money_before
    kept = await client.get(f"/reservations/{held['id']}", headers=user["headers"])
    assert kept.json()["status"] == "TEMPORARY"
