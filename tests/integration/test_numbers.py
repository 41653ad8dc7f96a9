"""Numbers are numbers: ids, amounts and counts are JSON integers in a body and decimal digits in
a path or a query; `true`, `"12"`, `1.0` or `1e3` are 422 VALIDATION_ERROR and change nothing."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests import api, booking
from tests.api import ADMIN


def spellings(number: int) -> list[str]:
    """JSON texts that a lax reader takes for `number` (true only when it is 1)."""
    loose = [f'"{number}"', f"{number}.0", f"{number}e0", f"{number}.00"]
    return [*loose, "true"] if number == 1 else loose


def problem_code(response: httpx.Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["code"])


async def post_raw(
    client: httpx.AsyncClient, path: str, body: str, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(
        path, content=body, headers={**headers, "Content-Type": "application/json"}
    )


async def test_a_seat_id_must_be_a_json_integer(client: httpx.AsyncClient) -> None:
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=3)
    user = await api.sign_up(client)
    headers = await booking.admitted(client, user, concert["id"])
    seats = sorted(await booking.seat_statuses(client, headers, schedule["id"]))
    for seat_id in seats:
        for text in spellings(seat_id):
            response = await post_raw(client, "/reservations", f'{{"seat_id": {text}}}', headers)
            assert response.status_code == 422, (text, response.text)
            assert problem_code(response) == "VALIDATION_ERROR"
    statuses = await booking.seat_statuses(client, headers, schedule["id"])
    assert set(statuses.values()) == {"AVAILABLE"}
    assert (await booking.hold(client, headers, seats[0])).status_code == 201


async def test_an_amount_must_be_a_json_integer(client: httpx.AsyncClient) -> None:
    user = await api.sign_up(client)
    for text in [*spellings(100), *spellings(1), "100.5", "[100]", '{"won": 100}']:
        response = await post_raw(
            client, "/users/me/balance/charge", f'{{"amount": {text}}}', user["headers"]
        )
        assert response.status_code == 422, (text, response.text)
        assert problem_code(response) == "VALIDATION_ERROR"
    balance = await client.get("/users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == 0
    history = await client.get("/users/me/point-history", headers=user["headers"])
    assert history.json()["items"] == []


async def test_a_reservation_id_must_be_a_json_integer(client: httpx.AsyncClient) -> None:
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=1, price=1_000)
    user = await api.sign_up(client)
    await api.charge(client, user, 10_000)
    headers = await booking.admitted(client, user, concert["id"])
    (seat_id,) = await booking.seat_statuses(client, headers, schedule["id"])
    reservation = await booking.held(client, headers, seat_id)
    for text in spellings(reservation["id"]):
        response = await post_raw(client, "/payments", f'{{"reservation_id": {text}}}', headers)
        assert response.status_code == 422, (text, response.text)
        assert problem_code(response) == "VALIDATION_ERROR"
    mine = await client.get(f"/reservations/{reservation['id']}", headers=user["headers"])
    assert mine.json()["status"] == "TEMPORARY"
    balance = await client.get("/users/me/balance", headers=user["headers"])
    assert balance.json()["balance"] == 10_000


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/admin/concerts", '{"title": "Loose", "duration_minutes": "120"}'),
        ("/admin/concerts", '{"title": "Loose", "duration_minutes": 120.0}'),
        ("/admin/concerts", '{"title": "Loose", "duration_minutes": 12e1}'),
        (
            "/admin/concerts/{concert}/schedules",
            '{"start_time": "{start}", "seat_count": "5", "price": 1}',
        ),
        (
            "/admin/concerts/{concert}/schedules",
            '{"start_time": "{start}", "seat_count": 5.0, "price": 1}',
        ),
        (
            "/admin/concerts/{concert}/schedules",
            '{"start_time": "{start}", "seat_count": 5, "price": "1"}',
        ),
        (
            "/admin/concerts/{concert}/schedules",
            '{"start_time": "{start}", "seat_count": 5, "price": true}',
        ),
        (
            "/admin/concerts/{concert}/schedules",
            '{"start_time": "{start}", "seats": [{"seat_number": "A1", "price": 1e3}]}',
        ),
    ],
)
async def test_admin_counts_and_prices_must_be_json_integers(
    client: httpx.AsyncClient, path: str, body: str
) -> None:
    concert = await api.create_concert(client)
    start = "2099-01-01T19:00:00Z"
    response = await post_raw(
        client,
        path.replace("{concert}", str(concert["id"])),
        body.replace("{start}", start),
        ADMIN,
    )
    assert response.status_code == 422, response.text
    assert problem_code(response) == "VALIDATION_ERROR"
    concerts = await client.get("/concerts")
    assert [c["id"] for c in concerts.json()["items"]] == [concert["id"]]
    schedules = await client.get(f"/concerts/{concert['id']}/schedules")
    assert schedules.json()["items"] == []


@pytest.mark.parametrize("spelling", ["{id}.0", "+{id}", "{id}e0", "%20{id}", "0{id}.", "0x{id}"])
async def test_an_id_in_a_path_is_decimal_digits(client: httpx.AsyncClient, spelling: str) -> None:
    concert = await api.create_concert(client)
    schedule = await api.create_schedule(client, concert["id"], seat_count=1)
    user = await api.sign_up(client)
    loose_concert = spelling.format(id=concert["id"])
    loose_schedule = spelling.format(id=schedule["id"])
    attempts = [
        ("GET", f"/concerts/{loose_concert}"),
        ("GET", f"/concerts/{loose_concert}/schedules"),
        ("POST", f"/concerts/{loose_concert}/queue/tokens"),
        ("GET", f"/schedules/{loose_schedule}/seats"),
        ("GET", f"/reservations/{spelling.format(id=1)}"),
        ("POST", f"/reservations/{spelling.format(id=1)}/cancel"),
        ("GET", f"/payments/{spelling.format(id=1)}"),
    ]
    for method, path in attempts:
        response = await client.request(method, path, headers=user["headers"])
        assert response.status_code == 422, (path, response.text)
        assert problem_code(response) == "VALIDATION_ERROR"
    # Nobody joined the line through a loose spelling.
    joined = await client.post(f"/concerts/{concert['id']}/queue/tokens", headers=user["headers"])
    assert joined.status_code == 201


@pytest.mark.parametrize("limit", ["1.0", "+1", "1e0", "true"])
async def test_a_page_size_is_decimal_digits(client: httpx.AsyncClient, limit: str) -> None:
    response = await client.get("/concerts", params={"limit": limit})
    assert response.status_code == 422, response.text
    assert problem_code(response) == "VALIDATION_ERROR"


async def test_plain_numbers_still_work(client: httpx.AsyncClient) -> None:
    concert = await api.create_concert(client)
    assert (await client.get(f"/concerts/{concert['id']}")).status_code == 200
    assert (await client.get("/concerts", params={"limit": "1"})).status_code == 200
    user = await api.sign_up(client)
    response = await post_raw(
        client, "/users/me/balance/charge", '{"amount": 100}', user["headers"]
    )
    assert response.status_code == 200, response.text
