"""Payments racing each other through several server processes: no won created or lost, and a
payment debits exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.db import Database
from boxoffice.tables import payment, point_history, reservation
from tests import api, booking
from tests.servers import Server, clients_for, running_servers

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

PRICE = 10_000


@pytest.fixture(scope="module")
def servers(postgres_url: str) -> Iterator[list[Server]]:
    """Three server processes for the whole module; each test still gets emptied tables."""
    with running_servers(postgres_url, count=3, hold_limit=10, **booking.OPEN_DOORS) as bases:
        yield bases


async def _statuses_by_user(db: Database, table: Any) -> dict[tuple[int, str], int]:
    async with db.reading() as conn:
        rows = await conn.execute(
            select(table.c.user_id, table.c.status, func.count()).group_by(
                table.c.user_id, table.c.status
            )
        )
        return {(user_id, status): count for user_id, status, count in rows}


async def test_ten_payments_against_a_balance_for_five_make_five(
    servers: list[Server], db: Database
) -> None:
    # Ten people at once, each paying ten holds at once with money for five.
    users = await booking.create_users(db, 10, balance=5 * PRICE)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        schedule = await api.create_schedule(clients[0], concert["id"], seat_count=100, price=PRICE)
        seats = await booking.seat_ids(db, schedule["id"])
        headers = await booking.admit_all(clients, users, concert["id"])
        holds = await booking.bounded(
            50,
            (
                booking.held(clients[n % 3], headers[n % 10], seat_id)
                for n, seat_id in enumerate(seats)
            ),
        )

        responses = await booking.bounded(
            100,
            (
                booking.pay(clients[n % 3], headers[n % 10], hold["id"])
                for n, hold in enumerate(holds)
            ),
        )

        by_user: dict[int, Counter[tuple[int, str | None]]] = {u["id"]: Counter() for u in users}
        for hold, response in zip(holds, responses, strict=True):
            by_user[hold["user_id"]][booking.outcome(response)] += 1
        for user_id, outcomes in by_user.items():
            assert outcomes == {(201, None): 5, (409, "INSUFFICIENT_BALANCE"): 5}, (
                user_id,
                outcomes,
            )
        assert await booking.available_seats(clients[1], concert["id"], schedule["id"]) == 0

    for user in users:
        assert await booking.balance_of(db, user["id"]) == 0
    payments = await _statuses_by_user(db, payment)
    reservations = await _statuses_by_user(db, reservation)
    for user in users:
        assert payments[user["id"], "SUCCESS"] == payments[user["id"], "FAILED"] == 5
        assert reservations[user["id"], "CONFIRMED"] == reservations[user["id"], "TEMPORARY"] == 5
    await booking.assert_audit_passes(db)


async def _pay_twice_at_once(
    clients: list[httpx.AsyncClient],
    concert_id: int,
    user: dict[str, Any],
    seat_ids: tuple[int, int],
    key: str | None,
) -> tuple[dict[str, Any], list[httpx.Response]]:
    headers = await booking.admitted(clients[0], user, concert_id)
    target = await booking.held(clients[0], headers, seat_ids[0])
    # A second live hold keeps the admission open after the payment, so the loser of the
    # race meets the payment itself, not a closed waiting room.
    await booking.held(clients[1], headers, seat_ids[1])
    responses = await asyncio.gather(
        booking.pay(clients[1], headers, target["id"], key),
        booking.pay(clients[2], headers, target["id"], key),
    )
    return target, list(responses)


@pytest.mark.parametrize("with_key", [True, False], ids=["idempotency-key", "no-key"])
async def test_the_same_payment_sent_twice_at_once_debits_once(
    servers: list[Server], db: Database, with_key: bool
) -> None:
    rounds = 10
    users = await booking.create_users(db, rounds, balance=3 * PRICE)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        schedule = await api.create_schedule(
            clients[0], concert["id"], seat_count=2 * rounds, price=PRICE
        )
        seats = await booking.seat_ids(db, schedule["id"])

        races = await asyncio.gather(
            *(
                _pay_twice_at_once(
                    clients,
                    concert["id"],
                    user,
                    (seats[2 * n], seats[2 * n + 1]),
                    f"pay-{n}" if with_key else None,
                )
                for n, user in enumerate(users)
            )
        )

        for user, (target, responses) in zip(users, races, strict=True):
            outcomes = sorted(booking.outcome(r) for r in responses)
            if with_key:
                # The loser either sees the winner still running or replays its answer.
                assert outcomes in (
                    [(201, None), (201, None)],
                    [(201, None), (409, "IDEMPOTENCY_KEY_IN_USE")],
                ), outcomes
                answers = [r.json() for r in responses if r.status_code == 201]
                assert all(answer == answers[0] for answer in answers)
                retry = await booking.pay(
                    clients[0], user["headers"], target["id"], f"pay-{users.index(user)}"
                )
                assert (retry.status_code, retry.json()) == (201, answers[0])
            else:
                assert outcomes == [(201, None), (409, "RESERVATION_NOT_PAYABLE")], outcomes
            assert await booking.balance_of(db, user["id"]) == 2 * PRICE

    async with db.reading() as conn:
        uses: dict[int, int] = dict(
            (
                await conn.execute(
                    select(point_history.c.user_id, func.count())
                    .where(point_history.c.type == "USE")
                    .group_by(point_history.c.user_id)
                )
            ).all()
        )
    assert uses == {user["id"]: 1 for user in users}
    payments = await _statuses_by_user(db, payment)
    assert payments == {(user["id"], "SUCCESS"): 1 for user in users}
    await booking.assert_audit_passes(db)
