"""Charges from many clients through several server processes lose nothing and double nothing."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest
from sqlalchemy import func, select

from boxoffice.db import Database
from boxoffice.tables import point_history
from tests import api
from tests.servers import clients_for, running_servers

pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


async def test_concurrent_charges_through_two_processes_lose_nothing(
    database_url: str, db: Database
) -> None:
    with running_servers(database_url, count=2) as bases:
        async with clients_for(bases, request_timeout=30) as clients:
            user = await api.sign_up(clients[0])
            amounts = [random.randint(1, 100_000) for _ in range(100)]
            gate = asyncio.Semaphore(10)

            async def one_charge(index: int, amount: int) -> httpx.Response:
                async with gate:
                    return await api.charge(clients[index % 2], user, amount)

            responses = await asyncio.gather(
                *(one_charge(i, amount) for i, amount in enumerate(amounts))
            )
            assert [r.status_code for r in responses] == [200] * 100
            balance = await clients[1].get("/users/me/balance", headers=user["headers"])
            assert balance.json()["balance"] == sum(amounts)
    async with db.reading() as conn:
        entries = (
            await conn.execute(
                select(func.count(), func.sum(point_history.c.amount)).where(
                    point_history.c.user_id == user["id"], point_history.c.type == "CHARGE"
                )
            )
        ).one()
    assert tuple(entries) == (100, sum(amounts))
