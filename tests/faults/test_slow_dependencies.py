"""PostgreSQL or Redis turns slow mid-drop: a latency proxy between the server processes and the
dependency adds seconds to every byte. Requests answer `503` with `Retry-After` within the
service's timeouts instead of piling up behind it; the processes' memory stays bounded while it
lasts; once the latency goes away the service serves again by itself; and what every fan was
told holds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from typing import Any, Literal

import pytest

from boxoffice.db import Database
from tests.faults.drop import (
    CLIENT_TIMEOUT_SECONDS,
    DROP_SETTINGS,
    Drop,
    prepare,
    until,
    verify_on,
)
from tests.faults.latency_proxy import LatencyProxy
from tests.faults.memory import watching
from tests.faults.services import PostgresCluster, RedisServer
from tests.servers import clients_for, running_servers

FANS = 30
SEATS = 150
# Timeouts short enough for the test to see many of them: a statement gives up after 1 s on the
# server and 3 s on the client (statement timeout plus the client's grace), a wait for a pooled
# connection or a new one after 1 s, a Redis command after 0.5 s.
SLOW_SETTINGS: dict[str, Any] = {
    **DROP_SETTINGS,
    "db_statement_timeout_seconds": 1,
    "db_pool_timeout_seconds": 1,
    "db_connect_timeout_seconds": 1,
    "redis_socket_timeout_seconds": 0.5,
    "redis_connect_timeout_seconds": 0.5,
}
# Each way: a round trip takes twice this, far past every timeout above.
LATENCY_SECONDS = 5.0
SLOW_SECONDS = 6.0
RECOVERY_SECONDS = 8.0
# The worst a request meets: a step that times out (3 s), then giving its Idempotency-Key back
# (another 3 s at most), plus 2 s for a busy 2-core machine. A request that waited for the slow
# dependency instead would take at least one 10 s round trip.
SLOW_ANSWER_SECONDS = 8.0
SERVED_AGAIN_WITHIN_SECONDS = 6.0
# What a server process may grow by while the dependency is slow. What it holds is bounded: the
# in-flight limit (64 requests), the pool (10 connections) and the timeouts above, a few
# hundred KiB per request at the very most, against about 100 MiB a process starts at. Requests
# or connections piling up without bound would pass this within seconds.
RSS_GROWTH_BOUND_BYTES = 32 * 1024 * 1024

Slowed = Literal["postgres", "redis"]


@pytest.mark.parametrize("slowed", ["postgres", "redis"])
async def test_a_slow_dependency_mid_drop(
    own_postgres: PostgresCluster, own_postgres_url: str, own_redis: RedisServer, slowed: Slowed
) -> None:
    with (
        LatencyProxy.for_url(own_postgres_url) as postgres_proxy,
        LatencyProxy.for_url(own_redis.url) as redis_proxy,
    ):
        proxy = postgres_proxy if slowed == "postgres" else redis_proxy
        settings = {**SLOW_SETTINGS, "redis_url": redis_proxy.url(own_redis.url)}
        db = Database(own_postgres_url)
        served_url = postgres_proxy.url(own_postgres_url)
        with running_servers(served_url, count=2, **settings) as servers:
            async with clients_for(servers, request_timeout=CLIENT_TIMEOUT_SECONDS) as clients:
                concert_id, seats, fans = await prepare(db, clients[0], FANS, SEATS)
                await db.dispose()
                drop = Drop(clients, concert_id, seats, fans)
                started = time.monotonic()
                deadline = started + 30.0
                load = asyncio.create_task(drop.run(deadline))
                await until(lambda: len(drop.ledger.holds) >= 20)
                async with watching(s.process.pid for s in servers) as memory:
                    slow = time.monotonic()
                    proxy.latency = LATENCY_SECONDS
                    await asyncio.sleep(SLOW_SECONDS)
                    proxy.latency = 0.0
                    fast = time.monotonic()
                # The drop goes on long enough after the slowness to show the service back.
                drop_deadline_left = deadline - time.monotonic()
                assert drop_deadline_left > RECOVERY_SECONDS, drop_deadline_left
                await load
    during = drop.ledger.between(slow + 1, fast)
    statuses = Counter(status for _, status, _ in during)
    took = sorted(took for _, _, took in during)
    slowest = took[-1]
    growth = memory.growth()
    print(
        f"\n{slowed} {LATENCY_SECONDS} s slower each way: {statuses}, answered in "
        f"{took[len(took) // 2]:.2f} s (median), {slowest:.2f} s (slowest); RSS "
        f"{[round(rss / 2**20) for rss in memory.start.values()]} MiB, grew by at most "
        f"{[round(g / 2**20, 1) for g in growth.values()]} MiB; served again "
        f"{drop.ledger.first_hold_after(fast) - fast:.2f} s after"
    )
    assert statuses[503], drop.ledger.answers
    assert slowest < SLOW_ANSWER_SECONDS, slowest
    assert max(growth.values()) < RSS_GROWTH_BOUND_BYTES, growth
    assert drop.ledger.first_hold_after(fast) - fast < SERVED_AGAIN_WITHIN_SECONDS
    await verify_on(own_postgres_url, drop)
