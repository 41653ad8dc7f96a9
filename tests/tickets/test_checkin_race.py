"""Two doors scanning the same ticket at the same moment, through two server processes: the
ticket gets in once, and every other scan says when it did."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

import httpx
from sqlalchemy import func, select

from boxoffice.db import Database
from boxoffice.tables import reservation
from tests import api
from tests.servers import clients_for, running_servers
from tests.tickets.purchase import bought_seat

TICKETS = 4
SCANS_PER_TICKET = 16


async def test_simultaneous_scans_let_a_ticket_in_once(database_url: str, db: Database) -> None:
    with running_servers(database_url, count=2, queue_max_active=10_000, db_pool_size=4) as servers:
        async with clients_for(servers) as clients:
            codes: list[str] = []
            for _ in range(TICKETS):
                bought = await bought_seat(clients[0])
                ticket = await clients[1].get(
                    f"/reservations/{bought.reservation['id']}/ticket",
                    headers=bought.user["headers"],
                )
                assert ticket.status_code == 200, ticket.text
                codes.append(ticket.json()["code"])

            start = asyncio.Event()

            async def scan(door: httpx.AsyncClient, code: str) -> httpx.Response:
                await start.wait()
                return await door.post("/admin/checkins", json={"code": code}, headers=api.ADMIN)

            scans = [
                asyncio.create_task(scan(clients[n % 2], code))
                for code in codes
                for n in range(SCANS_PER_TICKET)
            ]
            await asyncio.sleep(0.1)
            start.set()
            responses = await asyncio.gather(*scans)

    for index, code in enumerate(codes):
        mine = responses[index * SCANS_PER_TICKET : (index + 1) * SCANS_PER_TICKET]
        outcomes = Counter(
            (r.status_code, r.json().get("code") if r.status_code != 200 else None) for r in mine
        )
        assert outcomes == {(200, None): 1, (409, "TICKET_ALREADY_USED"): SCANS_PER_TICKET - 1}, (
            code,
            outcomes,
        )
        [admitted] = [r.json() for r in mine if r.status_code == 200]
        # Every refusal names the one moment the ticket got in.
        moments = {datetime.fromisoformat(r.json()["checked_in_at"]) for r in mine}
        assert moments == {datetime.fromisoformat(admitted["checked_in_at"])}
    async with db.reading() as conn:
        used = (
            await conn.execute(
                select(func.count())
                .select_from(reservation)
                .where(reservation.c.checked_in_at.is_not(None))
            )
        ).scalar_one()
    assert used == TICKETS
