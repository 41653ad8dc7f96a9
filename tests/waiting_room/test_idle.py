"""Abandoned places: a waiting user who stops asking about their place loses it after the idle
time, and everyone behind moves up by one; one who keeps asking keeps it. Gate requests do not
count as asking, so they can watch a place without keeping it."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from tests import api
from tests.rooms import RoomClientFactory

# Long enough that five sign-ups (each hashes a password) and three status reads fit well
# inside it on a loaded machine: the first poller's place must not lapse before it asks.
IDLE_SECONDS = 4.0


def _with(user: dict[str, Any], token: str) -> dict[str, str]:
    return {**user["headers"], "X-Queue-Token": token}


async def _status(client: httpx.AsyncClient, user: dict[str, Any], token: str) -> tuple[str, Any]:
    response = await client.get("/queue/status", headers=_with(user, token))
    assert response.status_code == 200, response.text
    return response.json()["status"], response.json()["position"]


async def _place_at_the_gate(
    client: httpx.AsyncClient, user: dict[str, Any], token: str, schedule_id: int
) -> Any:
    """The place a gate reports, without asking about it (which would keep it)."""
    response = await client.get(f"/schedules/{schedule_id}/seats", headers=_with(user, token))
    assert response.status_code == 403, response.text
    return response.json().get("position"), response.json()["code"]


async def test_an_idle_waiting_place_is_given_up_and_those_behind_move_up(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=1, queue_idle_seconds=IDLE_SECONDS)
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"])
    line = []
    joined_at = []
    for _ in range(5):
        user = await api.sign_up(client)
        joined = await client.post(
            f"/concerts/{concert['id']}/queue/tokens", headers=user["headers"]
        )
        joined_at.append(time.monotonic())
        line.append((user, joined.json()["token"]))
    admitted, first, idle, third, fourth = line
    pollers = [first, third, fourth]
    assert [await _status(client, *p) for p in pollers] == [
        ("WAITING", 1),
        ("WAITING", 3),
        ("WAITING", 4),
    ]

    # Half the idle time after it last asked (its join), the idle one still stands where it
    # stood. Counted from the join, not from now: the status reads above take a while.
    await asyncio.sleep(max(0.0, joined_at[2] + IDLE_SECONDS / 2 - time.monotonic()))
    assert await _place_at_the_gate(client, *idle, schedule["id"]) == (2, "QUEUE_NOT_ADMITTED")
    # The others keep asking, well past the idle time.
    deadline = time.monotonic() + IDLE_SECONDS * 2
    while time.monotonic() < deadline:
        for poller in pollers:
            await _status(client, *poller)
        await asyncio.sleep(0.2)

    assert await _status(client, *idle) == ("EXPIRED", None)
    assert [await _status(client, *p) for p in pollers] == [
        ("WAITING", 1),
        ("WAITING", 2),
        ("WAITING", 3),
    ]
    # An admitted user keeps the admission without asking.
    assert await _status(client, *admitted) == ("ACTIVE", None)
    again = await client.post(f"/concerts/{concert['id']}/queue/tokens", headers=idle[0]["headers"])
    assert again.status_code == 201 and again.json()["position"] == 4


async def test_an_idle_place_is_given_up_before_the_opening_too(
    make_room_client: RoomClientFactory,
) -> None:
    from datetime import timedelta

    from boxoffice.clock import utcnow

    client = await make_room_client(queue_max_active=1, queue_idle_seconds=IDLE_SECONDS)
    concert = await api.create_concert(client, sale_opens_at=utcnow() + timedelta(hours=1))
    kept: list[tuple[dict[str, Any], str]] = []
    left: list[tuple[dict[str, Any], str]] = []
    for group in (kept, left):
        user = await api.sign_up(client)
        joined = await client.post(
            f"/concerts/{concert['id']}/queue/tokens", headers=user["headers"]
        )
        group.append((user, joined.json()["token"]))

    deadline = time.monotonic() + IDLE_SECONDS * 2
    while time.monotonic() < deadline:
        await _status(client, *kept[0])
        await asyncio.sleep(0.2)

    assert await _status(client, *kept[0]) == ("WAITING", None)
    assert await _status(client, *left[0]) == ("EXPIRED", None)
    line = await client.get(f"/admin/concerts/{concert['id']}/queue", headers=api.ADMIN)
    assert line.json()["waiting"] == 1
