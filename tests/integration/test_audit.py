"""`boxoffice audit` accepts the data the service writes and catches data that breaks a promise."""

from __future__ import annotations

import asyncio
import os
import sys
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update

from boxoffice.audit import run_audit
from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.tables import reservation
from tests import api, booking
from tests.conftest import ClientFactory

# Short names for the audit's checks, by the start of their titles.
BALANCE = "balance == charges"
ONE_LIVE = "at most one live reservation"
SEAT_STATUS = "a seat is UNAVAILABLE exactly"
COUNTER = "available_seats"
PAYMENT_PAYS = "every SUCCESS payment"
BOOKING_PAID = "every CONFIRMED reservation"
LEDGER_PAYMENTS = "USE entries"
PAID_IN_TIME = "no payment succeeded at or after"
REFUNDED_ONCE = "no booking refunded twice"
CANCELLED_SHOWS = "a cancelled schedule keeps no confirmed booking"


@dataclass
class Business:
    """What `_a_day_of_business` left behind, for corruptions to aim at."""

    buyer_id: int
    holder_id: int
    schedule_id: int
    booking_id: int
    booked_seat_id: int
    hold_id: int
    held_seat_id: int
    payment_id: int
    refunded_id: int


async def _a_day_of_business(client: httpx.AsyncClient, db: Database) -> Business:
    """Holds, payments (short and successful), a cancelled hold, a refunded booking, an expired
    hold handed over to someone else, a cancelled show that refunded its buyer."""
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=6, price=10_000)
    seats = await booking.seat_ids(db, schedule["id"])
    buyer = await api.sign_up(client)
    holder = await api.sign_up(client)
    late = await api.sign_up(client)
    for user in (buyer, late):
        assert (await api.charge(client, user, 30_000)).status_code == 200
    assert (await api.charge(client, holder, 5_000)).status_code == 200
    buyer_h = await booking.admitted(client, buyer, concert["id"])
    holder_h = await booking.admitted(client, holder, concert["id"])
    late_h = await booking.admitted(client, late, concert["id"])

    kept = await booking.held(client, buyer_h, seats[0])
    refunded = await booking.held(client, buyer_h, seats[1])
    payment = await booking.paid(client, buyer_h, kept["id"])
    await booking.paid(client, buyer_h, refunded["id"])
    cancel = await client.post(f"/reservations/{refunded['id']}/cancel", headers=buyer["headers"])
    assert cancel.status_code == 200

    hold = await booking.held(client, holder_h, seats[2])
    short = await booking.pay(client, holder_h, hold["id"])
    assert booking.code(short) == "INSUFFICIENT_BALANCE"
    dropped = await booking.held(client, holder_h, seats[3])
    cancel = await client.post(f"/reservations/{dropped['id']}/cancel", headers=holder["headers"])
    assert cancel.status_code == 200

    # A hold whose time ran out (moved into the past rather than waited for), taken over.
    stale = await booking.held(client, late_h, seats[4])
    async with db.transaction() as conn:
        await conn.execute(
            update(reservation)
            .where(reservation.c.id == stale["id"])
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    await booking.held(client, holder_h, seats[4])

    cancelled_show = await api.create_schedule(client, concert["id"], seat_count=1, price=10_000)
    late_h = await booking.admitted(client, late, concert["id"])
    bought = await booking.held(
        client, late_h, (await booking.seat_ids(db, cancelled_show["id"]))[0]
    )
    await booking.paid(client, late_h, bought["id"])
    cancelled = await client.post(
        f"/admin/schedules/{cancelled_show['id']}/cancel", headers=api.ADMIN
    )
    assert cancelled.status_code == 200, cancelled.text

    return Business(
        buyer_id=buyer["id"],
        holder_id=holder["id"],
        schedule_id=schedule["id"],
        booking_id=kept["id"],
        booked_seat_id=seats[0],
        hold_id=hold["id"],
        held_seat_id=seats[2],
        payment_id=payment["id"],
        refunded_id=refunded["id"],
    )


def _failing(results: list[Any]) -> set[str]:
    names = (
        BALANCE,
        ONE_LIVE,
        SEAT_STATUS,
        COUNTER,
        PAYMENT_PAYS,
        BOOKING_PAID,
        LEDGER_PAYMENTS,
        PAID_IN_TIME,
        REFUNDED_ONCE,
        CANCELLED_SHOWS,
    )
    failing = {result.name for result in results if not result.ok}
    return {short for short in names if any(name.startswith(short) for name in failing)}


async def test_the_audit_passes_after_a_day_of_business(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client(**booking.OPEN_DOORS)
    await _a_day_of_business(client, db)

    results = await run_audit(db)

    assert [r.name for r in results if not r.ok] == []
    assert len(results) == 10
    assert all(r.checked > 0 for r in results)


async def _execute(db: Database, statement: str, **params: Any) -> None:
    async with db.transaction() as conn:
        await conn.execute(text(statement), params)


async def _corrupt(db: Database, kind: str, business: Business) -> None:
    b = business
    if kind == "balance":
        await _execute(db, "UPDATE users SET balance = balance + 1 WHERE id = :id", id=b.buyer_id)
    elif kind == "lost ledger entry":
        await _execute(
            db, "DELETE FROM point_history WHERE user_id = :id AND type = 'USE'", id=b.buyer_id
        )
    elif kind == "seat freed under a booking":
        await _execute(
            db, "UPDATE seat SET status = 'AVAILABLE' WHERE id = :id", id=b.booked_seat_id
        )
    elif kind == "counter":
        await _execute(
            db,
            "UPDATE concert_schedule SET available_seats = available_seats - 1 WHERE id = :id",
            id=b.schedule_id,
        )
    elif kind == "booking without payment":
        await _execute(db, "UPDATE payment SET status = 'FAILED' WHERE id = :id", id=b.payment_id)
    elif kind == "paid after the show started":
        await _execute(
            db,
            "UPDATE concert_schedule SET start_time = "
            "(SELECT MIN(created_at) FROM payment WHERE id = :id) WHERE id = :schedule",
            id=b.payment_id,
            schedule=b.schedule_id,
        )
    elif kind == "refunded twice":
        # A second refund of the same booking, with its ledger entry and balance: the ledger
        # adds up, only the payments tell.
        for statement in (
            "INSERT INTO payment (user_id, amount, status, reservation_id, created_at, updated_at)"
            " SELECT user_id, amount, status, reservation_id, created_at, updated_at"
            " FROM payment WHERE reservation_id = :id AND status = 'CANCELLED'",
            "INSERT INTO point_history (user_id, amount, type, created_at, updated_at)"
            " SELECT user_id, amount, 'USE', created_at, updated_at"
            " FROM payment WHERE reservation_id = :id AND status = 'CANCELLED' LIMIT 1",
            "INSERT INTO point_history (user_id, amount, type, created_at, updated_at)"
            " SELECT user_id, amount, 'REFUND', created_at, updated_at"
            " FROM payment WHERE reservation_id = :id AND status = 'CANCELLED' LIMIT 1",
        ):
            await _execute(db, statement, id=b.refunded_id)
    elif kind == "cancelled show with a booking left":
        await _execute(
            db,
            "UPDATE concert_schedule SET cancelled_at = created_at WHERE id = :id",
            id=b.schedule_id,
        )
    elif kind == "payment without booking":
        await _execute(
            db, "UPDATE reservation SET status = 'CANCELLED' WHERE id = :id", id=b.booking_id
        )
    else:
        raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "caught_by"),
    [
        ("balance", {BALANCE}),
        ("lost ledger entry", {BALANCE, LEDGER_PAYMENTS}),
        # The counter follows seat status by a trigger, so only the seat's own check fires.
        ("seat freed under a booking", {SEAT_STATUS}),
        ("counter", {COUNTER}),
        ("booking without payment", {BOOKING_PAID, LEDGER_PAYMENTS}),
        ("payment without booking", {PAYMENT_PAYS, SEAT_STATUS}),
        ("paid after the show started", {PAID_IN_TIME}),
        ("refunded twice", {REFUNDED_ONCE}),
        ("cancelled show with a booking left", {CANCELLED_SHOWS}),
    ],
)
async def test_the_audit_catches_broken_data(
    make_client: ClientFactory, db: Database, kind: str, caught_by: set[str]
) -> None:
    client = await make_client(**booking.OPEN_DOORS, sweep_interval_seconds=3600)
    business = await _a_day_of_business(client, db)
    assert _failing(await run_audit(db)) == set()

    await _corrupt(db, kind, business)

    assert _failing(await run_audit(db)) == caught_by


