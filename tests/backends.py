"""The real databases and Redis the tests run against, and how to find or create them."""

from __future__ import annotations

import asyncio
import os
import warnings

import pytest
import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from boxoffice.db import async_url

POSTGRES_URL = os.environ.get(
    "BOXOFFICE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/boxoffice_test"
)
REDIS_URL = os.environ.get("BOXOFFICE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
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
