"""Every waiting-room test runs on both backends: the database (SQLite and PostgreSQL) and
Redis (on PostgreSQL)."""

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
    """Settings that pick this test's waiting-room backend."""
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
