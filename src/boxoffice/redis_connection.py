"""The Redis client: one server (`redis://`, `rediss://`) or a Redis Cluster
(`redis+cluster://host:port`, any one node; the client finds the others)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
# Connections per process. When all are busy a command waits for one (up to the socket
# timeout) instead of failing at once, as redis-py's default pool does: a burst of status
# polls in a drop queues for a moment rather than answering 503.
POOL_SIZE = 64

# Both clients offer the commands the service uses; the waiting room's keys of one line share a
# hash tag, so every script call lands on one node of a cluster.
RedisClient = Redis | RedisCluster


def connect(
    url: str, socket_timeout: float | None = None, connect_timeout: float | None = None
) -> RedisClient:
    """A client whose every command gives up after `socket_timeout` seconds, and every new
    connection after `connect_timeout`: a Redis that hangs answers 503, not a hung request."""
    timeouts: dict[str, Any] = {
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
    }
    scheme, sep, rest = url.partition("://")
    if sep and scheme in CLUSTER_SCHEMES:
        cluster: RedisCluster = RedisCluster.from_url(
            f"{CLUSTER_SCHEMES[scheme]}://{rest}", **timeouts
        )
        return cluster
    # One immediate retry, on a lost connection only: it replaces a pooled connection that a
    # restarted Redis closed. Retrying a timeout, with the client's default back-off, would
    # turn one slow command into many seconds of waiting.
    retry = Retry(NoBackoff(), 1, supported_errors=(ConnectionError,))
    pool = BlockingConnectionPool.from_url(
        url, max_connections=POOL_SIZE, timeout=socket_timeout, retry=retry, **timeouts
    )
    client: Redis = Redis.from_pool(pool)
    return client


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)
