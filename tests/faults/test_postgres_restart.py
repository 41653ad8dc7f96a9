"""PostgreSQL restarts mid-drop (a fast and an immediate shutdown): while it is down every
request answers at once, with a 503 rather than a 500 or a hang; once it is back the service
serves again by itself within seconds; and what every fan was told holds."""

from __future__ import annotations

import asyncio
import time

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
from tests.faults.services import PostgresCluster, RedisServer, ShutdownMode
from tests.servers import clients_for, running_servers

FANS = 30
SEATS = 150
DROP_SECONDS = 12.0
OUTAGE_SECONDS = 3.0
# Answers during the outage come this fast: refused connections, not timeouts.
OUTAGE_ANSWER_SECONDS = 3.5
SERVED_AGAIN_WITHIN_SECONDS = 5.0


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_postgres_restart_mid_drop(
    own_postgres: PostgresCluster, own_postgres_url: str, own_redis: RedisServer, mode: ShutdownMode
) -> None:
    settings = {**DROP_SETTINGS, "redis_url": own_redis.url}
    db = Database(own_postgres_url)
    with running_servers(own_postgres_url, count=2, **settings) as servers:
        async with clients_for(servers, request_timeout=CLIENT_TIMEOUT_SECONDS) as clients:
            concert_id, seats, fans = await prepare(db, clients[0], FANS, SEATS)
            await db.dispose()
            drop = Drop(clients, concert_id, seats, fans)
            load = asyncio.create_task(drop.run(time.monotonic() + DROP_SECONDS))
            await until(lambda: len(drop.ledger.holds) >= 20)
            down = time.monotonic()
            await asyncio.to_thread(own_postgres.stop, mode)
            await asyncio.sleep(OUTAGE_SECONDS)
            await asyncio.to_thread(own_postgres.start)
            back = time.monotonic()
            await load
    outage = drop.ledger.between(down + 1, back)
    assert any(status == 503 for _, status, _ in outage), drop.ledger.answers
    assert max(took for _, _, took in outage) < OUTAGE_ANSWER_SECONDS
    assert drop.ledger.first_hold_after(back) - back < SERVED_AGAIN_WITHIN_SECONDS
    await verify_on(own_postgres_url, drop)
