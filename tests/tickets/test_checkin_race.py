"""Two doors scanning the same ticket at the same moment, through two server processes: the
ticket gets in once, and every other scan says when it did. A scan racing the fan's cancel:
one of the two, never both."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime

import httpx
from sqlalchemy import func, select

from boxoffice.db import Database
from boxoffice.statuses import ReservationStatus
from boxoffice.tables import reservation
from tests import api, booking
from tests.servers import clients_for, running_servers
from tests.tickets.purchase import PRICE, Purchase, bought_seat

TICKETS = 4
SCANS_PER_TICKET = 16
RACES = 12


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


async def test_a_scan_and_a_cancel_at_once_never_both_go_through(
    database_url: str, db: Database
) -> None:
    """The fan cancels on one process while the door scans on the other: either the fan got in
    and keeps the ticket unrefunded, or the fan got the refund and the ticket is refused."""
    rng = random.Random()
    with running_servers(database_url, count=2, queue_max_active=10_000, db_pool_size=4) as servers:
        async with clients_for(servers) as clients:
            bought = [await bought_seat(clients[0]) for _ in range(RACES)]
            codes = []
            for each in bought:
                ticket = await clients[1].get(
                    f"/reservations/{each.reservation['id']}/ticket", headers=each.user["headers"]
                )
                codes.append(ticket.json()["code"])
            start = asyncio.Event()

            async def scan(code: str) -> httpx.Response:
                await start.wait()
                await asyncio.sleep(rng.uniform(0, 0.02))
                return await clients[0].post(
                    "/admin/checkins", json={"code": code}, headers=api.ADMIN
                )

            async def cancel(each: Purchase) -> httpx.Response:
                await start.wait()
                await asyncio.sleep(rng.uniform(0, 0.02))
                return await clients[1].post(
                    f"/reservations/{each.reservation['id']}/cancel", headers=each.user["headers"]
                )

            racing = [
                asyncio.gather(scan(code), cancel(each))
                for code, each in zip(codes, bought, strict=True)
            ]
            await asyncio.sleep(0.1)
            start.set()
            results = await asyncio.gather(*racing)

    outcomes: Counter[str] = Counter()
    for each, (scanned, cancelled) in zip(bought, results, strict=True):
        pair = (booking.outcome(scanned), booking.outcome(cancelled))
        assert pair in (
            ((200, None), (409, "RESERVATION_NOT_CANCELLABLE")),
            ((404, "TICKET_NOT_FOUND"), (200, None)),
        ), (scanned.text, cancelled.text)
        entered = scanned.status_code == 200
        outcomes["entered" if entered else "refunded"] += 1
        # Entered: paid and not refunded. Refunded: the price is back.
        assert await booking.balance_of(db, each.user["id"]) == (0 if entered else PRICE)
    async with db.reading() as conn:
        both = (
            await conn.execute(
                select(func.count())
                .select_from(reservation)
                .where(
                    reservation.c.checked_in_at.is_not(None),
                    reservation.c.status != ReservationStatus.CONFIRMED,
                )
            )
        ).scalar_one()
    assert both == 0
    assert sum(outcomes.values()) == RACES
    await booking.assert_audit_passes(db)
