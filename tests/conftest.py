"""Fixtures over real SQLite, PostgreSQL and Redis.

Every database test runs on both databases (`backend` is parametrized). Each backend gets a fresh,
migrated database once per session; tables are emptied after every test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from boxoffice.app import create_app
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.migrate import upgrade
from boxoffice.tables import metadata
from tests import backends
from tests.documented import DocumentedProblems

ADMIN_KEY = "test-admin-key"
JWT_SECRET = "test-jwt-secret-that-is-long-enough-for-hs256"
# Argon2id at its cheapest: the tests sign up thousands of users, and what they check about
# passwords does not depend on the cost.
CHEAP_PASSWORD_HASHING: dict[str, int] = {
    "password_time_cost": 1,
    "password_memory_kib": 8,
    "password_parallelism": 1,
}
# Tests sign up, join and hold far faster than any person; the rate-limit tests set their own.
RAISED_RATE_LIMITS: dict[str, str] = {
    "rate_limit_auth": "1000000/second",
    "rate_limit_join": "1000000/second",
    "rate_limit_hold": "1000000/second",
}
# Tests rush a process with more requests at once than a deployment lets in (the line, the seats
# and the money are what they test); the load-shedding tests set their own limit.
RAISED_IN_FLIGHT_LIMIT: dict[str, int] = {"max_requests_in_flight": 100_000}


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    path: Path = tmp_path_factory.mktemp("sqlite") / "boxoffice_test.db"
    url = f"sqlite:///{path}"
    upgrade(url)
    return url


# These fixtures are synchronous so that a test can ask for them by name at run time; they run
# their async set-up on a loop of their own.
@pytest.fixture(scope="session")
def postgres_url() -> str:
    reason = asyncio.run(backends.postgres_reachable(backends.POSTGRES_URL))
    if reason is not None:
        backends.unavailable("PostgreSQL", reason)
    asyncio.run(backends.recreate_postgres_database(backends.POSTGRES_URL))
    upgrade(backends.POSTGRES_URL)
    return backends.POSTGRES_URL


@pytest.fixture(scope="session")
def redis_url() -> str:
    reason = asyncio.run(backends.redis_reachable(backends.REDIS_URL))
    if reason is not None:
        backends.unavailable("Redis", reason)
    return backends.REDIS_URL


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    """Which database this test runs on."""
    name: str = request.param
    return name


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str) -> Iterator[str]:
    url: str = request.getfixturevalue(f"{backend}_url")
    yield url
    asyncio.run(empty_tables(url))


async def empty_tables(url: str) -> None:
    # Server processes a module keeps running go on sweeping meanwhile; TRUNCATE can deadlock
    # with them, and then simply goes again.
    for attempt in range(5):
        try:
            await _empty_tables_once(url)
            return
        except DBAPIError:
            if attempt == 4:
                raise
            await asyncio.sleep(0.2)


async def _empty_tables_once(url: str) -> None:
    db = Database(url)
    try:
        async with db.transaction() as conn:
            names = [table.name for table in reversed(metadata.sorted_tables)]
            if db.is_sqlite:
                for name in names:
                    await conn.execute(text(f'DELETE FROM "{name}"'))
            else:
                quoted = ", ".join(f'"{name}"' for name in names)
                await conn.execute(text(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE"))
    finally:
        await db.dispose()


@pytest.fixture
async def flushed_redis(redis_url: str) -> AsyncIterator[str]:
    client = aioredis.from_url(redis_url)
    await client.flushdb()
    yield redis_url
    await client.flushdb()
    await client.aclose()


def test_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "admin_key": ADMIN_KEY,
        "jwt_secret": JWT_SECRET,
        "sweep_interval_seconds": 0.2,
        "log_level": "WARNING",
        **CHEAP_PASSWORD_HASHING,
        **RAISED_RATE_LIMITS,
        **RAISED_IN_FLIGHT_LIMIT,
        **overrides,
    }
    return Settings(_env_file=None, **values)


# A factory that tests import, not a test.
test_settings.__test__ = False  # type: ignore[attr-defined]


ClientFactory = Callable[..., Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def make_client(database_url: str) -> AsyncIterator[ClientFactory]:
    """Build an in-process client on this test's database; keyword arguments override settings."""
    async with AsyncExitStack() as stack:

        async def make(**overrides: Any) -> httpx.AsyncClient:
            app = create_app(test_settings(database_url, **overrides))
            await stack.enter_async_context(app.router.lifespan_context(app))
            return await stack.enter_async_context(
                httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                    base_url="http://testserver/api/v1",
                    event_hooks={"response": [DocumentedProblems(app)]},
                )
            )

        yield make


@pytest.fixture
async def client(make_client: ClientFactory) -> httpx.AsyncClient:
    return await make_client()


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()
