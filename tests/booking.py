"""Booking through the HTTP API the way a client does it: get into the waiting room, hold a seat,
pay for it. Plus the set-up and checks the booking tests share: many users at once straight in
the database, reading the seat counter, and the audit."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from sqlalchemy import func, select, update

from boxoffice.audit import run_audit
from boxoffice.auth import issue_access_token
from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.tables import concert_schedule, seat, seat_count_delta, users
from tests.api import ADMIN, bearer
from tests.conftest import JWT_SECRET
from tests.crowd import insert_funded_users

T = TypeVar("T")

# Settings that admit everyone to the waiting room at once, so that the line is never the
# bottleneck of a booking test.
OPEN_DOORS: dict[str, Any] = {"queue_max_active": 10_000}


def code(response: httpx.Response) -> str | None:
    """The problem-details `code` of an error response (None for a success)."""
    if response.status_code < 400:
        return None
    body = response.json()
    return body.get("code") if isinstance(body, dict) else None


def outcome(response: httpx.Response) -> tuple[int, str | None]:
    return response.status_code, code(response)


async def admitted(
    client: httpx.AsyncClient, user: dict[str, Any], concert_id: int
) -> dict[str, str]:
    """Join the concert's line and return headers with the bearer and an ACTIVE queue token.
    Asking again returns the live token, or a new one once the old has expired (say, after a
    payment ended the admission)."""
    joined = await client.post(f"/concerts/{concert_id}/queue/tokens", headers=user["headers"])
    assert joined.status_code in (200, 201), joined.text
    token = joined.json()
    headers = {**user["headers"], "X-Queue-Token": token["token"]}
    # With room for everyone the place is free at once, but admission may come with the
    # waiting room's next tick rather than with the join itself.
    deadline = time.monotonic() + 10
    while token["status"] == "WAITING" and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        status = await client.get("/queue/status", headers=headers)
        assert status.status_code == 200, status.text
        token = status.json()
    assert token["status"] == "ACTIVE", token
    return headers


async def hold(client: httpx.AsyncClient, headers: dict[str, str], seat_id: int) -> httpx.Response:
    return await client.post("/reservations", json={"seat_id": seat_id}, headers=headers)


async def pay(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    reservation_id: int,
    idempotency_key: str | None = None,
) -> httpx.Response:
    if idempotency_key is not None:
        headers = {**headers, "Idempotency-Key": idempotency_key}
    return await client.post("/payments", json={"reservation_id": reservation_id}, headers=headers)


async def held(client: httpx.AsyncClient, headers: dict[str, str], seat_id: int) -> dict[str, Any]:
    """Hold a seat that must be free; returns the reservation."""
    response = await hold(client, headers, seat_id)
    assert response.status_code == 201, response.text
    reservation: dict[str, Any] = response.json()
    return reservation


async def paid(
    client: httpx.AsyncClient, headers: dict[str, str], reservation_id: int
) -> dict[str, Any]:
    """Pay for a live hold with enough balance; returns the payment."""
    response = await pay(client, headers, reservation_id)
    assert response.status_code == 201, response.text
    payment: dict[str, Any] = response.json()
    return payment


async def create_schedule_with_seats(
    client: httpx.AsyncClient,
    concert_id: int,
    prices: list[int],
    start_time: datetime | None = None,
) -> dict[str, Any]:
    """A schedule whose seats "A1".."An" cost `prices`."""
    start = start_time or datetime.now(UTC) + timedelta(days=30)
    response = await client.post(
        f"/admin/concerts/{concert_id}/schedules",
        json={
            "start_time": start.isoformat(),
            "seats": [{"seat_number": f"A{i + 1}", "price": p} for i, p in enumerate(prices)],
        },
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    schedule: dict[str, Any] = response.json()
    return schedule


async def seat_statuses(
    client: httpx.AsyncClient, headers: dict[str, str], schedule_id: int
) -> dict[int, str]:
    """Seat id -> AVAILABLE/UNAVAILABLE, as the seat listing shows it."""
    response = await client.get(f"/schedules/{schedule_id}/seats", headers=headers)
    assert response.status_code == 200, response.text
    return {item["id"]: item["status"] for item in response.json()["items"]}


async def available_seats(client: httpx.AsyncClient, concert_id: int, schedule_id: int) -> int:
    """`available_seats` of one schedule, as the public schedule list shows it."""
    response = await client.get(f"/concerts/{concert_id}/schedules", params={"limit": 100})
    assert response.status_code == 200, response.text
    for item in response.json()["items"]:
        if item["id"] == schedule_id:
            count: int = item["available_seats"]
            return count
    raise AssertionError(f"schedule {schedule_id} is not listed")


async def move_start(db: Database, schedule_id: int, start_time: datetime | None = None) -> None:
    """Move the schedule's start, to now unless told otherwise, straight in the database: the
    API only creates schedules in the future, and a test should not wait for one to start."""
    async with db.transaction() as conn:
        await conn.execute(
            update(concert_schedule)
            .where(concert_schedule.c.id == schedule_id)
            .values(start_time=start_time or utcnow())
        )


async def seat_ids(db: Database, schedule_id: int) -> list[int]:
    async with db.reading() as conn:
        rows = await conn.execute(
            select(seat.c.id).where(seat.c.schedule_id == schedule_id).order_by(seat.c.id)
        )
        return list(rows.scalars())


async def create_users(db: Database, count: int, balance: int = 0) -> list[dict[str, Any]]:
    """`count` users inserted in one go, each with `balance` won charged (with its CHARGE entry,
    so the ledger adds up) and a signed access token: much faster than signing up over HTTP."""
    now = utcnow()
    batch = uuid.uuid4().hex[:12]
    emails = [f"fan-{batch}-{i}@example.com" for i in range(count)]
    async with db.transaction() as conn:
        ids = await insert_funded_users(conn, emails, balance, now)
    settings = Settings(_env_file=None, jwt_secret=JWT_SECRET)
    return [
        {"id": user_id, "headers": bearer(issue_access_token(settings, user_id))} for user_id in ids
    ]


async def balance_of(db: Database, user_id: int) -> int:
    async with db.reading() as conn:
        value = (
            await conn.execute(select(users.c.balance).where(users.c.id == user_id))
        ).scalar_one()
        return int(value)


async def folded_counter(db: Database, schedule_id: int) -> tuple[int, int]:
    """(the stored `available_seats` column, how many seat-count changes wait to be folded)."""
    async with db.reading() as conn:
        stored = (
            await conn.execute(
                select(concert_schedule.c.available_seats).where(
                    concert_schedule.c.id == schedule_id
                )
            )
        ).scalar_one()
        pending = (
            await conn.execute(
                select(func.count())
                .select_from(seat_count_delta)
                .where(seat_count_delta.c.schedule_id == schedule_id)
            )
        ).scalar_one()
        return int(stored), int(pending)


async def wait_until_folded(
    db: Database, schedule_id: int, expected: int, within: float = 5
) -> None:
    """Wait (up to `within` seconds) for the sweeper to fold every pending change into
    `available_seats` and for the stored figure to reach `expected`."""
    deadline = time.monotonic() + within
    while True:
        state = await folded_counter(db, schedule_id)
        if state == (expected, 0):
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"schedule {schedule_id}: (available_seats, pending) is {state} after "
                f"{within} s, expected ({expected}, 0)"
            )
        await asyncio.sleep(0.1)


async def assert_audit_passes(db: Database) -> None:
    results = await run_audit(db)
    broken = {result.name: result.violations for result in results if not result.ok}
    assert not broken, f"audit failed: {broken}"


async def sleep_until(moment: datetime) -> None:
    """Sleep until the wall clock (the one the service uses) reaches `moment`."""
    delay = (moment - utcnow()).total_seconds()
    if delay > 0:
        await asyncio.sleep(delay)


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def bounded(limit: int, work: Iterable[Awaitable[T]]) -> list[T]:
    """Run `work` concurrently, at most `limit` at a time; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Awaitable[T]) -> T:
        async with gate:
            return await item

    return list(await asyncio.gather(*(one(item) for item in work)))


async def admit_all(
    clients: Sequence[httpx.AsyncClient], users: Sequence[dict[str, Any]], concert_id: int
) -> list[dict[str, str]]:
    """Admit every user (spread over the servers); their headers, in order."""
    return await bounded(
        50,
        (admitted(clients[i % len(clients)], user, concert_id) for i, user in enumerate(users)),
    )
