"""A ticket drop: many people, several server processes, one database. One seat, one owner."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.liveness import is_live
from boxoffice.tables import reservation
from tests import api, booking
from tests.servers import Server, clients_for, running_servers

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@pytest.fixture(scope="module")
def servers(postgres_url: str) -> Iterator[list[Server]]:
    """Three server processes for the whole module (they start slowly on a small machine);
    each test still gets emptied tables."""
    with running_servers(
        postgres_url, count=3, sweep_interval_seconds=0.2, **booking.OPEN_DOORS
    ) as bases:
        yield bases


async def test_two_hundred_people_rushing_one_seat_get_one_hold(
    servers: list[Server], db: Database
) -> None:
    users = await booking.create_users(db, 200)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        schedule = await api.create_schedule(clients[0], concert["id"], seat_count=5)
        seat_id = (await booking.seat_ids(db, schedule["id"]))[2]
        headers = await booking.admit_all(clients, users, concert["id"])

        # Everyone at once, each through the next server in turn.
        responses = await booking.bounded(
            200,
            (booking.hold(clients[i % 3], h, seat_id) for i, h in enumerate(headers)),
        )

        outcomes = Counter(booking.outcome(r) for r in responses)
        assert outcomes == {(201, None): 1, (409, "SEAT_UNAVAILABLE"): 199}, outcomes
        winner = next(r.json() for r in responses if r.status_code == 201)
        assert await booking.available_seats(clients[1], concert["id"], schedule["id"]) == 4
        statuses = await booking.seat_statuses(clients[2], headers[0], schedule["id"])
        assert statuses[seat_id] == "UNAVAILABLE"

    async with db.reading() as conn:
        rows = (
            await conn.execute(
                select(reservation.c.id, reservation.c.user_id).where(
                    reservation.c.seat_id == seat_id, is_live(utcnow())
                )
            )
        ).all()
        every = (
            await conn.execute(
                select(func.count())
                .select_from(reservation)
                .where(reservation.c.seat_id == seat_id)
            )
        ).scalar_one()
    assert [tuple(row) for row in rows] == [(winner["id"], winner["user_id"])]
    assert every == 1
    await booking.assert_audit_passes(db)


async def test_five_hundred_seats_held_at_once_leave_an_exact_count(
    servers: list[Server], db: Database
) -> None:
    # 125 people holding 4 seats each (the default hold limit): every seat goes, none twice.
    users = await booking.create_users(db, 125)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        schedule = await api.create_schedule(clients[0], concert["id"], seat_count=500)
        seats = await booking.seat_ids(db, schedule["id"])
        headers = await booking.admit_all(clients, users, concert["id"])
        order = list(range(500))
        random.shuffle(order)

        responses = await booking.bounded(
            50,
            (booking.hold(clients[n % 3], headers[n % 125], seats[n]) for n in order),
        )

        outcomes = Counter(booking.outcome(r) for r in responses)
        assert outcomes == {(201, None): 500}, outcomes
        assert sorted(r.json()["seat_id"] for r in responses) == seats
        per_user = Counter(r.json()["user_id"] for r in responses)
        assert set(per_user.values()) == {4} and len(per_user) == 125
        assert await booking.available_seats(clients[1], concert["id"], schedule["id"]) == 0
        listing = await booking.seat_statuses(clients[2], headers[0], schedule["id"])
        assert set(listing.values()) == {"UNAVAILABLE"} and len(listing) == 500
        # The sweepers fold the 500 pending changes into the stored counter.
        await booking.wait_until_folded(db, schedule["id"], 0)
        assert await booking.available_seats(clients[2], concert["id"], schedule["id"]) == 0

    await booking.assert_audit_passes(db)
