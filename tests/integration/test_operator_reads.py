"""The operator's reads: a schedule's exact counts, its reservations with their users, users."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests import api
from tests.api import ADMIN
from tests.booking import OPEN_DOORS, admitted, held, paid, seat_ids
from tests.conftest import ClientFactory

# Short, to see holds run out, but long enough for the steps before that on a loaded machine.
HOLD_SECONDS = 3


@pytest.fixture
async def shop(make_client: ClientFactory) -> httpx.AsyncClient:
    return await make_client(hold_ttl_seconds=HOLD_SECONDS, **OPEN_DOORS)


async def fan_with(client: httpx.AsyncClient, concert_id: int, balance: int) -> dict[str, Any]:
    fan = await api.sign_up(client)
    if balance:
        await api.charge(client, fan, balance)
    fan["queue"] = await admitted(client, fan, concert_id)
    return fan


async def report(client: httpx.AsyncClient, schedule_id: int) -> dict[str, Any]:
    response = await client.get(f"/admin/schedules/{schedule_id}", headers=ADMIN)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_schedule_reports_sold_held_free_and_revenue_exactly(
    shop: httpx.AsyncClient, db: Any
) -> None:
    client = shop
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=6, price=20_000)
    seats = await seat_ids(db, schedule["id"])
    buyer = await fan_with(client, concert["id"], 100_000)
    holder = await fan_with(client, concert["id"], 0)

    fresh = await report(client, schedule["id"])
    assert {k: fresh[k] for k in ("sold", "held", "free", "revenue")} == {
        "sold": 0,
        "held": 0,
        "free": 6,
        "revenue": 0,
    }
    assert fresh["id"] == schedule["id"] and fresh["total_seats"] == 6

    # Paying for the last hold ends the admission: hold everything first.
    bookings = [await held(client, buyer["queue"], seat) for seat in seats[:3]]
    for booking in bookings:
        await paid(client, buyer["queue"], booking["id"])
    refunded = bookings[2]
    cancel = await client.post(f"/reservations/{refunded['id']}/cancel", headers=buyer["headers"])
    assert cancel.status_code == 200
    await held(client, holder["queue"], seats[3])

    now = await report(client, schedule["id"])
    assert (now["sold"], now["held"], now["free"], now["revenue"]) == (2, 1, 3, 40_000)

    # A hold that runs out stops counting at once, swept or not.
    await asyncio.sleep(HOLD_SECONDS + 0.1)
    later = await report(client, schedule["id"])
    assert (later["sold"], later["held"], later["free"], later["revenue"]) == (2, 0, 4, 40_000)


async def test_reservations_of_a_schedule_come_with_their_users_and_filter_by_status(
    shop: httpx.AsyncClient, db: Any
) -> None:
    client = shop
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=5)
    other = await api.create_schedule(client, concert["id"], seat_count=1)
    seats = await seat_ids(db, schedule["id"])
    buyer = await fan_with(client, concert["id"], 100_000)
    holder = await fan_with(client, concert["id"], 0)
    bought = await held(client, buyer["queue"], seats[0])
    await paid(client, buyer["queue"], bought["id"])
    holding = await held(client, holder["queue"], seats[1])
    await held(client, holder["queue"], (await seat_ids(db, other["id"]))[0])

    response = await client.get(f"/admin/schedules/{schedule['id']}/reservations", headers=ADMIN)
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(r["id"], r["status"]) for r in items] == [
        (bought["id"], "CONFIRMED"),
        (holding["id"], "TEMPORARY"),
    ]
    assert items[0]["user"] == {"id": buyer["id"], "name": buyer["name"], "email": buyer["email"]}
    assert items[1]["user"]["id"] == holder["id"]
    assert items[0]["seat_number"] == "1" and items[0]["amount"] == 10_000

    confirmed = await client.get(
        f"/admin/schedules/{schedule['id']}/reservations?status=CONFIRMED", headers=ADMIN
    )
    assert [r["id"] for r in confirmed.json()["items"]] == [bought["id"]]

    await asyncio.sleep(HOLD_SECONDS + 0.1)
    expired = await client.get(
        f"/admin/schedules/{schedule['id']}/reservations?status=EXPIRED", headers=ADMIN
    )
    assert [r["id"] for r in expired.json()["items"]] == [holding["id"]]
    live = await client.get(
        f"/admin/schedules/{schedule['id']}/reservations?status=TEMPORARY", headers=ADMIN
    )
    assert live.json()["items"] == []


async def test_reservations_page_through_every_one_once(shop: httpx.AsyncClient, db: Any) -> None:
    client = shop
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=5)
    seats = await seat_ids(db, schedule["id"])
    made = []
    for seat in seats:
        fan = await fan_with(client, concert["id"], 0)
        made.append((await held(client, fan["queue"], seat))["id"])
    seen: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(
            f"/admin/schedules/{schedule['id']}/reservations", params=params, headers=ADMIN
        )
        assert response.status_code == 200, response.text
        seen += [r["id"] for r in response.json()["items"]]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == made


async def test_find_users_by_part_of_their_email_in_any_case(shop: httpx.AsyncClient) -> None:
    client = shop
    kim = await client.post(
        "/users",
        json={"name": "Kim", "email": "kim.jiwoo@Example.com", "password": api.PASSWORD},
    )
    lee = await client.post(
        "/users", json={"name": "Lee", "email": "lee_100%@example.org", "password": api.PASSWORD}
    )
    assert kim.status_code == lee.status_code == 201

    found = await client.get(
        "/admin/users", params={"email": "KIM.JIWOO@example.COM"}, headers=ADMIN
    )
    assert found.status_code == 200, found.text
    [user] = found.json()["items"]
    assert user["id"] == kim.json()["id"]
    assert set(user) >= {"id", "name", "email", "balance", "created_at"}

    by_domain = await client.get("/admin/users", params={"email": "example"}, headers=ADMIN)
    assert [u["name"] for u in by_domain.json()["items"]] == ["Kim", "Lee"]
    # LIKE's wildcards are plain characters here.
    literal = await client.get("/admin/users", params={"email": "_100%"}, headers=ADMIN)
    assert [u["name"] for u in literal.json()["items"]] == ["Lee"]
    nobody = await client.get("/admin/users", params={"email": "kim%"}, headers=ADMIN)
    assert nobody.json()["items"] == []
    everyone = await client.get("/admin/users", headers=ADMIN)
    assert len(everyone.json()["items"]) == 2


@pytest.mark.parametrize(
    "path",
    ["/admin/schedules/1", "/admin/schedules/1/reservations", "/admin/users"],
)
async def test_operator_reads_need_the_admin_key(shop: httpx.AsyncClient, path: str) -> None:
    response = await shop.get(path)
    assert response.status_code == 401
    assert response.json()["code"] == "ADMIN_KEY_INVALID"
    wrong = await shop.get(path, headers={"X-Admin-Key": "not-the-key"})
    assert wrong.status_code == 401


async def test_bad_operator_reads_are_clear_errors(shop: httpx.AsyncClient) -> None:
    missing = await shop.get("/admin/schedules/999", headers=ADMIN)
    assert (missing.status_code, missing.json()["code"]) == (404, "SCHEDULE_NOT_FOUND")
    missing = await shop.get("/admin/schedules/999/reservations", headers=ADMIN)
    assert (missing.status_code, missing.json()["code"]) == (404, "SCHEDULE_NOT_FOUND")
    for bad in (
        "/admin/schedules/0",
        "/admin/schedules/abc",
        "/admin/schedules/1/reservations?status=SOLD",
        "/admin/schedules/1/reservations?cursor=garbage",
        "/admin/users?email=",
        "/admin/users?limit=0",
    ):
        response = await shop.get(bad, headers=ADMIN)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["code"] == "VALIDATION_ERROR"
