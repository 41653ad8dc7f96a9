"""What the live-update tests share: a deployment is (database, with Redis), two server
processes on it for a whole module, and per test one client per process with Redis emptied.
A module defines its own `deployment` fixture (which deployments it runs on) and binds these."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from tests.servers import Server, clients_for, running_servers

Deployment = tuple[str, bool]


@contextmanager
def two_servers(
    request: pytest.FixtureRequest, deployment: Deployment, **settings: Any
) -> Iterator[list[Server]]:
    database, with_redis = deployment
    url: str = request.getfixturevalue(f"{database}_url")
    extra = {"redis_url": request.getfixturevalue("redis_url")} if with_redis else {}
    with running_servers(url, count=2, **settings, **extra) as bases:
        yield bases


@pytest.fixture
def backend(deployment: Deployment) -> str:
    return deployment[0]


@pytest.fixture
async def clients(
    servers: list[Server], deployment: Deployment, request: pytest.FixtureRequest
) -> AsyncIterator[list[httpx.AsyncClient]]:
    if deployment[1]:
        # The waiting room starts empty, as the emptied tables do.
        redis = aioredis.from_url(request.getfixturevalue("redis_url"))
        await redis.flushdb()
        await redis.aclose()
    async with clients_for(servers) as per_server:
        yield per_server
