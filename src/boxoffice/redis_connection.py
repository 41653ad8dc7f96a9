"""The Redis client: one server (`redis://`, `rediss://`) or a Redis Cluster
(`redis+cluster://host:port`, any one node; the client finds the others)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}

# Both clients offer the commands the service uses; the waiting room's keys of one line share a
# hash tag, so every script call lands on one node of a cluster.
RedisClient = Redis | RedisCluster


def connect(url: str) -> RedisClient:
    scheme, sep, rest = url.partition("://")
    if sep and scheme in CLUSTER_SCHEMES:
        cluster: RedisCluster = RedisCluster.from_url(f"{CLUSTER_SCHEMES[scheme]}://{rest}")
        return cluster
    client: Redis = Redis.from_url(url)
    return client


def is_cluster(client: Any) -> bool:
    return isinstance(client, RedisCluster)
