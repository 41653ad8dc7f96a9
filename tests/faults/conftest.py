"""The fault tests' own PostgreSQL cluster (one per session, migrated once, emptied after every
test and started again if a test left it down) and their own redis-server (one per test)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from boxoffice.migrate import upgrade
from tests.conftest import empty_tables
from tests.faults.services import PostgresCluster, RedisServer

DATABASE = "boxoffice"


@pytest.fixture(scope="session")
def own_postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    try:
        cluster.start()
        cluster.create_database(DATABASE)
        upgrade(cluster.url(DATABASE))
        yield cluster
    finally:
        cluster.remove()


@pytest.fixture
def own_postgres_url(own_postgres: PostgresCluster) -> Iterator[str]:
    """A migrated database on the fault tests' own cluster, empty at the start of the test."""
    url = own_postgres.url(DATABASE)
    yield url
    if not own_postgres.running:
        own_postgres.start()
    asyncio.run(empty_tables(url))


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A redis-server without persistence."""
    server = RedisServer(appendonly=False)
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture
def own_persistent_redis() -> Iterator[RedisServer]:
    """A redis-server with append-only persistence, as docs/deployment.md recommends."""
    server = RedisServer(appendonly=True)
    server.start()
    try:
        yield server
    finally:
        server.remove()
