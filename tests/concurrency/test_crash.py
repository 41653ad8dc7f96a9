"""All or nothing: a server process killed mid-request leaves no half-done work behind."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.audit import run_audit
from boxoffice.clock import utcnow
from boxoffice.db import Database
from boxoffice.statuses import ReservationStatus
from boxoffice.tables import reservation, seat
from tests import api
from tests.faults.drop import CLIENT_TIMEOUT_SECONDS, DROP_SETTINGS, Drop, prepare, until, verify
from tests.servers import clients_for, running_servers

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

USERS = 40
SEATS = 120


async def _admitted(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> None:
    joined = await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])
    assert joined.status_code in (200, 201), joined.text
    user["headers"] = {**user["headers"], "X-Queue-Token": joined.json()["token"]}


@dataclass
class Traffic:
    """Answers counted, so that the kill lands mid-load (`busy` is set after the hundredth)."""

    busy: asyncio.Event = field(default_factory=asyncio.Event)
    answered: int = 0
    answered_after_the_kill: int = 0
    killed: bool = False

    def count(self) -> None:
        self.answered += 1
        if self.answered >= 100:
            self.busy.set()
        if self.killed:
            self.answered_after_the_kill += 1


async def _shop(
    clients: list[httpx.AsyncClient],
    user: dict[str, Any],
    seat_ids: list[int],
    rounds: int,
    traffic: Traffic,
) -> None:
    """Hold, pay and cancel at random, ignoring failures: the point is to be killed mid-way."""
    for _ in range(rounds):
        client = random.choice(clients)
        try:
            held = await client.post(
                "/reservations", json={"seat_id": random.choice(seat_ids)}, headers=user["headers"]
            )
            traffic.count()
            if held.status_code != 201:
                continue
            reservation_id = held.json()["id"]
            action = random.random()
            if action < 0.7:
                await client.post(
                    "/payments", json={"reservation_id": reservation_id}, headers=user["headers"]
                )
            if action > 0.4:
                await client.post(f"/reservations/{reservation_id}/cancel", headers=user["headers"])
        except httpx.HTTPError:
            continue


async def test_killing_a_server_mid_flight_leaves_consistent_data(
    database_url: str, db: Database
) -> None:
    settings = {"queue_max_active": 10_000, "hold_limit": 100, "sweep_interval_seconds": 0.1}
    with running_servers(database_url, count=3, **settings) as bases:
        async with clients_for(bases, request_timeout=10) as clients:
            concert = await api.create_concert(clients[0])
            schedule = await api.create_schedule(
                clients[0], concert["id"], seat_count=SEATS, price=10_000
            )
            seats = await _seat_ids(db, schedule["id"])
            users = [await api.sign_up(clients[0]) for _ in range(USERS)]
            for user in users:
                assert (await api.charge(clients[0], user, 60_000)).status_code == 200
                await _admitted(clients[0], user, concert["id"])
            traffic = Traffic()
            shoppers = asyncio.gather(*(_shop(clients, u, seats, 15, traffic) for u in users))
            await traffic.busy.wait()
            os.kill(bases[1].process.pid, signal.SIGKILL)
            traffic.killed = True
            await shoppers
    # The kill landed in the middle of the load, not after it.
    assert traffic.answered_after_the_kill > 0
    results = await run_audit(db)
    assert [r.name for r in results if not r.ok] == [], results


async def _seat_ids(db: Database, schedule_id: int) -> list[int]:
    async with db.reading() as conn:
        rows = await conn.execute(select(seat.c.id).where(seat.c.schedule_id == schedule_id))
        return list(rows.scalars())


async def test_kill_9_of_one_worker_then_of_every_worker_mid_drop(
    database_url: str, db: Database, flushed_redis: str
) -> None:
    """Payments are in flight when one worker, and then every worker, is killed; after a
    restart the drop goes on. Everything a fan was told holds, nothing is charged twice, and the
    restarted workers' sweeper ends the holds the dead ones left behind."""
    settings = {**DROP_SETTINGS, "redis_url": flushed_redis, "hold_ttl_seconds": 3}
    with running_servers(database_url, count=2, **settings) as servers:
        async with clients_for(servers, request_timeout=CLIENT_TIMEOUT_SECONDS) as clients:
            concert_id, seats, fans = await prepare(db, clients[0], 30, 150)
            drop = Drop(clients, concert_id, seats, fans)
            load = asyncio.create_task(drop.run(time.monotonic() + 8))
            await until(lambda: len(drop.ledger.payments) >= 10)
            os.kill(servers[0].process.pid, signal.SIGKILL)
            paid_before = len(drop.ledger.payments)
            # The other worker goes on alone; then it dies too, with payments in flight.
            await until(lambda: len(drop.ledger.payments) >= paid_before + 10)
            os.kill(servers[1].process.pid, signal.SIGKILL)
            await load
    with running_servers(database_url, count=2, **settings) as servers:
        async with clients_for(servers, request_timeout=CLIENT_TIMEOUT_SECONDS) as clients:
            paid_before = len(drop.ledger.payments)
            drop = Drop(clients, concert_id, seats, fans, ledger=drop.ledger)
            await drop.run(time.monotonic() + 4)
            assert len(drop.ledger.payments) > paid_before
            await _until_every_lapsed_hold_is_swept(db, within=15)
    await verify(db, drop)


async def _until_every_lapsed_hold_is_swept(db: Database, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        async with db.reading() as conn:
            left = (
                await conn.execute(
                    select(func.count())
                    .select_from(reservation)
                    .where(
                        reservation.c.status == ReservationStatus.TEMPORARY,
                        reservation.c.expires_at < utcnow(),
                    )
                )
            ).scalar_one()
        if left == 0:
            return
        assert time.monotonic() < deadline, f"{left} lapsed holds were never swept"
        await asyncio.sleep(0.2)
