"""The operator's side of concerts and lines: list, change (including the sale opening), and
watch a line. All behind the admin key."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from boxoffice.clock import utcnow
from tests import api, booking
from tests.api import ADMIN
from tests.rooms import RoomClientFactory


async def _patch(
    client: httpx.AsyncClient, concert_id: int, body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(f"/admin/concerts/{concert_id}", json=body, headers=ADMIN)


async def _join(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> dict[str, Any]:
    response = await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_operator_lists_concerts_page_by_page_with_their_sale_opening(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client()
    opens_at = utcnow() + timedelta(days=1)
    made = [await api.create_concert(client, f"Concert {n}", opens_at) for n in range(3)]
    made.append(await api.create_concert(client, "Open now"))

    first = await client.get("/admin/concerts?limit=3", headers=ADMIN)
    rest = await client.get(
        f"/admin/concerts?limit=3&cursor={first.json()['next_cursor']}", headers=ADMIN
    )
    refused = await client.get("/admin/concerts")

    assert first.status_code == 200, first.text
    listed = first.json()["items"] + rest.json()["items"]
    assert listed == made
    assert rest.json()["next_cursor"] is None
    assert [c["sale_opens_at"] is not None for c in listed] == [True, True, True, False]
    assert booking.code(refused) == "ADMIN_KEY_INVALID"


async def test_the_operator_changes_a_concert_and_nothing_on_a_bad_change(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client()
    concert = await api.create_concert(client)

    changed = await _patch(client, concert["id"], {"title": "New title", "duration_minutes": 95})
    for bad in (
        {},
        {"title": ""},
        {"title": None},
        {"duration_minutes": 0},
        {"duration_minutes": True},
    ):
        response = await _patch(client, concert["id"], bad)
        assert response.status_code == 422, (bad, response.text)
    missing = await _patch(client, 999_999, {"title": "x"})
    refused = await client.patch(f"/admin/concerts/{concert['id']}", json={"title": "x"})

    assert changed.status_code == 200, changed.text
    expected = {**concert, "title": "New title", "duration_minutes": 95}
    assert changed.json() == expected
    assert (await client.get(f"/concerts/{concert['id']}")).json() == expected
    assert booking.code(missing) == "CONCERT_NOT_FOUND"
    assert booking.code(refused) == "ADMIN_KEY_INVALID"


async def test_moving_the_opening_before_it_moves_the_line_and_after_it_is_refused(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=2)
    concert = await api.create_concert(client, sale_opens_at=utcnow() + timedelta(hours=1))
    users = [await api.sign_up(client) for _ in range(3)]
    tickets = [await _join(client, user, concert["id"]) for user in users]
    later = utcnow() + timedelta(hours=2)

    moved = await _patch(client, concert["id"], {"sale_opens_at": later.isoformat()})
    status = await client.get(
        "/queue/status", headers={**users[0]["headers"], "X-Queue-Token": tickets[0]["token"]}
    )
    opened = await _patch(client, concert["id"], {"sale_opens_at": None})
    statuses = [
        (
            await client.get(
                "/queue/status", headers={**user["headers"], "X-Queue-Token": ticket["token"]}
            )
        ).json()
        for user, ticket in zip(users, tickets, strict=True)
    ]
    closed_again = await _patch(client, concert["id"], {"sale_opens_at": later.isoformat()})

    assert moved.status_code == 200, moved.text
    assert abs(booking.parse_time(moved.json()["sale_opens_at"]) - later) < timedelta(seconds=1)
    assert abs(booking.parse_time(status.json()["opens_at"]) - later) < timedelta(seconds=1)
    assert opened.status_code == 200 and opened.json()["sale_opens_at"] is None
    assert sorted((s["status"], s["position"] or 0) for s in statuses) == [
        ("ACTIVE", 0),
        ("ACTIVE", 0),
        ("WAITING", 1),
    ]
    assert closed_again.status_code == 409, closed_again.text
    assert booking.code(closed_again) == "SALE_ALREADY_OPEN"
    assert (await client.get(f"/concerts/{concert['id']}")).json()["sale_opens_at"] is None


async def test_an_opening_can_be_set_on_a_concert_nobody_has_queued_for_yet(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client()
    concert = await api.create_concert(client)
    opens_at = utcnow() + timedelta(hours=1)

    scheduled = await _patch(client, concert["id"], {"sale_opens_at": opens_at.isoformat()})
    ticket = await _join(client, await api.sign_up(client), concert["id"])

    assert scheduled.status_code == 200, scheduled.text
    assert (ticket["status"], ticket["position"]) == ("WAITING", None)
    assert abs(booking.parse_time(ticket["opens_at"]) - opens_at) < timedelta(seconds=1)


async def test_the_operator_watches_a_line(make_room_client: RoomClientFactory) -> None:
    client = await make_room_client(queue_max_active=2)
    concert = await api.create_concert(client)
    empty = await client.get(f"/admin/concerts/{concert['id']}/queue", headers=ADMIN)
    joined = []
    for _ in range(6):
        user = await api.sign_up(client)
        joined.append((user, await _join(client, user, concert["id"])))
    # One admitted user leaves: the head of the line is admitted, and the rate has a figure.
    first_user, first = joined[0]
    left = await client.delete(
        "/queue/status", headers={**first_user["headers"], "X-Queue-Token": first["token"]}
    )
    assert left.status_code == 204

    line = await client.get(f"/admin/concerts/{concert['id']}/queue", headers=ADMIN)
    missing = await client.get("/admin/concerts/999999/queue", headers=ADMIN)
    refused = await client.get(f"/admin/concerts/{concert['id']}/queue")

    assert empty.status_code == 200, empty.text
    assert empty.json() == {
        "waiting": 0,
        "active": 0,
        "admitted_per_minute": 0.0,
        "oldest_wait_seconds": None,
    }
    body = line.json()
    assert (body["waiting"], body["active"]) == (3, 2)
    assert body["admitted_per_minute"] > 0
    assert 0 <= body["oldest_wait_seconds"] < 30
    assert booking.code(missing) == "CONCERT_NOT_FOUND"
    assert booking.code(refused) == "ADMIN_KEY_INVALID"
