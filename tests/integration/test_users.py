from __future__ import annotations

import httpx

from tests import api


async def test_sign_up_returns_the_user_and_a_token(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/users", json={"name": "Kim", "email": "Kim@Example.com", "password": api.PASSWORD}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["name"] == "Kim" and body["email"] == "kim@example.com" and body["balance"] == 0
    me = await client.get("/users/me", headers=api.bearer(body["access_token"]))
    assert me.status_code == 200
    assert me.json()["id"] == body["id"]


async def test_charge_updates_balance_and_history(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    first = await api.charge(client, user, 30_000)
    second = await api.charge(client, user, 20_000)
    assert first.status_code == second.status_code == 200
    assert second.json()["balance"] == 50_000
    balance = await client.get("/users/me/balance", headers=user["headers"])
    assert balance.json() == {"user_id": user["id"], "balance": 50_000}
    history = (await client.get("/users/me/point-history", headers=user["headers"])).json()
    assert [(e["type"], e["amount"]) for e in history["items"]] == [
        ("CHARGE", 20_000),
        ("CHARGE", 30_000),
    ]
    assert history["items"][0]["id"] == second.json()["point_history_id"]
