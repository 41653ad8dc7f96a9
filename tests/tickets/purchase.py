"""A fan with a bought seat, the way a client gets one: sign up, charge, queue, hold, pay."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests import api, booking

PRICE = 10_000


@dataclass
class Purchase:
    user: dict[str, Any]
    headers: dict[str, str]  # bearer and queue token
    concert_id: int
    schedule_id: int
    reservation: dict[str, Any]


async def bought_seat(client: httpx.AsyncClient, pay: bool = True) -> Purchase:
    """A new fan holding seat 1 of a new schedule; paid for unless `pay` is False."""
    user = await api.sign_up(client)
    assert (await api.charge(client, user, PRICE)).status_code == 200
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=3, price=PRICE)
    headers = await booking.admitted(client, user, concert["id"])
    seats = await client.get(f"/schedules/{schedule['id']}/seats", headers=headers)
    assert seats.status_code == 200, seats.text
    reservation = await booking.held(client, headers, seats.json()["items"][0]["id"])
    if pay:
        await booking.paid(client, headers, reservation["id"])
        reservation = (
            await client.get(f"/reservations/{reservation['id']}", headers=user["headers"])
        ).json()
    return Purchase(user, headers, concert["id"], schedule["id"], reservation)
