"""The real databases and Redis the tests run against, and how to find or create them."""

from __future__ import annotations

import asyncio
import os
import warnings

import pytest
import redis.asyncio as aioredis
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from boxoffice.db import async_url


def _worker_number() -> int:
    """Which pytest-xdist worker this is (gw0 is 0); 0 without xdist."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker.removeprefix("gw") or 0)


def _postgres_url() -> str:
    url = make_url(
        os.environ.get(
            "BOXOFFICE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/boxoffice_test"
        )
    )
    # Each worker its own database: a worker empties its tables after every test.
    if _worker_number():
        url = url.set(database=f"{url.database}_{_worker_number()}")
    return url.render_as_string(hide_password=False)


def _redis_url() -> str:
    url = make_url(os.environ.get("BOXOFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    # Each worker its own Redis database, counting down from the configured one.
    return url.set(database=str(int(url.database or 0) - _worker_number())).render_as_string(
        hide_password=False
    )


POSTGRES_URL = _postgres_url()
REDIS_URL = _redis_url()
IN_CI = os.environ.get("CI", "").lower() == "true"


def unavailable(what: str, reason: str) -> None:
    """Skip loudly on a developer machine; fail under CI, where every backend must run."""
    message = f"{what} is not reachable ({reason})"
    if IN_CI:
        pytest.fail(f"{message}: CI=true requires it", pytrace=False)
    warnings.warn(f"SKIPPING {what} tests: {message}", stacklevel=2)
    pytest.skip(message)


async def recreate_postgres_database(url: str) -> None:
    target = async_url(url)
    admin = create_async_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    finally:
        await admin.dispose()


async def postgres_reachable(url: str) -> str | None:
    engine = create_async_engine(async_url(url).set(database="postgres"))
    try:
        async with asyncio.timeout(5), engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as error:
        return str(error)
    finally:
        await engine.dispose()


async def redis_reachable(url: str) -> str | None:
    client = aioredis.from_url(url)
    try:
        async with asyncio.timeout(5):
            await client.ping()
        return None
    except Exception as error:
        return str(error)
    finally:
        await client.aclose()
