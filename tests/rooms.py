"""The three deployments a waiting-room test runs on: the line in the database (SQLite and
PostgreSQL) and in Redis (on PostgreSQL). A test module or conftest binds these fixtures
to its own names (`room = rooms.room`), which pytest then finds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from tests.conftest import ClientFactory

ROOMS = [
    pytest.param(("database", "sqlite"), id="db-sqlite"),
    pytest.param(("database", "postgres"), id="db-postgres"),
    pytest.param(("redis", "postgres"), id="redis"),
]


@pytest.fixture(params=ROOMS)
def room_and_backend(request: pytest.FixtureRequest) -> tuple[str, str]:
    room, backend = request.param
    return room, backend


@pytest.fixture
def room(room_and_backend: tuple[str, str]) -> str:
    """Which waiting-room backend this test runs on."""
    return room_and_backend[0]


@pytest.fixture
def backend(room_and_backend: tuple[str, str]) -> str:
    return room_and_backend[1]


@pytest.fixture
def room_settings(room: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings that pick this test's waiting-room backend (a sync fixture: Redis's is one)."""
    if room == "redis":
        return {"redis_url": request.getfixturevalue("flushed_redis")}
    return {}


RoomClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
def make_room_client(
    make_client: ClientFactory, room_settings: dict[str, Any]
) -> RoomClientFactory:
    async def make(**overrides: Any) -> httpx.AsyncClient:
        return await make_client(**{**room_settings, **overrides})

    return make
