"""Polling status is the most frequent request of a ticket drop: its cost must not grow with the
line. On Redis it is one round trip running a fixed number of commands; on the database it is
one statement that counts over an index, never a scan of the line."""

from __future__ import annotations

import asyncio
import datetime
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import event, insert, text

from boxoffice.clock import utcnow
from boxoffice.config import Settings
from boxoffice.db import Database
from boxoffice.queue import repository
from boxoffice.queue.database_backend import DatabaseWaitingRoom
from boxoffice.queue.redis_backend import RedisWaitingRoom
from boxoffice.tables import concert, queue_line, queue_ticket
from tests import backends, booking, conftest

LONG_LINE = 10_000


@pytest.fixture
def private_redis() -> Iterator[str]:
    """A Redis server of this test's own, so that its command statistics count only us."""
    binary = shutil.which("redis-server")
    if binary is None:
        backends.unavailable("redis-server", "the binary is not on PATH")
    assert binary is not None
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline, "the private redis-server did not start"
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
async def redis_client(private_redis: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.from_url(private_redis)
    yield client
    await client.aclose()


def _settings(**overrides: Any) -> Settings:
    return conftest.test_settings("sqlite:///unused.db", queue_max_active=1, **overrides)


async def _commands_run(client: aioredis.Redis) -> tuple[int, int]:
    """(calls of EVALSHA, calls of every other command but INFO), server-wide so far."""
    stats: dict[str, dict[str, int]] = await client.info("commandstats")
    scripts = stats.get("cmdstat_evalsha", {}).get("calls", 0)
    others = sum(
        entry["calls"]
        for name, entry in stats.items()
        if name not in {"cmdstat_evalsha", "cmdstat_info"}
    )
    return scripts, others


async def _redis_status_cost(room: RedisWaitingRoom, client: aioredis.Redis, token: str) -> Any:
    before = await _commands_run(client)
    ticket = await room.look_up(token, keep_alive=True)
    after = await _commands_run(client)
    assert ticket is not None
    return ticket.position, (after[0] - before[0], after[1] - before[1])


async def _redis_line(room: RedisWaitingRoom, concert_id: int, length: int) -> str:
    """Fill a line with `length` users; the token of the last one."""
    tickets = []
    for start in range(1, length + 1, 50):
        batch = range(start, min(start + 50, length + 1))
        tickets += [
            t for t, _ in await asyncio.gather(*(room.join(concert_id, u, None) for u in batch))
        ]
    return max(tickets, key=lambda t: t.position or 0).token


async def test_a_status_poll_on_redis_costs_the_same_on_a_short_and_a_long_line(
    redis_client: aioredis.Redis,
) -> None:
    room = RedisWaitingRoom(redis_client, _settings())
    short_token = await _redis_line(room, 1, 10)
    long_token = await _redis_line(room, 2, LONG_LINE)

    short_place, short_cost = await _redis_status_cost(room, redis_client, short_token)
    long_place, long_cost = await _redis_status_cost(room, redis_client, long_token)

    assert (short_place, long_place) == (9, LONG_LINE - 1)
    # One round trip (the script), and the same few commands inside it however long the line.
    assert short_cost[0] == long_cost[0] == 1
    assert 0 < short_cost[1] == long_cost[1] <= 12


async def _database_line(db: Database, length: int) -> str:
    """A line of `length` users written straight into the tables; the last one's token."""
    people = await booking.create_users(db, length)
    now = utcnow()
    async with db.transaction() as conn:
        concert_id = (
            await conn.execute(
                insert(concert)
                .values(
                    title="Long line", duration=datetime.time(2), created_at=now, updated_at=now
                )
                .returning(concert.c.id)
            )
        ).scalar_one()
        await conn.execute(
            insert(queue_line).values(
                concert_id=concert_id,
                next_seq=length,
                active_count=1,
                waiting_count=length - 1,
                rate_window_count=0,
            )
        )
        await conn.execute(
            insert(queue_ticket),
            [
                {
                    "token": f"{concert_id}.token-{n}",
                    "concert_id": concert_id,
                    "user_id": person["id"],
                    "seq": n,
                    "status": "ACTIVE" if n == 1 else "WAITING",
                    "active_until": now.replace(year=now.year + 1) if n == 1 else None,
                    "created_at": now,
                    "seen_at": now,
                }
                for n, person in enumerate(people, start=1)
            ],
        )
        await conn.execute(text("ANALYZE"))
    return f"{concert_id}.token-{length}"


@pytest.mark.parametrize(
    "room_and_backend", [("database", "sqlite"), ("database", "postgres")], indirect=True
)
async def test_a_status_poll_on_the_database_is_one_indexed_statement(
    database_url: str, db: Database
) -> None:
    token = await _database_line(db, LONG_LINE)
    room = DatabaseWaitingRoom(db, conftest.test_settings(database_url))
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        # Transaction control (SQLite's BEGIN) is not a query.
        if statement.lstrip().upper().startswith(("SELECT", "WITH", "INSERT", "UPDATE")):
            statements.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        ticket = await room.look_up(token, keep_alive=True)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)

    assert ticket is not None and ticket.position == LONG_LINE - 1
    assert len(statements) == 1
    plan = await _plan(db, token)
    assert "ix_queue_ticket_waiting" in plan, plan
    assert "SCAN queue_ticket" not in plan and "Seq Scan on queue_ticket" not in plan, plan


async def _plan(db: Database, token: str) -> str:
    """The database's plan for the status statement."""
    async with db.reading() as conn:
        query = await _compiled_status_query(db, token)
        prefix = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "
        rows = await conn.exec_driver_sql(prefix + query)
        return "\n".join(" ".join(str(value) for value in row) for row in rows)


async def _compiled_status_query(db: Database, token: str) -> str:
    """The status statement (the one that also records the request) with its parameters
    inlined, as the repository builds it."""
    now = utcnow()
    query = repository.status_query(token, now, now - datetime.timedelta(minutes=2))
    compiled = query.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
    return str(compiled)
