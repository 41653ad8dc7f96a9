"""The seat stream asks what the seat listing asks: a user, and an admitted queue token for the
schedule's concert. A refused request is an ordinary problem+json answer, not a stream."""

from __future__ import annotations

import httpx

from tests import api, booking
from tests.conftest import ClientFactory


def path(schedule_id: int | str) -> str:
    return f"/schedules/{schedule_id}/seats/events"


async def test_the_seat_stream_is_refused_without_a_user_or_an_admission(
    make_client: ClientFactory,
) -> None:
    client: httpx.AsyncClient = await make_client(queue_max_active=1)
    concert = await api.create_concert(client)
    other_concert = await api.create_concert(client, "Another")
    schedule = await api.create_schedule(client, concert["id"], seat_count=3)
    first = await api.sign_up(client)
    second = await api.sign_up(client)
    first_headers = await booking.admitted(client, first, concert["id"])
    elsewhere = await booking.admitted(client, second, other_concert["id"])
    joined = await client.post(f"/concerts/{concert['id']}/queue/tokens", headers=second["headers"])
    waiting_token = joined.json()["token"]

    cases = [
        ({}, 401, "UNAUTHENTICATED"),
        (second["headers"], 403, "QUEUE_TOKEN_INVALID"),
        (elsewhere, 403, "QUEUE_TOKEN_INVALID"),
        (
            {**second["headers"], "X-Queue-Token": first_headers["X-Queue-Token"]},
            403,
            "QUEUE_TOKEN_INVALID",
        ),
        ({**second["headers"], "X-Queue-Token": waiting_token}, 403, "QUEUE_NOT_ADMITTED"),
    ]
    for headers, status, code in cases:
        response = await client.get(path(schedule["id"]), headers=headers)
        assert (response.status_code, response.json()["code"]) == (status, code), headers
        assert response.headers["content-type"] == "application/problem+json"

    not_admitted = await client.get(
        path(schedule["id"]), headers=second["headers"], params={"queue_token": waiting_token}
    )
    assert not_admitted.json()["position"] == 1

    missing = await client.get(path(schedule["id"] + 1000), headers=first_headers)
    assert (missing.status_code, missing.json()["code"]) == (404, "SCHEDULE_NOT_FOUND")
    for bad in ("abc", "0", "-1", "1.0"):
        malformed = await client.get(path(bad), headers=first_headers)
        assert (malformed.status_code, malformed.json()["code"]) == (422, "VALIDATION_ERROR")