async def test_the_audit_catches_two_live_reservations_on_one_seat(
    make_client: ClientFactory, db: Database
) -> None:
    """The unique index makes this impossible, so the test takes the index away first."""
    client = await make_client(**booking.OPEN_DOORS, sweep_interval_seconds=3600)
    business = await _a_day_of_business(client, db)
    index = next(i for i in reservation.indexes if i.name == "uq_reservation_live_seat")
    await _execute(db, "DROP INDEX uq_reservation_live_seat")
    try:
        await _execute(
            db,
            """
            INSERT INTO reservation
                (user_id, schedule_id, seat_id, amount, status, expires_at, created_at, updated_at)
            SELECT user_id, schedule_id, seat_id, amount, status, expires_at, created_at, updated_at
            FROM reservation WHERE id = :id
            """,
            id=business.hold_id,
        )
        assert _failing(await run_audit(db)) == {ONE_LIVE}
    finally:
        await _execute(
            db,
            "DELETE FROM reservation WHERE seat_id = :seat AND id <> :id",
            seat=business.held_seat_id,
            id=business.hold_id,
        )
        async with db.transaction() as conn:
            await conn.run_sync(lambda sync_conn: index.create(sync_conn))
    assert _failing(await run_audit(db)) == set()


async def _audit_command(database_url: str, cwd: Path) -> tuple[int, str]:
    env = {**os.environ, "BOXOFFICE_DATABASE_URL": database_url, "BOXOFFICE_LOG_LEVEL": "WARNING"}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "boxoffice",
        "audit",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, output.decode()


# Once is enough for the command line (it costs seconds of start-up): on the production database.
@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_the_audit_command_exits_non_zero_on_broken_data(
    make_client: ClientFactory, db: Database, database_url: str, tmp_path: Path
) -> None:
    client = await make_client(**booking.OPEN_DOORS, sweep_interval_seconds=3600)
    business = await _a_day_of_business(client, db)

    clean_code, clean_output = await _audit_command(database_url, tmp_path)
    assert clean_code == 0, clean_output
    assert "FAIL" not in clean_output
    assert clean_output.count("ok ") == 10

    await _corrupt(db, "seat freed under a booking", business)

    broken_code, broken_output = await _audit_command(database_url, tmp_path)
    assert broken_code != 0, broken_output
    assert f"FAIL {SEAT_STATUS}" in broken_output
