"""Redis restarts mid-drop. The service stays up (a request that needs Redis while it is down
answers 503 at once), and no hold or payment is lost either way. With append-only persistence
(docs/deployment.md) nobody loses a place in line; without it the line starts over: old tokens
answer `403 QUEUE_TOKEN_INVALID` and fans join again."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from boxoffice.db import Database
from tests import api
from tests.booking import admitted, code
from tests.faults.drop import (
    CLIENT_TIMEOUT_SECONDS,
    DROP_SETTINGS,
    Drop,
    prepare,
    until,
    verify,
)
from tests.faults.services import RedisServer
from tests.servers import clients_for, running_servers

FANS = 30
SEATS = 150
BYSTANDERS = 10
DROP_SECONDS = 12.0
OUTAGE_SECONDS = 2.0
# A request that meets Redis while it restarts may spend the connect timeout (2 s here) twice in
# each of its two clients, the line's and the rate limit's (one retry each on a lost connection):
# 8 s at worst, and never a hang past that.
OUTAGE_ANSWER_SECONDS = 9.0
SERVED_AGAIN_WITHIN_SECONDS = 5.0


async def place_in_line(
    client: httpx.AsyncClient, headers: dict[str, str]
) -> tuple[int, str | None]:
    """(200, the token's status) or (the refusal's status, its code)."""
    status = await client.get("/queue/status", headers=headers)
    if status.status_code == 200:
        return 200, status.json()["status"]
    return status.status_code, code(status)


@pytest.mark.parametrize("appendonly", [False, True], ids=["no-persistence", "appendonly"])
async def test_a_redis_restart_mid_drop(
    own_postgres_url: str, request: pytest.FixtureRequest, appendonly: bool
) -> None:
    redis: RedisServer = request.getfixturevalue(
        "own_persistent_redis" if appendonly else "own_redis"
    )
    settings = {**DROP_SETTINGS, "redis_url": redis.url}
    db = Database(own_postgres_url)
    try:
        with running_servers(own_postgres_url, count=2, **settings) as servers:
            async with clients_for(servers, request_timeout=CLIENT_TIMEOUT_SECONDS) as clients:
                concert_id, seats, fans = await prepare(db, clients[0], FANS, SEATS)
                # Fans in the line of another concert, who only wait through the restart.
                other = await api.create_concert(clients[0], title="Bystanders")
                bystanders = [
                    await admitted(clients[0], {"headers": fan.headers}, other["id"])
                    for fan in (await prepare(db, clients[0], BYSTANDERS, 1))[2]
                ]
                drop = Drop(clients, concert_id, seats, fans)
                load = asyncio.create_task(drop.run(time.monotonic() + DROP_SECONDS))
                await until(lambda: len(drop.ledger.holds) >= 20)
                down = time.monotonic()
                await asyncio.to_thread(redis.stop)
                await asyncio.sleep(OUTAGE_SECONDS)
                await asyncio.to_thread(redis.start)
                back = time.monotonic()
                await load
                places = [await place_in_line(clients[1], h) for h in bystanders]
                if appendonly:
                    assert places == [(200, "ACTIVE")] * BYSTANDERS
                else:
                    assert places == [(403, "QUEUE_TOKEN_INVALID")] * BYSTANDERS
                    rejoined = await admitted(clients[1], {"headers": fans[0].headers}, other["id"])
                    assert await place_in_line(clients[1], rejoined) == (200, "ACTIVE")
        outage = drop.ledger.between(down + 0.5, back)
        assert any(status == 503 for _, status, _ in outage), drop.ledger.answers
        assert max(took for _, _, took in outage) < OUTAGE_ANSWER_SECONDS
        assert drop.ledger.first_hold_after(back) - back < SERVED_AGAIN_WITHIN_SECONDS
        await verify(db, drop)
    finally:
        await db.dispose()
