"""One charge sent with one Idempotency-Key to two server processes at the same moment is
credited exactly once, again and again."""

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

KEYS = 60


async def test_a_key_sent_to_two_processes_at_once_charges_once(
    database_url: str, db: Database
) -> None:
    with running_servers(database_url, count=2) as bases:
        async with clients_for(bases, request_timeout=30) as clients:
            user = await api.sign_up(clients[0])
            amounts = {f"charge-{n}": random.randint(1, 100_000) for n in range(KEYS)}

            async def twice_at_once(key: str) -> list[httpx.Response]:
                headers = {**user["headers"], "Idempotency-Key": key}
                body = {"amount": amounts[key]}
                return list(
                    await asyncio.gather(
                        *(
                            client.post("/users/me/balance/charge", json=body, headers=headers)
                            for client in clients
                        )
                    )
                )

            gate = asyncio.Semaphore(4)

            async def one_key(key: str) -> list[httpx.Response]:
                async with gate:
                    return await twice_at_once(key)

            answers = await asyncio.gather(*(one_key(key) for key in amounts))
            for key, pair in zip(amounts, answers, strict=True):
                _assert_charged_once(key, pair)
            seconds = [r for pair in answers for r in pair if r.status_code == 409]
            # Read with `pytest -s`: how often the two copies really overlapped.
            print(f"\n[note] {len(seconds)} of {KEYS} second copies found the key in use")
            balance = await clients[1].get("/users/me/balance", headers=user["headers"])
            assert balance.json()["balance"] == sum(amounts.values())
    async with db.reading() as conn:
        count, total = (
            await conn.execute(
                select(func.count(), func.sum(point_history.c.amount)).where(
                    point_history.c.user_id == user["id"]
                )
            )
        ).one()
    assert (count, total) == (KEYS, sum(amounts.values()))


def _assert_charged_once(key: str, pair: list[httpx.Response]) -> None:
    """Exactly one answer did the work; the other replayed it or found it still running."""
    fresh = [r for r in pair if r.status_code == 200 and "Idempotent-Replayed" not in r.headers]
    assert len(fresh) == 1, (key, [(r.status_code, dict(r.headers), r.text) for r in pair])
    for other in pair:
        if other is fresh[0]:
            continue
        if other.status_code == 200:
            assert other.headers["Idempotent-Replayed"] == "true"
            assert other.json() == fresh[0].json()
        else:
            assert other.status_code == 409, (key, other.text)
            assert other.json()["code"] == "IDEMPOTENCY_KEY_IN_USE"
