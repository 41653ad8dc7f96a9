"""A rush on one line through three server processes: a thousand users join at once, places are
handed out strictly in arrival order, and never more than the limit are admitted at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.queue.redis_backend import line_prefix
from boxoffice.tables import queue_ticket
from tests import api, booking
from tests.servers import Server, clients_for, running_servers

USERS = 1000
MAX_ACTIVE = 50
ROUNDS = 4
PRICE = 10_000


@dataclass
class Joined:
    user: dict[str, Any]
    ticket: dict[str, Any]
    sent: float
    done: float

    @property
    def headers(self) -> dict[str, str]:
        return {**self.user["headers"], "X-Queue-Token": self.ticket["token"]}


@pytest.fixture
def servers(database_url: str, room_settings: dict[str, Any]) -> Iterator[list[Server]]:
    with running_servers(
        database_url, count=3, queue_max_active=MAX_ACTIVE, **room_settings
    ) as bases:
        yield bases


async def _join(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> Joined:
    sent = time.monotonic()
    response = await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])
    done = time.monotonic()
    assert response.status_code == 201, response.text
    return Joined(user, response.json(), sent, done)


def _in_arrival_order(joined: list[Joined]) -> list[Joined]:
    """Admitted at join first (their relative order is not observable), then by place."""
    return sorted(joined, key=lambda j: j.ticket["position"] or 0)


def _assert_consistent_with_real_time(joined: list[Joined]) -> None:
    """Nobody whose join completed before another's was even sent stands behind them. Those
    admitted at join share the first rank: their relative order is not observable."""
    ranks: dict[int, list[Joined]] = {}
    for j in joined:
        ranks.setdefault(j.ticket["position"] or 0, []).append(j)
    earliest_done_behind = float("inf")
    for rank in sorted(ranks, reverse=True):
        for j in ranks[rank]:
            assert earliest_done_behind >= j.sent, f"a later join stands ahead at place {rank}"
        earliest_done_behind = min(earliest_done_behind, *(j.done for j in ranks[rank]))


ActiveCounter = Callable[[], Awaitable[int]]


def _active_counter(
    room: str, db: Database, concert_id: int, redis_url: str | None
) -> ActiveCounter:
    if room == "redis":
        assert redis_url is not None
        client = aioredis.from_url(redis_url)

        async def in_redis() -> int:
            key = f"{Settings().redis_prefix}{line_prefix(concert_id)}active"
            return int(await client.zcard(key))

        return in_redis

    async def in_database() -> int:
        async with db.reading() as conn:
            query = select(func.count()).where(
                queue_ticket.c.concert_id == concert_id,
                queue_ticket.c.status == "ACTIVE",
                queue_ticket.c.active_until > utcnow(),
            )
            return int((await conn.execute(query)).scalar_one())

    return in_database


async def _sample_until(stop: asyncio.Event, count: ActiveCounter, seen: list[int]) -> None:
    while not stop.is_set():
        seen.append(await count())
        await asyncio.sleep(0.01)


async def _done_in_the_concert(
    client: httpx.AsyncClient, joined: Joined, seat_id: int | None
) -> None:
    """Pay for a seat (which ends the admission) or, without a seat, leave."""
    if seat_id is None:
        response = await client.delete("/queue/status", headers=joined.headers)
        assert response.status_code == 204, response.text
        return
    reservation = await booking.held(client, joined.headers, seat_id)
    await booking.paid(client, joined.headers, reservation["id"])


async def _statuses(clients: list[httpx.AsyncClient], group: list[Joined]) -> list[tuple[str, Any]]:
    async def one(n: int, joined: Joined) -> tuple[str, Any]:
        response = await clients[n % len(clients)].get("/queue/status", headers=joined.headers)
        assert response.status_code == 200, response.text
        return response.json()["status"], response.json()["position"]

    return await booking.bounded(50, (one(n, j) for n, j in enumerate(group)))


async def test_a_thousand_joins_are_served_in_arrival_order_within_the_limit(
    servers: list[Server], db: Database, room: str, room_settings: dict[str, Any]
) -> None:
    users = await booking.create_users(db, USERS, balance=PRICE)
    async with clients_for(servers) as clients:
        concert = await api.create_concert(clients[0])
        payers = ROUNDS * MAX_ACTIVE // 2
        schedule = await api.create_schedule(
            clients[0], concert["id"], seat_count=payers, price=PRICE
        )
        seats = iter(await booking.seat_ids(db, schedule["id"]))

        joined = await booking.bounded(
            100, (_join(clients[n % 3], user, concert["id"]) for n, user in enumerate(users))
        )

        admitted = [j for j in joined if j.ticket["status"] == "ACTIVE"]
        assert len(admitted) == MAX_ACTIVE
        places = sorted(j.ticket["position"] for j in joined if j.ticket["status"] == "WAITING")
        assert places == list(range(1, USERS - MAX_ACTIVE + 1))
        order = _in_arrival_order(joined)
        _assert_consistent_with_real_time(joined)
        assert await _statuses(clients, order) == [
            (t.ticket["status"], t.ticket["position"]) for t in order
        ]

        seen: list[int] = []
        stop = asyncio.Event()
        counter = _active_counter(room, db, concert["id"], room_settings.get("redis_url"))
        sampler = asyncio.create_task(_sample_until(stop, counter, seen))
        for round_ in range(ROUNDS):
            current = order[round_ * MAX_ACTIVE : (round_ + 1) * MAX_ACTIVE]
            await booking.bounded(
                MAX_ACTIVE,
                (
                    _done_in_the_concert(clients[n % 3], j, next(seats) if n % 2 == 0 else None)
                    for n, j in enumerate(current)
                ),
            )
            following = order[(round_ + 1) * MAX_ACTIVE : (round_ + 2) * MAX_ACTIVE + 10]
            expected = [("ACTIVE", None)] * MAX_ACTIVE + [("WAITING", n) for n in range(1, 11)]
            assert await _statuses(clients, following) == expected
        stop.set()
        await sampler

    assert seen and max(seen) <= MAX_ACTIVE
    await booking.assert_audit_passes(db)
