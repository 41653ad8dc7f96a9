"""The feed's messages over Redis pub/sub; the leader holds a lease key it renews."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator

from boxoffice.redis_connection import RedisClient

log = logging.getLogger("boxoffice.live")

# A leader that stops renewing (a killed process) is replaced after this long.
LEASE_MS = 2000
RECONNECT_SECONDS = 0.5

# Renew the lease if it is ours, take it if it is free: one round trip.
_LEAD = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return 1
end
return 0
"""
_RESIGN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisBus:
    def __init__(self, redis: RedisClient, namespace: str) -> None:
        """`namespace` is the deployment's key prefix and names the database whose changes
        travel here: pub/sub channels are shared by every Redis database number, so the
        channel name must tell them apart."""
        self._redis = redis
        self._channel = f"{namespace}:live:seat-changes"
        self._lease = f"{namespace}:live:seat-feed-leader"
        self._me = secrets.token_hex(8)
        self._lead_script = redis.register_script(_LEAD)
        self._resign_script = redis.register_script(_RESIGN)

    async def lead(self) -> bool:
        return bool(await self._lead_script(keys=[self._lease], args=[self._me, LEASE_MS]))

    async def publish(self, message: str) -> None:
        await self._redis.publish(self._channel, message)

    async def messages(self) -> AsyncIterator[str]:
        while True:
            try:
                async with self._redis.pubsub(ignore_subscribe_messages=True) as pubsub:
                    await pubsub.subscribe(self._channel)
                    while True:
                        message = await pubsub.get_message(timeout=1.0)
                        if message is not None and message["type"] == "message":
                            data = message["data"]
                            yield data.decode() if isinstance(data, bytes) else str(data)
            except (OSError, ConnectionError, TimeoutError) as error:
                log.warning("seat feed lost Redis (%s); subscribing again", error)
            except Exception as error:
                log.warning("seat feed lost Redis (%r); subscribing again", error)
            await asyncio.sleep(RECONNECT_SECONDS)

    async def close(self) -> None:
        try:
            await self._resign_script(keys=[self._lease], args=[self._me])
        except Exception as error:
            log.info("could not give up the seat feed lease: %r", error)
