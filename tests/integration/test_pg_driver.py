"""Statements sent straight to the driver fail the way SQLAlchemy's would: the same exception
types for the error handlers, and a broken, timed-out or abandoned connection never goes back
into the pool."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from boxoffice.db import Database, Timeouts, is_unavailable, is_unique_violation


@pytest.fixture
async def one_connection(postgres_url: str) -> AsyncIterator[Database]:
    """A pool of a single connection, so that "the next statement" means the same connection
    unless the pool dropped it."""
    db = Database(postgres_url, pool_size=1, timeouts=Timeouts(pool=5, statement=0.5))
    try:
        yield db
    finally:
        await db.dispose()


async def backend_pid(db: Database) -> int:
    async with db.on_driver() as driver:
        pid: int = (await driver.fetchrow("SELECT pg_backend_pid() AS pid"))["pid"]
    return pid


async def backend_is_gone(postgres_url: str, pid: int) -> bool:
    watcher = await asyncpg.connect(postgres_url)
    try:
        for _ in range(50):
            sessions = "SELECT count(*) FROM pg_stat_activity WHERE pid = $1"
            if not await watcher.fetchval(sessions, pid):
                return True
            await asyncio.sleep(0.05)
        return False
    finally:
        await watcher.close()


async def test_a_unique_violation_is_an_integrity_error(one_connection: Database) -> None:
    raise_it = (
        "DO $$ BEGIN RAISE unique_violation USING MESSAGE ="
        " 'duplicate key value violates unique constraint \"ux_example\"'; END $$"
    )
    with pytest.raises(IntegrityError) as refused:
        async with one_connection.on_driver() as driver:
            await driver.fetchrow(raise_it)
    assert is_unique_violation(refused.value, "ux_example")
    assert not is_unavailable(refused.value)


async def test_a_statement_past_the_statement_timeout_is_unavailable_and_the_connection_kept(
    one_connection: Database,
) -> None:
    pid = await backend_pid(one_connection)
    with pytest.raises(DBAPIError) as timed_out:
        async with one_connection.on_driver() as driver:
            await driver.fetchrow("SELECT pg_sleep(3)")
    assert is_unavailable(timed_out.value)
    # The server cancelled the statement and said so: the connection is sound and is reused.
    assert await backend_pid(one_connection) == pid


async def test_a_connection_the_server_ended_is_unavailable_and_then_replaced(
    one_connection: Database, postgres_url: str
) -> None:
    pid = await backend_pid(one_connection)
    killer = await asyncpg.connect(postgres_url)
    try:
        assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await killer.close()
    assert await backend_is_gone(postgres_url, pid)
    with pytest.raises(DBAPIError) as lost:
        async with one_connection.on_driver() as driver:
            await driver.fetchrow("SELECT 1")
    assert is_unavailable(lost.value)
    assert lost.value.connection_invalidated
    assert await backend_pid(one_connection) != pid


async def test_a_statement_cancelled_mid_way_leaves_no_connection_behind(
    one_connection: Database, postgres_url: str
) -> None:
    pid = await backend_pid(one_connection)

    async def sleep_on_the_server() -> None:
        async with one_connection.on_driver() as driver:
            await driver.fetchrow("SELECT pg_sleep(0.4)")

    sleeping = asyncio.create_task(sleep_on_the_server())
    await asyncio.sleep(0.1)
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping
    # The abandoned connection was closed, not handed to the next request mid-statement.
    assert await backend_is_gone(postgres_url, pid)
    started = time.monotonic()
    assert await backend_pid(one_connection) != pid
    assert time.monotonic() - started < 0.3


async def test_after_a_restart_one_failed_statement_retires_every_older_connection(
    postgres_url: str,
) -> None:
    """As SQLAlchemy does on a lost connection: the server most likely restarted, so every
    connection opened before it is as dead, and none of them fails another request."""
    db = Database(postgres_url, pool_size=3)
    try:
        # Three connections in the pool, each of whose server sessions then ends.
        async with db.on_driver() as a, db.on_driver() as b, db.on_driver() as c:
            pids = [(await d.fetchrow("SELECT pg_backend_pid() AS pid"))["pid"] for d in (a, b, c)]
        killer = await asyncpg.connect(postgres_url)
        try:
            for pid in pids:
                assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        for pid in pids:
            assert await backend_is_gone(postgres_url, pid)
        with pytest.raises(DBAPIError) as lost:
            async with db.on_driver() as driver:
                await driver.fetchrow("SELECT 1")
        assert is_unavailable(lost.value)
        for _ in range(3):
            async with db.on_driver() as driver:
                assert (await driver.fetchrow("SELECT 1 AS one"))["one"] == 1
    finally:
        await db.dispose()


async def test_a_session_the_server_refuses_is_sqlalchemy_s_error_and_unavailable(
    postgres_url: str,
) -> None:
    """A connection the server will not open (here: the role may have no sessions at all, as
    when it has too many) fails the checkout as SQLAlchemy's own error type, as
    `engine.connect()` would, so that the request answers 503 rather than 500."""
    role = f"boxoffice_no_sessions_{os.getpid()}"
    admin = await asyncpg.connect(postgres_url)
    try:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.execute(f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
        url = make_url(postgres_url).set(username=role).render_as_string(hide_password=False)
        db = Database(url, pool_size=1)
        try:
            with pytest.raises(DBAPIError) as refused:
                async with db.on_driver():
                    pass
            assert is_unavailable(refused.value)
        finally:
            await db.dispose()
    finally:
        await admin.execute(f"DROP ROLE IF EXISTS {role}")
        await admin.close()
