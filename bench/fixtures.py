"""Set-up through the admin API and, for bulk users, straight in the database; joining the
waiting room the way a client does."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from tests.crowd import insert_funded_users

from bench.http import ClientPool, problem_code
from bench.stack import ADMIN_KEY, DATABASE_URL, JWT_SECRET
from boxoffice.auth import issue_access_token
from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database

T = TypeVar("T")
ADMIN = {"X-Admin-Key": ADMIN_KEY}
INSERT_BATCH = 5_000


class SetupError(RuntimeError):
    pass


@dataclass
class User:
    id: int
    headers: dict[str, str]  # the bearer, plus X-Queue-Token once in line
    balance: int
    token: dict[str, Any] | None = field(default=None)  # last queue token status seen


def _expect(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        raise SetupError(
            f"{response.request.method} {response.request.url}: "
            f"{response.status_code} {response.text[:500]}"
        )
    body: dict[str, Any] = response.json()
    return body


async def create_concert(http: ClientPool, title: str) -> int:
    body = _expect(
        await http.request(
            "POST", "/admin/concerts", json={"title": title, "duration_minutes": 120}, headers=ADMIN
        ),
        201,
    )
    concert_id: int = body["id"]
    return concert_id


async def create_schedule(
    http: ClientPool, concert_id: int, seats: int, price: int, days_ahead: int = 30
) -> int:
    start = datetime.now(UTC) + timedelta(days=days_ahead)
    body = _expect(
        await http.request(
            "POST",
            f"/admin/concerts/{concert_id}/schedules",
            json={"start_time": start.isoformat(), "seat_count": seats, "price": price},
            headers=ADMIN,
            timeout=300,
        ),
        201,
    )
    schedule_id: int = body["id"]
    return schedule_id


async def create_users(count: int, balance: int, label: str) -> list[User]:
    """`count` users inserted straight in the database, each charged `balance` won with the
    matching CHARGE entry in point_history (so that the ledger adds up for the audit), and a
    signed access token each: far faster than signing up over HTTP one by one."""
    db = Database(DATABASE_URL)
    now = utcnow()
    batch = f"{label}-{uuid.uuid4().hex[:8]}"
    ids: list[int] = []
    try:
        for first in range(0, count, INSERT_BATCH):
            size = min(INSERT_BATCH, count - first)
            emails = [f"fan-{batch}-{first + i}@bench.example.com" for i in range(size)]
            async with db.transaction() as conn:
                new_ids = await insert_funded_users(conn, emails, balance, now)
                ids.extend(new_ids)
    finally:
        await db.dispose()
    settings = Settings(_env_file=None, jwt_secret=JWT_SECRET)
    return [
        User(
            id=user_id,
            headers={"Authorization": f"Bearer {issue_access_token(settings, user_id)}"},
            balance=balance,
        )
        for user_id in ids
    ]


async def open_sale_at(http: ClientPool, concert_id: int, moment: datetime) -> None:
    """Set the concert's sale opening, as an operator does."""
    _expect(
        await http.request(
            "PATCH",
            f"/admin/concerts/{concert_id}",
            json={"sale_opens_at": moment.isoformat()},
            headers=ADMIN,
        ),
        200,
    )


async def line_waiting(http: ClientPool, concert_id: int) -> int:
    """How many are waiting in the concert's line, as the operator sees it."""
    body = _expect(
        await http.request("GET", f"/admin/concerts/{concert_id}/queue", headers=ADMIN), 200
    )
    return int(body["waiting"])


def no_waiting_room(response: httpx.Response) -> bool:
    """The queue endpoints are not there at all (a build without the waiting room): the route
    is unknown, as opposed to an unknown concert."""
    return response.status_code in (404, 405) and problem_code(response) != "CONCERT_NOT_FOUND"


async def join_and_wait_active(
    http: ClientPool, user: User, concert_id: int, within: float = 60
) -> bool:
    """Join the concert's line and poll until ACTIVE; sets the user's X-Queue-Token. False when
    the service has no waiting room (then holds go through without a token)."""
    joined = await http.request(
        "POST", f"/concerts/{concert_id}/queue/tokens", headers=user.headers
    )
    if no_waiting_room(joined):
        return False
    token = _expect(joined, 200, 201)
    user.headers = {**user.headers, "X-Queue-Token": token["token"]}
    deadline = asyncio.get_running_loop().time() + within
    while token["status"] != "ACTIVE":
        if token["status"] != "WAITING" or asyncio.get_running_loop().time() > deadline:
            raise SetupError(f"user {user.id} was not admitted: {token}")
        await asyncio.sleep(0.05)
        token = _expect(await http.request("GET", "/queue/status", headers=user.headers), 200)
    user.token = token
    return True


async def bounded(limit: int, work: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the work items at most `limit` at a time; results in order."""
    gate = asyncio.Semaphore(limit)

    async def one(item: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await item()

    return list(await asyncio.gather(*(one(item) for item in work)))


async def admit_all(http: ClientPool, people: list[User], concert_id: int, limit: int = 64) -> bool:
    """Put everyone into the line and wait until all are ACTIVE. False without a waiting room."""
    results = await bounded(
        limit, (functools.partial(join_and_wait_active, http, u, concert_id) for u in people)
    )
    return all(results)


async def seat_ids(http: ClientPool, user: User, schedule_id: int) -> list[int]:
    """Every seat id of the schedule that is AVAILABLE, from the seat listing."""
    body = _expect(
        await http.request(
            "GET",
            f"/schedules/{schedule_id}/seats",
            params={"status": "AVAILABLE"},
            headers=user.headers,
            timeout=300,
        ),
        200,
    )
    return [item["id"] for item in body["items"]]
