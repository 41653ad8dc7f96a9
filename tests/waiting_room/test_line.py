"""The waiting room through the HTTP API: joining, places, admission, leaving, the gate."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from boxoffice.db import Database
from tests import api, booking
from tests.rooms import RoomClientFactory


async def _join(client: httpx.AsyncClient, user: dict[str, Any], concert_id: int) -> httpx.Response:
    return await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])


async def _status(client: httpx.AsyncClient, user: dict[str, Any], token: str) -> httpx.Response:
    return await client.get("/queue/status", headers=_with(user, token))


def _with(user: dict[str, Any], token: str) -> dict[str, str]:
    return {**user["headers"], "X-Queue-Token": token}


async def _line(
    client: httpx.AsyncClient, concert_id: int, count: int
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """`count` users joined one after another: (user, join body) in arrival order."""
    joined = []
    for _ in range(count):
        user = await api.sign_up(client)
        response = await _join(client, user, concert_id)
        assert response.status_code == 201, response.text
        joined.append((user, response.json()))
    return joined


async def _statuses(
    client: httpx.AsyncClient, line: list[tuple[dict[str, Any], dict[str, Any]]]
) -> list[tuple[str, int | None]]:
    found = []
    for user, ticket in line:
        response = await _status(client, user, ticket["token"])
        assert response.status_code == 200, response.text
        found.append((response.json()["status"], response.json()["position"]))
    return found


async def test_joining_with_room_admits_at_once_and_joining_again_gives_the_same_token(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=5, queue_active_ttl_seconds=120)
    concert = await api.create_concert(client)
    user = await api.sign_up(client)

    first = await _join(client, user, concert["id"])
    again = await _join(client, user, concert["id"])

    assert first.status_code == 201, first.text
    body = first.json()
    assert body["status"] == "ACTIVE"
    assert body["concert_id"] == concert["id"]
    assert body["position"] is None
    assert body["active_until"] is not None
    assert len(body["token"]) >= 32
    assert again.status_code == 200
    assert again.json()["token"] == body["token"]
    status = await _status(client, user, body["token"])
    assert status.status_code == 200
    assert status.json()["status"] == "ACTIVE"
    assert status.json()["active_until"] == body["active_until"]


async def test_beyond_the_limit_users_wait_in_arrival_order(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=2)
    concert = await api.create_concert(client)

    line = await _line(client, concert["id"], 5)

    assert [t["status"] for _, t in line] == ["ACTIVE", "ACTIVE", "WAITING", "WAITING", "WAITING"]
    assert [t["position"] for _, t in line] == [None, None, 1, 2, 3]
    assert await _statuses(client, line) == [
        ("ACTIVE", None),
        ("ACTIVE", None),
        ("WAITING", 1),
        ("WAITING", 2),
        ("WAITING", 3),
    ]


async def test_a_freed_place_goes_to_the_head_of_the_line_at_once(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=2)
    concert = await api.create_concert(client)
    line = await _line(client, concert["id"], 5)
    first_user, first = line[0]

    left = await client.delete("/queue/status", headers=_with(first_user, first["token"]))

    assert left.status_code == 204
    assert left.content == b""
    assert "content-type" not in left.headers
    assert await _statuses(client, line) == [
        ("EXPIRED", None),
        ("ACTIVE", None),
        ("ACTIVE", None),
        ("WAITING", 1),
        ("WAITING", 2),
    ]


async def test_leaving_the_line_moves_everyone_behind_up(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=1)
    concert = await api.create_concert(client)
    line = await _line(client, concert["id"], 4)
    second_user, second = line[1]

    left = await client.delete("/queue/status", headers=_with(second_user, second["token"]))

    assert left.status_code == 204
    assert await _statuses(client, line) == [
        ("ACTIVE", None),
        ("EXPIRED", None),
        ("WAITING", 1),
        ("WAITING", 2),
    ]
    # Leaving twice changes nothing more.
    again = await client.delete("/queue/status", headers=_with(second_user, second["token"]))
    assert again.status_code == 204
    assert (await _statuses(client, line))[2:] == [("WAITING", 1), ("WAITING", 2)]


async def test_an_expired_user_joins_again_at_the_end_of_the_line(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=1)
    concert = await api.create_concert(client)
    line = await _line(client, concert["id"], 3)
    first_user, first = line[0]
    await client.delete("/queue/status", headers=_with(first_user, first["token"]))

    rejoined = await _join(client, first_user, concert["id"])

    assert rejoined.status_code == 201
    assert rejoined.json()["token"] != first["token"]
    assert rejoined.json()["status"] == "WAITING"
    assert rejoined.json()["position"] == 2


async def test_an_admission_runs_out_after_the_active_ttl_and_the_next_moves_in(
    make_room_client: RoomClientFactory,
) -> None:
    # 3 s: the second admission must outlast a few polls on a loaded machine to be seen.
    client = await make_room_client(queue_max_active=1, queue_active_ttl_seconds=3)
    concert = await api.create_concert(client)
    line = await _line(client, concert["id"], 2)

    # The sweeper admits the next one without anyone asking; polling only observes it (a
    # loaded machine may take a few ticks longer).
    await asyncio.sleep(3.3)
    deadline = time.monotonic() + 10
    statuses = await _statuses(client, line)
    while statuses != [("EXPIRED", None), ("ACTIVE", None)] and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        statuses = await _statuses(client, line)

    assert statuses[0] == ("EXPIRED", None)
    assert statuses[1] == ("ACTIVE", None)


async def test_waiting_users_get_an_estimate_once_admissions_have_been_seen(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=1)
    concert = await api.create_concert(client)
    line = await _line(client, concert["id"], 4)
    assert line[2][1]["eta_seconds"] is None

    first_user, first = line[0]
    await client.delete("/queue/status", headers=_with(first_user, first["token"]))

    last_user, last = line[3]
    status = (await _status(client, last_user, last["token"])).json()
    assert status["position"] == 2
    assert isinstance(status["eta_seconds"], int)
    assert status["eta_seconds"] >= 1


async def test_many_joins_by_one_user_at_once_give_one_place(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client(queue_max_active=1)
    concert = await api.create_concert(client)
    await _line(client, concert["id"], 2)
    user = await api.sign_up(client)

    responses = await asyncio.gather(*(_join(client, user, concert["id"]) for _ in range(20)))

    assert sorted(r.status_code for r in responses) == [200] * 19 + [201]
    assert len({r.json()["token"] for r in responses}) == 1
    assert {r.json()["position"] for r in responses} == {2}


async def test_joining_an_unknown_concert_is_not_found(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client()
    user = await api.sign_up(client)

    response = await _join(client, user, 999_999)

    assert response.status_code == 404
    assert response.json()["code"] == "CONCERT_NOT_FOUND"


async def test_status_refuses_missing_unknown_and_foreign_tokens(
    make_room_client: RoomClientFactory,
) -> None:
    client = await make_room_client()
    concert = await api.create_concert(client)
    [(owner, ticket)] = await _line(client, concert["id"], 1)
    stranger = await api.sign_up(client)

    refusals = [
        await client.get("/queue/status", headers=owner["headers"]),
        await _status(client, owner, "no-such-token"),
        await _status(client, owner, f"{concert['id']}.forged"),
        await _status(client, stranger, ticket["token"]),
        await client.delete("/queue/status", headers=_with(stranger, ticket["token"])),
    ]

    assert [booking.outcome(r) for r in refusals] == [(403, "QUEUE_TOKEN_INVALID")] * 5
    assert (await _status(client, owner, ticket["token"])).json()["status"] == "ACTIVE"


async def test_the_gate_tells_a_waiting_user_their_place(
    make_room_client: RoomClientFactory, db: Database
) -> None:
    client = await make_room_client(queue_max_active=1)
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=2)
    seat_id = (await booking.seat_ids(db, schedule["id"]))[0]
    line = await _line(client, concert["id"], 2)
    user, ticket = line[1]
    headers = _with(user, ticket["token"])

    listing = await client.get(f"/schedules/{schedule['id']}/seats", headers=headers)
    hold = await booking.hold(client, headers, seat_id)

    for response in (listing, hold):
        assert booking.outcome(response) == (403, "QUEUE_NOT_ADMITTED")
        assert response.json()["position"] == 1
    assert await booking.available_seats(client, concert["id"], schedule["id"]) == 2
