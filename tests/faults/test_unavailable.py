"""A database that cannot serve right now (down, restarting, out of connections, too slow) is
a quick `503 SERVICE_UNAVAILABLE` with `Retry-After`, never a 500 nor a hang, and the service
serves again by itself once the database is back."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from boxoffice.db import Database
from tests import api, conftest
from tests.booking import create_users
from tests.faults.services import PostgresCluster

PROBLEM_JSON = "application/problem+json"


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "SERVICE_UNAVAILABLE"
    assert int(response.headers["Retry-After"]) >= 1


@pytest.fixture
async def limited_role(own_postgres: PostgresCluster) -> AsyncIterator[str]:
    """A login role that may hold no connection at all: every connection it opens is refused
    with "too many connections" (SQLSTATE 53300), as when max_connections is reached."""
    admin = await asyncpg.connect(own_postgres.url())
    try:
        await admin.execute("CREATE ROLE limited LOGIN CONNECTION LIMIT 0")
        yield "limited"
    finally:
        await admin.execute("DROP ROLE limited")
        await admin.close()


async def test_too_many_connections_is_a_503(own_postgres_url: str, limited_role: str) -> None:
    url = own_postgres_url.replace("postgres@", f"{limited_role}@", 1)
    async with api.app_client(conftest.test_settings(url)) as client:
        assert_unavailable(await client.get("/concerts"))


async def test_a_statement_past_the_statement_timeout_is_a_503(own_postgres_url: str) -> None:
    settings = conftest.test_settings(own_postgres_url, db_statement_timeout_seconds=0.5)
    blocker = await asyncpg.connect(own_postgres_url)
    async with api.app_client(settings) as client:
        concert = await api.create_concert(client)
        # The list goes through SQLAlchemy; the concert itself straight to the driver.
        reads = ["/concerts", f"/concerts/{concert['id']}"]
        try:
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE concert IN ACCESS EXCLUSIVE MODE")
            for path in reads:
                started = time.monotonic()
                assert_unavailable(await client.get(path))
                assert time.monotonic() - started < 5
            await transaction.rollback()
        finally:
            await blocker.close()
        for path in reads:
            assert (await client.get(path)).status_code == 200


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_database_restart_is_a_503_and_then_served_again(
    own_postgres: PostgresCluster, own_postgres_url: str, mode: str
) -> None:
    async with api.app_client(conftest.test_settings(own_postgres_url)) as client:
        concert = await api.create_concert(client)
        own_postgres.stop(mode)  # type: ignore[arg-type]
        started = time.monotonic()
        assert_unavailable(await client.get("/concerts"))
        assert_unavailable(await client.get(f"/concerts/{concert['id']}"))
        signed_up = await client.post(
            "/users", json={"name": "Kim", "email": "kim@example.com", "password": api.PASSWORD}
        )
        assert_unavailable(signed_up)
        assert time.monotonic() - started < 5
        own_postgres.start()
        back = time.monotonic()
        while (response := await client.get("/concerts")).status_code != 200:
            assert_unavailable(response)
            assert time.monotonic() - back < 10, "not served again 10 s after the restart"
        assert response.json()["items"]
        assert (await client.get(f"/concerts/{concert['id']}")).json() == concert


async def test_a_redis_that_never_answers_is_a_quick_503(own_postgres_url: str) -> None:
    async def accept_and_stay_silent(reader: asyncio.StreamReader, _: asyncio.StreamWriter) -> None:
        await reader.read()

    silent = await asyncio.start_server(accept_and_stay_silent, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    settings = conftest.test_settings(
        own_postgres_url,
        redis_url=f"redis://127.0.0.1:{port}/0",
        redis_socket_timeout_seconds=0.5,
    )
    try:
        async with api.app_client(settings) as client:
            concert = await api.create_concert(client)
            db = Database(own_postgres_url)
            # Straight into the database: signing up is rate-limited in that Redis.
            (user,) = await create_users(db, 1)
            await db.dispose()
            started = time.monotonic()
            joined = await client.post(
                f"/concerts/{concert['id']}/queue/tokens", headers=user["headers"]
            )
            assert_unavailable(joined)
            assert time.monotonic() - started < 5
    finally:
        silent.close()
