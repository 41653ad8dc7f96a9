"""A sale opening through the HTTP API, on every backend: before it, joins wait in a pre-queue
with no place and no admission; at it, they stand in one random order, ahead of whoever comes
after, in arrival order."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from boxoffice.clock import utcnow
from tests import api, booking
from tests.rooms import RoomClientFactory

EARLY = 12
LATE = 4
MAX_ACTIVE = 3


async def _join(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> httpx.Response:
    return await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])


def _with(user: dict[str, Any], token: str) -> dict[str, str]:
    return {**user["headers"], "X-Queue-Token": token}


async def _status(client: httpx.AsyncClient, user: dict[str, Any], token: str) -> dict[str, Any]:
    response = await client.get("/queue/status", headers=_with(user, token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_before_the_opening_joins_wait_without_a_place_and_nobody_is_admitted(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=MAX_ACTIVE)
    opens_at = utcnow() + timedelta(minutes=5)
    concert = await api.create_concert(client, sale_opens_at=opens_at)
    schedule = await api.create_schedule(client, concert["id"], seat_count=2)
    user = await api.sign_up(client)

    joined = await _join(client, user, concert["id"])

    assert abs(booking.parse_time(concert["sale_opens_at"]) - opens_at) < timedelta(seconds=1)
    assert joined.status_code == 201, joined.text
    ticket = joined.json()
    assert (ticket["status"], ticket["position"], ticket["eta_seconds"]) == ("WAITING", None, None)
    assert abs(booking.parse_time(ticket["opens_at"]) - opens_at) < timedelta(seconds=1)
    status = await _status(client, user, ticket["token"])
    assert (status["status"], status["position"]) == ("WAITING", None)
    assert status["opens_at"] == ticket["opens_at"]
    again = await _join(client, user, concert["id"])
    assert again.status_code == 200 and again.json()["token"] == ticket["token"]
    # The gates refuse: nobody is admitted before the opening, however empty the line.
    seats = await client.get(
        f"/schedules/{schedule['id']}/seats", headers=_with(user, ticket["token"])
    )
    assert seats.status_code == 403, seats.text
    assert seats.json()["code"] == "QUEUE_NOT_ADMITTED"
    assert seats.json()["position"] is None
    hold = await client.post(
        "/reservations", json={"seat_id": 1}, headers=_with(user, ticket["token"])
    )
    assert booking.code(hold) == "QUEUE_NOT_ADMITTED"
    public = await client.get(f"/concerts/{concert['id']}")
    assert public.json()["sale_opens_at"] == concert["sale_opens_at"]


async def test_at_the_opening_the_early_ones_stand_in_random_order_ahead_of_the_late_ones(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=MAX_ACTIVE)
    concert = await api.create_concert(client, sale_opens_at=utcnow() + timedelta(hours=1))
    early = []
    for _ in range(EARLY):
        user = await api.sign_up(client)
        response = await _join(client, user, concert["id"])
        assert response.status_code == 201 and response.json()["position"] is None
        early.append((user, response.json()["token"]))

    # The operator opens the sale now (a timed opening is in test_fair_drop).
    opened = await client.patch(
        f"/admin/concerts/{concert['id']}", json={"sale_opens_at": None}, headers=api.ADMIN
    )
    assert opened.status_code == 200, opened.text
    late = []
    for _ in range(LATE):
        user = await api.sign_up(client)
        response = await _join(client, user, concert["id"])
        assert response.status_code == 201, response.text
        assert response.json()["opens_at"] is None
        late.append((user, response.json()["token"]))

    early_statuses = [await _status(client, user, token) for user, token in early]
    late_statuses = [await _status(client, user, token) for user, token in late]
    admitted = [s for s in early_statuses if s["status"] == "ACTIVE"]
    places = sorted(s["position"] for s in early_statuses if s["status"] == "WAITING")
    # The early ones fill the admissions and the first places, in some order...
    assert len(admitted) == MAX_ACTIVE
    assert places == list(range(1, EARLY - MAX_ACTIVE + 1))
    assert all(s["opens_at"] is None for s in early_statuses)
    # ...and the late ones follow in arrival order.
    assert [(s["status"], s["position"]) for s in late_statuses] == [
        ("WAITING", EARLY - MAX_ACTIVE + n) for n in range(1, LATE + 1)
    ]
    public = await client.get(f"/concerts/{concert['id']}")
    assert public.json()["sale_opens_at"] is None


async def test_leaving_the_pre_queue_and_joining_again_takes_a_new_place(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=MAX_ACTIVE)
    concert = await api.create_concert(client, sale_opens_at=utcnow() + timedelta(minutes=5))
    user = await api.sign_up(client)
    first = (await _join(client, user, concert["id"])).json()

    left = await client.delete("/queue/status", headers=_with(user, first["token"]))
    again = await _join(client, user, concert["id"])

    assert left.status_code == 204
    assert (await _status(client, user, first["token"]))["status"] == "EXPIRED"
    assert again.status_code == 201
    assert again.json()["token"] != first["token"]
    assert again.json()["position"] is None and again.json()["opens_at"] is not None
