"""Expired means expired: once `expires_at` passes a hold cannot be paid and its seat is free for
someone else at once, through every server process, whatever the sweepers are doing."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.liveness import is_live
from boxoffice.tables import payment, point_history, reservation, seat
from tests import api, booking
from tests.servers import Server, clients_for, running_servers

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

PRICE = 10_000


@pytest.fixture(scope="module")
def servers(postgres_url: str) -> Iterator[list[Server]]:
    """Three server processes for the whole module, with one-second holds and sweepers that
    run every 0.05 s in each of them; each test still gets emptied tables."""
    with running_servers(
        postgres_url,
        count=3,
        hold_ttl_seconds=1,
        sweep_interval_seconds=0.05,
        **booking.OPEN_DOORS,
    ) as bases:
        yield bases


async def _live_owner_by_seat(db: Database, seat_ids: list[int]) -> dict[int, list[int]]:
    async with db.reading() as conn:
        rows = await conn.execute(
            select(reservation.c.seat_id, reservation.c.user_id).where(
                reservation.c.seat_id.in_(seat_ids), is_live(utcnow())
            )
        )
        owners: dict[int, list[int]] = {seat_id: [] for seat_id in seat_ids}
        for seat_id, user_id in rows:
            owners[seat_id].append(user_id)
        return owners


async def test_an_expired_hold_is_not_payable_and_its_seat_goes_at_once(
    servers: list[Server], db: Database
) -> None:
    count = 30
    owners = await booking.create_users(db, count, balance=PRICE)
    rivals = await booking.create_users(db, count)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        schedule = await api.create_schedule(
            clients[0], concert["id"], seat_count=count, price=PRICE
        )
        seats = await booking.seat_ids(db, schedule["id"])
        owner_h = await booking.admit_all(clients, owners, concert["id"])
        rival_h = await booking.admit_all(clients, rivals, concert["id"])
        holds = await booking.bounded(
            count, (booking.held(clients[n % 3], owner_h[n], seats[n]) for n in range(count))
        )

        last = max(booking.parse_time(h["expires_at"]) for h in holds)
        await booking.sleep_until(last + timedelta(seconds=0.05))
        # The owners pay too late while the rivals take the seats, all at once.
        late_payments, takeovers = await asyncio.gather(
            booking.bounded(
                count,
                (booking.pay(clients[n % 3], owner_h[n], holds[n]["id"]) for n in range(count)),
            ),
            booking.bounded(
                count,
                (booking.hold(clients[(n + 1) % 3], rival_h[n], seats[n]) for n in range(count)),
            ),
        )

        assert Counter(booking.outcome(r) for r in late_payments) == {
            (409, "RESERVATION_EXPIRED"): count
        }
        assert Counter(booking.outcome(r) for r in takeovers) == {(201, None): count}
        assert await _live_owner_by_seat(db, seats) == {
            seats[n]: [rivals[n]["id"]] for n in range(count)
        }
        reads = await booking.bounded(
            count,
            (
                clients[n % 3].get(f"/reservations/{holds[n]['id']}", headers=owner_h[n])
                for n in range(count)
            ),
        )
        assert {r.json()["status"] for r in reads} == {"EXPIRED"}
        for owner in owners:
            assert await booking.balance_of(db, owner["id"]) == PRICE

        # The rivals' holds run out as well; the sweepers put every seat back on sale.
        last = max(booking.parse_time(r.json()["expires_at"]) for r in takeovers)
        await booking.sleep_until(last)
        await booking.wait_until_folded(db, schedule["id"], count)
        assert await booking.available_seats(clients[2], concert["id"], schedule["id"]) == count

    async with db.reading() as conn:
        statuses: dict[str, int] = dict(
            (
                await conn.execute(
                    select(reservation.c.status, func.count()).group_by(reservation.c.status)
                )
            ).all()
        )
        paid = (await conn.execute(select(func.count()).select_from(payment))).scalar_one()
    assert statuses == {"EXPIRED": 2 * count}
    assert paid == 0
    await booking.assert_audit_passes(db)


async def test_payments_racing_the_sweepers_at_the_edge_of_expiry(
    servers: list[Server], db: Database
) -> None:
    """Each payment is sent between 0.6 s before and 0.1 s after its hold's expiry, while the
    sweepers expire holds every 0.05 s in three processes and a rival grabs at the same seat.
    Whatever wins, a seat is never both paid for and free, and no won goes astray."""
    count = 100
    payers = await booking.create_users(db, count, balance=PRICE)
    rivals = await booking.create_users(db, count)
    rng = random.Random()
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        schedule = await api.create_schedule(
            clients[0], concert["id"], seat_count=count, price=PRICE
        )
        seats = await booking.seat_ids(db, schedule["id"])
        payer_h = await booking.admit_all(clients, payers, concert["id"])
        rival_h = await booking.admit_all(clients, rivals, concert["id"])
        holding = asyncio.Semaphore(10)  # spread the holds, and so the expiries, over time

        async def at_the_edge(n: int) -> tuple[dict[str, Any], Any, httpx.Response]:
            async with holding:
                hold = await booking.held(clients[n % 3], payer_h[n], seats[n])
            expires_at = booking.parse_time(hold["expires_at"])

            async def paying() -> tuple[datetime, httpx.Response, datetime]:
                # Early enough for some payments to land on time even when a loaded machine
                # takes a few hundred milliseconds to answer.
                await booking.sleep_until(expires_at + timedelta(seconds=rng.uniform(-0.6, 0.1)))
                sent = utcnow()
                response = await booking.pay(clients[(n + 1) % 3], payer_h[n], hold["id"])
                return sent, response, utcnow()

            async def grabbing() -> httpx.Response:
                await booking.sleep_until(expires_at + timedelta(seconds=rng.uniform(-0.05, 0.1)))
                return await booking.hold(clients[(n + 2) % 3], rival_h[n], seats[n])

            payment_try, grab = await asyncio.gather(paying(), grabbing())
            return hold, payment_try, grab

        results = await asyncio.gather(*(at_the_edge(n) for n in range(count)))

        outcomes: Counter[str] = Counter()
        paid_seats: set[int] = set()
        for hold, (sent, response, received), grab in results:
            expires_at = booking.parse_time(hold["expires_at"])
            paid, grabbed = response.status_code == 201, grab.status_code == 201
            assert booking.outcome(response) in ((201, None), (409, "RESERVATION_EXPIRED")), (
                response.text
            )
            assert booking.outcome(grab) in ((201, None), (409, "SEAT_UNAVAILABLE")), grab.text
            if sent > expires_at:
                assert not paid, f"hold {hold['id']} was paid after it expired"
            if received < expires_at:
                assert paid, f"hold {hold['id']} was refused before it expired"
            assert not (paid and grabbed), f"seat {hold['seat_id']} went to two people"
            outcomes["paid" if paid else "expired"] += 1
            outcomes["grabbed" if grabbed else "refused"] += 1
            if paid:
                paid_seats.add(hold["seat_id"])
        # The race was run at its edge: some payments made it, some were too late.
        assert outcomes["paid"] and outcomes["expired"], outcomes

        # Before anything settles (the sweepers are at work): every paid seat is sold, and only
        # to its payer, and the data passes the audit.
        owners = await _live_owner_by_seat(db, seats)
        for hold, _, _ in results:
            if hold["seat_id"] in paid_seats:
                assert owners[hold["seat_id"]] == [hold["user_id"]]
        await booking.assert_audit_passes(db)
        # Then every hold runs out and the sweepers put the unpaid seats back on sale.
        await asyncio.sleep(1)
        await booking.wait_until_folded(db, schedule["id"], count - len(paid_seats))

    async with db.reading() as conn:
        seat_status = dict(
            (
                await conn.execute(
                    select(seat.c.id, seat.c.status).where(seat.c.schedule_id == schedule["id"])
                )
            ).all()
        )
        reservation_statuses = Counter((await conn.execute(select(reservation.c.status))).scalars())
        uses = (
            await conn.execute(
                select(func.count(), func.coalesce(func.sum(point_history.c.amount), 0)).where(
                    point_history.c.type == "USE"
                )
            )
        ).one()
    assert {s for s, status in seat_status.items() if status == "UNAVAILABLE"} == paid_seats
    assert reservation_statuses["CONFIRMED"] == len(paid_seats)
    assert reservation_statuses["TEMPORARY"] == 0
    assert tuple(uses) == (len(paid_seats), len(paid_seats) * PRICE)
    for payer, (hold, _, _) in zip(payers, results, strict=True):
        expected = 0 if hold["seat_id"] in paid_seats else PRICE
        assert await booking.balance_of(db, payer["id"]) == expected
    await booking.assert_audit_passes(db)
