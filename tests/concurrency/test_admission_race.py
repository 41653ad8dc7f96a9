"""A payment that leaves its user no live hold ends the user's admission; a hold of the same user
racing it, through another server process, either commits in time to keep the admission (and
can then be paid) or is refused. It is never left holding a seat it cannot pay for."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.db import Database
from boxoffice.tables import reservation
from tests import api, booking
from tests.servers import Server, clients_for, running_servers

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

PRICE = 10_000
ROUNDS = 40


@pytest.fixture(scope="module", params=["database", "redis"])
def servers(request: pytest.FixtureRequest, postgres_url: str) -> Iterator[list[Server]]:
    """Two server processes, with the waiting room in the database or in Redis."""
    room: dict[str, Any] = {}
    if request.param == "redis":
        room["redis_url"] = request.getfixturevalue("redis_url")
    with running_servers(postgres_url, count=2, **booking.OPEN_DOORS, **room) as bases:
        yield bases


async def _race(
    clients: list[httpx.AsyncClient], n: int, headers: dict[str, str], seats: tuple[int, int]
) -> str:
    """Hold one seat, then pay for it while holding a second through the other process."""
    mine, other = clients[n % 2], clients[(n + 1) % 2]
    first = await booking.held(mine, headers, seats[0])
    paid, second = await asyncio.gather(
        booking.pay(mine, headers, first["id"]), booking.hold(other, headers, seats[1])
    )
    assert paid.status_code == 201, paid.text
    if second.status_code == 201:
        # It committed before the payment's hand-over counted the user's holds: the admission
        # stayed, so it can be paid.
        settled = await booking.pay(other, headers, second.json()["id"])
        assert settled.status_code == 201, (n, settled.text)
        return "held in time, then paid"
    assert booking.outcome(second) == (403, "QUEUE_TOKEN_INVALID"), (n, second.text)
    return "refused after the hand-over"


async def test_a_hold_racing_the_payment_that_ends_its_admission_is_never_left_unpayable(
    servers: list[Server], db: Database, flushed_redis: str
) -> None:
    users = await booking.create_users(db, ROUNDS, balance=2 * PRICE)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        schedule = await api.create_schedule(
            clients[0], concert["id"], seat_count=2 * ROUNDS, price=PRICE
        )
        seats = await booking.seat_ids(db, schedule["id"])
        headers = await booking.admit_all(clients, users, concert["id"])

        outcomes = await booking.bounded(
            10,
            (
                _race(clients, n, headers[n], (seats[2 * n], seats[2 * n + 1]))
                for n in range(ROUNDS)
            ),
        )

    print(Counter(outcomes))
    async with db.reading() as conn:
        holds_left = (
            await conn.execute(select(func.count()).where(reservation.c.status == "TEMPORARY"))
        ).scalar_one()
    assert holds_left == 0
    await booking.assert_audit_passes(db)
