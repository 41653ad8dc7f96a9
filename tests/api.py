"""Small helpers that drive the HTTP API the way a client does."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from boxoffice.app import create_app
from boxoffice.config import Settings
from tests.conftest import ADMIN_KEY
from tests.documented import DocumentedProblems

_emails = itertools.count(1)
ADMIN = {"X-Admin-Key": ADMIN_KEY}
PASSWORD = "correct horse battery"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_up(
    client: httpx.AsyncClient, name: str = "Fan", password: str = PASSWORD
) -> dict[str, Any]:
    """A new user with a unique email; the body of POST /users plus `password` and `headers`."""
    email = f"fan{next(_emails)}-{id(client)}@example.com"
    response = await client.post(
        "/users", json={"name": name, "email": email, "password": password}
    )
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    user["password"] = password
    user["headers"] = bearer(user["access_token"])
    return user


async def log_in(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await client.post("/auth/token", json={"email": email, "password": password})


async def charge(client: httpx.AsyncClient, user: dict[str, Any], amount: int) -> httpx.Response:
    return await client.post(
        "/users/me/balance/charge", json={"amount": amount}, headers=user["headers"]
    )


async def create_concert(
    client: httpx.AsyncClient, title: str = "Test Concert", sale_opens_at: datetime | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"title": title, "duration_minutes": 120}
    if sale_opens_at is not None:
        body["sale_opens_at"] = sale_opens_at.isoformat()
    response = await client.post("/admin/concerts", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    concert: dict[str, Any] = response.json()
    return concert


async def create_schedule(
    client: httpx.AsyncClient,
    concert_id: int,
    seat_count: int = 10,
    price: int = 10_000,
    start_time: datetime | None = None,
) -> dict[str, Any]:
    start = start_time or datetime.now(UTC) + timedelta(days=30)
    response = await client.post(
        f"/admin/concerts/{concert_id}/schedules",
        json={"start_time": start.isoformat(), "seat_count": seat_count, "price": price},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    schedule: dict[str, Any] = response.json()
    return schedule


@asynccontextmanager
async def app_client(
    settings: Settings, base_url: str = "http://testserver/api/v1"
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client on an app built from exactly these settings (including, unlike
    `make_client`, its database URL), with the app's lifespan running."""
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
            base_url=base_url,
            event_hooks={"response": [DocumentedProblems(app)]},
        ) as client,
    ):
        yield client
