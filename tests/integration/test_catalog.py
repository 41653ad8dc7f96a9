"""The catalog: concerts, their schedules, and the admin endpoints that create them."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from boxoffice.db import Database
from boxoffice.pagination import encode_cursor
from boxoffice.tables import concert_schedule, seat
from tests import api
from tests.conftest import test_settings


def in_days(days: float) -> datetime:
    return datetime.now(UTC) + timedelta(days=days)


async def all_pages(client: httpx.AsyncClient, path: str, **params: Any) -> list[list[Any]]:
    """Follow next_cursor to the end; returns the items of every page."""
    pages: list[list[Any]] = []
    cursor: str | None = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get(path, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body["items"])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


async def test_concerts_are_listed_and_fetched(client: httpx.AsyncClient) -> None:
    created = [await api.create_concert(client, f"Concert {n}") for n in range(3)]
    listed = await client.get("/concerts")
    assert listed.status_code == 200
    assert listed.json() == {"items": created, "next_cursor": None}
    one = await client.get(f"/concerts/{created[1]['id']}")
    assert one.status_code == 200
    assert one.json() == {
        "id": created[1]["id"],
        "title": "Concert 1",
        "duration_minutes": 120,
        "sale_opens_at": None,
    }


async def test_concert_list_pages_with_limit_and_cursor(client: httpx.AsyncClient) -> None:
    created = [await api.create_concert(client, f"Concert {n}") for n in range(5)]
    pages = await all_pages(client, "/concerts", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [concert for page in pages for concert in page] == created


async def test_schedules_are_ordered_by_start_time(client: httpx.AsyncClient) -> None:
    concert = await api.create_concert(client)
    starts = [in_days(20), in_days(5), in_days(40), in_days(10)]
    for start in starts:
        await api.create_schedule(client, concert["id"], seat_count=3, start_time=start)
    response = await client.get(f"/concerts/{concert['id']}/schedules")
    assert response.status_code == 200
    items = response.json()["items"]
    shown = [datetime.fromisoformat(item["start_time"]) for item in items]
    assert shown == sorted(starts)
    assert all(item["concert_id"] == concert["id"] for item in items)
    assert all(item["total_seats"] == item["available_seats"] == 3 for item in items)


async def test_schedule_pages_follow_start_time_across_equal_times(
    client: httpx.AsyncClient,
) -> None:
    concert = await api.create_concert(client)
    same = in_days(3)
    ids = []
    for start in [in_days(9), same, same, in_days(1), same]:
        schedule = await api.create_schedule(client, concert["id"], seat_count=1, start_time=start)
        ids.append(schedule["id"])
    pages = await all_pages(client, f"/concerts/{concert['id']}/schedules", limit=2)
    assert [len(page) for page in pages] == [2, 2, 1]
    seen = [item["id"] for page in pages for item in page]
    # Ties on start_time are broken by id, so no schedule is skipped or shown twice.
    assert seen == [ids[3], ids[1], ids[2], ids[4], ids[0]]


async def test_available_keeps_future_schedules_with_seats_left(
    client: httpx.AsyncClient, db: Database
) -> None:
    concert = await api.create_concert(client)
    past = await api.create_schedule(client, concert["id"], seat_count=2, start_time=in_days(1))
    sold_out = await api.create_schedule(client, concert["id"], seat_count=2, start_time=in_days(2))
    open_ = await api.create_schedule(client, concert["id"], seat_count=2, start_time=in_days(4))
    async with db.transaction() as conn:
        # A schedule is only ever created in the future: this one has started since.
        await conn.execute(
            update(concert_schedule)
            .where(concert_schedule.c.id == past["id"])
            .values(start_time=in_days(-1))
        )
        await conn.execute(
            update(concert_schedule)
            .where(concert_schedule.c.id == sold_out["id"])
            .values(available_seats=0)
        )
    everything = await client.get(f"/concerts/{concert['id']}/schedules")
    shown = [s["id"] for s in everything.json()["items"]]
    assert shown == [past["id"], sold_out["id"], open_["id"]]
    available = await client.get(
        f"/concerts/{concert['id']}/schedules", params={"available": "true"}
    )
    assert available.status_code == 200
    assert [s["id"] for s in available.json()["items"]] == [open_["id"]]


async def test_bad_cursor_is_a_validation_error(client: httpx.AsyncClient) -> None:
    concert = await api.create_concert(client)
    for path in ("/concerts", f"/concerts/{concert['id']}/schedules"):
        for cursor in ("not-a-cursor!", "bnVsbA", "WyJ4Il0", "W10", "WzAuNV0", "W" * 600):
            response = await client.get(path, params={"cursor": cursor})
            assert response.status_code == 422, (path, cursor, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["code"] == "VALIDATION_ERROR"
            assert isinstance(body["errors"], list)


async def test_a_cursor_pages_only_the_list_that_gave_it(client: httpx.AsyncClient) -> None:
    concerts = [await api.create_concert(client) for _ in range(2)]
    for concert in concerts:
        for days in (1, 2):
            await api.create_schedule(client, concert["id"], start_time=in_days(days))
    first, second = (f"/concerts/{concert['id']}/schedules" for concert in concerts)
    cursor = (await client.get(first, params={"limit": 1})).json()["next_cursor"]
    assert cursor is not None

    own = await client.get(first, params={"limit": 1, "cursor": cursor})
    assert own.status_code == 200 and len(own.json()["items"]) == 1
    for elsewhere in (second, "/concerts", "/admin/concerts"):
        refused = await client.get(elsewhere, params={"cursor": cursor}, headers=api.ADMIN)
        assert (refused.status_code, refused.json()["code"]) == (422, "VALIDATION_ERROR"), elsewhere


@pytest.mark.parametrize("moment", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+05:00"])
async def test_a_cursor_past_the_calendar_in_utc_is_refused(
    client: httpx.AsyncClient, moment: str
) -> None:
    concert = await api.create_concert(client)
    response = await client.get(
        f"/concerts/{concert['id']}/schedules",
        params={
            "cursor": encode_cursor([f"/api/v1/concerts/{concert['id']}/schedules", moment, 1])
        },
    )
    assert response.status_code == 422
    assert response.json()["code"] == "VALIDATION_ERROR"


async def test_unknown_concert_is_not_found(client: httpx.AsyncClient) -> None:
    for path in ("/concerts/999999", "/concerts/999999/schedules"):
        response = await client.get(path)
        assert response.status_code == 404
        assert response.json()["code"] == "CONCERT_NOT_FOUND"
    created = await client.post(
        "/admin/concerts/999999/schedules",
        json={"start_time": in_days(1).isoformat(), "seat_count": 1, "price": 1},
        headers=api.ADMIN,
    )
    assert created.status_code == 404
    assert created.json()["code"] == "CONCERT_NOT_FOUND"


async def test_create_concert(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/admin/concerts", json={"title": "Late Show", "duration_minutes": 95}, headers=api.ADMIN
    )
    assert response.status_code == 201
    body = response.json()
    assert body == {
        "id": body["id"],
        "title": "Late Show",
        "duration_minutes": 95,
        "sale_opens_at": None,
    }


async def test_create_concert_with_a_sale_opening(client: httpx.AsyncClient) -> None:
    opening = datetime(2031, 5, 1, 11, 0, tzinfo=UTC)
    response = await client.post(
        "/admin/concerts",
        json={
            "title": "Drop",
            "duration_minutes": 95,
            "sale_opens_at": "2031-05-01T20:00:00+09:00",
        },
        headers=api.ADMIN,
    )
    naive = await client.post(
        "/admin/concerts",
        json={"title": "Drop", "duration_minutes": 95, "sale_opens_at": "2031-05-01T20:00:00"},
        headers=api.ADMIN,
    )
    assert response.status_code == 201, response.text
    assert datetime.fromisoformat(response.json()["sale_opens_at"]) == opening
    fetched = await client.get(f"/concerts/{response.json()['id']}")
    assert fetched.json()["sale_opens_at"] == response.json()["sale_opens_at"]
    assert naive.status_code == 422


async def test_create_schedule_with_seat_count_and_price(
    client: httpx.AsyncClient, db: Database
) -> None:
    concert = await api.create_concert(client)
    start = datetime(2031, 5, 1, 19, 30, tzinfo=UTC)
    schedule = await api.create_schedule(
        client, concert["id"], seat_count=25, price=77_000, start_time=start
    )
    assert schedule["concert_id"] == concert["id"]
    # Times carry an explicit offset.
    assert schedule["start_time"].endswith(("Z", "+00:00"))
    assert datetime.fromisoformat(schedule["start_time"]) == start
    assert schedule["total_seats"] == schedule["available_seats"] == 25
    async with db.reading() as conn:
        rows = (
            await conn.execute(
                select(seat.c.seat_number, seat.c.price, seat.c.status).where(
                    seat.c.schedule_id == schedule["id"]
                )
            )
        ).all()
    assert sorted(row.seat_number for row in rows) == sorted(str(n) for n in range(1, 26))
    assert {(row.price, row.status) for row in rows} == {(77_000, "AVAILABLE")}


async def test_create_schedule_with_explicit_seats(client: httpx.AsyncClient, db: Database) -> None:
    concert = await api.create_concert(client)
    seats = [
        {"seat_number": "A1", "price": 150_000},
        {"seat_number": "A2", "price": 150_000},
        {"seat_number": "B1", "price": 0},
    ]
    response = await client.post(
        f"/admin/concerts/{concert['id']}/schedules",
        # A start time in another zone is kept as the same moment.
        json={"start_time": "2031-05-02T04:00:00+09:00", "seats": seats},
        headers=api.ADMIN,
    )
    assert response.status_code == 201, response.text
    schedule = response.json()
    assert datetime.fromisoformat(schedule["start_time"]) == datetime(2031, 5, 1, 19, tzinfo=UTC)
    assert schedule["total_seats"] == schedule["available_seats"] == 3
    async with db.reading() as conn:
        rows = (
            await conn.execute(
                select(seat.c.seat_number, seat.c.price).where(seat.c.schedule_id == schedule["id"])
            )
        ).all()
    assert sorted((row.seat_number, row.price) for row in rows) == sorted(
        (s["seat_number"], s["price"]) for s in seats
    )


@pytest.mark.parametrize(
    "body",
    [
        {"seats": [{"seat_number": "A1", "price": 1}, {"seat_number": "A1", "price": 2}]},
        # Surrounding spaces are stripped, so these two are the same seat.
        {"seats": [{"seat_number": "7", "price": 1}, {"seat_number": " 7 ", "price": 1}]},
        {"seats": []},
        {"seat_count": 0, "price": 1},
        {"seat_count": 100_001, "price": 1},
        {"seat_count": 3},
        {"seat_count": 3, "price": -1},
        {"seat_count": 3, "price": 1, "seats": [{"seat_number": "1", "price": 1}]},
        {},
    ],
)
async def test_invalid_schedules_are_refused_and_create_nothing(
    client: httpx.AsyncClient, db: Database, body: dict[str, Any]
) -> None:
    concert = await api.create_concert(client)
    response = await client.post(
        f"/admin/concerts/{concert['id']}/schedules",
        json={"start_time": in_days(1).isoformat(), **body},
        headers=api.ADMIN,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    async with db.reading() as conn:
        assert (await conn.execute(select(func.count()).select_from(seat))).scalar_one() == 0


@pytest.mark.parametrize(
    "start_time",
    [
        "2031-05-01T19:00:00",
        "tomorrow",
        "",
        # Numbers are not times, though they could be read as seconds since 1970.
        2_000_000_000,
        "2000000000",
        2_000_000_000.5,
        True,
        # The calendar's last year: shown in Seoul, or with the show's length added, it would
        # fall off the calendar.
        "9999-12-31T23:59:59Z",
    ],
)
async def test_schedule_start_time_is_iso_text_with_an_offset(
    client: httpx.AsyncClient, db: Database, start_time: Any
) -> None:
    concert = await api.create_concert(client)
    response = await client.post(
        f"/admin/concerts/{concert['id']}/schedules",
        json={"start_time": start_time, "seat_count": 1, "price": 1},
        headers=api.ADMIN,
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "VALIDATION_ERROR"
    async with db.reading() as conn:
        assert (await conn.execute(select(func.count()).select_from(seat))).scalar_one() == 0


@pytest.mark.parametrize("sale_opens_at", [5, "1796600000", "9999-12-31T23:59:59Z"])
async def test_a_sale_opening_that_is_not_a_time_changes_nothing(
    client: httpx.AsyncClient, sale_opens_at: Any
) -> None:
    opening = in_days(2)
    concert = await api.create_concert(client, sale_opens_at=opening)

    created = await client.post(
        "/admin/concerts",
        json={"title": "Later", "duration_minutes": 60, "sale_opens_at": sale_opens_at},
        headers=api.ADMIN,
    )
    patched = await client.patch(
        f"/admin/concerts/{concert['id']}",
        json={"sale_opens_at": sale_opens_at},
        headers=api.ADMIN,
    )

    assert (created.status_code, created.json()["code"]) == (422, "VALIDATION_ERROR")
    assert (patched.status_code, patched.json()["code"]) == (422, "VALIDATION_ERROR")
    fetched = (await client.get(f"/concerts/{concert['id']}")).json()
    assert datetime.fromisoformat(fetched["sale_opens_at"]) == opening


@pytest.mark.parametrize("headers", [{}, {"X-Admin-Key": "wrong"}, {"X-Admin-Key": ""}])
async def test_admin_endpoints_need_the_admin_key(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    concert = await api.create_concert(client)
    attempts = [
        ("/admin/concerts", {"title": "Nope", "duration_minutes": 60}),
        (
            f"/admin/concerts/{concert['id']}/schedules",
            {"start_time": in_days(1).isoformat(), "seat_count": 1, "price": 1},
        ),
    ]
    for path, body in attempts:
        response = await client.post(path, json=body, headers=headers)
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "ADMIN_KEY_INVALID"
    listed = await client.get("/concerts")
    assert [c["id"] for c in listed.json()["items"]] == [concert["id"]]
    schedules = await client.get(f"/concerts/{concert['id']}/schedules")
    assert schedules.json()["items"] == []


async def test_an_empty_admin_key_header_is_never_an_admin(database_url: str) -> None:
    # Settings refuse an empty key; should one get through anyway (built in code, not read from
    # the environment), an empty header still does not match it.
    settings = test_settings(database_url).model_copy(update={"admin_key": ""})
    async with api.app_client(settings) as client:
        for headers in ({"X-Admin-Key": ""}, {}):
            response = await client.post(
                "/admin/concerts", json={"title": "Nope", "duration_minutes": 60}, headers=headers
            )
            assert response.status_code == 401
            assert response.json()["code"] == "ADMIN_KEY_INVALID"


async def test_a_fifty_thousand_seat_schedule(client: httpx.AsyncClient, db: Database) -> None:
    concert = await api.create_concert(client, "Stadium")
    started = time.perf_counter()
    schedule = await api.create_schedule(client, concert["id"], seat_count=50_000, price=99_000)
    elapsed = time.perf_counter() - started
    # Informational only, read with `pytest -s`; the test asserts behaviour, not speed.
    backend = db.url.get_backend_name()
    print(f"\n[note] creating a 50,000-seat schedule on {backend} took {elapsed:.2f}s")
    assert schedule["total_seats"] == schedule["available_seats"] == 50_000
    listed = await client.get(f"/concerts/{concert['id']}/schedules")
    assert listed.json()["items"] == [schedule]
    async with db.reading() as conn:
        count, lowest, highest, distinct = (
            await conn.execute(
                select(
                    func.count(),
                    func.min(seat.c.price),
                    func.max(seat.c.price),
                    func.count(func.distinct(seat.c.seat_number)),
                ).where(seat.c.schedule_id == schedule["id"], seat.c.status == "AVAILABLE")
            )
        ).one()
    assert (count, lowest, highest, distinct) == (50_000, 99_000, 99_000, 50_000)
