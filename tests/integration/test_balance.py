"""The balance and its ledger: point history pages, the balance limit, concurrent charges."""

from __future__ import annotations

import asyncio

import httpx
from sqlalchemy import func, select

from boxoffice.db import Database
from boxoffice.money import MAX_BALANCE
from boxoffice.tables import point_history, users
from tests import api
from tests.conftest import ClientFactory


async def test_point_history_pages_newest_first(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    amounts = [100 * n for n in range(1, 8)]
    for amount in amounts:
        assert (await api.charge(client, user, amount)).status_code == 200
    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, str | int] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            "/users/me/point-history", params=params, headers=user["headers"]
        )
        assert response.status_code == 200
        body = response.json()
        assert len(body["items"]) <= 3
        seen += [entry["amount"] for entry in body["items"]]
        assert all(entry["type"] == "CHARGE" for entry in body["items"])
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert seen == list(reversed(amounts))


async def test_each_user_sees_only_their_own_history(client: httpx.AsyncClient) -> None:
    kim, lee = await api.sign_up(client, "Kim"), await api.sign_up(client, "Lee")
    await api.charge(client, kim, 1_000)
    await api.charge(client, lee, 2_000)
    history = await client.get("/users/me/point-history", headers=lee["headers"])
    assert [entry["amount"] for entry in history.json()["items"]] == [2_000]
    me = await client.get("/users/me", headers=kim["headers"])
    assert me.json()["balance"] == 1_000 and me.json()["email"] == kim["email"]


async def test_the_balance_never_passes_its_maximum(
    make_client: ClientFactory, db: Database
) -> None:
    client = await make_client(max_charge=MAX_BALANCE)
    user = await api.sign_up(client)
    assert (await api.charge(client, user, MAX_BALANCE - 1)).status_code == 200
    assert (await api.charge(client, user, 1)).json()["balance"] == MAX_BALANCE
    over = await api.charge(client, user, 1)
    assert over.status_code == 422 and over.json()["code"] == "VALIDATION_ERROR"
    async with db.reading() as conn:
        balance = (
            await conn.execute(select(users.c.balance).where(users.c.id == user["id"]))
        ).scalar_one()
        entries = (
            await conn.execute(select(func.count()).where(point_history.c.user_id == user["id"]))
        ).scalar_one()
    assert (balance, entries) == (MAX_BALANCE, 2)


async def test_concurrent_charges_in_one_process_add_up(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await api.sign_up(client)
    amounts = [1_000 + n for n in range(30)]
    responses = await asyncio.gather(*(api.charge(client, user, a) for a in amounts))
    assert {r.status_code for r in responses} == {200}
    # Every answer saw a different balance: no two charges read the same starting point.
    assert len({r.json()["balance"] for r in responses}) == len(amounts)
    balance = await client.get("/users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == sum(amounts)
    async with db.reading() as conn:
        total = (
            await conn.execute(
                select(func.sum(point_history.c.amount)).where(
                    point_history.c.user_id == user["id"]
                )
            )
        ).scalar_one()
    assert total == sum(amounts)
