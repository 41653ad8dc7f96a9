"""The gate in front of the seat listing, holds and payments: only the owner's ACTIVE token for
the schedule's concert passes, and a refusal changes nothing."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import httpx

from boxoffice.db import Database
from tests import api, booking
from tests.rooms import RoomClientFactory

PRICE = 10_000


@dataclass
class Shop:
    client: httpx.AsyncClient
    db: Database
    concert: dict[str, Any]
    schedule: dict[str, Any]
    seats: list[int]


async def _shop(make_room_client: RoomClientFactory, db: Database, **settings: Any) -> Shop:
    client = await make_room_client(**settings)
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=4, price=PRICE)
    return Shop(client, db, concert, schedule, await booking.seat_ids(db, schedule["id"]))


async def _customer(shop: Shop, balance: int = 3 * PRICE) -> tuple[dict[str, Any], str]:
    user = await api.sign_up(shop.client)
    await api.charge(shop.client, user, balance)
    joined = await shop.client.post(
        f"/concerts/{shop.concert['id']}/queue/tokens", headers=user["headers"]
    )
    assert joined.json()["status"] == "ACTIVE", joined.text
    return user, joined.json()["token"]


async def _state(shop: Shop, users: list[dict[str, Any]]) -> tuple[Any, ...]:
    """What a refusal must leave alone: every balance and the seat count."""
    balances = [await booking.balance_of(shop.db, user["id"]) for user in users]
    count = await booking.available_seats(shop.client, shop.concert["id"], shop.schedule["id"])
    return (*balances, count)


async def _every_gate(
    shop: Shop, user: dict[str, Any], token: str, reservation_id: int
) -> list[httpx.Response]:
    headers = {**user["headers"], "X-Queue-Token": token}
    return [
        await shop.client.get(f"/schedules/{shop.schedule['id']}/seats", headers=headers),
        await booking.hold(shop.client, headers, shop.seats[3]),
        await booking.pay(shop.client, headers, reservation_id),
    ]


async def _held(shop: Shop, user: dict[str, Any], token: str, seat_index: int) -> int:
    headers = {**user["headers"], "X-Queue-Token": token}
    reservation = await booking.held(shop.client, headers, shop.seats[seat_index])
    return int(reservation["id"])


def _refused(responses: list[httpx.Response]) -> None:
    assert [booking.outcome(r) for r in responses] == [(403, "QUEUE_TOKEN_INVALID")] * 3


async def test_an_active_token_passes_every_gate(
    make_room_client: RoomClientFactory, db: Database
) -> None:
    shop = await _shop(make_room_client, db)
    user, token = await _customer(shop)
    reservation_id = await _held(shop, user, token, 0)

    listing, hold, payment = await _every_gate(shop, user, token, reservation_id)

    assert listing.status_code == 200
    assert hold.status_code == 201
    assert payment.status_code == 201


async def test_another_users_token_is_refused(
    make_room_client: RoomClientFactory, db: Database
) -> None:
    shop = await _shop(make_room_client, db)
    owner, token = await _customer(shop)
    thief, _ = await _customer(shop)
    reservation_id = await _held(shop, thief, _, 0)
    before = await _state(shop, [owner, thief])

    _refused(await _every_gate(shop, thief, token, reservation_id))

    assert await _state(shop, [owner, thief]) == before


async def test_a_token_for_another_concert_is_refused(
    make_room_client: RoomClientFactory, db: Database
) -> None:
    shop = await _shop(make_room_client, db)
    user, token = await _customer(shop)
    reservation_id = await _held(shop, user, token, 0)
    other = await api.create_concert(shop.client, "Another Concert")
    elsewhere = await shop.client.post(
        f"/concerts/{other['id']}/queue/tokens", headers=user["headers"]
    )
    before = await _state(shop, [user])

    _refused(await _every_gate(shop, user, elsewhere.json()["token"], reservation_id))

    assert await _state(shop, [user]) == before


async def test_a_token_is_refused_once_its_admission_ran_out(
    make_room_client: RoomClientFactory, db: Database
) -> None:
    # Long enough for the hold to go through inside the admission on a loaded machine.
    admission_seconds = 3
    shop = await _shop(
        make_room_client, db, queue_active_ttl_seconds=admission_seconds, hold_ttl_seconds=60
    )
    user, token = await _customer(shop)
    reservation_id = await _held(shop, user, token, 0)
    await asyncio.sleep(admission_seconds + 0.1)
    before = await _state(shop, [user])

    _refused(await _every_gate(shop, user, token, reservation_id))

    assert await _state(shop, [user]) == before
    status = await shop.client.get(
        "/queue/status", headers={**user["headers"], "X-Queue-Token": token}
    )
    assert status.status_code == 200
    assert status.json()["status"] == "EXPIRED"


async def test_a_token_is_refused_after_its_payment_and_the_place_moves_on(
    make_room_client: RoomClientFactory, db: Database
) -> None:
    shop = await _shop(make_room_client, db, queue_max_active=1)
    user, token = await _customer(shop)
    headers = {**user["headers"], "X-Queue-Token": token}
    reservation_id = await _held(shop, user, token, 0)
    await booking.paid(shop.client, headers, reservation_id)
    later = await api.sign_up(shop.client)
    joined = await shop.client.post(
        f"/concerts/{shop.concert['id']}/queue/tokens", headers=later["headers"]
    )
    before = await _state(shop, [user])

    _refused(await _every_gate(shop, user, token, reservation_id))

    assert await _state(shop, [user]) == before
    assert joined.json()["status"] == "ACTIVE"


async def test_paying_with_another_hold_left_keeps_the_admission(
    make_room_client: RoomClientFactory, db: Database
) -> None:
    shop = await _shop(make_room_client, db)
    user, token = await _customer(shop)
    headers = {**user["headers"], "X-Queue-Token": token}
    first = await _held(shop, user, token, 0)
    await _held(shop, user, token, 1)

    await booking.paid(shop.client, headers, first)

    status = await shop.client.get("/queue/status", headers=headers)
    assert status.json()["status"] == "ACTIVE"
