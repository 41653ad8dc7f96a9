"""More Redis commands in flight than the pool has connections: the extra ones wait their turn
instead of failing, as a burst of status polls in a drop does."""

from __future__ import annotations

import asyncio

from boxoffice.redis_connection import POOL_SIZE, connect


async def test_a_burst_beyond_the_pool_waits_instead_of_failing(flushed_redis: str) -> None:
    # The pool waits for a free connection as long as a command may take (`socket_timeout`):
    # generous here, so that a loaded machine only slows the burst down. A pool that does not
    # wait fails the extra commands at once, whatever the timeout.
    client = connect(flushed_redis, socket_timeout=30, connect_timeout=2)
    try:
        # Each BLPOP on an empty list holds its connection for 0.2 s.
        burst = [client.blpop(["boxoffice:test:empty"], timeout=0.2) for _ in range(POOL_SIZE * 3)]
        answers = await asyncio.gather(*burst, return_exceptions=True)
    finally:
        await client.aclose()
    assert answers == [None] * len(burst)
